/** The well-known development accounts (Hardhat / anvil / Foundry): BIP-39 mnemonic, BIP-44 path. */
import { createHmac, pbkdf2Sync } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { secp256k1PrivateKeyAdd, secp256k1PublicKey } from '@openledger/evm-runtime'

export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
export const DEV_DERIVATION_PATH = "m/44'/60'/0'/0"

export interface DevAccount {
  index: number
  address: Uint8Array
  privateKey: Uint8Array
}

export function addressFromPrivateKey(privateKey: Uint8Array): Uint8Array {
  const pub = secp256k1.getPublicKey(privateKey, false)
  return keccak_256(pub.subarray(1)).subarray(12)
}

/**
 * BIP-39 seed: the bytes of @scure/bip39's mnemonicToSeedSync (same checks, NFKD, PBKDF2-SHA512,
 * 2048 rounds, salt "mnemonic"), through Node's native PBKDF2: ~100 ms less on every dev start.
 */
function mnemonicSeed(mnemonic: string): Uint8Array {
  if (typeof mnemonic !== 'string') throw new TypeError(`invalid mnemonic type: ${typeof mnemonic}`)
  if (/\p{Cs}/u.test(mnemonic)) throw new TypeError('expected well-formed Unicode string')
  const nfkd = mnemonic.normalize('NFKD')
  if (![12, 15, 18, 21, 24].includes(nfkd.split(' ').length)) throw new Error('Invalid mnemonic')
  return new Uint8Array(pbkdf2Sync(nfkd, 'mnemonic', 2048, 64, 'sha512'))
}

/** A BIP-32 extended private key: the key and its chain code. */
interface ExtendedKey {
  key: Uint8Array
  chainCode: Uint8Array
}

const HARDENED = 0x8000_0000

function hmacSha512(key: Uint8Array | string, data: Uint8Array): { left: Uint8Array; right: Uint8Array } {
  const out = new Uint8Array(createHmac('sha512', key).update(data).digest())
  return { left: out.subarray(0, 32), right: out.subarray(32) }
}

/** BIP-32 CKDpriv. `secp256k1PrivateKeyAdd` throws for the (probability ~2^-127) invalid children,
 * where @scure/bip32 throws too. */
function childKey(parent: ExtendedKey, index: number): ExtendedKey {
  const data = new Uint8Array(37)
  if (index >= HARDENED) data.set(parent.key, 1)
  else data.set(secp256k1PublicKey(parent.key, true), 0)
  new DataView(data.buffer).setUint32(33, index)
  const { left, right } = hmacSha512(parent.chainCode, data)
  return { key: secp256k1PrivateKeyAdd(parent.key, left), chainCode: right }
}

/**
 * The dev accounts at m/44'/60'/0'/0/{index}: BIP-32 with Node's native HMAC-SHA512 and the native
 * secp256k1 binding (the same keys as @scure/bip32, which test/dev-accounts pins against Hardhat's
 * and anvil's well-known addresses). @scure/bip32 computed every intermediate public key with
 * @noble, whose first point multiplication builds its tables: 320–840 ms of each dev start-up on
 * a loaded 2-core machine (50–80 ms now).
 */
export function deriveDevAccounts(count: number, mnemonic = DEV_MNEMONIC): DevAccount[] {
  const { left, right } = hmacSha512('Bitcoin seed', mnemonicSeed(mnemonic))
  // A master key outside [1, n) is invalid (BIP-32); the tweak-add of zero checks it.
  let parent: ExtendedKey = { key: secp256k1PrivateKeyAdd(left, new Uint8Array(32)), chainCode: right }
  for (const index of [44 + HARDENED, 60 + HARDENED, HARDENED, 0]) parent = childKey(parent, index)
  const accounts: DevAccount[] = []
  for (let i = 0; i < count; i++) {
    const { key } = childKey(parent, i)
    const pub = secp256k1PublicKey(key, false)
    accounts.push({ index: i, privateKey: key, address: keccak_256(pub.subarray(1)).subarray(12) })
  }
  return accounts
}
