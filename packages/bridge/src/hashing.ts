/** Hashes of the bridge protocol, computed off-chain exactly as the contracts do. */
import { encodeAbiParameters, type Hex, keccak256 } from 'viem'
import { OUTPUT_VERSION_V0 } from './constants.ts'

/** Output root v0 = keccak256(abi.encode(bytes32(0), stateRoot, messagePasserStorageRoot, blockHash)). */
export function outputRootV0(stateRoot: Hex, messagePasserStorageRoot: Hex, blockHash: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [OUTPUT_VERSION_V0, stateRoot, messagePasserStorageRoot, blockHash],
    ),
  )
}

export interface WithdrawalTx {
  nonce: bigint
  sender: Hex
  target: Hex
  value: bigint
  gasLimit: bigint
  data: Hex
}

/** keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)). */
export function withdrawalHash(w: WithdrawalTx): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint256' },
        { type: 'uint256' },
        { type: 'bytes' },
      ],
      [w.nonce, w.sender, w.target, w.value, w.gasLimit, w.data],
    ),
  )
}

/**
 * keccak256(abi.encodePacked(address[])) of the sorted set — Solidity pads each array element of
 * encodePacked to 32 bytes — the validator-set hash the oracle signs over.
 */
export function validatorsHash(validators: readonly Hex[]): Hex {
  const sorted = [...validators].map((v) => v.toLowerCase()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  return keccak256(`0x${sorted.map((v) => v.slice(2).padStart(64, '0')).join('')}` as Hex)
}
