/**
 * Strict RLP helpers. Decoding goes through @ethereumjs/rlp (which rejects non-canonical length
 * prefixes) and then through shape checkers that throw typed errors built by `fail`.
 */
import { RLP } from '@ethereumjs/rlp'
import { concatBytes } from './bytes.ts'

export type Item = Uint8Array | Item[]

export function encodeBytes(b: Uint8Array): Uint8Array {
  return RLP.encode(b)
}

/** Minimal big-endian scalar (0 → 0x80), as Besu's writeLongScalar / writeIntScalar. */
export function encodeScalar(x: bigint | number): Uint8Array {
  if (typeof x === 'number' && (!Number.isSafeInteger(x) || x < 0))
    throw new RangeError(`not a non-negative integer: ${x}`)
  if (typeof x === 'bigint' && x < 0n) throw new RangeError(`negative scalar: ${x}`)
  return RLP.encode(typeof x === 'number' ? BigInt(x) : x)
}

function lengthPrefix(len: number, offset: number): Uint8Array {
  if (len < 56) return Uint8Array.of(offset + len)
  const bytes: number[] = []
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l % 256)
  return Uint8Array.of(offset + 55 + bytes.length, ...bytes)
}

/** RLP list from items that are already RLP-encoded (avoids re-encoding embedded blocks). */
export function encodeListRaw(encodedItems: readonly Uint8Array[]): Uint8Array {
  let len = 0
  for (const it of encodedItems) len += it.length
  return concatBytes(lengthPrefix(len, 0xc0), ...encodedItems)
}

export function encodeItem(item: Item): Uint8Array {
  return RLP.encode(item as Parameters<typeof RLP.encode>[0])
}

export type Fail = (what: string, malformed?: boolean) => never

export function decodeRlp(bytes: Uint8Array, fail: Fail): Item {
  if (!(bytes instanceof Uint8Array)) fail('input is not a Uint8Array')
  if (bytes.length === 0) fail('empty input', true)
  try {
    return RLP.decode(bytes) as Item
  } catch (e) {
    return fail(`invalid RLP: ${(e as Error).message}`, true)
  }
}

export function asList(item: Item | undefined, what: string, fail: Fail, len?: number): Item[] {
  if (!Array.isArray(item)) return fail(`${what}: expected a list`)
  if (len !== undefined && item.length !== len) fail(`${what}: expected ${len} items, got ${item.length}`)
  return item
}

export function asBytes(item: Item | undefined, what: string, fail: Fail, len?: number): Uint8Array {
  if (!(item instanceof Uint8Array)) return fail(`${what}: expected a byte string`)
  if (len !== undefined && item.length !== len) fail(`${what}: expected ${len} bytes, got ${item.length}`)
  return item
}

export function asScalar(item: Item | undefined, what: string, fail: Fail, maxBytes: number): bigint {
  const b = asBytes(item, what, fail)
  if (b.length > maxBytes) fail(`${what}: scalar longer than ${maxBytes} bytes`)
  if (b.length > 0 && b[0] === 0) fail(`${what}: scalar has leading zero`)
  let x = 0n
  for (const v of b) x = (x << 8n) | BigInt(v)
  return x
}
