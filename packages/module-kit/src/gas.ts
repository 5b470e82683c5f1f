/**
 * Gas schedule shared by native modules written with this kit; module-specific prices (such as
 * the attribution modules' per-byte and per-entry costs) live with their module. Costs are
 * charged before the work they pay for: the intrinsic part is computed from the decoded calldata
 * and checked before any state access; each storage read is charged just before it happens; all
 * writes, logs and value transfers are charged together after validation and before anything is
 * applied (an out-of-gas call writes nothing). Storage prices follow the EVM (EIP-2929/2200 without refunds).
 */
export const GAS = {
  /** Every call: selector dispatch and ABI decoding setup. */
  BASE: 700n,
  /** Per 32-byte word of calldata, for decoding (like CALLDATACOPY). */
  CALLDATA_WORD: 3n,
  /** First read of a slot in this call (EIP-2929 cold SLOAD). */
  COLD_SLOAD: 2_100n,
  /** Re-read of a slot already read or written in this call. */
  WARM_SLOAD: 100n,
  /** A slot going from zero to non-zero. */
  SSTORE_SET: 20_000n,
  /** Any other change of a non-zero slot to another non-zero value. */
  SSTORE_UPDATE: 5_000n,
  /** A non-zero slot set to zero (no refunds). Deleting a trie leaf restructures its branch: the
   * host measured ~1 ms per deletion against ~0.2 ms per update (EthereumJS state manager, 2 shared
   * cores), which left `claim` (it clears the claimant's balance) the call with the most CPU per
   * unit of gas, 1.1–1.6× the EVM average; priced at 3× an update it is ~0.8–1.3×. */
  SSTORE_CLEAR: 15_000n,
  /** A written slot whose final value equals its original value. */
  SSTORE_NOOP: 100n,
  LOG: 375n,
  LOG_TOPIC: 375n,
  LOG_DATA_BYTE: 8n,
  /** keccak256: 30 + 6 per 32-byte word, as the KECCAK256 opcode. */
  KECCAK: 30n,
  KECCAK_WORD: 6n,
  /** secp256k1 public-key recovery, as the ecrecover precompile. */
  ECRECOVER: 3_000n,
  /** A native OPEN payout to an account (as CALL's value transfer surcharge). */
  VALUE_TRANSFER: 9_000n,
} as const

export function words(bytes: number): bigint {
  return BigInt(Math.ceil(bytes / 32))
}

export function keccakGas(bytes: number): bigint {
  return GAS.KECCAK + GAS.KECCAK_WORD * words(bytes)
}

export function logGas(topics: number, dataBytes: number): bigint {
  return GAS.LOG + GAS.LOG_TOPIC * BigInt(topics) + GAS.LOG_DATA_BYTE * BigInt(dataBytes)
}
