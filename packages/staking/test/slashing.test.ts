/**
 * Equivocation evidence signed with a validator's real consensus key (QBFT wire format, chain id
 * bound), downtime on proposer slots, jail and unjail.
 */

import { encode as rlp } from '@ethereumjs/rlp'
import {
  createCommit,
  createPrepare,
  createProposal,
  encodeExtraData,
  hashForCommitSeal,
  MessageCode,
  privateKeySigner,
  QBFT_MIX_HASH,
} from '@openledger/consensus'
import { keccak, toHex } from '@openledger/module-kit'
import { describe, expect, it } from 'vitest'
import { account, consensusAddress, consensusKey, E18, STAKING_ADDRESS, World } from './helpers.ts'

const CHAIN = 1337n
const digest = (n: number) => keccak(Uint8Array.of(n))
const hex = (b: Uint8Array) => toHex(b)

function prepares(i: number, height: bigint, round: number, a = 1, b = 2) {
  const s = privateKeySigner(consensusKey(i))
  return [
    createPrepare(s, CHAIN, height, round, digest(a)),
    createPrepare(s, CHAIN, height, round, digest(b)),
  ]
}

/** A QBFT block (header list + empty body) of `height` proposed at `round`, distinct by `salt`. */
function block(height: bigint, round: number, salt: number) {
  const header: Uint8Array[] = Array.from({ length: 21 }, () => new Uint8Array(0))
  header[0] = new Uint8Array(32)
  header[2] = consensusAddress(0)
  header[3] = keccak(Uint8Array.of(salt))
  header[8] = Uint8Array.of(Number(height))
  header[12] = encodeExtraData({ vanity: new Uint8Array(32), validators: [], round, seals: [] })
  header[13] = QBFT_MIX_HASH
  const bytes = rlp([header, [], [], []])
  return { height, round, digest: hashForCommitSeal(header), bytes }
}

