/**
 * On-disk format of the consensus WAL (pure functions, no I/O). See docs/wal.md.
 *
 *   header : 'OLQBFTWL' (8 bytes) | u32 BE version (= 1)
 *   frame* : u32 BE payload length | u32 BE crc32(payload) | payload
 *   payload: msgpack array [kind, height (decimal string), round, digest, message, certificate?]
 */
import { crc32 } from 'node:zlib'
import type { SignedRecord } from '@openledger/consensus'
import { MAX_ROUND } from '@openledger/consensus'
import { Packr } from 'msgpackr'

export type WalErrorCode =
  /** The file is not a WAL (wrong magic, short header) or has an unknown version. */
  | 'BAD_HEADER'
  /** Damage before the last frame: refusing to start beats forgetting a signature. */
  | 'CORRUPT'
  /** `append` was given a record that does not have the SignedRecord shape. */
  | 'INVALID_RECORD'
  /** Bad path, option or prune height. */
  | 'INVALID_ARGUMENT'
  /** A read/write/fsync/rename failed. */
  | 'IO'
  /** An earlier fsync failed; the on-disk state is unknown, so the WAL refuses further writes. */
  | 'FAILED'
  | 'CLOSED'

export class WalError extends Error {
  readonly code: WalErrorCode
  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WalError'
    this.code = code
  }
}

export const WAL_MAGIC = new TextEncoder().encode('OLQBFTWL')
export const WAL_VERSION = 1
export const HEADER_BYTES = WAL_MAGIC.length + 4
export const FRAME_HEADER_BYTES = 8
/** Bound on one payload, so a garbage length never turns into a huge allocation or scan. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

const KINDS: ReadonlySet<string> = new Set(['PROPOSAL', 'PREPARE', 'COMMIT', 'ROUND_CHANGE'])
/** Canonical unsigned decimal, at most 78 digits (covers uint256). */
const HEIGHT_RE = /^(0|[1-9][0-9]{0,77})$/

// Plain arrays/maps only: no msgpackr record extension or shared structures, so a frame decodes
// on its own, independent of what came before it.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: false })

export function walHeader(): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES)
  h.set(WAL_MAGIC, 0)
  new DataView(h.buffer).setUint32(WAL_MAGIC.length, WAL_VERSION)
  return h
}

/** Throws WalError('BAD_HEADER') unless `buf` starts with a supported header. */
export function checkHeader(buf: Uint8Array, path: string): void {
  if (buf.length < HEADER_BYTES || !WAL_MAGIC.every((b, i) => buf[i] === b))
    throw new WalError(
      'BAD_HEADER',
      `${path} is not a consensus WAL (missing 'OLQBFTWL' header; ${buf.length} bytes). ` +
        'Move it away only if you are sure this validator signed nothing since its last committed block.',
    )
  const version = new DataView(buf.buffer, buf.byteOffset, buf.length).getUint32(WAL_MAGIC.length)
  if (version !== WAL_VERSION)
    throw new WalError(
      'BAD_HEADER',
      `${path}: unsupported WAL version ${version} (this node reads ${WAL_VERSION})`,
    )
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array
}

/** Why `r` is not a well-formed SignedRecord, or undefined if it is. */
export function recordShapeError(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return 'not an object'
  const x = r as Record<string, unknown>
  if (typeof x.kind !== 'string' || !KINDS.has(x.kind))
    return `kind ${String(x.kind)} is not a QBFT message type`
  if (typeof x.height !== 'bigint' || x.height < 0n) return 'height must be a bigint >= 0'
  if (typeof x.round !== 'number' || !Number.isInteger(x.round) || x.round < 0 || x.round > MAX_ROUND)
    return `round must be an integer in [0, ${MAX_ROUND}]`
  if (!isBytes(x.digest) || x.digest.length !== 32) return 'digest must be 32 bytes'
  if (!isBytes(x.message) || x.message.length === 0) return 'message must be non-empty bytes'
  if (x.certificate !== undefined && !isBytes(x.certificate)) return 'certificate must be bytes when present'
  return undefined
}

