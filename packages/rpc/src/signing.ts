/**
 * eth_sign / personal_sign (EIP-191 "\x19Ethereum Signed Message:\n" + len + message) and
 * eth_signTypedData_v4 (EIP-712, hashed by viem). Signatures are r || s || v with v = 27/28, as
 * geth and MetaMask return them. Keys come from backend.signingKey and are never logged.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import type { TypedDataDefinition } from 'viem'
import { hashMessage, hashTypedData, hexToBytes, validateTypedData } from 'viem/utils'
import type { Address, RpcBackend } from './backend.ts'
import { invalidInput, invalidParams } from './errors.ts'
import { data } from './format.ts'

/** Signs a 32-byte digest; returns 65 bytes r || s || v (v = 27 + recovery id). */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  // noble's "recovered" format puts the recovery byte first.
  const sig = secp256k1.sign(digest, privateKey, { prehash: false, format: 'recovered' })
  const out = new Uint8Array(65)
  out.set(sig.subarray(1, 65), 0)
  out[64] = 27 + sig[0]!
  return out
}

function keyFor(backend: RpcBackend, address: Address): Uint8Array {
  const key = backend.signingKey(address)
  if (!key) throw invalidInput('unknown account')
  return key
}

/** EIP-191 personal message signature, hex encoded. */
export function signPersonalMessage(backend: RpcBackend, address: Address, message: Uint8Array): string {
  const digest = hexToBytes(hashMessage({ raw: message }))
  return data(signDigest(keyFor(backend, address), digest))
}

/** Parses eth_signTypedData_v4's payload (an object, or its JSON text as MetaMask sends it). */
export function parseTypedData(value: unknown): TypedDataDefinition {
  let obj = value
  if (typeof value === 'string') {
    try {
      obj = JSON.parse(value)
    } catch {
      throw invalidParams('invalid argument typedData: not valid JSON')
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw invalidParams('invalid argument typedData: expected an EIP-712 object')
  }
  const t = obj as Record<string, unknown>
  if (typeof t.types !== 'object' || t.types === null || Array.isArray(t.types)) {
    throw invalidParams('invalid argument typedData: missing "types"')
  }
  if (typeof t.primaryType !== 'string')
    throw invalidParams('invalid argument typedData: missing "primaryType"')
  if (typeof t.message !== 'object' || t.message === null) {
    throw invalidParams('invalid argument typedData: missing "message"')
  }
  if (t.domain !== undefined && (typeof t.domain !== 'object' || t.domain === null)) {
    throw invalidParams('invalid argument typedData: "domain" must be an object')
  }
  const def = {
    domain: (t.domain ?? {}) as TypedDataDefinition['domain'],
    types: t.types as TypedDataDefinition['types'],
    primaryType: t.primaryType,
    message: t.message as Record<string, unknown>,
  } as TypedDataDefinition
  try {
    // Rejects values that do not fit their declared types (uint overflow, bad address, ...).
    validateTypedData(def)
  } catch (err) {
    throw invalidParams(`invalid argument typedData: ${shortMessage(err)}`)
  }
  return def
}

function shortMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'shortMessage' in err && typeof err.shortMessage === 'string') {
    return err.shortMessage
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err)
}

/** EIP-712 v4 signature, hex encoded. */
export function signTypedDataV4(backend: RpcBackend, address: Address, typedData: unknown): string {
  const key = keyFor(backend, address)
  const def = parseTypedData(typedData)
  let digest: `0x${string}`
  try {
    digest = hashTypedData(def)
  } catch (err) {
    throw invalidParams(`invalid argument typedData: ${shortMessage(err)}`)
  }
  return data(signDigest(key, hexToBytes(digest)))
}
