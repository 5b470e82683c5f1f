/**
 * Osaka over JSON-RPC, differentially against Hardhat 2.29's node (EDR) at the same fork:
 * CLZ (EIP-7939), P256VERIFY at 0x100 (EIP-7951), MODEXP's bounds and repricing (EIP-7823,
 * EIP-7883), the transaction gas cap (EIP-7825), and a fork activated at a block height. Also
 * BASEFEE in fee-less calls (0, as geth and Hardhat), which the OpenZeppelin suite relies on.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import type { OpenLedgerNode } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, startDevNode } from '../helpers/dev-node.ts'
import { type HardhatNode, startHardhatNode } from '../helpers/hardhat.ts'

const A0 = DEV_ADDRESSES[0]!
const hex = (n: bigint | number) => `0x${n.toString(16)}`
const word = (n: bigint) => n.toString(16).padStart(64, '0')
const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: { code?: number; message: string }) => ({ ok: false as const, code: e.code, message: e.message }),
  )

// CLZ of the calldata word: CALLDATALOAD(0) CLZ, returned as a word.
const CLZ = '0x6000351e60005260206000f3'
const CLZ_AT = '0x00000000000000000000000000000000000c1200'
// BASEFEE returned as a word.
const BASEFEE = '0x4860005260206000f3'
const BASEFEE_AT = '0x00000000000000000000000000000000000bf000'

function p256Input(valid: boolean): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const msg = Buffer.from('openledger osaka')
  const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' })
  const jwk = publicKey.export({ format: 'jwk' })
  const xy = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
  const hash = createHash('sha256')
    .update(valid ? msg : Buffer.from('tampered'))
    .digest()
  return `0x${Buffer.concat([hash, sig, xy]).toString('hex')}`
}

function modexpInput(blen: number, elen: number, mlen: number, body: string): string {
  return `0x${word(BigInt(blen))}${word(BigInt(elen))}${word(BigInt(mlen))}${body}`
}

describe.each(['osaka', 'prague'] as const)('%s: openledger dev against hardhat node', (fork) => {
  let node: OpenLedgerNode
  let hh: HardhatNode
  const both = async (method: string, params: unknown[]) => {
    const [a, b] = await Promise.all([
      settle(call(node.rpcUrl, method, params)),
      settle(call(hh.url, method, params)),
    ])
    return { ours: a, hardhat: b }
  }

  beforeAll(async () => {
    ;[node, hh] = await Promise.all([
      startDevNode({ genesis: { hardfork: fork } }),
      startHardhatNode({ hardfork: fork }),
    ])
    for (const u of [node.rpcUrl, hh.url]) {
      await call(u, 'hardhat_setCode', [CLZ_AT, CLZ])
      await call(u, 'hardhat_setCode', [BASEFEE_AT, BASEFEE])
    }
  })
  afterAll(async () => {
    await Promise.all([node?.close(), hh?.stop()])
  })

  it('CLZ (EIP-7939): results and gas as Hardhat, invalid before Osaka', async () => {
    for (const x of [0n, 1n, 1n << 255n, (1n << 256n) - 1n, 0x1234n]) {
      const req = { from: A0, to: CLZ_AT, data: `0x${word(x)}` }
      const r = await both('eth_call', [req, 'latest'])
      expect(r.ours.ok, `${x}`).toBe(r.hardhat.ok)
      if (fork === 'osaka') {
        expect(r.ours.ok && r.ours.v).toBe(
          `0x${word(x === 0n ? 256n : 255n - BigInt(x.toString(2).length - 1))}`,
        )
        expect(r.ours.ok && r.ours.v).toBe(r.hardhat.ok && r.hardhat.v)
        const g = await both('eth_estimateGas', [req, 'latest'])
        expect(g.ours).toEqual(g.hardhat)
      }
    }
  })

  it('P256VERIFY at 0x100 (EIP-7951): valid, invalid and malformed inputs, and its gas', async () => {
    for (const data of [p256Input(true), p256Input(false), '0x1234', `0x${'00'.repeat(160)}`]) {
      const req = { from: A0, to: '0x0000000000000000000000000000000000000100', data }
      const r = await both('eth_call', [req, 'latest'])
      expect(r.ours).toEqual(r.hardhat)
      const g = await both('eth_estimateGas', [req, 'latest'])
      expect(g.ours).toEqual(g.hardhat)
    }
    const valid = await call(node.rpcUrl, 'eth_call', [
      { to: '0x0000000000000000000000000000000000000100', data: p256Input(true) },
      'latest',
    ])
    expect(valid).toBe(fork === 'osaka' ? `0x${word(1n)}` : '0x')
  })

  it('MODEXP (EIP-7823 bounds, EIP-7883 pricing): output and gas as Hardhat', async () => {
    const cases = [
      modexpInput(1, 1, 1, '030205'), // 3^2 mod 5
      modexpInput(32, 32, 32, `${word(7n)}${word(65537n)}${word((1n << 255n) - 19n)}`),
      modexpInput(1, 40, 1, `02${'ff'.repeat(40)}07`), // long exponent
      modexpInput(1025, 1, 1, `${'01'.repeat(1025)}0203`), // base above Osaka's 1024-byte bound
    ]
    for (const data of cases) {
      const req = { from: A0, to: '0x0000000000000000000000000000000000000005', data, gas: '0x989680' }
      const r = await both('eth_call', [req, 'latest'])
      expect(r.ours.ok, data.slice(0, 80)).toBe(r.hardhat.ok)
      if (r.ours.ok && r.hardhat.ok) expect(r.ours.v).toBe(r.hardhat.v)
      const { gas: _, ...noGas } = req
      const g = await both('eth_estimateGas', [noGas, 'latest'])
      expect(g.ours.ok, data.slice(0, 80)).toBe(g.hardhat.ok)
      if (g.ours.ok && g.hardhat.ok) expect(g.ours.v).toBe(g.hardhat.v)
    }
  })

  it('transaction gas cap (EIP-7825): sends above 2^24 are refused from Osaka on; estimates stay below', async () => {
    const tx = { from: A0, to: DEV_ADDRESSES[1], gas: hex(16_777_217) }
    const r = await both('eth_sendTransaction', [tx])
    expect(r.ours.ok).toBe(r.hardhat.ok)
    expect(r.ours.ok).toBe(fork === 'prague')
    if (!r.ours.ok)
      expect(r.ours.message).toBe('transaction gas limit too high (cap: 16777216, tx: 16777217)')
    const atCap = await both('eth_sendTransaction', [{ ...tx, gas: hex(16_777_216) }])
    expect([atCap.ours.ok, atCap.hardhat.ok]).toEqual([true, true])
    // an estimate never exceeds what a transaction may use: this code needs ~17.9M gas (one
    // MSTORE expanding memory to 95,000 words), fine under Prague's 30M block, above Osaka's cap
    const BIG_MEMORY = '0x6001622e63605200'
    const at = '0x00000000000000000000000000000000000100f0'
    await call(node.rpcUrl, 'hardhat_setCode', [at, BIG_MEMORY])
    const est = await settle(call(node.rpcUrl, 'eth_estimateGas', [{ from: A0, to: at }]))
    if (fork === 'osaka') {
      expect(est.ok).toBe(false)
      if (!est.ok) expect(est.message).toMatch(/allowance \(16777216\)/)
    } else {
      expect(est.ok && BigInt(est.v)).toBeGreaterThan(16_777_216n)
    }
  })

  it('a fee-less call sees BASEFEE 0; a paying one the block base fee (as Hardhat)', async () => {
    const free = await both('eth_call', [{ to: BASEFEE_AT }, 'latest'])
    expect(free.ours).toEqual({ ok: true, v: `0x${word(0n)}` })
    expect(free.ours).toEqual(free.hardhat)
    const paying = { from: A0, to: BASEFEE_AT, gas: '0x10000', gasPrice: '0x174876e800' }
    const p = await call(node.rpcUrl, 'eth_call', [paying, 'pending'])
    const pending = await call(node.rpcUrl, 'eth_getBlockByNumber', ['pending', false])
    expect(BigInt(p)).toBe(BigInt(pending.baseFeePerGas))
  })
})

describe('a fork activated at a block height', () => {
  let node: OpenLedgerNode
  beforeAll(async () => {
    node = await startDevNode({ genesis: { hardfork: 'prague', hardforks: { osaka: 3 } } })
    await call(node.rpcUrl, 'hardhat_setCode', [CLZ_AT, CLZ])
  })
  afterAll(async () => node?.close())

  it('runs Prague rules before the height and Osaka from it, for calls, estimates and blocks', async () => {
    const u = node.rpcUrl
    const clz = { from: A0, to: CLZ_AT, data: `0x${word(1n)}` }
    expect(await call(u, 'eth_blockNumber')).toBe('0x0')
    // pending = block 1: Prague, CLZ undefined
    expect((await settle(call(u, 'eth_call', [clz, 'pending']))).ok).toBe(false)
    // the cap is not in force yet
    const big = await call(u, 'eth_sendTransaction', [
      { from: A0, to: DEV_ADDRESSES[1], gas: hex(20_000_000) },
    ])
    expect((await call(u, 'eth_getTransactionReceipt', [big])).status).toBe('0x1')
    await call(u, 'hardhat_mine', ['0x1'])
    expect(await call(u, 'eth_blockNumber')).toBe('0x2')
    // pending = block 3: Osaka
    expect(await call(u, 'eth_call', [clz, 'pending'])).toBe(`0x${word(255n)}`)
    const refused = await settle(
      call(u, 'eth_sendTransaction', [{ from: A0, to: DEV_ADDRESSES[1], gas: hex(20_000_000) }]),
    )
    expect(refused.ok).toBe(false)
    // a transaction using CLZ in block 3 succeeds
    const h = await call(u, 'eth_sendTransaction', [{ ...clz, gas: '0x10000' }])
    const receipt = await call(u, 'eth_getTransactionReceipt', [h])
    expect([receipt.blockNumber, receipt.status]).toEqual(['0x3', '0x1'])
    // history keeps its rules: at block 2 CLZ is still undefined
    expect((await settle(call(u, 'eth_call', [clz, '0x2']))).ok).toBe(false)
    expect(await call(u, 'eth_call', [clz, '0x3'])).toBe(`0x${word(255n)}`)
  })
})
