/**
 * What validators sign for an output (EIP-712, checked by L2OutputOracle.proposeL2OutputSigned):
 * OutputRoot(l2ChainId, outputRoot, l2BlockNumber, nextValidatorsHash) in the oracle's domain
 * (name "OpenLedger L2OutputOracle", version "1", the L1's chain id, the oracle's address).
 */
import { type Address, type Hex, hashTypedData, recoverAddress } from 'viem'
import { sign } from 'viem/accounts'
import { validatorsHash } from './hashing.ts'

export const OUTPUT_TYPES = {
  OutputRoot: [
    { name: 'l2ChainId', type: 'uint256' },
    { name: 'outputRoot', type: 'bytes32' },
    { name: 'l2BlockNumber', type: 'uint256' },
    { name: 'nextValidatorsHash', type: 'bytes32' },
  ],
} as const

export interface OutputClaim {
  l1ChainId: number
  oracle: Address
  l2ChainId: number
  outputRoot: Hex
  l2BlockNumber: bigint
  /** The validator set after l2BlockNumber (any order; hashed sorted). */
  nextValidators: readonly Hex[]
}

export function outputDigest(c: OutputClaim): Hex {
  return hashTypedData({
    domain: {
      name: 'OpenLedger L2OutputOracle',
      version: '1',
      chainId: c.l1ChainId,
      verifyingContract: c.oracle,
    },
    types: OUTPUT_TYPES,
    primaryType: 'OutputRoot',
    message: {
      l2ChainId: BigInt(c.l2ChainId),
      outputRoot: c.outputRoot,
      l2BlockNumber: c.l2BlockNumber,
      nextValidatorsHash: validatorsHash(c.nextValidators),
    },
  })
}

/** A 65-byte (r ‖ s ‖ v) signature of the claim's digest. */
export async function signOutput(c: OutputClaim, privateKey: Hex): Promise<Hex> {
  return sign({ hash: outputDigest(c), privateKey, to: 'hex' })
}

export async function recoverOutputSigner(c: OutputClaim, signature: Hex): Promise<Address> {
  return recoverAddress({ hash: outputDigest(c), signature })
}

/** Orders signatures by signer address, as the oracle requires. */
export async function sortSignatures(c: OutputClaim, signatures: readonly Hex[]): Promise<Hex[]> {
  const withSigner = await Promise.all(
    signatures.map(async (s) => ({ s, a: BigInt(await recoverOutputSigner(c, s)) })),
  )
  return withSigner.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : 0)).map((x) => x.s)
}
