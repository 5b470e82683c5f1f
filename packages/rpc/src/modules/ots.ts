/**
 * ots_* (Otterscan API level 8, as Erigon and anvil serve it) and erigon_getHeaderByNumber, so
 * the Otterscan explorer and OpenLedger Studio read the node directly. Address history comes from
 * the node's address index (the host implements AddressHistory); traces from debug's callTracer.
 */
import type { Block } from '@ethereumjs/block'
import type { Address, Hash, RpcReceipt } from '../backend.ts'
import { invalidParams, resourceNotFound } from '../errors.ts'
import {
  data,
  formatBlock,
  formatReceipt,
  formatTxLocation,
  type Json,
  type JsonObject,
  quantity,
} from '../format.ts'
import type { RequestContext, RpcMethods } from '../registry.ts'
import {
  expectParams,
  parseAddress,
  parseBlockRef,
  parseHash,
  parseIndex,
  parseUint64,
} from '../validation.ts'

/** What the host's address index answers (packages/node: store/address-index.ts). */
export interface AddressHistory {
  /** Appearances before `block` newest first, or after it oldest first; whole blocks until at
   * least `pageSize` transactions; `exhausted` when nothing lies beyond. */
  page(
    address: Address,
    direction: 'before' | 'after',
    block: bigint,
    pageSize: number,
  ): Promise<{ txs: Array<{ blockNumber: bigint; index: number; hash: Hash }>; exhausted: boolean }>
  bySenderAndNonce(sender: Address, nonce: bigint): Promise<Hash | undefined>
  creator(contract: Address): Promise<{ hash: Hash; creator: Address } | undefined>
}

export const OTS_API_LEVEL = 8
/** Largest page of ots_searchTransactions* / ots_getBlockTransactions (Otterscan asks for 25). */
export const OTS_MAX_PAGE_SIZE = 1000

interface CallFrame {
  type: string
  from: string
  to?: string
  value?: string
  input?: string
  output?: string
  calls?: CallFrame[]
}

async function blockByNumber(ctx: RequestContext, value: unknown, name: string): Promise<Block> {
  const ref = parseBlockRef(value, name)
  const block = await ctx.backend.getBlock(ref)
  if (!block) throw resourceNotFound(`block ${JSON.stringify(value)} not found`)
  return block
}

function totalFees(receipts: readonly RpcReceipt[]): bigint {
  let fees = 0n
  for (const r of receipts) fees += r.gasUsed * r.effectiveGasPrice
  return fees
}

/** ots_getBlockDetails: the block without its transactions or bloom, plus count, issuance, fees. */
async function blockDetails(ctx: RequestContext, block: Block): Promise<JsonObject> {
  const json = formatBlock(block, false)
  const transactionCount = block.transactions.length
  delete json.transactions
  json.logsBloom = null
  json.transactionCount = transactionCount
  const receipts = (await ctx.backend.getReceipts(block.hash())) ?? []
  return {
    block: json,
    // No block reward on OpenLedger: validators earn fees only.
    issuance: { blockReward: '0x0', uncleReward: '0x0', issuance: '0x0' },
    totalFees: quantity(totalFees(receipts)),
  }
}

function pageSizeParam(value: unknown, name: string): number {
  const n = parseIndex(value, name)
  if (n < 1 || n > OTS_MAX_PAGE_SIZE)
    throw invalidParams(`invalid argument ${name}: page size must be between 1 and ${OTS_MAX_PAGE_SIZE}`)
  return n
}

/** Receipt as Otterscan's search results carry it: with the block's timestamp. */
function receiptWithTimestamp(r: RpcReceipt, timestamp: bigint): JsonObject {
  return { ...formatReceipt(r), timestamp: quantity(timestamp) }
}

