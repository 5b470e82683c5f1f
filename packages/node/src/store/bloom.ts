/**
 * Ethereum logs bloom (Yellow Paper §4.3.1): 2048 bits, 3 bits set per item from the first three
 * 16-bit words of keccak256(item). Used to skip blocks in eth_getLogs without reading receipts.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'

export const BLOOM_BYTES = 256

/** Bit positions (byte index, mask) that `item` sets in a bloom. */
function bloomBits(item: Uint8Array): [number, number, number, number, number, number] {
  const h = keccak_256(item)
  const out: number[] = []
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i]! << 8) | h[i + 1]!) & 2047
    out.push(BLOOM_BYTES - 1 - (bit >> 3), 1 << (bit & 7))
  }
  return out as [number, number, number, number, number, number]
}

export function bloomAdd(bloom: Uint8Array, item: Uint8Array): void {
  const b = bloomBits(item)
  bloom[b[0]]! |= b[1]
  bloom[b[2]]! |= b[3]
  bloom[b[4]]! |= b[5]
}

export function bloomContains(bloom: Uint8Array, item: Uint8Array): boolean {
  const b = bloomBits(item)
  return (bloom[b[0]]! & b[1]) !== 0 && (bloom[b[2]]! & b[3]) !== 0 && (bloom[b[4]]! & b[5]) !== 0
}

export function isZeroBloom(bloom: Uint8Array): boolean {
  for (let i = 0; i < bloom.length; i++) if (bloom[i] !== 0) return false
  return true
}

/** Bloom of a list of logs (what a receipt's logsBloom is). */
export function logsBloom(
  logs: ReadonlyArray<{ address: Uint8Array; topics: readonly Uint8Array[] }>,
): Uint8Array {
  const bloom = new Uint8Array(BLOOM_BYTES)
  for (const log of logs) {
    bloomAdd(bloom, log.address)
    for (const t of log.topics) bloomAdd(bloom, t)
  }
  return bloom
}

/**
 * Pre-hashed form of a log filter so testing many block blooms costs no keccak per block.
 * A position holds the alternatives (OR); every position must match (AND).
 */
export class BloomFilterQuery {
  private readonly groups: Array<Array<[number, number, number, number, number, number]>>
  constructor(addresses: readonly Uint8Array[], topics: ReadonlyArray<readonly Uint8Array[] | null>) {
    this.groups = []
    if (addresses.length > 0) this.groups.push(addresses.map(bloomBits))
    for (const alt of topics) if (alt !== null && alt.length > 0) this.groups.push(alt.map(bloomBits))
  }

  /** True if the bloom may contain a matching log (false positives possible, no false negatives). */
  mayMatch(bloom: Uint8Array): boolean {
    for (const group of this.groups) {
      let any = false
      for (const b of group) {
        if ((bloom[b[0]]! & b[1]) !== 0 && (bloom[b[2]]! & b[3]) !== 0 && (bloom[b[4]]! & b[5]) !== 0) {
          any = true
          break
        }
      }
      if (!any) return false
    }
    return true
  }
}
