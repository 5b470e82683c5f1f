/** QBFT block identity (on-chain hash, commit-seal digest) and the batched seal recovery of sync. */
import { createBlock, createBlockFromBytesArray } from '@ethereumjs/block'
import { RLP } from '@ethereumjs/rlp'
import { createFeeMarket1559Tx, createLegacyTx, createTxFromRLP } from '@ethereumjs/tx'
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
import { createBlockOptions, createChainCommon, initCrypto, parseGenesis } from '@openledger/evm-runtime'
import { beforeAll, describe, expect, it } from 'vitest'
import { prerecoverSeals } from '../src/chain/importer.ts'
import {
  BlockDecodeError,
  commitSealDigest,
  decodeQbftBlock,
  rawTransactions,
} from '../src/consensus/block-codec.ts'
import { nativeRecover, nativeSigner } from '../src/consensus/crypto.ts'
import { bytesEqual, hex } from '../src/util/bytes.ts'

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

describe('decoding a proposal with the pooled transactions (knownTx)', () => {
  const common = blockOptions.common!
  const key = new Uint8Array(32).fill(9)
  const to = new Uint8Array(20).fill(0xaa)
  const typed = createFeeMarket1559Tx(
    { nonce: 0n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 21_000n, to, value: 1n },
    { common },
  ).sign(key)
  const legacy = createLegacyTx(
    { nonce: 1n, gasPrice: 10n, gasLimit: 21_000n, to, value: 2n },
    { common },
  ).sign(key)
  const bytes = () =>
    createBlock(
      {
        header: {
          number: 5n,
          gasLimit: 30_000_000n,
          timestamp: 99n,
          mixHash: QBFT_MIX_HASH,
          extraData: encodeExtraData({ vanity: new Uint8Array(32), validators, round: 0, seals: [] }),
        },
        transactions: [typed, legacy],
      },
      blockOptions,
    ).serialize()
  beforeAll(initCrypto)

  it('takes pooled objects with the same bytes and decodes the rest as the library does', () => {
    // What the pool holds: decoded from the gossiped bytes, sender recovered on admission.
    const pooled = createTxFromRLP(typed.serialize(), { common })
    pooled.getSenderAddress()
    const asked: string[] = []
    const block = decodeQbftBlock(bytes(), blockOptions, (h) => {
      asked.push(hex(h))
      return bytesEqual(h, pooled.hash()) ? pooled : undefined
    })
    expect(asked).toEqual([hex(typed.hash()), hex(legacy.hash())])
    expect(block.transactions[0]).toBe(pooled)
    const plain = decodeQbftBlock(bytes(), blockOptions)
    expect(block.hash()).toEqual(plain.hash())
    expect(block.serialize()).toEqual(plain.serialize())
    expect(block.transactions.map((t) => hex(t.hash()))).toEqual(plain.transactions.map((t) => hex(t.hash())))
    expect(block.transactions[1]!.getSenderAddress()).toEqual(legacy.getSenderAddress())
    expect(rawTransactions(block)).toEqual([typed.serialize(), legacy.serialize()])
  })

  it('never takes a pooled object whose bytes differ, whatever the lookup answers', () => {
    const other = createFeeMarket1559Tx(
      { nonce: 7n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 21_000n, to, value: 1n },
      { common },
    ).sign(key)
    const block = decodeQbftBlock(bytes(), blockOptions, () => other)
    expect(block.transactions).not.toContain(other)
    expect(hex(block.transactions[0]!.hash())).toBe(hex(typed.hash()))
  })

  it('answers malformed bytes with BlockDecodeError', () => {
    const good = bytes()
    const lookup = () => undefined
    expect(() => decodeQbftBlock(good.subarray(0, good.length - 3), blockOptions, lookup)).toThrow(
      BlockDecodeError,
    )
    // A transaction list that is a byte string, and a transaction that is not one.
    const [header] = RLP.decode(good) as Uint8Array[][]
    for (const body of [
      [header, new Uint8Array([1, 2]), []],
      [header, [new Uint8Array([0x02, 0xc0])], []],
    ])
      expect(() => decodeQbftBlock(RLP.encode(body as never), blockOptions, lookup)).toThrow(BlockDecodeError)
  })
})
