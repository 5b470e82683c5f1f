/**
 * A forked dev chain's history: blocks up to and including the fork block are the remote chain's,
 * so requests about them are answered by the remote, as anvil and Hardhat do. The node keeps the
 * fork block only as the parent of its own blocks, and state before it only on the remote.
 *
 * - Block data by number (≤ fork block) or by a hash the remote knows there: forwarded.
 * - State at a block before the fork block (eth_getBalance … eth_call at an old number): forwarded;
 *   at the fork block and later it is the local chain's (dev accounts funded, cheats applied).
 * - eth_getProof at the fork block or earlier: forwarded (the fork block's header is the remote's,
 *   so a proof must be against its state root); later blocks prove against the local trie.
 * - Transactions and receipts by hash: the local chain's, else the remote's if mined at or before
 *   the fork block (a remote transaction mined after it is not part of this chain).
 * - eth_getLogs: the part of the range up to the fork block from the remote, the rest local.
 * Filters and subscriptions only see local blocks.
 */
import type { ForkedHistory, RpcBackend } from './backend.ts'
import { ErrorCode, limitExceeded, RpcError } from './errors.ts'
import { resolveBlockNumber } from './filters.ts'
import type { RequestContext } from './registry.ts'
import { parseBlockRef, parseFilter } from './validation.ts'

type Local = (params: unknown) => Promise<unknown>

/** Position of the block selector of methods about state at a block: forwarded before the fork. */
const STATE_AT: Record<string, number> = {
  eth_getBalance: 1,
  eth_getTransactionCount: 1,
  eth_getCode: 1,
  eth_getStorageAt: 2,
  eth_call: 1,
  eth_estimateGas: 1,
}
/** Position of the block selector of methods about a block (or its proofs): forwarded up to and
 * including the fork block. */
const BLOCK_AT: Record<string, number> = {
  eth_getBlockByNumber: 0,
  eth_getBlockByHash: 0,
  eth_getBlockReceipts: 0,
  eth_getBlockTransactionCountByNumber: 0,
  eth_getBlockTransactionCountByHash: 0,
  eth_getTransactionByBlockNumberAndIndex: 0,
  eth_getTransactionByBlockHashAndIndex: 0,
  eth_getUncleCountByBlockNumber: 0,
  eth_getUncleCountByBlockHash: 0,
  eth_getUncleByBlockNumberAndIndex: 0,
  eth_getUncleByBlockHashAndIndex: 0,
  eth_getProof: 2,
}
const BY_TX_HASH = new Set(['eth_getTransactionByHash', 'eth_getTransactionReceipt'])

/** Does `method` need routing on a forked chain at all? (Everything else is local.) */
export function forkRouted(method: string): boolean {
  return (
    method in STATE_AT ||
    method in BLOCK_AT ||
    BY_TX_HASH.has(method) ||
    method === 'eth_getLogs' ||
    method === 'debug_traceTransaction'
  )
}

/** Answers `method` on a forked chain: from the remote for its history, else through `local`. */
export async function routeForked(
  method: string,
  params: unknown,
  ctx: RequestContext,
  fork: ForkedHistory,
  local: Local,
): Promise<unknown> {
  if (!Array.isArray(params)) return local(params)
  const forward = () => fork.request(method, params)
  const n = fork.blockNumber
  if (method in STATE_AT || method in BLOCK_AT) {
    const at = await blockNumberOf(params[STATE_AT[method] ?? BLOCK_AT[method]!], ctx.backend, fork)
    if (at === undefined) return local(params)
    return (method in STATE_AT ? at < n : at <= n) ? forward() : local(params)
  }
  if (BY_TX_HASH.has(method)) {
    const mine = await local(params)
    return mine !== null ? mine : remoteTxThing(forward, n)
  }
  if (method === 'debug_traceTransaction') {
    try {
      return await local(params)
    } catch (err) {
      if (!(err instanceof RpcError) || err.code !== ErrorCode.RESOURCE_NOT_FOUND) throw err
      const tx = await remoteTxThing(() => fork.request('eth_getTransactionByHash', [params[0]]), n)
      if (tx === null) throw err
      return forward()
    }
  }
  return logs(params, ctx, fork, local)
}

/** A remote transaction or receipt, if it is part of the history this chain continues. */
async function remoteTxThing(get: () => Promise<unknown>, forkBlock: bigint): Promise<unknown> {
  const r = (await get()) as { blockNumber?: unknown } | null
  if (r === null || typeof r !== 'object' || typeof r.blockNumber !== 'string') return null
  return BigInt(r.blockNumber) <= forkBlock ? r : null
}

/**
 * The block number a selector names, or undefined when it is the local chain's business (a tag
 * other than `earliest`, a hash nobody knows, or something malformed the handler will refuse).
 */
async function blockNumberOf(
  selector: unknown,
  backend: RpcBackend,
  fork: ForkedHistory,
): Promise<bigint | undefined> {
  let ref: ReturnType<typeof parseBlockRef>
  try {
    ref = parseBlockRef(selector, 'block')
  } catch {
    return undefined
  }
  if ('tag' in ref) return ref.tag === 'earliest' ? 0n : undefined
  if ('number' in ref) return ref.number
  const mine = await backend.getBlock({ hash: ref.hash })
  if (mine) return mine.header.number
  const theirs = (await fork.request('eth_getBlockByHash', [
    `0x${Buffer.from(ref.hash).toString('hex')}`,
    false,
  ])) as {
    number?: unknown
  } | null
  return theirs !== null && typeof theirs?.number === 'string' ? BigInt(theirs.number) : undefined
}

/** eth_getLogs over a range that may start before the fork block: the remote's part, then ours. */
async function logs(
  params: unknown[],
  ctx: RequestContext,
  fork: ForkedHistory,
  local: Local,
): Promise<unknown> {
  const raw = params[0]
  let criteria: ReturnType<typeof parseFilter>
  try {
    criteria = parseFilter(raw, 'filter')
  } catch {
    return local(params)
  }
  const n = fork.blockNumber
  if (criteria.blockHash !== undefined) {
    const at = await blockNumberOf(`0x${Buffer.from(criteria.blockHash).toString('hex')}`, ctx.backend, fork)
    return at !== undefined && at <= n ? fork.request('eth_getLogs', params) : local(params)
  }
  const from = await resolveBlockNumber(ctx.backend, criteria.fromBlock)
  const to = await resolveBlockNumber(ctx.backend, criteria.toBlock)
  if (from > n || from > to) return local(params)
  const filter = { ...(raw as Record<string, unknown>) }
  const hexQ = (v: bigint) => `0x${v.toString(16)}`
  const theirs = (await fork.request('eth_getLogs', [
    { ...filter, fromBlock: hexQ(from), toBlock: hexQ(to < n ? to : n) },
  ])) as unknown[]
  if (!Array.isArray(theirs))
    throw new RpcError(ErrorCode.INTERNAL_ERROR, "the fork's remote answered eth_getLogs with a non-array")
  const ours =
    to > n ? ((await local([{ ...filter, fromBlock: hexQ(n + 1n), toBlock: hexQ(to) }])) as unknown[]) : []
  if (theirs.length + ours.length > ctx.limits.maxLogResults)
    throw limitExceeded(`query returned more than ${ctx.limits.maxLogResults} results`)
  return [...theirs, ...ours]
}
