/**
 * Header conventions of this chain. There is no beacon chain, so the Prague header fields that
 * the consensus layer would fill carry their canonical empty values:
 *   withdrawalsRoot       = keccak256(rlp([])) (empty trie root; blocks carry no withdrawals)
 *   blobGasUsed           = 0, excessBlobGas = 0 (blob transactions are refused)
 *   parentBeaconBlockRoot = 32 zero bytes, unless a block hook claims the field (the L1 bridge
 *                           commits its L1 origin there; the hook validates it)
 *   requestsHash          = sha256("") (EIP-7685 hash of an empty request list)
 * and the EIP-4788 / EIP-2935 / EIP-7002 / EIP-7251 system calls are not run.
 */

import type { BlockHeader } from '@ethereumjs/block'
import { KECCAK256_RLP } from '@ethereumjs/util'
import { sha256 } from '@noble/hashes/sha2.js'
import { equalBytes, toHex } from '../bytes.ts'
import { BlockValidationError } from '../errors.ts'

export const EMPTY_WITHDRAWALS_ROOT = KECCAK256_RLP
export const EMPTY_REQUESTS_HASH = sha256(new Uint8Array(0))
export const ZERO_BEACON_ROOT = new Uint8Array(32)

export const PRAGUE_EMPTY_FIELDS = {
  withdrawalsRoot: EMPTY_WITHDRAWALS_ROOT,
  blobGasUsed: 0n,
  excessBlobGas: 0n,
  parentBeaconBlockRoot: ZERO_BEACON_ROOT,
  requestsHash: EMPTY_REQUESTS_HASH,
}

/** Rejects a header whose beacon-chain fields are not the canonical empty values
 * (parentBeaconBlockRoot: any 32 bytes when `beaconRootClaimed`; its hook checks it). */
export function checkEmptyPragueFields(h: BlockHeader, beaconRootClaimed = false): void {
  const bad = (field: string, got: unknown) =>
    new BlockValidationError('header', `${field} must be the canonical empty value, got ${got}`)
  if (h.withdrawalsRoot === undefined || !equalBytes(h.withdrawalsRoot, EMPTY_WITHDRAWALS_ROOT))
    throw bad('withdrawalsRoot', h.withdrawalsRoot && toHex(h.withdrawalsRoot))
  if (h.blobGasUsed !== 0n) throw bad('blobGasUsed', h.blobGasUsed)
  if (h.excessBlobGas !== 0n) throw bad('excessBlobGas', h.excessBlobGas)
  if (
    h.parentBeaconBlockRoot === undefined ||
    h.parentBeaconBlockRoot.length !== 32 ||
    (!beaconRootClaimed && !equalBytes(h.parentBeaconBlockRoot, ZERO_BEACON_ROOT))
  ) {
    throw bad('parentBeaconBlockRoot', h.parentBeaconBlockRoot && toHex(h.parentBeaconBlockRoot))
  }
  if (h.requestsHash === undefined || !equalBytes(h.requestsHash, EMPTY_REQUESTS_HASH))
    throw bad('requestsHash', h.requestsHash && toHex(h.requestsHash))
}
