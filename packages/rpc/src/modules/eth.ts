/**
 * eth_* methods (execution-apis set) plus personal_sign. Every handler validates its params
 * with validation.ts before touching the backend.
 * Long file: the eth_* namespace is one module by design (one per namespace), a few lines per method.
 */
import type { Block } from '@ethereumjs/block'
import type { BlockRef, Hash } from '../backend.ts'
import { ErrorCode, invalidParams, RpcError, revertError } from '../errors.ts'
import { queryLogs } from '../filters.ts'
import {
  data,
  formatBlock,
  formatFeeHistory,
  formatLog,
  formatProof,
  formatReceipt,
  formatSyncing,
  formatTransaction,
  formatTxLocation,
  type Json,
  quantity,
} from '../format.ts'
import type { RequestContext, RpcMethods } from '../registry.ts'
import { signPersonalMessage, signTypedDataV4 } from '../signing.ts'
import {
  expectParams,
  parseAddress,
  parseBlockNumberOrTag,
  parseBlockRef,
  parseBool,
  parseCallRequest,
  parseData,
  parseFilter,
  parseHash,
  parseIndex,
  parseStateOverride,
  parseUint64,
} from '../validation.ts'

/** geth's decodeHash: any 0x hex of at most 32 bytes, left-padded (storage keys may be short). */
function parseStorageKey(value: unknown, name: string): Hash {
  if (typeof value !== 'string' || !/^0x[0-9a-f]{0,64}$/i.test(value)) {
    throw invalidParams(`invalid argument ${name}: expected hex storage key of at most 32 bytes`)
  }
  return new Uint8Array(Buffer.from(value.slice(2).padStart(64, '0'), 'hex'))
}

function parseFilterId(value: unknown): string {
  if (typeof value !== 'string' || !/^0x[0-9a-f]{1,64}$/i.test(value)) {
    throw invalidParams('invalid argument 0: expected hex filter id')
  }
  return value.toLowerCase()
}

async function blockOrNull(ctx: RequestContext, ref: BlockRef): Promise<Block | undefined> {
  return ctx.backend.getBlock(ref)
}

/**
 * Block JSON; for full transactions the senders come from the stored receipts when they line up
 * with the body, because recovering each signature costs milliseconds per transaction.
 */
async function blockJson(ctx: RequestContext, block: Block, fullTx: boolean): Promise<Json> {
  if (!fullTx || block.transactions.length === 0) return formatBlock(block, fullTx)
  const receipts = await ctx.backend.getReceipts(block.hash())
  const aligned =
    receipts !== undefined &&
    receipts.length === block.transactions.length &&
    receipts.every((r, i) => Buffer.compare(r.transactionHash, block.transactions[i]!.hash()) === 0)
  return formatBlock(block, true, aligned ? receipts.map((r) => r.from) : undefined)
}

/** A pending block has no hash yet (geth): null, also in its full transactions. */
function asPending(json: Json): Json {
  const out = json as Record<string, Json>
  out.hash = null
  const txs = out.transactions
  if (Array.isArray(txs))
    for (const t of txs) if (t !== null && typeof t === 'object' && !Array.isArray(t)) t.blockHash = null
  return out
}

function txInBlock(block: Block, index: number): Json {
  const tx = block.transactions[index]
  if (!tx) return null
  return formatTransaction(tx, {
    sender: tx.getSenderAddress().bytes,
    block: {
      hash: block.hash(),
      number: block.header.number,
      index,
      baseFeePerGas: block.header.baseFeePerGas,
    },
  })
}

const MAX_REWARD_PERCENTILES = 100

function parsePercentiles(value: unknown): number[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalidParams('invalid argument 2: expected array of reward percentiles')
  if (value.length > MAX_REWARD_PERCENTILES) {
    throw invalidParams(`invalid argument 2: at most ${MAX_REWARD_PERCENTILES} reward percentiles`)
  }
  value.forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) {
      throw invalidParams(`invalid reward percentile: ${JSON.stringify(p)}`)
    }
    if (i > 0 && p < (value[i - 1] as number)) {
      throw invalidParams(`invalid reward percentile: #${i - 1}:${value[i - 1]} > #${i}:${p}`)
    }
  })
  return value as number[]
}

