/** The pure accounting functions: shares, accumulators, slashing, liveness, election, checkpoints. */
import { selectProposer } from '@openledger/consensus'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareBytes, hex } from '../src/core/bytes.ts'
import { type Checkpoint, packCheckpoint, unpackCheckpoint, upperLookup } from '../src/core/checkpoints.ts'
import { elect, validatorSetHash } from '../src/core/election.ts'
import type { StakingError } from '../src/core/errors.ts'
import { isDown, proposerSlots, recordSlot, type SigningInfo, slotPosition } from '../src/core/liveness.ts'
import { ACC_PRECISION } from '../src/core/math.ts'
import {
  DEFAULT_GOVERNANCE_PARAMS,
  DEFAULT_STAKING_PARAMS,
  validateGovernanceParams,
  validateStakingParams,
} from '../src/core/params.ts'
import { delegationReward, distribute, settleValidator } from '../src/core/rewards.ts'
import { sharesForDeposit, sharesForWithdrawal, tokensForShares } from '../src/core/shares.ts'
import { entryBalance, slashAmount } from '../src/core/slashing.ts'
import {
  castDelegatorVote,
  castValidatorVote,
  ProposalState,
  proposalState,
  Support,
} from '../src/core/tally.ts'

const big = (max: bigint) => fc.bigInt({ min: 1n, max })

describe('shares', () => {
  it('deposits and withdrawals never lower the tokens per share of the remaining holders', () => {
    fc.assert(
      fc.property(
        big(10n ** 30n),
        big(10n ** 30n),
        big(10n ** 30n),
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        (t, s, a, w) => {
          const pool = { tokens: t, shares: s }
          // tokens/share as a fraction: t/s; compare t'·s ≥ t·s'
          try {
            const minted = sharesForDeposit(pool, a)
            expect((t + a) * s >= t * (s + minted)).toBe(true)
          } catch (e) {
            expect((e as StakingError).error).toBe('AmountTooSmall')
          }
          const held = s
          const balance = tokensForShares(pool, held)
          const amount = w > balance ? balance : w
          if (amount === 0n) return
          const out = sharesForWithdrawal(pool, held, amount)
          expect(out.shares <= held).toBe(true)
          if (out.shares < s) {
            expect(out.tokens).toBe(amount)
            expect((t - out.tokens) * s >= t * (s - out.shares)).toBe(true)
          } else expect(out.tokens).toBe(t)
        },
      ),
    )
  })

  it('refuses to withdraw more than the holder owns and zero amounts', () => {
    const pool = { tokens: 100n, shares: 100n }
    expect(() => sharesForWithdrawal(pool, 10n, 11n)).toThrow(/InsufficientDelegation/)
    expect(() => sharesForDeposit(pool, 0n)).toThrow(/ZeroAmount/)
    expect(() => sharesForDeposit({ tokens: 0n, shares: 5n }, 1n)).toThrow(/ValidatorInsolvent/)
  })
})

describe('rewards', () => {
  it('distributes income exactly across bonded validators (no more, at most one wei less each)', () => {
    fc.assert(
      fc.property(
        fc.array(big(10n ** 24n), { minLength: 1, maxLength: 8 }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 21n }), { minLength: 1, maxLength: 6 }),
        (tokens, incomes) => {
          const bonded = tokens.reduce((a, b) => a + b, 0n)
          let g = { accPerToken: 0n, bondedTokens: bonded, carry: 0n, undistributed: 0n }
          for (const i of incomes) g = distribute(g, i)
          const total = incomes.reduce((a, b) => a + b, 0n)
          let paid = 0n
          for (const t of tokens) {
            const v = settleValidator(
              {
                tokens: t,
                shares: t,
                commissionBps: 1_000,
                accSnapshot: 0n,
                accPerShare: 0n,
                commission: 0n,
              },
              g,
              true,
            )
            paid += v.commission + delegationReward(v.accPerShare, t, 0n)
          }
          expect(paid <= total).toBe(true)
          expect(total - paid <= 3n * BigInt(tokens.length)).toBe(true)
        },
      ),
    )
  })

  it('keeps income received while nothing is bonded for the next distribution', () => {
    let g = distribute({ accPerToken: 0n, bondedTokens: 0n, carry: 0n, undistributed: 0n }, 7n)
    expect(g.undistributed).toBe(7n)
    g = distribute({ ...g, bondedTokens: 7n }, 0n)
    expect(g.accPerToken).toBe(ACC_PRECISION)
    expect(g.undistributed).toBe(0n)
  })
})

