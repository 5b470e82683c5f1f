import { keccak_256 } from '@noble/hashes/sha3.js'
import { AttributionError, type AttributionErrorCode } from './errors.ts'

/**
 * Minimal Solidity ABI encoding (`abi.encode`) of what the engine commits to: static words and one
 * trailing dynamic array of static tuples. Hand-rolled (and cross-checked against viem in tests) so
 * that committing to 100k records stays fast and allocation-light.
 */
export const UINT256_MAX = (1n << 256n) - 1n

export function keccak(bytes: Uint8Array): Uint8Array {
  return keccak_256(bytes)
}

const utf8 = new TextEncoder()
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s)
}

export function tag(label: string): Uint8Array {
  return keccak(utf8Bytes(label))
}

export type Word = bigint | Uint8Array | boolean

function writeWord(out: Uint8Array, off: number, w: Word): void {
  if (typeof w === 'boolean') {
    out[off + 31] = w ? 1 : 0
    return
  }
  if (w instanceof Uint8Array) {
    if (w.length !== 32) throw new AttributionError('INVALID_PARAMS', 'bytes32 word must be 32 bytes')
    out.set(w, off)
    return
  }
  if (w < 0n || w > UINT256_MAX) throw new AttributionError('INVALID_PARAMS', 'uint256 out of range')
  let v = w
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[off + i] = Number(v & 0xffn)
    v >>= 8n
  }
}

/** abi.encode(head..., T[] rows) where T is a static tuple of `rows[i].length` words. */
export function abiEncodeWithArray(head: readonly Word[], rows: readonly (readonly Word[])[]): Uint8Array {
  const width = rows.length > 0 ? rows[0]!.length : 0
  const size = 32 * (head.length + 1 + 1 + rows.length * width)
  const out = new Uint8Array(size)
  let off = 0
  for (const w of head) {
    writeWord(out, off, w)
    off += 32
  }
  writeWord(out, off, BigInt(32 * (head.length + 1))) // offset of the array's tail
  off += 32
  writeWord(out, off, BigInt(rows.length))
  off += 32
  for (const row of rows) {
    if (row.length !== width) throw new AttributionError('INVALID_PARAMS', 'ragged ABI rows')
    for (const w of row) {
      writeWord(out, off, w)
      off += 32
    }
  }
  return out
}

export function toHex(b: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function assertId(x: unknown, what: string, code: AttributionErrorCode = 'INVALID_RECORD'): bigint {
  if (typeof x !== 'bigint' || x < 0n || x > UINT256_MAX) {
    throw new AttributionError(code, `${what} must be a bigint in [0, 2^256)`)
  }
  return x
}
