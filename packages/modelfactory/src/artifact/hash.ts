/** keccak256 as lowercase 0x-hex (the chain's hash: artifacts are registered by it). */
import { keccak_256 } from '@noble/hashes/sha3.js'

export type Hex = `0x${string}`

export function keccakHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(keccak_256(bytes)).toString('hex')}`
}

export function isHash(s: string): s is Hex {
  return /^0x[0-9a-f]{64}$/.test(s)
}
