/**
 * OPEN conservation over random sequences of stake / delegate / undelegate / redelegate / cancel /
 * slash / reward / claim / unjail / block (epochs, maturities, liveness), against the ledger with an
 * in-memory store. After every step:
 *   Σ account balances + staked + unbonding + unclaimed rewards = genesis supply + minted − burned,
 * the Staking account holds exactly staked + unbonding + reward pool (+ this block's pending burn),
 * the per-validator and bonded totals match their parts, and the reward pool covers every
 * claimable reward with at most rounding dust left over.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hex } from '../src/core/bytes.ts'
import { StakingError } from '../src/core/errors.ts'
import { minBig } from '../src/core/math.ts'
import { DEFAULT_STAKING_PARAMS, type StakingParams } from '../src/core/params.ts'
import { BondStatus, emptyDescription } from '../src/core/records.ts'
import { delegationReward, settleValidator } from '../src/core/rewards.ts'
import { tokensForShares } from '../src/core/shares.ts'
import { EntryKind } from '../src/core/unbonding.ts'
import { endBlock } from '../src/ledger/block.ts'
import {
  cancelUnbonding,
  delegate,
  redelegate,
  undelegate,
  withdrawCommission,
  withdrawRewards,
} from '../src/ledger/delegations.ts'
import { initGenesis } from '../src/ledger/genesis.ts'
import { handleDoubleSign } from '../src/ledger/slash.ts'
import { createValidator, unjail } from '../src/ledger/validators.ts'
import { MemoryStakingStore, STAKING } from './memory-store.ts'

const E18 = 10n ** 18n
const addr = (n: number, tag = 0xaa) => {
  const a = new Uint8Array(20)
  a[0] = tag
  a[19] = n
  return a
}
const ACCOUNTS = Array.from({ length: 7 }, (_, i) => addr(i + 1))
const CONSENSUS = Array.from({ length: 7 }, (_, i) => addr(i + 1, 0xcc))
const GENESIS_BALANCE = 1_000n * E18

const params: StakingParams = {
  ...DEFAULT_STAKING_PARAMS,
  epochLength: 5n,
  maxValidators: 3,
  minValidators: 2,
  unbondingTime: 30n,
  maxEvidenceAge: 100n,
  maxEntries: 3,
  minSelfDelegation: E18,
  signedBlocksWindow: 4,
  minSignedPerWindowBps: 5_000,
  downtimeJailDuration: 10n,
  blockReward: 3n * E18,
}

const op = fc.record({
  kind: fc.constantFrom(
    'create',
    'delegate',
    'delegate',
    'undelegate',
    'undelegate',
    'redelegate',
    'cancel',
    'withdraw',
    'commission',
    'slash',
    'unjail',
    'block',
    'block',
    'block',
    'fee',
  ),
  a: fc.nat(6),
  b: fc.nat(6),
  c: fc.nat(6),
  amount: fc.bigInt({ min: 1n, max: 400n * E18 }),
  small: fc.bigInt({ min: 1n, max: 10n ** 6n }),
  tiny: fc.boolean(),
  step: fc.integer({ min: 1, max: 12 }),
})

async function setup() {
  const store = new MemoryStakingStore()
  for (const a of ACCOUNTS) store.mint(hex(a), GENESIS_BALANCE)
  const stake = 100n * E18
  for (let i = 0; i < 3; i++) store.move(hex(ACCOUNTS[i]!), STAKING, stake)
  await store.run(() =>
    initGenesis(
      store,
      params,
      [0, 1, 2].map((i) => ({
        operator: ACCOUNTS[i]!,
        consensus: CONSENSUS[i]!,
        stake,
        commissionBps: 500 * i,
        maxCommissionBps: 2_000,
        maxCommissionChangeBps: 100,
        minSelfDelegation: E18,
        description: emptyDescription(),
      })),
      0n,
    ),
  )
  return store
}

async function check(store: MemoryStakingStore, ops: number): Promise<void> {
  const s = store.s
  const t = s.totals
  let accounts = 0n
  for (const [k, b] of s.balances) if (k !== STAKING) accounts += b
  const supply = BigInt(ACCOUNTS.length) * GENESIS_BALANCE + t.minted - t.burned
  expect(accounts + t.staked + t.unbonding + t.rewardPool).toBe(supply)
  expect(store.balance(STAKING)).toBe(t.staked + t.unbonding + t.rewardPool + t.pendingBurn)

  let staked = 0n
  let bonded = 0n
  let claimable = 0n
  for (const v of s.validators.values()) {
    staked += v.tokens
    if (v.status === BondStatus.Bonded) bonded += v.tokens
    expect(v.tokens === 0n).toBe(v.shares === 0n)
    const settled = settleValidator(v, s.rewards, v.status === BondStatus.Bonded)
    claimable += settled.commission
    let shares = 0n
    let tokens = 0n
    for (const [k, d] of s.delegations) {
      if (!k.endsWith(hex(v.operator))) continue
      shares += d.shares
      tokens += tokensForShares(v, d.shares)
      claimable += delegationReward(settled.accPerShare, d.shares, d.accSnapshot)
    }
    expect(shares).toBe(v.shares)
    expect(tokens <= v.tokens).toBe(true)
  }
  expect(staked).toBe(t.staked)
  expect(bonded).toBe(s.rewards.bondedTokens)
  let unbonding = 0n
  for (const e of s.entries.values()) if (e.kind === EntryKind.Unbonding) unbonding += e.initialBalance
  expect(unbonding).toBe(t.unbonding)
  const undistributed = s.rewards.undistributed
  expect(claimable + undistributed <= t.rewardPool).toBe(true)
  // Rounding dust: at most a few wei per operation and validator.
  expect(
    t.rewardPool - claimable - undistributed <= BigInt(10 * (ops + 1) * (s.validatorList.length + 1)),
  ).toBe(true)
}

describe('staking ledger: conservation of OPEN', () => {
  it('holds across random operation sequences', async () => {
    const stats = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), async (ops) => {
        const store = await setup()
        let height = 1n
        let time = 1n
        let coinbase: Uint8Array = new Uint8Array(20)
        await check(store, 0)
        let n = 0
        for (const o of ops) {
          n++
          const env = { height, time }
          const actor = ACCOUNTS[o.a]!
          const target = ACCOUNTS[o.b % 7]!
          const amount = o.tiny ? o.small : o.amount
          const deposit = async (fn: () => Promise<unknown>) => {
            // msg.value reaches the module before it runs; a revert sends it back.
            if (store.balance(hex(actor)) < amount) return
            const before = structuredClone(store.s)
            store.move(hex(actor), STAKING, amount)
            try {
              await store.run(fn)
              stats.set(o.kind, (stats.get(o.kind) ?? 0) + 1)
            } catch (e) {
              store.s = before
              if (!(e instanceof StakingError)) throw e
            }
          }
          const attempt = async (fn: () => Promise<unknown>) => {
            try {
              await store.run(fn)
              stats.set(o.kind, (stats.get(o.kind) ?? 0) + 1)
            } catch (e) {
              if (!(e instanceof StakingError)) throw e
            }
          }
          switch (o.kind) {
            case 'create':
              await deposit(() =>
                createValidator(store, env, actor, amount, {
                  description: emptyDescription(),
                  commissionBps: 100 * o.c,
                  maxCommissionBps: 1_000,
                  maxCommissionChangeBps: 100,
                  minSelfDelegation: E18,
                  consensus: CONSENSUS[o.a]!,
                }),
              )
              break
            case 'delegate':
              await deposit(() => delegate(store, env, actor, target, amount))
              break
            case 'undelegate': {
              const held = store.s.delegatorValidators.get(hex(actor)) ?? []
              const target = held.length > 0 ? held[o.b % held.length]! : ACCOUNTS[o.b]!
              const d = store.s.delegations.get(`${hex(actor)}:${hex(target)}`)
              const v = store.s.validators.get(hex(target))
              const all = d && v ? tokensForShares(v, d.shares) : 0n
              const want = o.c === 0 ? all : o.c === 1 ? all / 2n : amount
              await attempt(() => undelegate(store, env, actor, target, want))
              break
            }
            case 'redelegate': {
              const dst = ACCOUNTS[o.c]!
              const held = store.s.delegatorValidators.get(hex(actor)) ?? []
              const src = held.length > 0 ? held[o.b % held.length]! : target
              await attempt(() => redelegate(store, env, actor, src, dst, amount / 4n + 1n))
              break
            }
            case 'cancel': {
              const mine = [...store.s.entries.values()].filter(
                (e) => e.kind === EntryKind.Unbonding && hex(e.delegator) === hex(actor),
              )
              const e = mine[o.b % Math.max(1, mine.length)]
              const part = o.c === 0 ? (e?.initialBalance ?? 0n) : (e?.initialBalance ?? 0n) / 2n + 1n
              if (e)
                await attempt(() => cancelUnbonding(store, env, actor, e.validator, part, e.creationHeight))
              break
            }
            case 'withdraw': {
              const held = store.s.delegatorValidators.get(hex(actor)) ?? []
              const v = held.length > 0 ? held[o.b % held.length]! : target
              await attempt(() => withdrawRewards(store, actor, v))
              break
            }
            case 'commission':
              await attempt(() => withdrawCommission(store, actor))
              break
            case 'slash': {
              const h = height > 1n ? height - 1n - BigInt(o.c % Number(height - 1n)) : 0n
              const ev = new Uint8Array(32)
              ev[0] = o.b
              ev[1] = Number(h % 256n)
              await attempt(() =>
                handleDoubleSign(store, env, actor, { consensus: CONSENSUS[o.b % 7]!, height: h, hash: ev }),
              )
              break
            }
            case 'unjail':
              await attempt(() => unjail(store, env, actor))
              break
            case 'fee':
            case 'block': {
              const set = store.s.activeSet
              // Usually the expected proposer; sometimes a later one (the earlier ones "missed").
              const next = set[(o.c + Number(height)) % set.length]!
              const minted = params.blockReward
              const payer = hex(ACCOUNTS[6]!)
              const fee = o.kind === 'fee' ? minBig(amount / 100n, store.balance(payer)) : 0n
              store.mint(STAKING, minted)
              store.move(payer, STAKING, fee)
              const income = minted + fee
              const r = await store.run(() =>
                endBlock(store, { height, time, coinbase: next }, income, minted),
              )
              store.destroy(STAKING, r.burn)
              if (r.slashes.length > 0) stats.set('downtime', (stats.get('downtime') ?? 0) + r.slashes.length)
              if (r.epoch?.installed) stats.set('epoch', (stats.get('epoch') ?? 0) + 1)
              if (r.matured > 0) stats.set('matured', (stats.get('matured') ?? 0) + r.matured)
              coinbase = next
              height += 1n
              time += BigInt(o.step)
              break
            }
          }
          await check(store, n)
        }
        expect(coinbase).toBeDefined()
      }),
      { numRuns: 150 },
    )
    // Every kind of operation succeeded many times (the property is not vacuous).
    for (const k of [
      'create',
      'delegate',
      'undelegate',
      'redelegate',
      'cancel',
      'withdraw',
      'commission',
      'slash',
      'downtime',
      'epoch',
      'matured',
    ])
      expect(stats.get(k) ?? 0, k).toBeGreaterThan(20)
    expect(stats.get('unjail') ?? 0).toBeGreaterThan(3)
  })
})
