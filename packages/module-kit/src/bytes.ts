/** Byte helpers shared by the modules: fixed-width big-endian words, addresses, keccak. */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { createKeccak, type IHasher } from 'hash-wasm'

export const ZERO32 = new Uint8Array(32)
export const MAX_U256 = (1n << 256n) - 1n

// A settlement hashes ~100 times (slots, EIP-712): hash-wasm's WASM keccak is ~6× faster than
// @noble's for these 32–600 byte inputs. Loaded once at import; @noble stays as the fallback
// where WebAssembly is unavailable (same results, only slower).
const wasmKeccak: IHasher | undefined = await createKeccak(256).catch(() => undefined)

export function keccak(data: Uint8Array): Uint8Array {
  const h = wasmKeccak
  if (h === undefined) return keccak_256(data)
  // init/update/digest run synchronously back-to-back, so the shared hasher is never interleaved.
  h.init()
  h.update(data)
  return h.digest('binary')
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** 32-byte big-endian encoding of an unsigned integer (reduced mod 2^256 is a bug: callers bound it). */
export function u256(n: bigint): Uint8Array {
  if (n < 0n || n > MAX_U256) throw new RangeError(`u256 out of range: ${n}`)
  const out = new Uint8Array(32)
  if (n === 0n) return out
  if (n <= 0xffffffffn) {
    // Ids, counters and small amounts: no bigint shifting.
    const v = Number(n)
    out[28] = v >>> 24
    out[29] = (v >>> 16) & 0xff
    out[30] = (v >>> 8) & 0xff
    out[31] = v & 0xff
    return out
  }
  // Four 64-bit words (no hex string and Buffer per call: every storage write encodes a word).
  const view = new DataView(out.buffer)
  view.setBigUint64(0, n >> 192n)
  view.setBigUint64(8, BigInt.asUintN(64, n >> 128n))
  view.setBigUint64(16, BigInt.asUintN(64, n >> 64n))
  view.setBigUint64(24, BigInt.asUintN(64, n))
  return out
}

export function toBigInt(b: Uint8Array): bigint {
  const n = b.length
  let i = 0
  while (i < n && b[i] === 0) i++
  if (i === n) return 0n
  if (n - i <= 6) {
    // Counters, ids, packed small records: up to 48 bits fit a double exactly, no hex string.
    let v = 0
    for (; i < n; i++) v = v * 256 + (b[i] as number)
    return BigInt(v)
  }
  return BigInt(`0x${Buffer.from(b.buffer, b.byteOffset + i, n - i).toString('hex')}`)
}

/** Left-pads an address (or any ≤32-byte value) to a 32-byte word. */
export function pad32(b: Uint8Array): Uint8Array {
  if (b.length === 32) return b
  if (b.length > 32) throw new RangeError('pad32: input longer than 32 bytes')
  const out = new Uint8Array(32)
  out.set(b, 32 - b.length)
  return out
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false
  return true
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(b: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`
}

export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new TypeError(`invalid hex: ${hex.slice(0, 20)}`)
  return new Uint8Array(Buffer.from(h, 'hex'))
}

/** 20-byte address from a bigint word (low 160 bits). */
export function addressFromWord(w: bigint): Uint8Array {
  return u256(w & ((1n << 160n) - 1n)).slice(12)
}

export function addressToBigInt(a: Uint8Array): bigint {
  return toBigInt(a)
}

export const ZERO_ADDRESS = new Uint8Array(20)

/** Reads `bits` bits at bit offset `at` (0 = least significant) of a packed word. */
export function field(word: bigint, at: number, bits: number): bigint {
  return (word >> BigInt(at)) & ((1n << BigInt(bits)) - 1n)
}

/** Packs [value, bitOffset, bits] triples into one word; each value must fit its width. */
export function pack(...fields: [bigint, number, number][]): bigint {
  let w = 0n
  for (const [v, at, bits] of fields) {
    if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`packed field overflow at bit ${at}`)
    w |= v << BigInt(at)
  }
  return w
}
