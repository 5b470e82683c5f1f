/**
 * The L1Block predeploy's storage (contracts/L2/L1Block.sol; the layout is pinned by
 * test/artifacts.test.ts). The deposit hook writes it as system work; anyone reads it with
 * eth_call or eth_getStorageAt.
 */
import { concat, type Hex, hexToBytes, keccak256, numberToHex, pad } from 'viem'

export const L1_BLOCK_SLOTS = {
  number: 0n,
  hash: 1n,
  depositCount: 2n,
  totalMinted: 3n,
  timestamp: 4n,
  applied: 5n,
  valueTransferFailed: 6n,
} as const

export function slotKey(slot: bigint): Uint8Array {
  return hexToBytes(numberToHex(slot, { size: 32 }))
}

/** Storage key of `mapping[key]` for a mapping declared at `slot` (Solidity layout). */
export function mappingSlot(key: Hex, slot: bigint): Uint8Array {
  return hexToBytes(keccak256(concat([pad(key, { size: 32 }), numberToHex(slot, { size: 32 })])))
}

export function word(v: bigint): Uint8Array {
  return hexToBytes(numberToHex(v, { size: 32 }))
}

export function wordToBigInt(w: Uint8Array): bigint {
  let v = 0n
  for (const b of w) v = (v << 8n) | BigInt(b)
  return v
}
