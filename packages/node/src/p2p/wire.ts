/**
 * Wire formats of our request/response protocols. Our own messages are msgpack maps; block bodies
 * travel as raw RLP frames. Every decoder validates types and bounds, because the bytes come from
 * an untrusted peer.
 */
import { Packr } from 'msgpackr'

export const STATUS_PROTOCOL = '/openledger/status/1'
export const BLOCKS_BY_RANGE_PROTOCOL = '/openledger/blocks_by_range/1'

/** Largest count a blocks_by_range request may ask for. */
export const MAX_BLOCKS_PER_REQUEST = 128
/** Largest single length-prefixed frame we read or write (one block or one control message). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024
/** Control messages (status, request, response header) are tiny; a larger frame is an attack. */
export const MAX_CONTROL_FRAME_BYTES = 4 * 1024

const UINT64_MAX = (1n << 64n) - 1n

export interface ChainStatus {
  chainId: bigint
  genesisHash: Uint8Array
  headNumber: bigint
  headHash: Uint8Array
}

export interface BlocksByRangeRequest {
  from: bigint
  count: number
}

/** First frame of a blocks_by_range response; on success exactly `count` raw block frames follow. */
export type BlocksByRangeHeader = { ok: true; count: number } | { ok: false; error: string }

export class WireError extends Error {
  override name = 'WireError'
}

// int64AsType bigint: 64-bit integers decode as bigint; small ones still decode as number, so
// `toUint64` accepts both.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' })

export function encode(value: unknown): Uint8Array {
  return packr.pack(value)
}

function decodeMap(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = packr.unpack(bytes)
  } catch (err) {
    throw new WireError(`${what}: not valid msgpack (${(err as Error).message})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new WireError(`${what}: expected a map`)
  }
  return value as Record<string, unknown>
}

function toUint64(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX) return v
  throw new WireError(`${field}: expected an unsigned 64-bit integer`)
}

function toBytes32(v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new WireError(`${field}: expected 32 bytes`)
  // msgpackr hands out Buffers that view its decode buffer: copy into a plain Uint8Array.
  return new Uint8Array(v)
}

export function encodeStatus(s: ChainStatus): Uint8Array {
  return encode({
    chainId: s.chainId,
    genesisHash: s.genesisHash,
    headNumber: s.headNumber,
    headHash: s.headHash,
  })
}

export function decodeStatus(bytes: Uint8Array): ChainStatus {
  const m = decodeMap(bytes, 'status')
  return {
    chainId: toUint64(m.chainId, 'status.chainId'),
    genesisHash: toBytes32(m.genesisHash, 'status.genesisHash'),
    headNumber: toUint64(m.headNumber, 'status.headNumber'),
    headHash: toBytes32(m.headHash, 'status.headHash'),
  }
}

export function checkRangeRequest(from: bigint, count: number): void {
  if (typeof from !== 'bigint' || from < 0n || from > UINT64_MAX) {
    throw new RangeError(`blocks_by_range: from must be a uint64 bigint, got ${String(from)}`)
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BLOCKS_PER_REQUEST) {
    throw new RangeError(
      `blocks_by_range: count must be an integer in 1..${MAX_BLOCKS_PER_REQUEST}, got ${count}`,
    )
  }
}

export function encodeRangeRequest(req: BlocksByRangeRequest): Uint8Array {
  return encode({ from: req.from, count: req.count })
}

/** Decodes without range-checking count, so the server can answer "count too large" precisely. */
export function decodeRangeRequest(bytes: Uint8Array): BlocksByRangeRequest {
  const m = decodeMap(bytes, 'blocks_by_range request')
  const from = toUint64(m.from, 'request.from')
  if (typeof m.count !== 'number' || !Number.isSafeInteger(m.count)) {
    throw new WireError('request.count: expected an integer')
  }
  return { from, count: m.count }
}

export function encodeRangeHeader(h: BlocksByRangeHeader): Uint8Array {
  return encode(h)
}

export function decodeRangeHeader(bytes: Uint8Array): BlocksByRangeHeader {
  const m = decodeMap(bytes, 'blocks_by_range response')
  if (m.ok === true) {
    const count = m.count
    if (
      typeof count !== 'number' ||
      !Number.isSafeInteger(count) ||
      count < 0 ||
      count > MAX_BLOCKS_PER_REQUEST
    ) {
      throw new WireError('response.count: expected an integer in 0..128')
    }
    return { ok: true, count }
  }
  if (m.ok === false) {
    const error = typeof m.error === 'string' ? m.error.slice(0, 512) : 'unspecified error'
    return { ok: false, error }
  }
  throw new WireError('response.ok: expected a boolean')
}
