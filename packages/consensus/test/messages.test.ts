import { RLP } from '@ethereumjs/rlp'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { bytesEqual } from '../src/bytes.ts'
import { keccak256 } from '../src/crypto.ts'
import { QbftDecodeError } from '../src/errors.ts'
import {
  type CodecContext,
  createCommit,
  createPrepare,
  createProposal,
  createRoundChange,
  decodeMessage,
  encodeMessage,
  encodeMessageData,
  MessageCode,
  type PrepareMessage,
  signingHash,
} from '../src/messages.ts'
import { makeBlock, realSigner, testBlocks } from './helpers.ts'

const ctx: CodecContext = { chainId: 1337n, blocks: testBlocks }
const signers = [0, 1, 2, 3].map(realSigner)
const [a, b, c] = signers as [(typeof signers)[0], (typeof signers)[0], (typeof signers)[0]]
const block = makeBlock(5n, 0, a.address, 42n)

function expectDecodeError(bytes: Uint8Array, code?: string, c2: CodecContext = ctx): void {
  try {
    decodeMessage(bytes, c2)
  } catch (e) {
    expect(e).toBeInstanceOf(QbftDecodeError)
    if (code !== undefined) expect((e as QbftDecodeError).code).toBe(code)
    return
  }
  throw new Error('expected a QbftDecodeError')
}

