/** Small byte helpers used across the runtime (kept local: hot paths avoid util's validation). */
import { InvalidArgumentError } from './errors.ts'

/** Lowercase unprefixed hex. Node's encoder makes one flat string; appending two characters per
 * byte made a chain of ~n intermediate strings (~1 KB of garbage for a 32-byte key) that a Map
 * lookup then flattens again. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${hexOf(bytes)}`
}

/** Strict 0x-hex decoding (even length). Throws on malformed input. */
export function fromHex(hex: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex))
    throw new Error(`not an even-length 0x-hex string: ${hex.slice(0, 20)}`)
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Big-endian, left-padded to `length` bytes. Throws if the value does not fit. */
export function bigintToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new Error('negative value')
  const out = new Uint8Array(length)
  let v = value
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  if (v !== 0n) throw new Error(`value does not fit in ${length} bytes`)
  return out
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n
  return BigInt(toHex(bytes))
}

export function assertLength(name: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new InvalidArgumentError(
      `${name}: expected ${length} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    )
  }
}

export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b)
export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b)

export const ZERO_ADDRESS = new Uint8Array(20)
export const ZERO_HASH = new Uint8Array(32)
