/**
 * Key layout: one bucket byte followed by the bucket's key. Big-endian block numbers make
 * LevelDB's byte order equal numeric order, so range scans walk blocks in sequence.
 */
export const Bucket = {
  /** block hash → block RLP */
  block: 0x01,
  /** number (u64 BE) → block hash (canonical chain only) */
  canonical: 0x02,
  /** block hash → msgpackr receipt list */
  receipts: 0x03,
  /** tx hash → block hash ‖ number (u64 BE) ‖ index (u32 BE) */
  txLookup: 0x04,
  /** address ‖ number (u64 BE) → block hash: blocks in which `address` emitted a log */
  addressIndex: 0x05,
  /** number (u64 BE) → header logsBloom ‖ block hash, only for blocks with at least one log */
  bloom: 0x06,
  /** block hash → opaque seals / commit certificate */
  seals: 0x07,
  /** utf8 name → value (schema version, genesis hash, head hash) */
  meta: 0x08,
} as const

const MAX_U64 = (1n << 64n) - 1n

export function u64(n: bigint): Uint8Array {
  if (n < 0n || n > MAX_U64) throw new RangeError(`block number out of range: ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

export function readU64(bytes: Uint8Array, offset = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset)
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

export function readU32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset)
}

export function key(bucket: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 1
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  out[0] = bucket
  let o = 1
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

const utf8 = new TextEncoder()
export function metaKey(name: 'schema' | 'genesis' | 'head'): Uint8Array {
  return key(Bucket.meta, utf8.encode(name))
}

/** Lower and upper (exclusive) keys of a bucket-prefixed number range [from, to]. */
export function numberRange(bucket: number, prefix: Uint8Array, from: bigint, to: bigint) {
  const gte = key(bucket, prefix, u64(from))
  // to + 1 may exceed u64 when to = 2^64-1: fall back to the next prefix.
  const lt = to >= MAX_U64 ? key(bucket, increment(prefix)) : key(bucket, prefix, u64(to + 1n))
  return { gte, lt }
}

function increment(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]! += 1
      return out
    }
    out[i] = 0
  }
  // All 0xff (or empty prefix): nothing sorts above within this bucket; use a longer key.
  return new Uint8Array([...prefix, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
}