/** Encode one record as a complete frame. Throws WalError('INVALID_RECORD'). */
export function encodeFrame(record: SignedRecord): Uint8Array {
  const why = recordShapeError(record)
  if (why !== undefined) throw new WalError('INVALID_RECORD', `cannot log record: ${why}`)
  if (record.height.toString().length > 78)
    throw new WalError('INVALID_RECORD', 'cannot log record: height too large')
  const fields: unknown[] = [
    record.kind,
    record.height.toString(),
    record.round,
    record.digest,
    record.message,
  ]
  if (record.certificate !== undefined) fields.push(record.certificate)
  const payload: Uint8Array = packr.pack(fields)
  if (payload.length > MAX_PAYLOAD_BYTES)
    throw new WalError('INVALID_RECORD', `record of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`)
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  const view = new DataView(frame.buffer)
  view.setUint32(0, payload.length)
  view.setUint32(4, crc32(payload))
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/** A fresh, plain Uint8Array (msgpackr hands out Buffer views into the file buffer). */
function plainBytes(v: unknown): Uint8Array | undefined {
  return isBytes(v) ? new Uint8Array(v) : undefined
}

/** Decode a payload whose checksum already matched; undefined if it is not a valid record. */
export function decodePayload(payload: Uint8Array): SignedRecord | undefined {
  let v: unknown
  try {
    v = packr.unpack(payload)
  } catch {
    return undefined
  }
  if (!Array.isArray(v) || (v.length !== 5 && v.length !== 6)) return undefined
  const [kind, height, round, digest, message, certificate] = v as unknown[]
  if (typeof height !== 'string' || !HEIGHT_RE.test(height)) return undefined
  const rec = {
    kind,
    height: BigInt(height),
    round,
    digest: plainBytes(digest),
    message: plainBytes(message),
    ...(v.length === 6 ? { certificate: plainBytes(certificate) ?? null } : {}),
  }
  return recordShapeError(rec) === undefined ? (rec as SignedRecord) : undefined
}

export interface ScannedRecord {
  readonly record: SignedRecord
  /** Offset of the frame in the file and its total length (header included). */
  readonly offset: number
  readonly length: number
}

type FrameResult = { ok: true; record: SignedRecord; end: number } | { ok: false; reason: string }

function readFrame(buf: Uint8Array, view: DataView, o: number): FrameResult {
  if (buf.length - o < FRAME_HEADER_BYTES) return { ok: false, reason: 'partial frame header' }
  const len = view.getUint32(o)
  if (len === 0) return { ok: false, reason: 'zero length' }
  if (len > MAX_PAYLOAD_BYTES) return { ok: false, reason: `length ${len} exceeds ${MAX_PAYLOAD_BYTES}` }
  const end = o + FRAME_HEADER_BYTES + len
  if (end > buf.length) return { ok: false, reason: 'frame runs past end of file' }
  const payload = buf.subarray(o + FRAME_HEADER_BYTES, end)
  if (crc32(payload) !== view.getUint32(o + 4)) return { ok: false, reason: 'checksum mismatch' }
  const record = decodePayload(payload)
  if (record === undefined) return { ok: false, reason: 'checksum ok but payload is not a valid record' }
  return { ok: true, record, end }
}

/**
 * Offset of the first valid frame starting anywhere in [from, end), or -1. Used only once the
 * scan hit a bad frame, to tell a torn tail (nothing valid after it) from damage in the middle.
 * Candidates with an impossible length are skipped without hashing, so this stays cheap.
 */
function findValidFrame(buf: Uint8Array, view: DataView, from: number): number {
  for (let p = from; p + FRAME_HEADER_BYTES <= buf.length; p++) {
    const len = view.getUint32(p)
    if (len === 0 || len > MAX_PAYLOAD_BYTES || p + FRAME_HEADER_BYTES + len > buf.length) continue
    if (readFrame(buf, view, p).ok) return p
  }
  return -1
}

export interface ScanResult {
  readonly records: ScannedRecord[]
  /** End of the last intact frame: everything after it is a torn tail. */
  readonly goodEnd: number
  readonly tailReason?: string
}

/**
 * Read every frame of a WAL image (header included). A bad frame with no valid frame anywhere
 * after it is a torn tail (an append that never completed its fsync, so its signature was never
 * released) and is reported via `goodEnd`; a bad frame followed by a valid one means the file was
 * damaged in the middle and throws WalError('CORRUPT').
 */
export function scanWal(buf: Uint8Array, path: string): ScanResult {
  checkHeader(buf, path)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length)
  const records: ScannedRecord[] = []
  let o = HEADER_BYTES
  while (o < buf.length) {
    const f = readFrame(buf, view, o)
    if (f.ok) {
      records.push({ record: f.record, offset: o, length: f.end - o })
      o = f.end
      continue
    }
    const next = findValidFrame(buf, view, o + 1)
    if (next >= 0)
      throw new WalError(
        'CORRUPT',
        `${path}: record ${records.length + 1} at offset ${o} is damaged (${f.reason}) but a valid record ` +
          `follows at offset ${next}; refusing to start with a WAL that may have lost a signature`,
      )
    return { records, goodEnd: o, tailReason: f.reason }
  }
  return { records, goodEnd: o }
}
