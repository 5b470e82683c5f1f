/** Signing, hashing and content helpers for SDK users (providers sign receipts off-chain). */
import type { AbiParameterToPrimitiveType, Hex, LocalAccount } from 'viem'
import { hashTypedData, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { RECEIPT_EIP712_TYPES } from '../modules/eip712.ts'
import { WEIGHT_DENOMINATOR } from '../modules/params.ts'
import type { attributionAbi } from '../sol/abi.ts'
import { ATTRIBUTION } from './actions.ts'

type SettleFn = Extract<(typeof attributionAbi)[number], { type: 'function'; name: 'settle' }>
/** The receipt struct exactly as the ABI encodes it. */
export type InferenceReceipt = AbiParameterToPrimitiveType<SettleFn['inputs'][0], 'inputs'>
export type ReceiptEntry = InferenceReceipt['entries'][number]

export { RECEIPT_EIP712_TYPES, WEIGHT_DENOMINATOR }

export function receiptDomain(chainId: bigint | number) {
  return {
    name: 'OpenLedger Attribution',
    version: '1',
    chainId: BigInt(chainId),
    verifyingContract: ATTRIBUTION,
  } as const
}

/** EIP-712 digest of a receipt; also its on-chain receipt id. */
export function hashInferenceReceipt(receipt: InferenceReceipt, chainId: bigint | number): Hex {
  return hashTypedData({
    domain: receiptDomain(chainId),
    types: RECEIPT_EIP712_TYPES,
    primaryType: 'InferenceReceipt',
    message: receipt,
  })
}

/** Signs a receipt as the model's provider (private key or any viem LocalAccount). viem produces
 * low-s signatures, the only ones the module accepts. */
export async function signInferenceReceipt(
  signer: Hex | LocalAccount,
  receipt: InferenceReceipt,
  chainId: bigint | number,
): Promise<Hex> {
  const account = typeof signer === 'string' ? privateKeyToAccount(signer) : signer
  if (account.signTypedData === undefined) throw new TypeError('signer cannot sign typed data')
  return account.signTypedData({
    domain: receiptDomain(chainId),
    types: RECEIPT_EIP712_TYPES,
    primaryType: 'InferenceReceipt',
    message: receipt,
  })
}

/** Scales non-negative integer scores to weights summing exactly to WEIGHT_DENOMINATOR (largest
 * remainders get the leftover units, ties to the lower index), as the module requires. */
export function normalizeWeights(scores: readonly bigint[]): number[] {
  if (scores.length === 0) throw new RangeError('no scores')
  if (scores.some((s) => s < 0n)) throw new RangeError('scores must be non-negative')
  const total = scores.reduce((a, b) => a + b, 0n)
  if (total === 0n) throw new RangeError('scores sum to zero')
  const D = BigInt(WEIGHT_DENOMINATOR)
  const base = scores.map((s) => (s * D) / total)
  const rem = scores.map((s, i) => ({ i, r: (s * D) % total }))
  let left = D - base.reduce((a, b) => a + b, 0n)
  rem.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1))
  for (const { i } of rem) {
    if (left === 0n) break
    base[i] = (base[i] as bigint) + 1n
    left--
  }
  return base.map(Number)
}

/** contribute() arguments for content carried inline in calldata. */
export function inlineContent(content: Uint8Array): { contentHash: Hex; size: bigint; content: Hex } {
  return { contentHash: keccak256(content), size: BigInt(content.length), content: toHex(content) }
}

/** contribute() arguments for content stored elsewhere (referenced by hash; `content` empty). */
export function referencedContent(content: Uint8Array): { contentHash: Hex; size: bigint; content: Hex } {
  return { contentHash: keccak256(content), size: BigInt(content.length), content: '0x' }
}
