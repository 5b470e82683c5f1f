/** QBFT block identity (on-chain hash, commit-seal digest) and the batched seal recovery of sync. */
import { createBlock, createBlockFromBytesArray } from '@ethereumjs/block'
import { privateToAddress, SECP256K1_ORDER } from '@ethereumjs/util'
import {
  decodeExtraData,
  type ExtraDataError,
  encodeExtraData,
  hashForCommitSeal,
  headerWithRound,
  headerWithSeals,
  onchainHash,
  QBFT_MIX_HASH,
  verifySeals,
} from '@openledger/consensus'
import { createBlockOptions, createChainCommon, parseGenesis } from '@openledger/evm-runtime'
import { describe, expect, it } from 'vitest'
import { prerecoverSeals } from '../src/chain/importer.ts'
import { commitSealDigest, decodeQbftBlock } from '../src/consensus/block-codec.ts'
import { nativeRecover, nativeSigner } from '../src/consensus/crypto.ts'

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

describe('batched seal recovery for sync (prerecoverSeals)', () => {
  const keys = [1, 2, 3, 4].map((i) => new Uint8Array(32).fill(i))
  const signers = keys.map((k) => nativeSigner(k, privateToAddress(k)))
  const set = signers.map((s) => s.address)

  /** A round-0 block at `number` sealed by the first three validators (or with `seals` as given). */
  function sealed(number: bigint, seals?: (digest: Uint8Array) => Uint8Array[]) {
    const unsealed = createBlock(
      {
        header: {
          number,
          gasLimit: 30_000_000n,
          timestamp: 100n + number,
          mixHash: QBFT_MIX_HASH,
          extraData: encodeExtraData({ vanity: new Uint8Array(32), validators: set, round: 0, seals: [] }),
        },
      },
      blockOptions,
    )
    const digest = hashForCommitSeal(unsealed.header.raw())
    const s = seals ? seals(digest) : signers.slice(0, 3).map((x) => x.sign(digest))
    const raw = headerWithSeals(unsealed.header.raw(), s)
    return decodeQbftBlock(
      createBlockFromBytesArray([raw, [], [], []] as never, blockOptions).serialize(),
      blockOptions,
    )
  }
  // The worker's answer: plain secp256k1 recovery, which accepts high-s signatures.
  const batch = async (items: ReadonlyArray<{ digest: Uint8Array; seal: Uint8Array }>) =>
    items.map((it) => nativeRecover(it.digest, it.seal))

  it('verifies a range exactly as in-thread recovery, with the answers coming from the batch', async () => {
    const blocks = [sealed(1n), sealed(2n)]
    let fallbacks = 0
    const pre = await prerecoverSeals(blocks, batch, (h, s) => {
      fallbacks++
      return nativeRecover(h, s)
    })
    blocks.forEach((b, i) => {
      expect(pre.digests[i]).toEqual(hashForCommitSeal(b.header.raw()))
      expect(verifySeals(b.header.raw(), set, pre.recover, pre.digests[i])).toEqual(set.slice(0, 3))
    })
    expect(fallbacks).toBe(0)
  })

  it('rejects a seal copied from another block, and high-s seals, although the batch answered', async () => {
    const a = sealed(1n)
    const aSeals = decodeExtraData(a.header.extraData).seals
    // Block 2 carries block 1's seals: they sign another digest and recover to strangers.
    const copied = sealed(2n, () => [...aSeals])
    // Block 3 carries a high-s twin of a valid seal: the batch recovers it, the shape check does not.
    const highS = sealed(3n, (digest) => {
      const good = signers.slice(0, 3).map((x) => x.sign(digest))
      const s = BigInt(`0x${Buffer.from(good[0]!.subarray(32, 64)).toString('hex')}`)
      const twin = Uint8Array.from(good[0]!)
      twin.set(Buffer.from((SECP256K1_ORDER - s).toString(16).padStart(64, '0'), 'hex'), 32)
      twin[64] = twin[64] === 0 ? 1 : 0
      return [twin, good[1]!, good[2]!]
    })
    const blocks = [a, copied, highS]
    const pre = await prerecoverSeals(blocks, batch, nativeRecover)
    const code = (i: number) => {
      try {
        verifySeals(blocks[i]!.header.raw(), set, pre.recover, pre.digests[i])
        return 'ok'
      } catch (e) {
        return (e as ExtraDataError).code
      }
    }
    expect(code(0)).toBe('ok')
    expect(code(1)).toBe('NOT_VALIDATOR')
    expect(code(2)).toBe('BAD_SEAL')
  })
})