describe('slashing', () => {
  it('takes exactly the fraction (floored) and applies later events only to older offences', () => {
    expect(slashAmount(1_000n, 500)).toBe(50n)
    expect(slashAmount(1_999n, 500)).toBe(99n)
    const events = [
      { infractionHeight: 5n, fractionBps: 500 },
      { infractionHeight: 20n, fractionBps: 1_000 },
    ]
    // created at 10: the offence at 5 applies, the one at 20 does not
    expect(entryBalance(1_000n, 10n, events, 0)).toBe(950n)
    // created at 30 after both events were recorded: nothing applies from index 2 on
    expect(entryBalance(1_000n, 30n, events, 2)).toBe(1_000n)
    expect(entryBalance(1_000n, 30n, events, 0)).toBe(855n)
  })
})

describe('liveness on proposer slots', () => {
  const addrs = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const a = new Uint8Array(20)
      a[0] = 0x10 + i * 7
      return a
    }).sort(compareBytes)

  it('agrees with the QBFT proposer rule for every previous proposer and round', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.nat(20),
        fc.nat(12),
        fc.boolean(),
        (n, p, round, outsider) => {
          const set = addrs(n)
          const prev = outsider
            ? Uint8Array.from({ length: 20 }, (_, i) => (i === 0 ? p * 11 : 0))
            : set[p % n]!
          const r = round % n
          const coinbase = selectProposer(set, prev, r)
          const slots = proposerSlots(set, prev, coinbase)
          expect(slots).toBeDefined()
          expect(slots!.missed.map(hex)).toEqual(
            Array.from({ length: r }, (_, i) => hex(selectProposer(set, prev, i))),
          )
        },
      ),
    )
  })

  it('is undefined when the coinbase is not a member', () => {
    expect(proposerSlots(addrs(3), new Uint8Array(20), new Uint8Array(20).fill(0xff))).toBeUndefined()
  })

  it('counts misses over a sliding window', () => {
    let info: SigningInfo = { slots: 0n, missed: 0, generation: 0 }
    const words = new Map<number, bigint>()
    const pattern = [true, true, false, true, false, false, true, true, true, false]
    const window = 4
    pattern.forEach((m, i) => {
      const pos = slotPosition(info, window)
      const r = recordSlot(info, words.get(pos.word) ?? 0n, pos.bit, m)
      words.set(pos.word, r.word)
      info = r.info
      const last = pattern.slice(Math.max(0, i + 1 - window), i + 1)
      expect(info.missed).toBe(last.filter(Boolean).length)
    })
    expect(isDown({ slots: 4n, missed: 3, generation: 0 }, 4, 5_000)).toBe(true)
    expect(isDown({ slots: 4n, missed: 2, generation: 0 }, 4, 5_000)).toBe(false)
    expect(isDown({ slots: 3n, missed: 3, generation: 0 }, 4, 5_000)).toBe(false)
  })
})

describe('election', () => {
  const c = (n: number, tokens: bigint, jailed = false, self = tokens) => ({
    operator: Uint8Array.of(...new Uint8Array(19), n),
    consensus: Uint8Array.of(0xcc, ...new Uint8Array(18), 255 - n),
    tokens,
    selfTokens: self,
    minSelfDelegation: 1n,
    jailed,
  })
  it('takes the top stakes, skips jailed and under-self-bonded validators, sorts by consensus address', () => {
    const e = elect([c(1, 10n), c(2, 30n), c(3, 20n, true), c(4, 25n), c(5, 40n, false, 0n)], 2, 1)
    expect(e.elected.map((x) => x.operator[19])).toEqual([2, 4])
    expect(e.set.map((a) => a[19])).toEqual([255 - 4, 255 - 2])
    expect(e.installed).toBe(true)
    expect(elect([c(1, 10n)], 3, 2).installed).toBe(false)
    expect(hex(validatorSetHash(e.set))).toMatch(/^0x[0-9a-f]{64}$/)
  })
  it('breaks stake ties by operator address', () => {
    expect(elect([c(9, 5n), c(3, 5n)], 1, 1).elected[0]!.operator[19]).toBe(3)
  })
})

