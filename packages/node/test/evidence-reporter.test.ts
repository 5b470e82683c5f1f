/**
 * The evidence reporter holds an equivocation until the chain has committed its height: the Staking
 * module reverts evidence executed in a block of the same height (EvidenceFromFuture), which is
 * where a transaction sent at detection time lands. Transactions are really signed and decoded;
 * `send` records them where the node would hand them to its pool.
 */
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { createTxFromRLP } from '@ethereumjs/tx'
import {
  createPrepare,
  type Equivocation,
  privateKeySigner,
  privateKeyToAddress,
} from '@openledger/consensus'
import { checkEquivocation, STAKING_ADDRESS, stakingAbi } from '@openledger/staking'
import { decodeFunctionData, type Hex, toBytes } from 'viem'
import { describe, expect, it } from 'vitest'
import { EvidenceReporter } from '../src/consensus/evidence.ts'
import { generatePrivateKey, hex, silentLogger } from '../src/index.ts'

const CHAIN_ID = 4242n
const common = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, { hardfork: Hardfork.Prague })

function equivocation(height: bigint): Equivocation {
  const signer = privateKeySigner(generatePrivateKey())
  const a = createPrepare(signer, CHAIN_ID, height, 0, new Uint8Array(32).fill(1)).signed
  const b = createPrepare(signer, CHAIN_ID, height, 0, new Uint8Array(32).fill(2)).signed
  return { kind: 'PREPARE', height, round: 0, author: signer.address, first: a, second: b }
}

function reporter(head: { n: bigint }) {
  const key = generatePrivateKey()
  const sent: Uint8Array[] = []
  let nonce = 0n
  const r = new EvidenceReporter({
    common,
    privateKey: key,
    address: privateKeyToAddress(key),
    head: () => head.n,
    nonce: async () => nonce++,
    baseFee: async () => 7n,
    send: async (raw) => {
      sent.push(raw)
      return new Uint8Array(32)
    },
    log: silentLogger(),
  })
  return { r, sent }
}

/** The evidence height a sent transaction carries, as the Staking module decodes it. */
function evidenceHeight(raw: Uint8Array): bigint {
  const tx = createTxFromRLP(raw, { common })
  expect(tx.to?.toString()).toBe(hex(STAKING_ADDRESS))
  const { args } = decodeFunctionData({ abi: stakingAbi, data: hex(tx.data) as Hex })
  const [code, first, second] = args as [number, Hex, Hex]
  const ev = checkEquivocation(code, toBytes(first), toBytes(second), CHAIN_ID)
  if (!ev.ok) throw new Error(ev.reason)
  return ev.height
}

describe('EvidenceReporter', () => {
  it('holds evidence of the height being decided until that height is committed', async () => {
    const head = { n: 9n }
    const { r, sent } = reporter(head)
    r.report(equivocation(10n))
    r.report(equivocation(11n))
    await r.idle()
    expect(sent).toHaveLength(0)
    head.n = 10n
    r.onHead(10n)
    await r.idle()
    expect(sent.map(evidenceHeight)).toEqual([10n])
    head.n = 11n
    r.onHead(11n)
    await r.idle()
    expect(sent.map(evidenceHeight)).toEqual([10n, 11n])
    // Sent once: a later head does not send it again.
    r.onHead(12n)
    await r.idle()
    expect(sent).toHaveLength(2)
  })

  it('sends evidence of a committed height at once, and each piece only once', async () => {
    const head = { n: 20n }
    const { r, sent } = reporter(head)
    const ev = equivocation(20n)
    r.report(ev)
    r.report(ev)
    r.report(equivocation(3n))
    await r.idle()
    expect(sent.map(evidenceHeight)).toEqual([20n, 3n])
    expect(sent.map((raw) => createTxFromRLP(raw, { common }).nonce)).toEqual([0n, 1n])
  })
})