async function search(
  ctx: RequestContext,
  history: AddressHistory,
  params: unknown,
  direction: 'before' | 'after',
): Promise<JsonObject> {
  const [a, b, s] = expectParams(params, 3, 3)
  const address = parseAddress(a, 'address')
  const blockParam = typeof b === 'number' ? BigInt(b) : parseUint64(b, 'blockNumber')
  if (blockParam < 0n) throw invalidParams('invalid argument blockNumber: negative')
  const pageSize = pageSizeParam(s, 'pageSize')
  const head = ctx.backend.headNumber()
  // 0 means "from the newest" (before) or "from genesis" (after).
  const from = direction === 'before' ? (blockParam === 0n ? head + 1n : blockParam) : blockParam
  const page = await history.page(address, direction, from, pageSize)
  const found = direction === 'before' ? page.txs : [...page.txs].reverse()
  const txs: Json[] = []
  const receipts: Json[] = []
  const blocks = new Map<bigint, { timestamp: bigint; receipts: RpcReceipt[] }>()
  for (const t of found) {
    let b = blocks.get(t.blockNumber)
    if (!b) {
      const block = await ctx.backend.getBlock({ number: t.blockNumber })
      const rs = block && (await ctx.backend.getReceipts(block.hash()))
      if (!block || !rs) throw resourceNotFound(`block ${t.blockNumber} of the address index is missing`)
      b = { timestamp: block.header.timestamp, receipts: rs }
      blocks.set(t.blockNumber, b)
    }
    const loc = await ctx.backend.getTransaction(t.hash)
    const receipt = b.receipts[t.index]
    if (!loc || !receipt)
      throw resourceNotFound(`transaction ${data(t.hash)} of the address index is missing`)
    txs.push(formatTxLocation(loc))
    receipts.push(receiptWithTimestamp(receipt, b.timestamp))
  }
  return direction === 'before'
    ? { txs, receipts, firstPage: blockParam === 0n || blockParam > head, lastPage: page.exhausted }
    : { txs, receipts, firstPage: page.exhausted, lastPage: blockParam === 0n }
}

async function callTrace(ctx: RequestContext, hash: Hash): Promise<CallFrame> {
  const result = await ctx.execute(() =>
    ctx.backend.traceTransaction(hash, { tracer: 'callTracer' }, { signal: ctx.signal }),
  )
  if (result === undefined) throw resourceNotFound(`transaction ${data(hash)} not found`)
  return result as CallFrame
}

function walk(frame: CallFrame, depth: number, visit: (f: CallFrame, depth: number) => void): void {
  visit(frame, depth)
  for (const c of frame.calls ?? []) walk(c, depth + 1, visit)
}

/**
 * A contract created by another contract is not in the index (only top-level deployments are):
 * as Erigon does, find the first block whose state has its code (binary search over history),
 * then trace that block's transactions for the CREATE frame.
 */
async function internalCreator(
  ctx: RequestContext,
  address: Address,
): Promise<{ hash: Hash; creator: Address } | undefined> {
  const hasCode = async (n: bigint) => (await ctx.backend.getCode(address, { number: n })).length > 0
  let hi = ctx.backend.headNumber()
  if (!(await hasCode(hi))) return undefined
  let lo = 0n
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    if (await hasCode(mid)) hi = mid
    else lo = mid + 1n
  }
  const block = await ctx.backend.getBlock({ number: lo })
  const target = data(address)
  for (const tx of block?.transactions ?? []) {
    const hash = tx.hash()
    let creator: string | undefined
    walk(await callTrace(ctx, hash), 0, (f) => {
      if ((f.type === 'CREATE' || f.type === 'CREATE2') && f.to?.toLowerCase() === target) creator ??= f.from
    })
    if (creator) return { hash, creator: new Uint8Array(Buffer.from(creator.slice(2), 'hex')) }
  }
  return undefined
}

/** Internal operation types of Otterscan. */
const OP = { transfer: 0, selfDestruct: 1, create: 2, create2: 3 } as const

