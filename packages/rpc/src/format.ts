/**
 * Wire format of blocks, transactions, receipts and logs, field for field as geth returns them
 * (execution-apis schemas). Quantities are minimal 0x hex, byte strings are 0x hex, absent optional
 * header fields are omitted, addresses are lowercase.
 */
import type { Block, BlockHeader } from '@ethereumjs/block'
import {
  isAccessList2930Tx,
  isBlob4844Tx,
  isEOACode7702Tx,
  isFeeMarket1559Tx,
  isLegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import type {
  Address,
  FeeHistory,
  ProofResult,
  RpcLog,
  RpcReceipt,
  SyncStatus,
  TxLocation,
} from './backend.ts'

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** Minimal 0x hex quantity. */
export function quantity(n: bigint | number): string {
  return `0x${n.toString(16)}`
}

/** 0x hex of bytes (empty → "0x"). */
export function data(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

/** Byte string whose leading zeros are meaningless (RLP integers): formatted as a quantity. */
function bytesQuantity(bytes: Uint8Array): string {
  let i = 0
  while (i < bytes.length && bytes[i] === 0) i++
  if (i === bytes.length) return '0x0'
  const hex = Buffer.from(bytes.subarray(i)).toString('hex')
  return `0x${hex.replace(/^0/, '')}`
}

export function address(addr: Address): string {
  return data(addr)
}

function accessListJson(list: Array<[Uint8Array, Uint8Array[]]>): Json[] {
  return list.map(([addr, keys]) => ({ address: data(addr), storageKeys: keys.map(data) }))
}

export interface TxContext {
  sender: Address
  block?: { hash: Uint8Array; number: bigint; index: number; baseFeePerGas?: bigint }
}

/**
 * A transaction as geth's RPCTransaction: pending transactions have null block fields and, for
 * fee-market types, gasPrice = maxFeePerGas; mined ones report the effective gas price.
 */
export function formatTransaction(tx: TypedTransaction, ctx: TxContext): JsonObject {
  const block = ctx.block
  const out: JsonObject = {
    blockHash: block ? data(block.hash) : null,
    blockNumber: block ? quantity(block.number) : null,
    from: address(ctx.sender),
    gas: quantity(tx.gasLimit),
  }
  if (isLegacyTx(tx) || isAccessList2930Tx(tx)) {
    out.gasPrice = quantity(tx.gasPrice)
  } else {
    const feeTx = tx as { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
    let gasPrice = feeTx.maxFeePerGas
    if (block?.baseFeePerGas !== undefined) {
      const tipped = block.baseFeePerGas + feeTx.maxPriorityFeePerGas
      if (tipped < feeTx.maxFeePerGas) gasPrice = tipped
    }
    out.gasPrice = quantity(gasPrice)
    out.maxFeePerGas = quantity(feeTx.maxFeePerGas)
    out.maxPriorityFeePerGas = quantity(feeTx.maxPriorityFeePerGas)
    if (isBlob4844Tx(tx)) out.maxFeePerBlobGas = quantity(tx.maxFeePerBlobGas)
  }
  out.hash = data(tx.hash())
  out.input = data(tx.data)
  out.nonce = quantity(tx.nonce)
  out.to = tx.to ? data(tx.to.bytes) : null
  out.transactionIndex = block ? quantity(block.index) : null
  out.value = quantity(tx.value)
  out.type = quantity(tx.type)
  const v = tx.v ?? 0n
  if (isLegacyTx(tx)) {
    // EIP-155 protected: chainId recoverable from v (geth includes it only then).
    if (v >= 35n) out.chainId = quantity((v - 35n) / 2n)
  } else {
    const typed = tx as { accessList: Array<[Uint8Array, Uint8Array[]]>; chainId: bigint }
    out.accessList = accessListJson(typed.accessList)
    out.chainId = quantity(typed.chainId)
  }
  // EthereumJS keeps versioned hashes as 0x strings already; normalise case.
  if (isBlob4844Tx(tx)) out.blobVersionedHashes = tx.blobVersionedHashes.map((h) => h.toLowerCase())
  if (isEOACode7702Tx(tx)) {
    out.authorizationList = tx.authorizationList.map(([chainId, addr, nonce, yParity, r, s]) => ({
      chainId: bytesQuantity(chainId),
      address: data(addr),
      nonce: bytesQuantity(nonce),
      yParity: bytesQuantity(yParity),
      r: bytesQuantity(r),
      s: bytesQuantity(s),
    }))
  }
  out.v = quantity(v)
  out.r = quantity(tx.r ?? 0n)
  out.s = quantity(tx.s ?? 0n)
  if (isAccessList2930Tx(tx) || isFeeMarket1559Tx(tx) || isBlob4844Tx(tx) || isEOACode7702Tx(tx)) {
    out.yParity = quantity(v)
  }
  return out
}

export function formatTxLocation(loc: TxLocation): JsonObject {
  return formatTransaction(
    loc.tx,
    loc.block ? { sender: loc.sender, block: loc.block } : { sender: loc.sender },
  )
}

function sortKeys(obj: JsonObject): JsonObject {
  // geth marshals blocks and receipts from maps, so keys come out sorted; clients diffing output expect that.
  const out: JsonObject = {}
  for (const key of Object.keys(obj).sort()) out[key] = obj[key]!
  return out
}

/** Header fields as geth's RPCMarshalHeader (the eth_subscribe newHeads payload). */
export function formatHeader(header: BlockHeader): JsonObject {
  const out: JsonObject = {
    difficulty: quantity(header.difficulty),
    extraData: data(header.extraData),
    gasLimit: quantity(header.gasLimit),
    gasUsed: quantity(header.gasUsed),
    hash: data(header.hash()),
    logsBloom: data(header.logsBloom),
    miner: data(header.coinbase.bytes),
    mixHash: data(header.mixHash),
    nonce: data(header.nonce),
    number: quantity(header.number),
    parentHash: data(header.parentHash),
    receiptsRoot: data(header.receiptTrie),
    sha3Uncles: data(header.uncleHash),
    stateRoot: data(header.stateRoot),
    timestamp: quantity(header.timestamp),
    transactionsRoot: data(header.transactionsTrie),
  }
  if (header.baseFeePerGas !== undefined) out.baseFeePerGas = quantity(header.baseFeePerGas)
  if (header.withdrawalsRoot !== undefined) out.withdrawalsRoot = data(header.withdrawalsRoot)
  if (header.blobGasUsed !== undefined) out.blobGasUsed = quantity(header.blobGasUsed)
  if (header.excessBlobGas !== undefined) out.excessBlobGas = quantity(header.excessBlobGas)
  if (header.parentBeaconBlockRoot !== undefined)
    out.parentBeaconBlockRoot = data(header.parentBeaconBlockRoot)
  if (header.requestsHash !== undefined) out.requestsHash = data(header.requestsHash)
  return sortKeys(out)
}

/**
 * A block as eth_getBlockByHash/Number: header fields plus size, totalDifficulty (always 0 on a BFT
 * chain), uncles, withdrawals when the fork has them, and transaction hashes or full objects.
 * `senders` (e.g. from the block's receipts) spares one signature recovery per transaction.
 */
export function formatBlock(block: Block, fullTransactions: boolean, senders?: Address[]): JsonObject {
  const header = block.header
  const hash = header.hash()
  const out = formatHeader(header)
  out.size = quantity(block.serialize().length)
  out.totalDifficulty = '0x0'
  out.uncles = block.uncleHeaders.map((u) => data(u.hash()))
  out.transactions = block.transactions.map((tx, index) =>
    fullTransactions
      ? formatTransaction(tx, {
          sender: senders?.[index] ?? tx.getSenderAddress().bytes,
          block: { hash, number: header.number, index, baseFeePerGas: header.baseFeePerGas },
        })
      : data(tx.hash()),
  )
  if (block.withdrawals !== undefined) {
    out.withdrawals = block.withdrawals.map((w) => ({
      index: quantity(w.index),
      validatorIndex: quantity(w.validatorIndex),
      address: data(w.address.bytes),
      amount: quantity(w.amount),
    }))
  }
  return sortKeys(out)
}

export function formatLog(log: RpcLog): JsonObject {
  return {
    address: data(log.address),
    topics: log.topics.map(data),
    data: data(log.data),
    blockNumber: quantity(log.blockNumber),
    transactionHash: data(log.transactionHash),
    transactionIndex: quantity(log.transactionIndex),
    blockHash: data(log.blockHash),
    logIndex: quantity(log.logIndex),
    removed: log.removed,
  }
}

export function formatReceipt(r: RpcReceipt): JsonObject {
  const out: JsonObject = {
    blockHash: data(r.blockHash),
    blockNumber: quantity(r.blockNumber),
    contractAddress: r.contractAddress ? data(r.contractAddress) : null,
    cumulativeGasUsed: quantity(r.cumulativeGasUsed),
    effectiveGasPrice: quantity(r.effectiveGasPrice),
    from: data(r.from),
    gasUsed: quantity(r.gasUsed),
    logs: r.logs.map(formatLog),
    logsBloom: data(r.logsBloom),
    status: quantity(r.status),
    to: r.to ? data(r.to) : null,
    transactionHash: data(r.transactionHash),
    transactionIndex: quantity(r.transactionIndex),
    type: quantity(r.type),
  }
  if (r.blobGasUsed !== undefined) out.blobGasUsed = quantity(r.blobGasUsed)
  if (r.blobGasPrice !== undefined) out.blobGasPrice = quantity(r.blobGasPrice)
  return sortKeys(out)
}

export function formatFeeHistory(h: FeeHistory): JsonObject {
  const out: JsonObject = {
    oldestBlock: quantity(h.oldestBlock),
    baseFeePerGas: h.baseFeePerGas.map(quantity),
    gasUsedRatio: h.gasUsedRatio,
  }
  if (h.reward !== undefined) out.reward = h.reward.map((row) => row.map(quantity))
  return out
}

export function formatProof(p: ProofResult): JsonObject {
  return {
    address: data(p.address),
    accountProof: p.accountProof.map(data),
    balance: quantity(p.balance),
    codeHash: data(p.codeHash),
    nonce: quantity(p.nonce),
    storageHash: data(p.storageHash),
    storageProof: p.storageProof.map((s) => ({
      key: data(s.key),
      value: quantity(s.value),
      proof: s.proof.map(data),
    })),
  }
}

export function formatSyncing(s: SyncStatus | false): Json {
  if (s === false) return false
  return {
    startingBlock: quantity(s.startingBlock),
    currentBlock: quantity(s.currentBlock),
    highestBlock: quantity(s.highestBlock),
  }
}
