/**
 * ots_* against anvil: the same signed transactions go to a real `openledger dev` node and to a
 * real anvil (`@foundry-rs/anvil`, which implements the Otterscan API); every ots_* answer must
 * be equal after removing what legitimately differs between two chains (block hashes, timestamps,
 * state roots: the transactions themselves are byte-identical, so their hashes match).
 */
import { type LocalL1, startAnvil } from '@openledger/bridge'
import type { OpenLedgerNode } from '@openledger/node'
import { type Abi, encodeDeployData, encodeFunctionData, type Hex, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'
import { compileSolidity } from '../helpers/solc.ts'

const FORWARDER = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
contract Child { uint256 public x = 1; }
contract Forwarder {
    function fwd(address payable to) external payable { to.transfer(msg.value); }
    function make() external returns (address) { return address(new Child()); }
    function make2(bytes32 salt) external returns (address) { return address(new Child{salt: salt}()); }
    function fail() external pure { revert("forwarder says no"); }
}`

let node: OpenLedgerNode
let anvil: LocalL1
const urls: { ol: string; anvil: string } = { ol: '', anvil: '' }

const both = (method: string, params: unknown[] = []) =>
  Promise.all([call(urls.ol, method, params), call(urls.anvil, method, params)])

const { Store } = testContracts()
const { Forwarder } = compileSolidity({ 'Forwarder.sol': FORWARDER })
const nonces = new Map<number, number>()
const sent: Hex[] = []

/** Signs once, sends the same bytes to both chains (automine: one block each). */
async function send(from: number, tx: { to?: Hex; value?: bigint; data?: Hex; gas?: bigint }): Promise<Hex> {
  const account = privateKeyToAccount(DEV_KEYS[from] as Hex)
  const nonce = nonces.get(from) ?? 0
  nonces.set(from, nonce + 1)
  const raw = await account.signTransaction({
    type: 'legacy',
    chainId: 31337,
    nonce,
    gasPrice: 10_000_000_000n,
    gas: tx.gas ?? 1_000_000n,
    to: tx.to,
    value: tx.value ?? 0n,
    data: tx.data,
  })
  const [a, b] = await both('eth_sendRawTransaction', [raw])
  expect(a).toBe(b)
  sent.push(a as Hex)
  return a as Hex
}

function contractAddress(receipt: unknown): Hex {
  return (receipt as { contractAddress: Hex }).contractAddress
}

let store: Hex
let forwarder: Hex
const A = DEV_ADDRESSES.map((a) => a.toLowerCase() as Hex)
const txs: Record<string, Hex> = {}

beforeAll(async () => {
  ;[node, anvil] = await Promise.all([
    startDevNode({ throwOnTransactionFailures: false }),
    startAnvil({ chainId: 31337 }),
  ])
  urls.ol = node.rpcUrl
  urls.anvil = anvil.url
  txs.transfer = await send(0, { to: A[1], value: parseEther('1') })
  txs.deployStore = await send(0, {
    data: encodeDeployData({ abi: Store!.abi as Abi, bytecode: Store!.bytecode, args: [7n] }),
  })
  store = contractAddress(await call(urls.ol, 'eth_getTransactionReceipt', [txs.deployStore]))
  txs.set = await send(1, {
    to: store,
    data: encodeFunctionData({ abi: Store!.abi as Abi, functionName: 'set', args: [42n] }),
  })
  txs.deployForwarder = await send(1, { data: Forwarder!.bytecode })
  forwarder = contractAddress(await call(urls.ol, 'eth_getTransactionReceipt', [txs.deployForwarder]))
  const fwd = (fn: string, args: unknown[] = []) =>
    encodeFunctionData({ abi: Forwarder!.abi as Abi, functionName: fn, args } as never)
  txs.fwd = await send(0, { to: forwarder, value: 12345n, data: fwd('fwd', [A[3]]) })
  txs.make = await send(2, { to: forwarder, data: fwd('make') })
  txs.make2 = await send(2, { to: forwarder, data: fwd('make2', [`0x${'11'.repeat(32)}`]) })
  txs.fail = await send(0, { to: forwarder, data: fwd('fail'), gas: 100_000n })
  txs.revertStore = await send(1, {
    to: store,
    data: encodeFunctionData({ abi: Store!.abi as Abi, functionName: 'set', args: [13n] }),
    gas: 100_000n,
  })
  for (let i = 0; i < 5; i++) await send(0, { to: A[1], value: BigInt(i + 1) })
  await send(1, {
    to: store,
    data: encodeFunctionData({ abi: Store!.abi as Abi, functionName: 'set', args: [5n] }),
  })
  // One block with several transactions of the same addresses: block-transaction paging, and
  // search pages that must not split a block.
  await both('evm_setAutomine', [false])
  for (let i = 0; i < 3; i++) await send(0, { to: A[2], value: 100n + BigInt(i) })
  for (let i = 0; i < 2; i++) await send(1, { to: A[0], value: 200n + BigInt(i) })
  await both('evm_mine', [])
  await both('evm_setAutomine', [true])
  await send(2, { to: A[0], value: 1n })
}, 120_000)

afterAll(async () => {
  await node?.close()
  await anvil?.stop()
})

/** Fields that differ between two chains running the same transactions. */
const CHAIN_LOCAL = new Set([
  'hash',
  'blockHash',
  'parentHash',
  'stateRoot',
  'receiptsRoot',
  'timestamp',
  'blockTimestamp',
  'mixHash',
  'extraData',
  'size',
  'miner',
  'logsBloom',
  'totalDifficulty',
  'difficulty',
  'withdrawalsRoot',
  'withdrawals',
  'parentBeaconBlockRoot',
  'requestsHash',
  'blobGasUsed',
  'excessBlobGas',
  'baseFeePerGas',
  'gasLimit',
  'sha3Uncles',
  'transactionsRoot',
  'uncles',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'blobGasPrice',
])

function normalise(value: unknown, keep: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, keep))
  if (value === null || typeof value !== 'object')
    return typeof value === 'string' ? value.toLowerCase() : value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (CHAIN_LOCAL.has(k) && !keep.has(k)) continue
    out[k] = normalise(v, keep)
  }
  return out
}

async function expectSame(method: string, params: unknown[], keep?: ReadonlySet<string>): Promise<unknown> {
  const [ours, theirs] = await both(method, params)
  expect(normalise(ours, keep), `${method} ${JSON.stringify(params)}`).toEqual(normalise(theirs, keep))
  return ours
}

describe('ots_* equals anvil', () => {
  it('api level, hasCode, creator, sender+nonce', async () => {
    expect(await expectSame('ots_getApiLevel', [])).toBe(8)
    expect(await expectSame('ots_hasCode', [store, 'latest'])).toBe(true)
    expect(await expectSame('ots_hasCode', [A[0], 'latest'])).toBe(false)
    await expectSame('ots_getContractCreator', [store], new Set(['hash']))
    await expectSame('ots_getContractCreator', [forwarder], new Set(['hash']))
    expect(await expectSame('ots_getContractCreator', [A[0]])).toBeNull()
    // Contracts deployed by a contract (CREATE and CREATE2): found through history + traces.
    for (const h of [txs.make, txs.make2]) {
      const receipt = (await call(urls.ol, 'eth_getTransactionReceipt', [h])) as { logs: unknown[] }
      const ops = (await call(urls.ol, 'ots_getInternalOperations', [h])) as Array<{ type: number; to: Hex }>
      const child = ops.find((o) => o.type === 2 || o.type === 3)!.to
      expect(receipt.logs).toEqual([])
      const creator = await expectSame('ots_getContractCreator', [child], new Set(['hash']))
      expect(creator).toEqual({ hash: h, creator: forwarder })
    }
    for (let n = 0; n < 10; n++) await expectSame('ots_getTransactionBySenderAndNonce', [A[0], n])
    expect(await expectSame('ots_getTransactionBySenderAndNonce', [A[0], 999])).toBeNull()
  })

  it('block details and paged block transactions', async () => {
    const head = Number(await call(urls.ol, 'eth_blockNumber'))
    for (let n = 1; n <= head; n++) {
      await expectSame('ots_getBlockDetails', [n])
      // The spec caps receipt logs to null here (bandwidth); anvil does not cap them.
      const [ours, theirs] = (await both('ots_getBlockTransactions', [n, 0, 10])) as Array<{
        receipts: Array<{ logs: unknown }>
      }>
      for (const r of ours!.receipts) expect(r.logs).toBeNull()
      for (const r of theirs!.receipts) r.logs = null
      expect(normalise(ours), `ots_getBlockTransactions ${n}`).toEqual(normalise(theirs))
      await expectSame('erigon_getHeaderByNumber', [n])
    }
    const busy = (head - 1) as number
    const details = (await call(urls.ol, 'ots_getBlockDetails', [busy])) as {
      block: { transactionCount: number }
    }
    expect(details.block.transactionCount).toBe(5)
    const pages: string[] = []
    for (let page = 0; page < 4; page++) {
      const [ours, theirs] = (await both('ots_getBlockTransactions', [busy, page, 2])) as Array<{
        fullblock: { transactions: Array<{ hash: string; input: string }>; transactionCount: number }
        receipts: Array<{ logs: unknown; transactionHash: string }>
      }>
      for (const r of theirs!.receipts) r.logs = null
      // anvil counts the page's transactions here; the spec's transactionCount is the block's
      // (Otterscan pages with it), which is what we answer.
      expect(ours!.fullblock.transactionCount).toBe(5)
      theirs!.fullblock.transactionCount = 5
      expect(normalise(ours), `page ${page}`).toEqual(normalise(theirs))
      expect(ours!.receipts.map((r) => r.transactionHash)).toEqual(
        ours!.fullblock.transactions.map((t) => t.hash),
      )
      pages.push(...ours!.fullblock.transactions.map((t) => t.hash))
    }
    expect(pages).toHaveLength(5)
    // Calldata is cut to the selector.
    const [withInput] = (await both('ots_getBlockTransactions', [3, 0, 10])) as Array<{
      fullblock: { transactions: Array<{ input: string }> }
    }>
    expect(withInput!.fullblock.transactions[0]!.input).toMatch(/^0x[0-9a-f]{8}$/)
  })

  it('answers bad input with clear errors', async () => {
    const bad: Array<[string, unknown[], RegExp]> = [
      ['ots_searchTransactionsBefore', [A[0], 0, 0], /page size/],
      ['ots_searchTransactionsBefore', [A[0], 0, 1_000_000], /page size/],
      ['ots_searchTransactionsAfter', ['0x1234', 0, 10], /address/],
      ['ots_searchTransactionsAfter', [A[0], -1, 10], /blockNumber/],
      ['ots_getBlockTransactions', [1, -1, 10], /pageNumber/],
      ['ots_getBlockDetails', [999_999], /not found/],
      ['ots_getTransactionBySenderAndNonce', [A[0], 'x'], /nonce/],
      ['ots_traceTransaction', [`0x${'00'.repeat(32)}`], /not found/],
      ['ots_getApiLevel', [1], /too many|parameters|argument/i],
    ]
    for (const [method, params, message] of bad)
      await expect(call(urls.ol, method, params)).rejects.toThrow(message)
  })

  it('traces, internal operations and transaction errors', async () => {
    for (const h of sent) {
      // anvil leaves CREATE/CREATE2/SELFDESTRUCT frames out of ots_traceTransaction (its
      // batch_build_ots_traces keeps calls only); Erigon and the spec include them, as we do.
      const [ours, theirs] = await both('ots_traceTransaction', [h])
      const calls = (ours as Array<{ type: string }>).filter((f) => !/^(CREATE2?|SELFDESTRUCT)$/.test(f.type))
      expect(normalise(calls), h).toEqual(normalise(theirs))
      if (h === txs.make || h === txs.deployStore)
        expect((ours as Array<{ type: string }>).some((f) => f.type.startsWith('CREATE'))).toBe(true)
      await expectSame('ots_getInternalOperations', [h])
      await expectSame('ots_getTransactionError', [h])
    }
  })

  /**
   * Pages must hold the same transactions and receipts. The end-of-history flag (lastPage going
   * back, firstPage going forward) is exact here, as the spec and Erigon define it ("no more
   * transactions beyond the returned ones"); anvil only sets it when its block scan reached the
   * end without filling the page, so it may say "more" and then answer one extra, empty page
   * with the flag set. Where the flags differ, that must be the case.
   */
  async function walk(address: Hex, pageSize: number, direction: 'Before' | 'After'): Promise<Hex[]> {
    const endFlag = direction === 'Before' ? 'lastPage' : 'firstPage'
    const startFlag = direction === 'Before' ? 'firstPage' : 'lastPage'
    type Page = { txs: Array<{ hash: Hex; blockNumber: Hex }>; firstPage: boolean; lastPage: boolean }
    const seen: Hex[] = []
    let block = 0
    for (let guard = 0; guard < 40; guard++) {
      const params = [address, block, pageSize]
      const [ours, theirs] = (await both(`ots_searchTransactions${direction}`, params)) as [Page, Page]
      const label = `${direction} ${JSON.stringify(params)}`
      // The spec orders results newest first; anvil's After keeps a block's own transactions
      // oldest first. Compare in the spec's order, and check that ours is in it already.
      const order = (p: Page) => {
        const idx = p.txs.map((_, i) => i)
        const pos = (i: number) => [
          Number(p.txs[i]!.blockNumber),
          Number((p.txs[i] as never as { transactionIndex: Hex }).transactionIndex),
        ]
        idx.sort((a, b) => pos(b)[0]! - pos(a)[0]! || pos(b)[1]! - pos(a)[1]!)
        return idx
      }
      expect(order(ours), label).toEqual(ours.txs.map((_, i) => i))
      const sorted = order(theirs)
      const receiptsOf = (p: Page) => (p as unknown as { receipts: unknown[] }).receipts
      const theirReceipts = receiptsOf(theirs)
      theirs.txs = sorted.map((i) => theirs.txs[i]!)
      ;(theirs as unknown as { receipts: unknown[] }).receipts = sorted.map((i) => theirReceipts[i])
      expect(normalise(ours.txs), label).toEqual(normalise(theirs.txs))
      expect(normalise((ours as unknown as { receipts: unknown }).receipts), label).toEqual(
        normalise((theirs as unknown as { receipts: unknown }).receipts),
      )
      expect(ours[startFlag], label).toBe(theirs[startFlag])
      if (ours.txs.length > 0 && direction === 'Before') expect(ours.txs.length).toBeGreaterThanOrEqual(1)
      seen.push(...ours.txs.map((t) => t.hash))
      if (ours[endFlag] !== theirs[endFlag]) {
        expect(ours[endFlag], label).toBe(true)
        const edge = Number((direction === 'Before' ? ours.txs.at(-1) : ours.txs[0])!.blockNumber)
        const next = (await call(urls.anvil, `ots_searchTransactions${direction}`, [
          address,
          edge,
          pageSize,
        ])) as Page
        expect(next.txs, `anvil's extra page after ${label}`).toEqual([])
        expect(next[endFlag]).toBe(true)
      }
      if (ours[endFlag] || ours.txs.length === 0) break
      block = Number((direction === 'Before' ? ours.txs.at(-1) : ours.txs[0])!.blockNumber)
    }
    return seen
  }

  it('searches address history before/after with paging', async () => {
    for (const address of [A[0], A[1], A[2], store, forwarder]) {
      const all = (await walk(address, 1000, 'Before')).length
      expect(all).toBeGreaterThan(0)
      for (const pageSize of [1, 2, 3, 25]) {
        // Newest first in both directions; together the pages cover every appearance once.
        const back = await walk(address, pageSize, 'Before')
        const forward = await walk(address, pageSize, 'After')
        expect(back.length).toBe(all)
        expect(new Set(back).size).toBe(all)
        expect(new Set(forward)).toEqual(new Set(back))
      }
    }
  })
})