export const ethMethods: RpcMethods = {
  eth_chainId: (params, ctx) => {
    expectParams(params, 0, 0)
    return quantity(ctx.backend.chainId)
  },

  eth_blockNumber: (params, ctx) => {
    expectParams(params, 0, 0)
    return quantity(ctx.backend.headNumber())
  },

  eth_syncing: (params, ctx) => {
    expectParams(params, 0, 0)
    return formatSyncing(ctx.backend.syncing())
  },

  eth_coinbase: async (params, ctx) => {
    expectParams(params, 0, 0)
    if (ctx.backend.coinbase) return data(ctx.backend.coinbase())
    const head = await ctx.backend.getBlock({ tag: 'latest' })
    if (!head) throw new RpcError(ErrorCode.RESOURCE_UNAVAILABLE, 'no head block')
    return data(head.header.coinbase.bytes)
  },

  // Blocks are sealed by QBFT validators, not mined by this RPC endpoint.
  eth_mining: (params) => {
    expectParams(params, 0, 0)
    return false
  },

  eth_hashrate: (params) => {
    expectParams(params, 0, 0)
    return '0x0'
  },

  eth_accounts: (params, ctx) => {
    expectParams(params, 0, 0)
    return ctx.backend.accounts().map(data)
  },

  eth_gasPrice: async (params, ctx) => {
    expectParams(params, 0, 0)
    return quantity(await ctx.backend.gasPrice())
  },

  eth_maxPriorityFeePerGas: async (params, ctx) => {
    expectParams(params, 0, 0)
    return quantity(await ctx.backend.maxPriorityFeePerGas())
  },

  eth_blobBaseFee: async (params, ctx) => {
    expectParams(params, 0, 0)
    const head = await ctx.backend.getBlock({ tag: 'latest' })
    if (!head || head.header.excessBlobGas === undefined) {
      throw new RpcError(ErrorCode.METHOD_NOT_SUPPORTED, 'blob transactions are not enabled on this chain')
    }
    return quantity(head.header.getBlobGasPrice())
  },

  eth_feeHistory: async (params, ctx) => {
    const [countArg, newestArg, percentilesArg] = expectParams(params, 2, 3)
    let count = parseUint64(countArg, 'blockCount')
    const newest = parseBlockNumberOrTag(newestArg, 'newestBlock')
    const percentiles = parsePercentiles(percentilesArg)
    if (count === 0n) return { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [] }
    // geth clamps rather than refusing oversized ranges.
    const max = BigInt(ctx.limits.maxFeeHistoryBlocks)
    if (count > max) count = max
    return formatFeeHistory(await ctx.backend.feeHistory(Number(count), newest, percentiles))
  },

  eth_getBalance: async (params, ctx) => {
    const [addr, block] = expectParams(params, 1, 2)
    const address = parseAddress(addr, 'address')
    return quantity(await ctx.backend.getBalance(address, parseBlockRef(block, 'block')))
  },

  eth_getTransactionCount: async (params, ctx) => {
    const [addr, block] = expectParams(params, 1, 2)
    const address = parseAddress(addr, 'address')
    return quantity(await ctx.backend.getNonce(address, parseBlockRef(block, 'block')))
  },

  eth_getCode: async (params, ctx) => {
    const [addr, block] = expectParams(params, 1, 2)
    const address = parseAddress(addr, 'address')
    return data(await ctx.backend.getCode(address, parseBlockRef(block, 'block')))
  },

  eth_getStorageAt: async (params, ctx) => {
    const [addr, slot, block] = expectParams(params, 2, 3)
    const address = parseAddress(addr, 'address')
    const key = parseStorageKey(slot, 'slot')
    return data(await ctx.backend.getStorageAt(address, key, parseBlockRef(block, 'block')))
  },

  eth_getProof: async (params, ctx) => {
    const [addr, keysArg, block] = expectParams(params, 2, 3)
    const address = parseAddress(addr, 'address')
    if (!Array.isArray(keysArg)) throw invalidParams('invalid argument 1: expected array of storage keys')
    if (keysArg.length > ctx.limits.maxProofKeys) {
      throw new RpcError(
        ErrorCode.LIMIT_EXCEEDED,
        `too many storage keys: ${keysArg.length} exceeds max ${ctx.limits.maxProofKeys}`,
      )
    }
    const keys = keysArg.map((k, i) => parseStorageKey(k, `storageKeys[${i}]`))
    return formatProof(await ctx.backend.getProof(address, keys, parseBlockRef(block, 'block')))
  },

  eth_call: async (params, ctx) => {
    const [callArg, block, overridesArg, blockOverrides] = expectParams(params, 1, 4)
    const req = parseCallRequest(callArg, 'args')
    const ref = parseBlockRef(block, 'block')
    const overrides = parseStateOverride(overridesArg, 'stateOverrides')
    if (blockOverrides !== undefined) throw invalidParams('block overrides are not supported')
    const outcome = await ctx.execute(() => ctx.backend.call(req, ref, overrides, { signal: ctx.signal }))
    if (outcome.error) {
      if (outcome.error.reverted) throw revertError(outcome.returnData)
      throw new RpcError(ErrorCode.INVALID_INPUT, outcome.error.message)
    }
    return data(outcome.returnData)
  },

  eth_estimateGas: async (params, ctx) => {
    const [callArg, block, overridesArg] = expectParams(params, 1, 3)
    const req = parseCallRequest(callArg, 'args')
    const ref = parseBlockRef(block, 'block')
    const overrides = parseStateOverride(overridesArg, 'stateOverrides')
    return quantity(
      await ctx.execute(() => ctx.backend.estimateGas(req, ref, overrides, { signal: ctx.signal })),
    )
  },

  // geth: the block defaults to pending; errors outside the EVM (funds, intrinsic gas) are -32000,
  // an EVM failure of the final run is the answer's `error` field.
  eth_createAccessList: async (params, ctx) => {
    const [callArg, block, overridesArg] = expectParams(params, 1, 3)
    const req = parseCallRequest(callArg, 'args')
    const ref = parseBlockRef(block, 'block', { tag: 'pending' })
    const overrides = parseStateOverride(overridesArg, 'stateOverrides')
    const r = await ctx.execute(() =>
      ctx.backend.createAccessList(req, ref, overrides, { signal: ctx.signal }),
    )
    const out: Record<string, Json> = {
      accessList: r.accessList.map((e) => ({
        address: data(e.address),
        storageKeys: e.storageKeys.map(data),
      })),
      gasUsed: quantity(r.gasUsed),
    }
    if (r.error !== undefined) out.error = r.error
    return out
  },

  eth_sendRawTransaction: async (params, ctx) => {
    const [raw] = expectParams(params, 1, 1)
    const bytes = parseData(raw, 'input')
    if (bytes.length === 0) throw invalidParams('invalid argument 0: empty transaction')
    return data(await ctx.backend.sendRawTransaction(bytes))
  },

  eth_sendTransaction: async (params, ctx) => {
    const [txArg] = expectParams(params, 1, 1)
    const req = parseCallRequest(txArg, 'args')
    if (!req.from) throw invalidParams('invalid argument 0: "from" is required')
    return data(await ctx.backend.sendTransaction(req))
  },

  eth_sign: (params, ctx) => {
    const [addr, msg] = expectParams(params, 2, 2)
    return signPersonalMessage(ctx.backend, parseAddress(addr, 'address'), parseData(msg, 'data'))
  },

  eth_signTypedData_v4: (params, ctx) => {
    const [addr, typed] = expectParams(params, 2, 2)
    return signTypedDataV4(ctx.backend, parseAddress(addr, 'address'), typed)
  },

  eth_getTransactionByHash: async (params, ctx) => {
    const [h] = expectParams(params, 1, 1)
    const loc = await ctx.backend.getTransaction(parseHash(h, 'hash'))
    return loc ? formatTxLocation(loc) : null
  },

  eth_getTransactionByBlockHashAndIndex: async (params, ctx) => {
    const [h, i] = expectParams(params, 2, 2)
    const hash = parseHash(h, 'blockHash')
    const index = parseIndex(i, 'index')
    const block = await blockOrNull(ctx, { hash })
    return block ? txInBlock(block, index) : null
  },

  eth_getTransactionByBlockNumberAndIndex: async (params, ctx) => {
    const [n, i] = expectParams(params, 2, 2)
    const ref = parseBlockNumberOrTag(n, 'blockNumber')
    const index = parseIndex(i, 'index')
    const block = await blockOrNull(ctx, ref)
    return block ? txInBlock(block, index) : null
  },

  eth_getTransactionReceipt: async (params, ctx) => {
    const [h] = expectParams(params, 1, 1)
    const receipt = await ctx.backend.getReceipt(parseHash(h, 'hash'))
    return receipt ? formatReceipt(receipt) : null
  },

  eth_getBlockByNumber: async (params, ctx) => {
    const [n, full] = expectParams(params, 2, 2)
    const ref = parseBlockNumberOrTag(n, 'blockNumber')
    const fullTx = parseBool(full, 'fullTransactions')
    const block = await blockOrNull(ctx, ref)
    if (!block) return null
    const json = await blockJson(ctx, block, fullTx)
    return 'tag' in ref && ref.tag === 'pending' ? asPending(json) : json
  },

  eth_getBlockByHash: async (params, ctx) => {
    const [h, full] = expectParams(params, 2, 2)
    const hash = parseHash(h, 'blockHash')
    const fullTx = parseBool(full, 'fullTransactions')
    const block = await blockOrNull(ctx, { hash })
    return block ? blockJson(ctx, block, fullTx) : null
  },

  eth_getBlockReceipts: async (params, ctx) => {
    const [b] = expectParams(params, 1, 1)
    const block = await blockOrNull(ctx, parseBlockRef(b, 'block'))
    if (!block) return null
    const receipts = await ctx.backend.getReceipts(block.hash())
    return receipts ? receipts.map(formatReceipt) : null
  },

  eth_getBlockTransactionCountByNumber: async (params, ctx) => {
    const [n] = expectParams(params, 1, 1)
    const block = await blockOrNull(ctx, parseBlockNumberOrTag(n, 'blockNumber'))
    return block ? quantity(block.transactions.length) : null
  },

  eth_getBlockTransactionCountByHash: async (params, ctx) => {
    const [h] = expectParams(params, 1, 1)
    const block = await blockOrNull(ctx, { hash: parseHash(h, 'blockHash') })
    return block ? quantity(block.transactions.length) : null
  },

  // BFT chain: there are never uncles.
  eth_getUncleCountByBlockNumber: async (params, ctx) => {
    const [n] = expectParams(params, 1, 1)
    const block = await blockOrNull(ctx, parseBlockNumberOrTag(n, 'blockNumber'))
    return block ? quantity(block.uncleHeaders.length) : null
  },

  eth_getUncleCountByBlockHash: async (params, ctx) => {
    const [h] = expectParams(params, 1, 1)
    const block = await blockOrNull(ctx, { hash: parseHash(h, 'blockHash') })
    return block ? quantity(block.uncleHeaders.length) : null
  },

  eth_getUncleByBlockNumberAndIndex: (params) => {
    const [n, i] = expectParams(params, 2, 2)
    parseBlockNumberOrTag(n, 'blockNumber')
    parseIndex(i, 'index')
    return null
  },

  eth_getUncleByBlockHashAndIndex: (params) => {
    const [h, i] = expectParams(params, 2, 2)
    parseHash(h, 'blockHash')
    parseIndex(i, 'index')
    return null
  },

  eth_getLogs: async (params, ctx) => {
    const [f] = expectParams(params, 1, 1)
    const logs = await queryLogs(ctx.backend, parseFilter(f, 'filter'), ctx.limits)
    return logs.map(formatLog)
  },

  eth_newFilter: (params, ctx) => {
    const [f] = expectParams(params, 1, 1)
    return ctx.filters.newLogFilter(parseFilter(f, 'filter'), ctx.client)
  },

  eth_newBlockFilter: (params, ctx) => {
    expectParams(params, 0, 0)
    return ctx.filters.newBlockFilter(ctx.client)
  },

  eth_newPendingTransactionFilter: (params, ctx) => {
    expectParams(params, 0, 0)
    return ctx.filters.newPendingTransactionFilter(ctx.client)
  },

  eth_getFilterChanges: (params, ctx) => {
    const [id] = expectParams(params, 1, 1)
    return ctx.filters.getFilterChanges(parseFilterId(id))
  },

  eth_getFilterLogs: (params, ctx) => {
    const [id] = expectParams(params, 1, 1)
    return ctx.filters.getFilterLogs(parseFilterId(id))
  },

  eth_uninstallFilter: (params, ctx) => {
    const [id] = expectParams(params, 1, 1)
    return ctx.filters.uninstall(parseFilterId(id))
  },

  eth_subscribe: (params, ctx) => {
    const args = expectParams(params, 1, 2)
    if (!ctx.subscriptions) {
      throw new RpcError(
        ErrorCode.METHOD_NOT_SUPPORTED,
        'notifications not supported: use a WebSocket connection',
      )
    }
    return ctx.subscriptions.subscribe(args)
  },

  eth_unsubscribe: (params, ctx) => {
    const [id] = expectParams(params, 1, 1)
    if (!ctx.subscriptions) {
      throw new RpcError(
        ErrorCode.METHOD_NOT_SUPPORTED,
        'notifications not supported: use a WebSocket connection',
      )
    }
    if (typeof id !== 'string') throw invalidParams('invalid argument 0: expected subscription id string')
    return ctx.subscriptions.unsubscribe(id)
  },
}

export const personalMethods: RpcMethods = {
  // personal_sign(message, address[, password]): the password is accepted and ignored, as dev nodes do.
  personal_sign: (params, ctx) => {
    const [msg, addr] = expectParams(params, 2, 3)
    return signPersonalMessage(ctx.backend, parseAddress(addr, 'address'), parseData(msg, 'data'))
  },
}
