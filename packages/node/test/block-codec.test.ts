/** QBFT block identity: the on-chain hash, and the commit-seal digest reused from it in round 0. */
import { createBlock } from '@ethereumjs/block'
import {
  encodeExtraData,
  hashForCommitSeal,
  headerWithRound,
  onchainHash,
  QBFT_MIX_HASH,
} from '@openledger/consensus'
import { createBlockOptions, createChainCommon, parseGenesis } from '@openledger/evm-runtime'
import { describe, expect, it } from 'vitest'
import { commitSealDigest, decodeQbftBlock } from '../src/consensus/block-codec.ts'

const genesis = parseGenesis({ chainId: 4242 })
const blockOptions = createBlockOptions(createChainCommon(genesis), genesis)
const validators = [1, 2, 3, 4].map((i) => new Uint8Array(20).fill(i))

function sealedBlockBytes(round: number): Uint8Array {
  const extraData = encodeExtraData({
    vanity: new Uint8Array(32),
    validators,
    round,
    seals: [new Uint8Array(65).fill(7), new Uint8Array(65).fill(8)],
  })
  return createBlock(
    { header: { number: 5n, gasLimit: 30_000_000n, timestamp: 99n, extraData, mixHash: QBFT_MIX_HASH } },
    blockOptions,
  ).serialize()
}

describe('QBFT block codec', () => {
  it('hashes blocks by their on-chain hash and gives the seal digest of any round', () => {
    for (const round of [0, 3]) {
      const block = decodeQbftBlock(sealedBlockBytes(round), blockOptions)
      const raw = block.header.raw()
      expect(block.hash()).toEqual(onchainHash(raw))
      expect(commitSealDigest(block)).toEqual(hashForCommitSeal(raw))
      // Round 0: the two hashes coincide; a later round signs a different digest.
      expect(commitSealDigest(block).every((b, i) => b === block.hash()[i])).toBe(round === 0)
      expect(hashForCommitSeal(headerWithRound(raw, round))).toEqual(hashForCommitSeal(raw))
    }
  })

  it('computes the seal digest of a block that was not decoded by the codec', () => {
    const block = createBlock(
      {
        header: {
          number: 1n,
          extraData: encodeExtraData({ vanity: new Uint8Array(32), validators, round: 0, seals: [] }),
        },
      },
      blockOptions,
    )
    expect(commitSealDigest(block)).toEqual(hashForCommitSeal(block.header.raw()))
  })
})
