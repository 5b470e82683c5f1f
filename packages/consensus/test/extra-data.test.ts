import { RLP } from '@ethereumjs/rlp'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { fromHex, toHex } from '../src/bytes.ts'
import { keccak256 } from '../src/crypto.ts'
import { ExtraDataError } from '../src/errors.ts'
import {
  decodeExtraData,
  encodeExtraData,
  genesisExtraData,
  hashForCommitSeal,
  headerWithRound,
  headerWithSeals,
  onchainHash,
  QBFT_MIX_HASH,
  verifyExtraSeals,
  verifySeals,
} from '../src/extra-data.ts'
import { realSigner } from './helpers.ts'

// A real QBFT genesis produced by quorum-genesis-tool for Besu (6 validators).
const BESU_GENESIS_EXTRA =
  '0xf8a4a00000000000000000000000000000000000000000000000000000000000000000f87e949fdf0be08163c2a42ae8a2da2589cfde2b23375194fffc4330c031a0185dce6fe1aea4d96c38b3b318943d6ba9de31aa747947d05224f384b7cdf9b360a09496f38a5e35787a6bd046ce0884af159169ca1da294f0e810229eec528d05a9dd010c3224856c3b167f94f984e43345c8375672ad451aaa3c67ee31d1b89ec080c0'

const signers = [0, 1, 2, 3].map(realSigner)
const validators = signers.map((s) => s.address)

function header(extra: Uint8Array, fields = 21): Uint8Array[] {
  const h: Uint8Array[] = [
    new Uint8Array(32).fill(1), // parentHash
    keccak256(RLP.encode([])), // ommersHash
    signers[0]?.address as Uint8Array, // coinbase = proposer
    new Uint8Array(32).fill(2),
    new Uint8Array(32).fill(3),
    new Uint8Array(32).fill(4),
    new Uint8Array(256),
    Uint8Array.of(1), // difficulty
    Uint8Array.of(7), // number
    Uint8Array.of(0x01, 0xc9, 0xc3, 0x80),
    new Uint8Array(0),
    Uint8Array.of(0x65, 0x00, 0x00, 0x00),
    extra,
    QBFT_MIX_HASH,
    new Uint8Array(8),
    Uint8Array.of(7), // baseFee
    new Uint8Array(32).fill(5), // withdrawalsRoot
    new Uint8Array(0),
    new Uint8Array(0),
    new Uint8Array(32).fill(6),
    new Uint8Array(32).fill(7), // requestsHash (Prague)
  ]
  return h.slice(0, fields)
}

