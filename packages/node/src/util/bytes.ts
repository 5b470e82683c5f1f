import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js'

export const hex = (b: Uint8Array): `0x${string}` => `0x${nobleBytesToHex(b)}`
export const fromHex = (h: string): Uint8Array => nobleHexToBytes(h.startsWith('0x') ? h.slice(2) : h)
/** Lower-case 0x key for maps keyed by address or hash. */
export const key = (b: Uint8Array): string => `0x${nobleBytesToHex(b)}`

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
