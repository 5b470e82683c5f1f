import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { QbftDecodeError } from './errors.ts'
import type { Address, Hash, Signer } from './types.ts'

let keccakImpl: (data: Uint8Array) => Uint8Array = keccak_256

/**
 * keccak256 used for message signing hashes, block digests and addresses. Defaults to @noble;
 * a node may install a faster implementation with identical output (e.g. WASM).
 */
export function keccak256(data: Uint8Array): Hash {
  return keccakImpl(data)
}

export function useKeccak256(fn: (data: Uint8Array) => Uint8Array): void {
  const probe = fn(new Uint8Array(0))
  const want = keccak_256(new Uint8Array(0))
  if (probe.length !== 32 || !probe.every((b, i) => b === want[i]))
    throw new TypeError('useKeccak256: the function does not compute keccak256')
  keccakImpl = fn
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HALF_N = N >> 1n

function bytesToBigint(b: Uint8Array): bigint {
  let x = 0n
  for (const v of b) x = (x << 8n) | BigInt(v)
  return x
}

/** Address of an uncompressed (65-byte, 0x04-prefixed) or compressed public key. */
export function publicKeyToAddress(pub: Uint8Array): Address {
  const uncompressed = pub.length === 65 ? pub : secp256k1.Point.fromBytes(pub).toBytes(false)
  return keccak256(uncompressed.subarray(1)).subarray(12)
}

export function privateKeyToAddress(privateKey: Uint8Array): Address {
  return publicKeyToAddress(secp256k1.getPublicKey(privateKey, false))
}

/**
 * Checks Besu's 65-byte layout r ‖ s ‖ recId and rejects malleable (high-s) or out-of-range
 * values, so one signer has exactly one valid signature per hash.
 */
export function checkSignatureShape(sig: Uint8Array): void {
  if (sig.length !== 65)
    throw new QbftDecodeError('BAD_SIGNATURE', `signature must be 65 bytes, got ${sig.length}`)
  const r = bytesToBigint(sig.subarray(0, 32))
  const s = bytesToBigint(sig.subarray(32, 64))
  const v = sig[64] as number
  if (v !== 0 && v !== 1)
    throw new QbftDecodeError('BAD_SIGNATURE', `signature recovery id must be 0 or 1, got ${v}`)
  if (r === 0n || r >= N || s === 0n || s >= N)
    throw new QbftDecodeError('BAD_SIGNATURE', 'signature r/s out of range')
  if (s > HALF_N) throw new QbftDecodeError('BAD_SIGNATURE', 'signature s is not canonical (high-s)')
}

/** Default recovery (pure JS, ~2 ms). The node can inject the native binding instead. */
export function recoverAddress(hash: Hash, sig: Uint8Array): Address {
  if (hash.length !== 32) throw new QbftDecodeError('BAD_SIGNATURE', 'signed hash must be 32 bytes')
  checkSignatureShape(sig)
  const recovered = new Uint8Array(65)
  recovered[0] = sig[64] as number
  recovered.set(sig.subarray(0, 64), 1)
  let pub: Uint8Array
  try {
    pub = secp256k1.recoverPublicKey(recovered, hash, { prehash: false })
  } catch (e) {
    throw new QbftDecodeError('BAD_SIGNATURE', `signature does not recover: ${(e as Error).message}`)
  }
  return publicKeyToAddress(pub)
}

/** Plain in-memory key signer (tests, devnet). Production nodes may wrap it with their WAL. */
export function privateKeySigner(privateKey: Uint8Array): Signer {
  if (privateKey.length !== 32) throw new TypeError('private key must be 32 bytes')
  const address = privateKeyToAddress(privateKey)
  const key = Uint8Array.from(privateKey)
  return {
    address,
    sign(hash: Hash): Uint8Array {
      if (hash.length !== 32) throw new TypeError('can only sign a 32-byte hash')
      const rec = secp256k1.sign(hash, key, { prehash: false, format: 'recovered', lowS: true })
      const out = new Uint8Array(65)
      out.set(rec.subarray(1, 65), 0)
      out[64] = rec[0] as number
      return out
    },
  }
}
