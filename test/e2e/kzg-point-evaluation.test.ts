/**
 * The point-evaluation precompile (0x0a, EIP-4844) against Hardhat 2.29 in the same test: for valid
 * and invalid inputs, eth_call, eth_estimateGas, a contract's STATICCALL (success flag, output and
 * gas used, compared byte for byte) and transactions (status, gasUsed) are the same on both.
 */

import type { OpenLedgerNode } from '@openledger/node'
import { type Abi, decodeFunctionResult, encodeFunctionData, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ADDRESSES, startDevNode } from '../helpers/dev-node.ts'
import { type HardhatNode, rpc, rpcRaw, startHardhatNode } from '../helpers/hardhat.ts'
import { compileSolidity } from '../helpers/solc.ts'

const P = '0x000000000000000000000000000000000000000a'
/** go-ethereum's point-evaluation vector (mainnet trusted setup): hash ‖ z ‖ y ‖ commitment ‖ proof. */
const VALID =
  '01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b' +
  '564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306' +
  '24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1' +
  '8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7' +
  '873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a'
const MODULUS = '73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001'
const part = (from: number, to: number) => VALID.slice(from * 2, to * 2)
const HASH = part(0, 32)
const Z = part(32, 64)
const Y = part(64, 96)
const C = part(96, 144)
const PROOF = part(144, 192)
const flip = (i: number) => {
  const b = Buffer.from(VALID, 'hex')
  b[i] = (b[i] ?? 0) ^ 1
  return b.toString('hex')
}

const CASES: Record<string, string> = {
  valid: VALID,
  empty: '',
  'one byte short': VALID.slice(2),
  'one byte long': `${VALID}00`,
  'versioned hash mismatch': flip(5),
  'wrong version byte': `02${VALID.slice(2)}`,
  'z = BLS modulus': HASH + MODULUS + Y + C + PROOF,
  'y = BLS modulus': HASH + Z + MODULUS + C + PROOF,
  'y off by one': HASH + Z + flip(95).slice(128, 192) + C + PROOF,
  'proof not on the curve': flip(150),
  'proof = commitment (valid point, wrong proof)': HASH + Z + Y + C + C,
  'proof = point at infinity': `${HASH + Z + Y + C}c0${'00'.repeat(47)}`,
  'all zero': '00'.repeat(192),
}

const PROBE = compileSolidity({
  'KzgProbe.sol': `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract KzgProbe {
  function evaluate(bytes calldata input, uint256 gas) external view returns (bool ok, bytes memory out, uint256 used) {
    uint256 g = gasleft();
    (ok, out) = address(0x0a).staticcall{gas: gas}(input);
    used = g - gasleft();
  }
}`,
}).KzgProbe!
const abi = PROBE.abi as Abi

let node: OpenLedgerNode
let hardhat: HardhatNode
const probes: Record<string, Hex> = {}
const urls = () => ({ ours: node.rpcUrl, hardhat: hardhat.url })
const from = DEV_ADDRESSES[0]

async function both<T>(method: string, params: unknown[]) {
  const u = urls()
  return {
    ours: (await rpcRaw(u.ours, method, params)) as T,
    hardhat: (await rpcRaw(u.hardhat, method, params)) as T,
  }
}

beforeAll(async () => {
  ;[node, hardhat] = await Promise.all([startDevNode(), startHardhatNode({ hardfork: 'prague' })])
  for (const [name, url] of Object.entries(urls())) {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from, data: PROBE.bytecode, gas: '0x100000' }])
    const receipt = await rpc<{ contractAddress: Hex }>(url, 'eth_getTransactionReceipt', [hash])
    probes[name] = receipt.contractAddress
  }
}, 120_000)

afterAll(async () => {
  await Promise.all([node?.close(), hardhat?.stop()])
})

describe('0x0a answers as Hardhat does', () => {
  it.each(Object.entries(CASES))(
    '%s: eth_call, eth_estimateGas and STATICCALL agree',
    async (_name, input) => {
      const call = { from, to: P, data: `0x${input}` }
      const r = await both<{ result?: string; error?: unknown }>('eth_call', [call, 'latest'])
      expect(r.ours.result).toBe(r.hardhat.result)
      expect(r.ours.error === undefined).toBe(r.hardhat.error === undefined)
      const e = await both<{ result?: string; error?: unknown }>('eth_estimateGas', [call])
      expect(e.ours.result).toBe(e.hardhat.result)
      expect(e.ours.error === undefined).toBe(e.hardhat.error === undefined)
      for (const gas of [60_000n, 50_000n, 49_999n]) {
        const data = encodeFunctionData({ abi, functionName: 'evaluate', args: [`0x${input}`, gas] })
        const out: Record<string, unknown> = {}
        for (const [name, url] of Object.entries(urls())) {
          const raw = await rpc<Hex>(url, 'eth_call', [{ from, to: probes[name], data }, 'latest'])
          out[name] = decodeFunctionResult({ abi, functionName: 'evaluate', data: raw })
        }
        expect(out.ours).toEqual(out.hardhat)
      }
    },
  )

  it('as transactions: the same status and gas used for every case', async () => {
    for (const [name, input] of Object.entries(CASES)) {
      const got: Record<string, unknown> = {}
      for (const [who, url] of Object.entries(urls())) {
        await rpcRaw(url, 'eth_sendTransaction', [{ from, to: P, data: `0x${input}`, gas: '0x30000' }])
        // Hardhat answers an error for a failing transaction in automine (and mines it): take the
        // hash from the block instead of the answer.
        const block = await rpc<{ transactions: Hex[] }>(url, 'eth_getBlockByNumber', ['latest', false])
        const hash = block.transactions.at(-1)!
        const r = await rpc<{ status: Hex; gasUsed: Hex; logs: unknown[] }>(
          url,
          'eth_getTransactionReceipt',
          [hash],
        )
        got[who] = { status: r.status, gasUsed: r.gasUsed, logs: r.logs.length }
      }
      expect(got.ours, name).toEqual(got.hardhat)
    }
  })
})
