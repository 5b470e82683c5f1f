/**
 * Receipt list encoding (msgpackr). One entry per transaction, positional arrays to keep the
 * records small; bigints are stored as minimal big-endian bytes so no value can overflow an
 * int64 and no float ever appears.
 */
import { bigIntToUnpaddedBytes, bytesToBigInt } from '@ethereumjs/util'
import { Packr } from 'msgpackr'
import { ChainStoreError } from './errors.ts'
import type { CommittedTx, LogEntryLike } from './types.ts'

/** Bump when the record layout changes; ChainStore refuses a datadir of another version. */
export const RECEIPTS_FORMAT = 1

/** A receipt as stored, without block context. */
export interface ReceiptRecord {
  txHash: Uint8Array
  type: number
  from: Uint8Array
  to: Uint8Array | null
  status: 0 | 1
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  contractAddress: Uint8Array | null
  logs: LogEntryLike[]
}

const packr = new Packr({ useRecords: false, structuredClone: false })

// msgpackr hands back Buffers; expose plain Uint8Array views (no copy) so callers see one type.
function u8(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ChainStoreError('CORRUPT', `receipt record: ${what} is not bytes`)
  return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

export function recordFromExecuted(e: CommittedTx): ReceiptRecord {
  return {
    txHash: e.hash,
    type: e.tx.type,
    from: e.sender,
    to: e.tx.to === undefined ? null : e.tx.to.bytes,
    status: e.status,
    cumulativeGasUsed: e.cumulativeGasUsed,
    gasUsed: e.gasUsed,
    effectiveGasPrice: e.effectiveGasPrice,
    contractAddress: e.contractAddress ?? null,
    logs: e.logs,
  }
}

export function encodeReceipts(blockNumber: bigint, records: readonly ReceiptRecord[]): Uint8Array {
  return packr.pack([
    RECEIPTS_FORMAT,
    bigIntToUnpaddedBytes(blockNumber),
    records.map((r) => [
      r.txHash,
      r.type,
      r.from,
      r.to,
      r.status,
      bigIntToUnpaddedBytes(r.cumulativeGasUsed),
      bigIntToUnpaddedBytes(r.gasUsed),
      bigIntToUnpaddedBytes(r.effectiveGasPrice),
      r.contractAddress,
      r.logs.map((l) => [l.address, l.topics, l.data]),
    ]),
  ])
}

export function decodeReceipts(bytes: Uint8Array): { blockNumber: bigint; records: ReceiptRecord[] } {
  let raw: unknown
  try {
    raw = packr.unpack(bytes)
  } catch (cause) {
    throw new ChainStoreError('CORRUPT', 'receipt list is not valid msgpack', { cause })
  }
  if (!Array.isArray(raw) || raw[0] !== RECEIPTS_FORMAT || !Array.isArray(raw[2])) {
    throw new ChainStoreError('CORRUPT', 'receipt list has an unknown format')
  }
  const blockNumber = bytesToBigInt(u8(raw[1], 'block number'))
  const records = (raw[2] as unknown[][]).map((r): ReceiptRecord => {
    const logs = r[9] as unknown[][]
    return {
      txHash: u8(r[0], 'txHash'),
      type: r[1] as number,
      from: u8(r[2], 'from'),
      to: r[3] === null ? null : u8(r[3], 'to'),
      status: r[4] === 1 ? 1 : 0,
      cumulativeGasUsed: bytesToBigInt(u8(r[5], 'cumulativeGasUsed')),
      gasUsed: bytesToBigInt(u8(r[6], 'gasUsed')),
      effectiveGasPrice: bytesToBigInt(u8(r[7], 'effectiveGasPrice')),
      contractAddress: r[8] === null ? null : u8(r[8], 'contractAddress'),
      logs: logs.map((l) => ({
        address: u8(l[0], 'log address'),
        topics: (l[1] as unknown[]).map((t) => u8(t, 'log topic')),
        data: u8(l[2], 'log data'),
      })),
    }
  })
  return { blockNumber, records }
}