describe('QBFT extraData (Besu QbftExtraDataCodec)', () => {
  test('decodes and re-encodes a Besu genesis byte-for-byte', () => {
    const bytes = fromHex(BESU_GENESIS_EXTRA)
    const e = decodeExtraData(bytes)
    expect(e.vanity).toEqual(new Uint8Array(32))
    expect(e.validators.length).toBe(6)
    expect(toHex(e.validators[0] as Uint8Array)).toBe('0x9fdf0be08163c2a42ae8a2da2589cfde2b233751')
    expect(e.vote).toBeUndefined()
    expect(e.round).toBe(0)
    expect(e.seals).toEqual([])
    expect(toHex(encodeExtraData(e))).toBe(BESU_GENESIS_EXTRA)
    expect(toHex(genesisExtraData(e.validators))).toBe(BESU_GENESIS_EXTRA)
  })

  test('vote and round encodings', () => {
    const add = encodeExtraData({
      vanity: new Uint8Array(32),
      validators,
      vote: { recipient: validators[1] as Uint8Array, add: true },
      round: 3,
      seals: [],
    })
    const drop = encodeExtraData({
      vanity: new Uint8Array(32),
      validators,
      vote: { recipient: validators[1] as Uint8Array, add: false },
      round: 300,
      seals: [],
    })
    expect(decodeExtraData(add).vote).toEqual({ recipient: validators[1], add: true })
    expect(decodeExtraData(drop).vote).toEqual({ recipient: validators[1], add: false })
    expect(decodeExtraData(drop).round).toBe(300)
    const raw = RLP.decode(add) as unknown[]
    expect(raw[2]).toEqual([validators[1], Uint8Array.of(0xff)])
    expect(raw[3]).toEqual(Uint8Array.of(3))
    expect((RLP.decode(drop) as unknown[])[2]).toEqual([validators[1], new Uint8Array(0)])
  })

  test('commit-seal hash keeps the round, the on-chain hash ignores round and seals; seals verify', () => {
    const h0 = header(encodeExtraData({ vanity: new Uint8Array(32), validators, round: 0, seals: [] }))
    const h2 = headerWithRound(h0, 2)
    expect(decodeExtraData(h2[12] as Uint8Array).round).toBe(2)
    expect(hashForCommitSeal(h2)).not.toEqual(hashForCommitSeal(h0))
    expect(onchainHash(h2)).toEqual(onchainHash(h0))
    const digest = hashForCommitSeal(h2)
    const seals = signers.slice(0, 3).map((s) => s.sign(digest))
    const sealed = headerWithSeals(h2, seals)
    expect(hashForCommitSeal(sealed)).toEqual(digest)
    expect(onchainHash(sealed)).toEqual(onchainHash(h0))
    expect(verifySeals(sealed, validators)).toEqual(validators.slice(0, 3))
    // A digest computed beforehand (block sync batches seal recovery) gives the same answer.
    expect(verifySeals(sealed, validators, undefined, digest)).toEqual(validators.slice(0, 3))
    // ... and so does the already-decoded extraData (the importer's cached decoding).
    const extra = decodeExtraData(sealed[12] as Uint8Array)
    expect(verifyExtraSeals(extra, digest, validators)).toEqual(validators.slice(0, 3))
    expect(onchainHash(sealed, extra)).toEqual(onchainHash(h0))
    expect(() => verifyExtraSeals({ ...extra, seals: extra.seals.slice(0, 2) }, digest, validators)).toThrow(
      ExtraDataError,
    )
    // Works for pre-London (15-field) headers too.
    const old = header(encodeExtraData({ vanity: new Uint8Array(32), validators, round: 0, seals: [] }), 15)
    const d = hashForCommitSeal(old)
    expect(
      verifySeals(
        headerWithSeals(
          old,
          signers.slice(1).map((s) => s.sign(d)),
        ),
        validators,
      ).length,
    ).toBe(3)
  })

  test('seal verification failures are typed', () => {
    const h = header(encodeExtraData({ vanity: new Uint8Array(32), validators, round: 1, seals: [] }))
    const digest = hashForCommitSeal(h)
    const code = (seals: Uint8Array[]) => {
      try {
        verifySeals(headerWithSeals(h, seals), validators)
        return 'ok'
      } catch (e) {
        expect(e).toBeInstanceOf(ExtraDataError)
        return (e as ExtraDataError).code
      }
    }
    const s = signers.map((x) => x.sign(digest))
    expect(code(s.slice(0, 2))).toBe('NO_QUORUM')
    expect(code([s[0], s[0], s[1]] as Uint8Array[])).toBe('DUPLICATE_SEAL')
    expect(code([...s.slice(0, 2), realSigner(9).sign(digest)])).toBe('NOT_VALIDATOR')
    // A seal over another round's hash recovers to a stranger.
    const other = hashForCommitSeal(headerWithRound(h, 0))
    expect(code(signers.slice(0, 3).map((x) => x.sign(other)))).toBe('NOT_VALIDATOR')
    const bad = new Uint8Array(65)
    expect(code([bad, ...s.slice(0, 2)])).toBe('BAD_SEAL')
  })

  test('garbage extraData / headers raise ExtraDataError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeExtraData(b)
        } catch (e) {
          expect(e).toBeInstanceOf(ExtraDataError)
        }
      }),
      { numRuns: 300 },
    )
    expect(() => hashForCommitSeal([new Uint8Array(1)])).toThrow(ExtraDataError)
    expect(() => decodeExtraData(RLP.encode([new Uint8Array(31), [], [], 0, []]))).toThrow(ExtraDataError)
    expect(() =>
      decodeExtraData(
        RLP.encode([new Uint8Array(32), [], [validators[0] as Uint8Array, Uint8Array.of(7)], 0, []]),
      ),
    ).toThrow(ExtraDataError)
  })
})