describe('double-sign evidence', () => {
  it('slashes exactly 5 %, tombstones and jails; the validator is out at the next epoch; replays are refused', async () => {
    const w = await World.create()
    for (let i = 0; i < 3; i++) await w.endBlock()
    const op = hex(account(1))
    const before = await w.view('validator', [op])
    const reporter = account(8)
    const reporterBefore = await w.balance(reporter)
    const [a, b] = prepares(1, 2n, 0)
    const r = await w.staking(reporter, 'submitEvidence', [
      MessageCode.PREPARE,
      hex(a!.signed.encoded),
      hex(b!.signed.encoded),
    ])
    expect(r.ok).toBe(true)
    expect(r.logs.map((l) => l.eventName)).toEqual(['EvidenceSubmitted', 'Slash', 'Jail'])
    const after = await w.view('validator', [op])
    const slashed = (before.tokens * 500n) / 10_000n
    expect(after.tokens).toBe(before.tokens - slashed)
    expect(after.tokens * 100n).toBe(before.tokens * 95n)
    expect(after.jailed).toBe(true)
    expect(after.tombstoned).toBe(true)
    // 10 % of the slashed stake to the reporter, the rest burned.
    expect(await w.balance(reporter)).toBe(reporterBefore + slashed / 10n)
    await w.endBlock()
    expect((await w.view('supply')).burned).toBe(slashed - slashed / 10n)
    expect(await w.balance(STAKING_ADDRESS)).toBe(3_000n * E18 - slashed)

    // The same evidence again, swapped, or re-signed differently: refused.
    const again = await w.staking(reporter, 'submitEvidence', [
      MessageCode.PREPARE,
      hex(a!.signed.encoded),
      hex(b!.signed.encoded),
    ])
    expect(again).toMatchObject({ ok: false, error: 'EvidenceAlreadySubmitted' })
    const swapped = await w.staking(account(9), 'submitEvidence', [
      MessageCode.PREPARE,
      hex(b!.signed.encoded),
      hex(a!.signed.encoded),
    ])
    expect(swapped).toMatchObject({ ok: false, error: 'EvidenceAlreadySubmitted' })
    const [c, d] = prepares(1, 3n, 1, 5, 6)
    expect(
      await w.staking(account(9), 'submitEvidence', [
        MessageCode.PREPARE,
        hex(c!.signed.encoded),
        hex(d!.signed.encoded),
      ]),
    ).toMatchObject({ ok: false, error: 'AlreadyTombstoned' })

    expect(await w.view('activeValidatorSet')).toContain(hex(consensusAddress(1)))
    await w.toNextEpoch()
    expect(await w.view('activeValidatorSet')).not.toContain(hex(consensusAddress(1)))
    expect(await w.staking(account(1), 'unjail')).toMatchObject({ ok: false, error: 'AlreadyTombstoned' })
  })

  it('accepts conflicting commits and proposals, and refuses honest or malformed pairs', async () => {
    const w = await World.create()
    for (let i = 0; i < 4; i++) await w.endBlock()
    const s = privateKeySigner(consensusKey(2))
    const c1 = createCommit(s, CHAIN, 3n, 0, digest(1))
    const c2 = createCommit(s, CHAIN, 3n, 0, digest(2))
    expect(
      (
        await w.staking(account(8), 'submitEvidence', [
          MessageCode.COMMIT,
          hex(c1.signed.encoded),
          hex(c2.signed.encoded),
        ])
      ).ok,
    ).toBe(true)

    const p0 = privateKeySigner(consensusKey(0))
    const b1 = block(2n, 0, 1)
    const b2 = block(2n, 0, 2)
    const m1 = createProposal(p0, CHAIN, b1, 0)
    const m2 = createProposal(p0, CHAIN, b2, 0)
    expect(
      (
        await w.staking(account(8), 'submitEvidence', [
          MessageCode.PROPOSAL,
          hex(m1.signed.encoded),
          hex(m2.signed.encoded),
        ])
      ).ok,
    ).toBe(true)

    const p1 = privateKeySigner(consensusKey(1))
    const same = createPrepare(p1, CHAIN, 2n, 0, digest(1))
    const cases: [number, Uint8Array, Uint8Array, string][] = [
      // the same message twice is no equivocation
      [MessageCode.PREPARE, same.signed.encoded, same.signed.encoded, 'InvalidEvidence'],
      // commits for different blocks in different rounds can be honest
      [
        MessageCode.PREPARE,
        createPrepare(p1, CHAIN, 2n, 0, digest(1)).signed.encoded,
        createPrepare(p1, CHAIN, 2n, 1, digest(2)).signed.encoded,
        'InvalidEvidence',
      ],
      // two signers
      [MessageCode.PREPARE, same.signed.encoded, prepares(2, 2n, 0)[1]!.signed.encoded, 'InvalidEvidence'],
      // type mismatch, garbage, unknown code
      [MessageCode.COMMIT, same.signed.encoded, same.signed.encoded, 'InvalidEvidence'],
      [MessageCode.PREPARE, Uint8Array.of(1, 2, 3), same.signed.encoded, 'InvalidEvidence'],
      [0x99, same.signed.encoded, same.signed.encoded, 'InvalidEvidence'],
      // another chain's messages: each recovers to a different stranger
      [
        MessageCode.PREPARE,
        createPrepare(p1, 7n, 2n, 0, digest(1)).signed.encoded,
        createPrepare(p1, 7n, 2n, 0, digest(2)).signed.encoded,
        'InvalidEvidence',
      ],
      // not yet happened / not a member
      [
        MessageCode.PREPARE,
        ...(prepares(1, 9n, 0).map((m) => m.signed.encoded) as [Uint8Array, Uint8Array]),
        'EvidenceFromFuture',
      ],
      [
        MessageCode.PREPARE,
        ...(prepares(6, 2n, 0).map((m) => m.signed.encoded) as [Uint8Array, Uint8Array]),
        'NotInValidatorSet',
      ],
    ]
    for (const [code, x, y, error] of cases) {
      const r = await w.staking(account(8), 'submitEvidence', [code, hex(x), hex(y)])
      expect(r, `${error}`).toMatchObject({ ok: false, error })
    }
  })

  it('refuses evidence older than maxEvidenceAge blocks', async () => {
    const w = await World.create({ staking: { maxEvidenceAge: 120, unbondingTime: 100 } })
    for (let i = 0; i < 123; i++) await w.endBlock()
    const [a, b] = prepares(0, 2n, 0)
    const r = await w.staking(account(8), 'submitEvidence', [
      MessageCode.PREPARE,
      hex(a!.signed.encoded),
      hex(b!.signed.encoded),
    ])
    expect(r).toMatchObject({ ok: false, error: 'EvidenceTooOld', args: [2n, 120n] })
  })
})

describe('downtime', () => {
  it('a validator that misses its proposer slots is slashed 1 % and jailed, then may unjail', async () => {
    const w = await World.create({ validators: 4 })
    const set: string[] = await w.view('activeValidatorSet')
    const down = set[1]!
    const operatorOfDown = [0, 1, 2, 3].find((i) => hex(consensusAddress(i)) === down)!
    const op = hex(account(operatorOfDown))
    const tokens = (await w.view('validator', [op])).tokens
    // Always skip `down`: when it is due, the next validator proposes (round 1).
    let prev = w.coinbase
    for (let i = 0; i < 40 && !(await w.view('validator', [op])).jailed; i++) {
      const idx = set.indexOf(hex(prev))
      let next = set[(idx + 1) % set.length]!
      if (next === down) next = set[(idx + 2) % set.length]!
      await w.endBlock(Buffer.from(next.slice(2), 'hex'))
      prev = w.coinbase
    }
    const v = await w.view('validator', [op])
    expect(v.jailed).toBe(true)
    expect(v.tombstoned).toBe(false)
    expect(v.tokens).toBe(tokens - tokens / 100n)
    expect(await w.staking(account(operatorOfDown), 'unjail')).toMatchObject({
      ok: false,
      error: 'JailPeriodNotOver',
    })
    for (let i = 0; i < 5; i++) await w.endBlock(undefined, 20n)
    expect((await w.staking(account(operatorOfDown), 'unjail')).ok).toBe(true)
    expect((await w.view('validator', [op])).jailed).toBe(false)
  })
})