describe('QBFT message codec (Besu layout)', () => {
  test('PREPARE is SignedData([height, round, digest]) prefixed by code 0x13, signed over chain id', () => {
    const m = createPrepare(a, 1337n, 5n, 2, block.digest)
    const wire = encodeMessage(m)
    expect(wire[0]).toBe(MessageCode.PREPARE)
    const decoded = RLP.decode(wire.subarray(1)) as [Uint8Array[], Uint8Array]
    expect(decoded[0]).toEqual([Uint8Array.of(5), Uint8Array.of(2), block.digest])
    expect(decoded[1].length).toBe(65)
    const expectedHash = keccak256(RLP.encode([1337n, 0x13, [5n, 2n, block.digest]]))
    expect(m.signed.signingHash).toEqual(expectedHash)
    expect(signingHash(1337n, 'PREPARE', RLP.encode([5n, 2n, block.digest]))).toEqual(expectedHash)
    const back = decodeMessage(wire, ctx) as PrepareMessage
    expect(back.type).toBe('PREPARE')
    expect(back.signed.author).toEqual(a.address)
    expect(back.signed.payload).toEqual({ type: 'PREPARE', height: 5n, round: 2, digest: block.digest })
    expect(encodeMessage(back)).toEqual(wire)
  })

  test('a message from another chain id recovers to a different author', () => {
    const wire = encodeMessage(createPrepare(a, 1337n, 5n, 0, block.digest))
    const other = decodeMessage(wire, { ...ctx, chainId: 1n })
    expect(bytesEqual(other.signed.author, a.address)).toBe(false)
  })

  test('COMMIT carries a Besu commit seal over the digest and is checked against the author', () => {
    const m = createCommit(b, 1337n, 5n, 0, block.digest)
    const back = decodeMessage(encodeMessage(m), ctx)
    expect(back.type).toBe('COMMIT')
    if (back.type !== 'COMMIT') return
    expect(back.signed.payload.commitSeal).toEqual(b.sign(block.digest))
    // Seal by someone else, message signed by b: rejected.
    const forged = createCommit(
      { address: b.address, sign: (h) => (bytesEqual(h, block.digest) ? c.sign(h) : b.sign(h)) },
      1337n,
      5n,
      0,
      block.digest,
    )
    expectDecodeError(encodeMessage(forged), 'BAD_COMMIT_SEAL')
  })

  test('ROUND_CHANGE with and without a prepared certificate; PROPOSAL with justification', () => {
    const prepares = [a, b, c].map((s) => createPrepare(s, 1337n, 5n, 0, block.digest).signed)
    const empty = createRoundChange(c, 1337n, 5n, 1)
    const prepared = createRoundChange(a, 1337n, 5n, 1, { round: 0, block, prepares })
    for (const m of [empty, prepared]) {
      const wire = encodeMessage(m)
      const back = decodeMessage(wire, ctx)
      expect(encodeMessage(back)).toEqual(wire)
      expect(back.signed.author).toEqual(m.signed.author)
    }
    const back = decodeMessage(encodeMessage(prepared), ctx)
    if (back.type !== 'ROUND_CHANGE') throw new Error('type')
    expect(back.signed.payload.prepared).toEqual({ round: 0, digest: block.digest })
    expect(back.preparedBlock?.digest).toEqual(block.digest)
    expect(back.prepares.map((p) => p.author)).toEqual([a.address, b.address, c.address])

    const reproposed = testBlocks.withRound(block, 1)
    const proposal = createProposal(b, 1337n, reproposed, 1, [empty.signed, prepared.signed], prepares)
    const wire = encodeMessage(proposal)
    const pb = decodeMessage(wire, ctx)
    if (pb.type !== 'PROPOSAL') throw new Error('type')
    expect(pb.signed.payload.block.bytes).toEqual(reproposed.bytes)
    expect(pb.roundChanges.length).toBe(2)
    expect(pb.prepares.length).toBe(3)
    expect(encodeMessage(pb)).toEqual(wire)
    // Besu's ProposalMessageData: [SignedData(payload), [[roundChanges], [prepares]]].
    const raw = RLP.decode(encodeMessageData(proposal)) as unknown[]
    expect(raw.length).toBe(2)
    expect((raw[1] as unknown[]).length).toBe(2)
  })

  test('inconsistent messages are typed errors', () => {
    // Prepared metadata whose block differs.
    const prepares = [a, b, c].map((s) => createPrepare(s, 1337n, 5n, 0, block.digest).signed)
    const other = makeBlock(5n, 0, a.address, 43n)
    const rc = createRoundChange(a, 1337n, 5n, 1, { round: 0, block, prepares })
    const tampered = encodeMessage({ ...rc, preparedBlock: other })
    expectDecodeError(tampered, 'INCONSISTENT')
    // Proposal block height differs from the payload height.
    const bad = createProposal(a, 1337n, makeBlock(6n, 0, a.address, 1n), 0)
    const raw = RLP.decode(encodeMessageData(bad)) as unknown[]
    const signedItem = raw[0] as [unknown[], Uint8Array]
    signedItem[0][0] = Uint8Array.of(5)
    expectDecodeError(Uint8Array.of(0x12, ...RLP.encode(raw as never)))
    // Unknown code, empty, truncated, wrong signature length.
    const wire = encodeMessage(createPrepare(a, 1337n, 5n, 0, block.digest))
    expectDecodeError(Uint8Array.of(0x16, ...wire.subarray(1)), 'UNKNOWN_CODE')
    expectDecodeError(new Uint8Array(0), 'MALFORMED_RLP')
    expectDecodeError(wire.subarray(0, wire.length - 3), 'MALFORMED_RLP')
    const shortSig = Uint8Array.of(0x13, ...RLP.encode([[5n, 0n, block.digest], new Uint8Array(64)]))
    expectDecodeError(shortSig, 'BAD_SIGNATURE')
    // Non-canonical scalar (leading zero).
    expectDecodeError(
      Uint8Array.of(0x13, ...RLP.encode([[Uint8Array.of(0, 5), 0n, block.digest], new Uint8Array(65)])),
      'BAD_STRUCTURE',
    )
    // High-s signature is rejected (malleability).
    const sig = a.sign(keccak256(Uint8Array.of(1)))
    const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    let s = 0n
    for (const v of sig.subarray(32, 64)) s = (s << 8n) | BigInt(v)
    const hs = (N - s).toString(16).padStart(64, '0')
    const high = Uint8Array.from([...sig.subarray(0, 32), ...Buffer.from(hs, 'hex'), sig[64] === 0 ? 1 : 0])
    expectDecodeError(Uint8Array.of(0x13, ...RLP.encode([[5n, 0n, block.digest], high])), 'BAD_SIGNATURE')
  })

  test('garbage never escapes as an untyped error (property)', () => {
    const fast: CodecContext = { ...ctx, recover: () => new Uint8Array(20) }
    const valid = [
      encodeMessage(createPrepare(a, 1337n, 5n, 0, block.digest)),
      encodeMessage(createCommit(a, 1337n, 5n, 0, block.digest)),
      encodeMessage(createRoundChange(a, 1337n, 5n, 1)),
      encodeMessage(createProposal(a, 1337n, block, 0)),
    ]
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeMessage(bytes, fast)
        } catch (e) {
          expect(e).toBeInstanceOf(QbftDecodeError)
        }
      }),
      { numRuns: 400 },
    )
    // Mutations of valid messages: flip bytes, truncate.
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 1, max: 255 }), (wire, pos, x) => {
        const m = Uint8Array.from(wire)
        const i = pos % m.length
        m[i] = (m[i] as number) ^ x
        for (const input of [m, m.subarray(0, i)]) {
          try {
            decodeMessage(input, ctx)
          } catch (e) {
            expect(e).toBeInstanceOf(QbftDecodeError)
          }
        }
      }),
      { numRuns: 150 },
    )
  })
})
