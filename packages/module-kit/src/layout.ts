/**
 * Storage layout helpers, derived exactly like Solidity's: a mapping entry of `mapping(K => V)` at
 * base slot p lives at keccak256(pad32(key) . pad32(p)); nested mappings apply this repeatedly
 * (outer key first); a struct occupies consecutive slots from its base; strings use Solidity's
 * short/long encoding; dynamic arrays keep their length at p and element i at
 * keccak256(p) + i * elementSlots. Every function here is pure so a light client can compute the
 * slot to pass to eth_getProof.
 */
import { concat, keccak, MAX_U256, pad32, toBigInt, u256 } from './bytes.ts'
import type { StorageReader, StorageWriter } from './exec.ts'

export type Key = bigint | Uint8Array

function keyWord(k: Key): Uint8Array {
  return typeof k === 'bigint' ? u256(k) : pad32(k)
}

/** keccak of slot preimages already hashed (block hooks derive the same few slots every block).
 * Keyed by the preimage's bytes; cleared when full. Callers get a copy (slots are mutable). */
const slotHashes = new Map<string, Uint8Array>()
const SLOT_HASHES_MAX = 4096

function slotKeccak(preimage: Uint8Array): Uint8Array {
  const k = Buffer.from(preimage.buffer, preimage.byteOffset, preimage.byteLength).toString('latin1')
  let h = slotHashes.get(k)
  if (h === undefined) {
    if (slotHashes.size >= SLOT_HASHES_MAX) slotHashes.clear()
    h = keccak(preimage)
    slotHashes.set(k, h)
  }
  return h.slice()
}

/** Slot of `mapping[key]` for a mapping at `base`. */
export function mapSlot(key: Key, base: Key): Uint8Array {
  return slotKeccak(concat(keyWord(key), keyWord(base)))
}

/** Slot of `mapping[k0][k1]...` for nested mappings at `base`. */
export function nestedSlot(base: Key, ...keys: Key[]): Uint8Array {
  let slot = keyWord(base)
  for (const k of keys) slot = mapSlot(k, slot)
  return slot
}

/** Slot `offset` words after `slot` (struct field or array element), mod 2^256 as in the EVM. */
export function addSlot(slot: Uint8Array, offset: bigint): Uint8Array {
  if (offset === 0n) return slot
  if (offset > 0n && offset <= 0xffffffffn) {
    // Struct fields and array elements: byte-wise addition with carry (wraps mod 2^256).
    const out = slot.slice()
    let carry = Number(offset)
    for (let i = 31; i >= 0 && carry > 0; i--) {
      const sum = (out[i] as number) + (carry & 0xff)
      out[i] = sum & 0xff
      carry = Math.floor(carry / 256) + (sum >> 8)
    }
    return out
  }
  return u256((toBigInt(slot) + offset) & MAX_U256)
}

/** Slot of element `index` of a dynamic array whose length lives at `slot`. */
export function arrayElementSlot(slot: Uint8Array, index: bigint, elementSlots = 1n): Uint8Array {
  return addSlot(slotKeccak(slot), index * elementSlots)
}

// ---- Solidity string encoding -----------------------------------------------------------------

/** Reads a string stored with Solidity's layout at `slot`. */
export async function readString(r: StorageReader, account: Uint8Array, slot: Uint8Array): Promise<string> {
  const head = await r.read(account, slot)
  const last = head[31] as number
  if ((last & 1) === 0) {
    const len = last >> 1
    return new TextDecoder().decode(head.slice(0, len))
  }
  const len = Number((toBigInt(head) - 1n) >> 1n)
  const out = new Uint8Array(Math.ceil(len / 32) * 32)
  const base = keccak(slot)
  for (let i = 0; i * 32 < len; i++) out.set(await r.read(account, addSlot(base, BigInt(i))), i * 32)
  return new TextDecoder().decode(out.slice(0, len))
}

/** Writes `bytes` as a Solidity string at `slot`. Used for write-once fields only (a shorter
 * rewrite would leave stale tail slots). */
export function writeString(
  w: StorageWriter,
  account: Uint8Array,
  slot: Uint8Array,
  bytes: Uint8Array,
  /** The string's slots are known to be zero (a record allocated in this call). */
  fresh = false,
): void {
  const put = fresh ? w.writeFresh.bind(w) : w.write.bind(w)
  if (bytes.length < 32) {
    const head = new Uint8Array(32)
    head.set(bytes)
    head[31] = bytes.length * 2
    put(account, slot, head)
    return
  }
  put(account, slot, u256(BigInt(bytes.length) * 2n + 1n))
  const base = keccak(slot)
  for (let i = 0; i * 32 < bytes.length; i++) {
    const chunk = new Uint8Array(32)
    chunk.set(bytes.subarray(i * 32, i * 32 + 32))
    put(account, addSlot(base, BigInt(i)), chunk)
  }
}
