/**
 * EIP-712 hashing of inference receipts and provider-signature recovery. Implemented directly on
 * keccak (not viem's generic encoder) because it runs on every settlement; test/modules.eip712.test.ts
 * checks it against viem's hashTypedData.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { concat, keccak, pad32, toBigInt, u256 } from '@openledger/module-kit'
import native from 'secp256k1'

export const EIP712_DOMAIN_NAME = 'OpenLedger Attribution'
export const EIP712_DOMAIN_VERSION = '1'

export const ENTRY_TYPE =
  'Entry(uint256 datanetId,uint64 datanetVersion,uint32 weight,uint64[] contributionIds,uint32[] contributionWeights)'
export const RECEIPT_TYPE = `InferenceReceipt(uint256 modelId,uint32 modelVersion,bytes32 inputHash,bytes32 outputHash,Entry[] entries,uint256 nonce,uint64 deadline,address payer,uint256 fee,bytes32 attributionCommitment)${ENTRY_TYPE}`
const DOMAIN_TYPE = 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'

const enc = new TextEncoder()
const ENTRY_TYPEHASH = keccak(enc.encode(ENTRY_TYPE))
const RECEIPT_TYPEHASH = keccak(enc.encode(RECEIPT_TYPE))
const DOMAIN_TYPEHASH = keccak(enc.encode(DOMAIN_TYPE))
const NAME_HASH = keccak(enc.encode(EIP712_DOMAIN_NAME))
const VERSION_HASH = keccak(enc.encode(EIP712_DOMAIN_VERSION))

/** The EIP-712 types in viem/ethers form (for signTypedData). */
export const RECEIPT_EIP712_TYPES = {
  Entry: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'datanetVersion', type: 'uint64' },
    { name: 'weight', type: 'uint32' },
    { name: 'contributionIds', type: 'uint64[]' },
    { name: 'contributionWeights', type: 'uint32[]' },
  ],
  InferenceReceipt: [
    { name: 'modelId', type: 'uint256' },
    { name: 'modelVersion', type: 'uint32' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'entries', type: 'Entry[]' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
    { name: 'payer', type: 'address' },
    { name: 'fee', type: 'uint256' },
    { name: 'attributionCommitment', type: 'bytes32' },
  ],
} as const

export interface ReceiptEntry {
  datanetId: bigint
  datanetVersion: bigint
  weight: number
  contributionIds: readonly bigint[]
  contributionWeights: readonly number[]
}

/** Receipt with bytes as Uint8Array (module-internal form). */
export interface Receipt {
  modelId: bigint
  modelVersion: number
  inputHash: Uint8Array
  outputHash: Uint8Array
  entries: readonly ReceiptEntry[]
  nonce: bigint
  deadline: bigint
  payer: Uint8Array
  fee: bigint
  attributionCommitment: Uint8Array
}

export function domainSeparator(chainId: bigint, verifyingContract: Uint8Array): Uint8Array {
  return keccak(concat(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, u256(chainId), pad32(verifyingContract)))
}

const EMPTY_ARRAY_HASH = keccak(new Uint8Array())

function hashWords(values: readonly (bigint | number)[]): Uint8Array {
  if (values.length === 0) return EMPTY_ARRAY_HASH
  return keccak(concat(...values.map((x) => u256(BigInt(x)))))
}

function hashEntry(e: ReceiptEntry): Uint8Array {
  return keccak(
    concat(
      ENTRY_TYPEHASH,
      u256(e.datanetId),
      u256(e.datanetVersion),
      u256(BigInt(e.weight)),
      hashWords(e.contributionIds),
      hashWords(e.contributionWeights),
    ),
  )
}

export function receiptStructHash(r: Receipt): Uint8Array {
  const entries = keccak(concat(...r.entries.map(hashEntry)))
  return keccak(
    concat(
      RECEIPT_TYPEHASH,
      u256(r.modelId),
      u256(BigInt(r.modelVersion)),
      r.inputHash,
      r.outputHash,
      entries,
      u256(r.nonce),
      u256(r.deadline),
      pad32(r.payer),
      u256(r.fee),
      r.attributionCommitment,
    ),
  )
}

// The domain separator depends only on (chainId, module address): computed once per pair.
const domainCache = new Map<string, Uint8Array>()

/** The EIP-712 digest; also the receipt id. */
export function receiptDigest(r: Receipt, chainId: bigint, verifyingContract: Uint8Array): Uint8Array {
  const key = `${chainId}:${Buffer.from(verifyingContract).toString('hex')}`
  let domain = domainCache.get(key)
  if (domain === undefined) {
    domain = domainSeparator(chainId, verifyingContract)
    if (domainCache.size > 64) domainCache.clear()
    domainCache.set(key, domain)
  }
  return keccak(concat(new Uint8Array([0x19, 0x01]), domain, receiptStructHash(r)))
}

/** Number of 32-byte words hashed by receiptDigest (for the keccak gas charge). */
export function receiptHashWords(r: Receipt): bigint {
  let w = 11n + 5n + 3n // receipt struct, domain, final digest
  for (const e of r.entries) w += 6n + BigInt(e.contributionIds.length + e.contributionWeights.length)
  return w
}

const N = secp256k1.Point.CURVE().n
const HALF_N = N >> 1n

export type SignatureCheck = { ok: true; signer: Uint8Array } | { ok: false; reason: 'invalid' | 'malleable' }

/** Recovers the signer of a 65-byte r||s||v signature (v ∈ {27, 28, 0, 1}); refuses high-s. */
export function recoverSigner(digest: Uint8Array, signature: Uint8Array): SignatureCheck {
  if (signature.length !== 65) return { ok: false, reason: 'invalid' }
  const r = toBigInt(signature.subarray(0, 32))
  const s = toBigInt(signature.subarray(32, 64))
  const v = signature[64] as number
  const recovery = v >= 27 ? v - 27 : v
  if (recovery !== 0 && recovery !== 1) return { ok: false, reason: 'invalid' }
  if (r === 0n || r >= N || s === 0n || s >= N) return { ok: false, reason: 'invalid' }
  if (s > HALF_N) return { ok: false, reason: 'malleable' }
  try {
    // Native libsecp256k1 (~70 µs; @noble's pure-JS recovery costs ~0.5 ms per settlement).
    const pub = native.ecdsaRecover(signature.subarray(0, 64), recovery, digest, false)
    return { ok: true, signer: keccak(pub.subarray(1)).slice(12) }
  } catch {
    return { ok: false, reason: 'invalid' }
  }
}
