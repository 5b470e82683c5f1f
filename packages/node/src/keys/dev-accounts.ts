/** The well-known development accounts (Hardhat / anvil / Foundry): BIP-39 mnemonic, BIP-44 path. */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'

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

export function deriveDevAccounts(count: number, mnemonic = DEV_MNEMONIC): DevAccount[] {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic))
  const accounts: DevAccount[] = []
  for (let i = 0; i < count; i++) {
    const key = root.derive(`${DEV_DERIVATION_PATH}/${i}`).privateKey
    if (!key) throw new Error(`cannot derive dev account ${i}`)
    accounts.push({ index: i, privateKey: key, address: addressFromPrivateKey(key) })
  }
  return accounts
}