export function otsMethods(history: AddressHistory): RpcMethods {
  return {
    ots_getApiLevel: (params) => {
      expectParams(params, 0, 0)
      return OTS_API_LEVEL
    },

    ots_hasCode: async (params, ctx) => {
      const [a, b] = expectParams(params, 1, 2)
      const addr = parseAddress(a, 'address')
      const code = await ctx.backend.getCode(addr, parseBlockRef(b ?? 'latest', 'block'))
      return code.length > 0
    },

    ots_getBlockDetails: async (params, ctx) => {
      const [n] = expectParams(params, 1, 1)
      return blockDetails(ctx, await blockByNumber(ctx, n, 'number'))
    },

    ots_getBlockDetailsByHash: async (params, ctx) => {
      const [h] = expectParams(params, 1, 1)
      const hash = parseHash(h, 'hash')
      const block = await ctx.backend.getBlock({ hash })
      if (!block) throw resourceNotFound(`block ${data(hash)} not found`)
      return blockDetails(ctx, block)
    },

    ots_getBlockTransactions: async (params, ctx) => {
      const [n, p, s] = expectParams(params, 3, 3)
      const block = await blockByNumber(ctx, n, 'number')
      const pageNumber = parseIndex(p, 'pageNumber')
      const pageSize = pageSizeParam(s, 'pageSize')
      const count = block.transactions.length
      const start = Math.min(count, pageNumber * pageSize)
      const end = Math.min(count, start + pageSize)
      const receipts = (await ctx.backend.getReceipts(block.hash())) ?? []
      const full = formatBlock(
        block,
        true,
        receipts.length === count ? receipts.map((r) => r.from) : undefined,
      )
      const txs = (full.transactions as JsonObject[]).slice(start, end)
      // Otterscan shows the method selector only: the rest of the calldata is cut.
      for (const tx of txs) tx.input = (tx.input as string).slice(0, 10)
      full.transactions = txs
      full.transactionCount = count
      full.logsBloom = null
      return {
        fullblock: full,
        receipts: receipts.slice(start, end).map((r) => {
          // The spec (and Erigon) cap logs and bloom to null; anvil sends them in full.
          const json = receiptWithTimestamp(r, block.header.timestamp)
          json.logs = null
          json.logsBloom = null
          return json
        }),
      }
    },

    ots_searchTransactionsBefore: (params, ctx) => search(ctx, history, params, 'before'),
    ots_searchTransactionsAfter: (params, ctx) => search(ctx, history, params, 'after'),

    ots_getTransactionBySenderAndNonce: async (params) => {
      const [a, n] = expectParams(params, 2, 2)
      const sender = parseAddress(a, 'sender')
      const nonce =
        typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? BigInt(n) : parseUint64(n, 'nonce')
      const hash = await history.bySenderAndNonce(sender, nonce)
      return hash ? data(hash) : null
    },

    ots_getContractCreator: async (params, ctx) => {
      const [a] = expectParams(params, 1, 1)
      const address = parseAddress(a, 'address')
      const found = (await history.creator(address)) ?? (await internalCreator(ctx, address))
      return found ? { hash: data(found.hash), creator: data(found.creator) } : null
    },

    ots_getTransactionError: async (params, ctx) => {
      const [h] = expectParams(params, 1, 1)
      const hash = parseHash(h, 'txHash')
      const receipt = await ctx.backend.getReceipt(hash)
      if (!receipt) throw resourceNotFound(`transaction ${data(hash)} not found`)
      if (receipt.status === 1) return '0x'
      const root = await callTrace(ctx, hash)
      return root.output ?? '0x'
    },

    ots_traceTransaction: async (params, ctx) => {
      const [h] = expectParams(params, 1, 1)
      const root = await callTrace(ctx, parseHash(h, 'txHash'))
      const out: Json[] = []
      walk(root, 0, (f, depth) => {
        out.push({
          type: f.type,
          depth,
          from: f.from,
          to: f.to ?? null,
          value: f.type === 'STATICCALL' || f.type === 'DELEGATECALL' ? null : (f.value ?? '0x0'),
          input: f.input ?? '0x',
          output: f.output ?? '0x',
        })
      })
      return out
    },

    ots_getInternalOperations: async (params, ctx) => {
      const [h] = expectParams(params, 1, 1)
      const root = await callTrace(ctx, parseHash(h, 'txHash'))
      const out: Json[] = []
      // The top-level frame counts too (anvil and Erigon report a plain transfer as one).
      walk(root, 0, (f) => {
        const value = f.value ?? '0x0'
        const op = (type: number) => out.push({ type, from: f.from, to: f.to ?? null, value })
        if (f.type === 'CALL' && BigInt(value) > 0n) op(OP.transfer)
        else if (f.type === 'CREATE') op(OP.create)
        else if (f.type === 'CREATE2') op(OP.create2)
        else if (f.type === 'SELFDESTRUCT') op(OP.selfDestruct)
      })
      return out
    },
  }
}

/** erigon_getHeaderByNumber: Erigon answers the header, anvil the block with transaction hashes;
 * the block is a superset of both, so clients of either read it. */
export const erigonMethods: RpcMethods = {
  erigon_getHeaderByNumber: async (params, ctx) => {
    const [n] = expectParams(params, 1, 1)
    const ref = parseBlockRef(n, 'number')
    const block = await ctx.backend.getBlock(ref)
    return block ? formatBlock(block, false) : null
  },
}