describe('checkpoints', () => {
  it('upperLookup equals a linear scan', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(40), { maxLength: 30 }), fc.nat(1_000), async (gaps, key) => {
        const list: Checkpoint[] = []
        let k = 0n
        gaps.forEach((g, i) => {
          k += BigInt(g + 1)
          list.push({ key: k, value: BigInt(i + 1) })
        })
        let expected = 0n
        for (const c of list) if (c.key <= BigInt(key)) expected = c.value
        const got = await upperLookup(BigInt(list.length), async (i) => list[Number(i)]!, BigInt(key))
        expect(got).toBe(expected)
      }),
    )
  })
  it('packs key and value as Solidity packs (uint48, uint208)', () => {
    const c = { key: 123_456n, value: 10n ** 40n }
    expect(unpackCheckpoint(packCheckpoint(c))).toEqual(c)
    expect(packCheckpoint({ key: 1n, value: 1n })).toBe(1n + (1n << 48n))
  })
})

describe('tally', () => {
  it('a delegator overrides its validator whichever votes first', () => {
    const zero = { against: 0n, for: 0n, abstain: 0n }
    // validator first (100 tokens, delegator holds 30 of them), delegator second
    let v = castValidatorVote(zero, Support.For, 100n, 0n).votes
    v = castDelegatorVote(v, Support.Against, [{ amount: 30n, validatorVote: Support.For }]).votes
    expect(v).toEqual({ against: 30n, for: 70n, abstain: 0n })
    // delegator first, validator second (deducted 30)
    let w = castDelegatorVote(zero, Support.Against, [{ amount: 30n, validatorVote: undefined }]).votes
    w = castValidatorVote(w, Support.For, 100n, 30n).votes
    expect(w).toEqual(v)
  })
  it('follows the OpenZeppelin state order', () => {
    const p = { snapshot: 10n, deadline: 20n, eta: 0n, executed: false, canceled: false }
    const votes = { against: 1n, for: 5n, abstain: 1n }
    const at = (block: bigint, time = 0n, eta = 0n) =>
      proposalState({ ...p, eta }, votes, 6n, { block, time }, 100n)
    expect(at(10n)).toBe(ProposalState.Pending)
    expect(at(11n)).toBe(ProposalState.Active)
    expect(at(20n)).toBe(ProposalState.Active)
    expect(at(21n)).toBe(ProposalState.Succeeded)
    expect(at(21n, 50n, 60n)).toBe(ProposalState.Queued)
    expect(at(21n, 160n, 60n)).toBe(ProposalState.Expired)
    expect(proposalState(p, votes, 7n, { block: 21n, time: 0n }, 100n)).toBe(ProposalState.Defeated)
    expect(proposalState({ ...p, canceled: true }, votes, 0n, { block: 1n, time: 0n }, 1n)).toBe(
      ProposalState.Canceled,
    )
  })
})

describe('params', () => {
  it('accepts the defaults and refuses an evidence age within the unbonding period', () => {
    validateStakingParams(DEFAULT_STAKING_PARAMS, 1n)
    validateGovernanceParams(DEFAULT_GOVERNANCE_PARAMS)
    const p = { ...DEFAULT_STAKING_PARAMS, unbondingTime: 100n, maxEvidenceAge: 50n }
    expect(() => validateStakingParams(p, 2n)).toThrow(/maxEvidenceAge/)
    validateStakingParams({ ...p, maxEvidenceAge: 51n }, 2n)
    expect(() => validateStakingParams({ ...DEFAULT_STAKING_PARAMS, minValidators: 30 }, 1n)).toThrow(
      /minValidators/,
    )
    expect(() => validateGovernanceParams({ ...DEFAULT_GOVERNANCE_PARAMS, quorumBps: 0 })).toThrow(
      /quorumBps/,
    )
  })
})
