import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import { describe, expect, it } from 'vitest'
import { addressFromPrivateKey, DEV_DERIVATION_PATH, deriveDevAccounts } from '../src/keys/dev-accounts.ts'
import { hex } from '../src/util/bytes.ts'

/** The reference derivation: @scure/bip39 seed, full path from the root for every account. */
function reference(mnemonic: string, count: number) {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic))
  return Array.from({ length: count }, (_, i) => {
    const key = root.derive(`${DEV_DERIVATION_PATH}/${i}`).privateKey!
    return { privateKey: hex(key), address: hex(addressFromPrivateKey(key)) }
  })
}

describe('dev accounts', () => {
  it('are the well-known Hardhat / anvil accounts', () => {
    const [a0, , , , , , , , , , , , , , , , , , , a19] = deriveDevAccounts(20)
    expect(hex(a0!.address)).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    expect(hex(a0!.privateKey)).toBe('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
    expect(hex(a19!.address)).toBe('0x8626f6940e2eb28930efb4cef49b2d1f2c9c1199')
  })

  it('match the reference BIP-39/BIP-32 derivation for other mnemonics, NFKD included', () => {
    for (const m of [
      'legal winner thank year wave sausage worth useful legal winner thank yellow',
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art',
      'ｔｅｓｔ test test test test test test test test test test café',
    ]) {
      const ours = deriveDevAccounts(3, m).map((a) => ({
        privateKey: hex(a.privateKey),
        address: hex(a.address),
      }))
      expect(ours).toEqual(reference(m, 3))
    }
  })

  it('refuses what the reference refuses', () => {
    for (const m of ['test test test', '', 'a b c d e f g h i j k \ud800']) {
      expect(() => deriveDevAccounts(1, m)).toThrow()
      expect(() => reference(m, 1)).toThrow()
    }
  })
})
