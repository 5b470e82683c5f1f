/**
 * OPEN conservation over random sequences of stake / delegate / undelegate / redelegate / cancel /
 * slash / reward / claim / unjail / block (epochs, maturities, liveness). Run twice: on the ledger
 * with an in-memory record store, and on the Staking module's storage encoding (the store the module
 * uses, over an in-memory world state). After every step:
 *   Σ account balances + staked + unbonding + unclaimed rewards = genesis supply + minted − burned,
 * the Staking account holds exactly staked + unbonding + reward pool (+ this block's pending burn),
 * the per-validator and bonded totals match their parts, and the reward pool covers every claimable
 * reward with at most rounding dust left over.
 */
import { Exec, MemoryState, STAKING_ADDRESS } from '@openledger/module-kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hex } from '../src/core/bytes.ts'
import { StakingError } from '../src/core/errors.ts'
import { minBig } from '../src/core/math.ts'
import { DEFAULT_STAKING_PARAMS, type StakingParams } from '../src/core/params.ts'
import { BondStatus, emptyDescription } from '../src/core/records.ts'
import { delegationReward, settleValidator } from '../src/core/rewards.ts'
import { tokensForShares } from '../src/core/shares.ts'
import type { StakingStore } from '../src/core/store.ts'
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
import { StorageStakingStore } from '../src/staking/storage-store.ts'
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

/** A staking store plus the native balances around it, with all-or-nothing operations. */
interface World {
  /** Runs `fn` all-or-nothing; payouts are applied when it succeeds. */
  run<T>(fn: (s: StakingStore) => Promise<T>): Promise<T>
  /** A store for reading between operations. */
  read(): StakingStore
  balance(a: Uint8Array | 'staking'): Promise<bigint>
  /** Moves native OPEN (inside `run`: undone with it). */
  move(from: Uint8Array | 'staking', to: Uint8Array | 'staking', amount: bigint): Promise<void>
  mint(amount: bigint): Promise<void>
  destroy(amount: bigint): Promise<void>
}

function memoryWorld(): World {
  const m = new MemoryStakingStore()
  const key = (a: Uint8Array | 'staking') => (a === 'staking' ? STAKING : hex(a))
  return {
    run: (fn) => m.run(() => fn(m)),
    read: () => m,
    balance: async (a) => m.balance(key(a)),
    move: async (f, t, amount) => m.move(key(f), key(t), amount),
    mint: async (amount) => m.mint(STAKING, amount),
    destroy: async (amount) => m.destroy(STAKING, amount),
  }
}

function storageWorld(): World {
  const state = new MemoryState()
  const key = (a: Uint8Array | 'staking') => (a === 'staking' ? STAKING_ADDRESS : a)
  const big = 1n << 62n
  return {
    async run(fn) {
      state.checkpoint()
      try {
        const x = new Exec(state, big)
        const r = await fn(new StorageStakingStore(x, (to, amount) => x.pay(STAKING_ADDRESS, to, amount)))
        await x.commit()
        state.commit()
        return r
      } catch (e) {
        state.revert()
        throw e
      }
    },
    read() {
      const x = new Exec(state, big)
      return new StorageStakingStore(x, () => {
        throw new Error('read-only')
      })
    },
    balance: (a) => state.getBalance(key(a)),
    move: (f, t, amount) => state.transfer(key(f), key(t), amount),
    mint: (amount) => state.mint(STAKING_ADDRESS, amount),
    destroy: (amount) => state.burn(STAKING_ADDRESS, amount),
  }
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

async function initWorld(world: World, stake: bigint): Promise<void> {
  await world.mint(BigInt(ACCOUNTS.length) * GENESIS_BALANCE)
  for (const a of ACCOUNTS) await world.move('staking', a, GENESIS_BALANCE)
  for (let i = 0; i < 3; i++) await world.move(ACCOUNTS[i]!, 'staking', stake)
  await world.run((s) =>
    initGenesis(
      s,
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
}

/** Every entry id from the queue head on (matured ones are gone). */
async function liveEntries(s: StakingStore) {
  const q = await s.queue()
  const out = []
  for (let id = q.head; id < q.nextEntryId; id++) {
    const e = await s.entry(id)
    if (e !== undefined) out.push(e)
  }
  return out
}

async function check(world: World, ops: number): Promise<void> {
  const s = world.read()
  const t = await s.totals()
  let accounts = 0n
  for (const a of ACCOUNTS) accounts += await world.balance(a)
  const supply = BigInt(ACCOUNTS.length) * GENESIS_BALANCE + t.minted - t.burned
  expect(accounts + t.staked + t.unbonding + t.rewardPool).toBe(supply)
  expect(await world.balance('staking')).toBe(t.staked + t.unbonding + t.rewardPool + t.pendingBurn)

  const g = await s.rewards()
  let staked = 0n
  let bonded = 0n
  let claimable = 0n
  const n = await s.validatorCount()
  for (let i = 0; i < n; i++) {
    const v = (await s.validator(await s.validatorAt(i)))!
    staked += v.tokens
    if (v.status === BondStatus.Bonded) bonded += v.tokens
    expect(v.tokens === 0n).toBe(v.shares === 0n)
    const settled = settleValidator(v, g, v.status === BondStatus.Bonded)
    claimable += settled.commission
    let shares = 0n
    let tokens = 0n
    for (const a of ACCOUNTS) {
      const d = await s.delegation(a, v.operator)
      shares += d.shares
      tokens += tokensForShares(v, d.shares)
      claimable += delegationReward(settled.accPerShare, d.shares, d.accSnapshot)
    }
    expect(shares).toBe(v.shares)
    expect(tokens <= v.tokens).toBe(true)
  }
  expect(staked).toBe(t.staked)
  expect(bonded).toBe(g.bondedTokens)
  let unbonding = 0n
  for (const e of await liveEntries(s)) if (e.kind === EntryKind.Unbonding) unbonding += e.initialBalance
  expect(unbonding).toBe(t.unbonding)
  expect(claimable + g.undistributed <= t.rewardPool).toBe(true)
  // Rounding dust: at most a few wei per operation and validator.
  expect(t.rewardPool - claimable - g.undistributed <= BigInt(10 * (ops + 1) * (n + 1))).toBe(true)
}

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

async function scenario(world: World, ops: Op[], stats: Map<string, number>) {
  await initWorld(world, 100n * E18)
  let height = 1n
  let time = 1n
  await check(world, 0)
  let n = 0
  const ok = (k: string, by = 1) => stats.set(k, (stats.get(k) ?? 0) + by)
  for (const o of ops) {
    n++
    const env = { height, time }
    const actor = ACCOUNTS[o.a]!
    const target = ACCOUNTS[o.b % 7]!
    const amount = o.tiny ? o.small : o.amount
    const attempt = async (fn: (s: StakingStore) => Promise<unknown>, value = 0n) => {
      if (value > 0n && (await world.balance(actor)) < value) return
      try {
        await world.run(async (s) => {
          // msg.value reaches the module before it runs; a revert sends it back.
          if (value > 0n) await world.move(actor, 'staking', value)
          return fn(s)
        })
        ok(o.kind)
      } catch (e) {
        if (!(e instanceof StakingError)) throw e
      }
    }
    const r = world.read()
    const held = await r.delegatorValidators(actor)
    const pick = held.length > 0 ? held[o.b % held.length]! : target
    switch (o.kind) {
      case 'create':
        await attempt(
          (s) =>
            createValidator(s, env, actor, amount, {
              description: emptyDescription(),
              commissionBps: 100 * o.c,
              maxCommissionBps: 1_000,
              maxCommissionChangeBps: 100,
              minSelfDelegation: E18,
              consensus: CONSENSUS[o.a]!,
            }),
          amount,
        )
        break
      case 'delegate':
        await attempt((s) => delegate(s, env, actor, target, amount), amount)
        break
      case 'undelegate': {
        const d = await r.delegation(actor, pick)
        const v = await r.validator(pick)
        const all = v ? tokensForShares(v, d.shares) : 0n
        const want = o.c === 0 ? all : o.c === 1 ? all / 2n : amount
        await attempt((s) => undelegate(s, env, actor, pick, want))
        break
      }
      case 'redelegate': {
        // The destination is another existing validator (a random account is rarely one, which
        // would leave redelegation almost untested); mistakes are covered by the module tests.
        const others: Uint8Array[] = []
        const n = await r.validatorCount()
        for (let i = 0; i < n; i++) {
          const v = await r.validatorAt(i)
          if (hex(v) !== hex(pick)) others.push(v)
        }
        const dst = others.length > 0 ? others[o.c % others.length]! : ACCOUNTS[o.c]!
        await attempt((s) => redelegate(s, env, actor, pick, dst, amount / 4n + 1n))
        break
      }
      case 'cancel': {
        // Any live unbonding entry, cancelled by its own delegator: coverage does not depend on
        // the actor happening to have one.
        const entries = (await liveEntries(r)).filter((e) => e.kind === EntryKind.Unbonding)
        const e = entries[(o.a * 7 + o.b) % Math.max(1, entries.length)]
        if (e === undefined) break
        const part = o.c === 0 ? e.initialBalance : e.initialBalance / 2n + 1n
        await attempt((s) => cancelUnbonding(s, env, e.delegator, e.validator, part, e.creationHeight))
        break
      }
      case 'withdraw':
        await attempt((s) => withdrawRewards(s, actor, pick))
        break
      case 'commission':
        await attempt((s) => withdrawCommission(s, actor))
        break
      case 'slash': {
        const h = height > 1n ? height - 1n - BigInt(o.c % Number(height - 1n)) : 0n
        const ev = new Uint8Array(32)
        ev[0] = o.b
        ev[1] = Number(h % 256n)
        await attempt((s) =>
          handleDoubleSign(s, env, actor, { consensus: CONSENSUS[o.b % 7]!, height: h, hash: ev }),
        )
        break
      }
      case 'unjail': {
        // Mostly a jailed (not tombstoned) operator, so that successes do not hinge on the actor;
        // sometimes the actor (usually refused, which must change nothing).
        const jailed: Uint8Array[] = []
        const n = await r.validatorCount()
        for (let i = 0; i < n; i++) {
          const v = (await r.validator(await r.validatorAt(i)))!
          if (v.jailed && !v.tombstoned) jailed.push(v.operator)
        }
        const who = o.c < 5 && jailed.length > 0 ? jailed[o.b % jailed.length]! : actor
        await attempt((s) => unjail(s, env, who))
        break
      }
      case 'fee':
      case 'block': {
        const set = await r.activeSet()
        // Usually the expected proposer; sometimes a later one (the earlier ones "missed").
        const next = set[(o.c + Number(height)) % set.length]!
        const payer = ACCOUNTS[6]!
        const fee = o.kind === 'fee' ? minBig(amount / 100n, await world.balance(payer)) : 0n
        await world.mint(params.blockReward)
        await world.move(payer, 'staking', fee)
        const res = await world.run((s) =>
          endBlock(s, { height, time, coinbase: next }, params.blockReward + fee, params.blockReward),
        )
        await world.destroy(res.burn)
        if (res.slashes.length > 0) ok('downtime', res.slashes.length)
        if (res.epoch?.installed) ok('epoch')
        if (res.matured > 0) ok('matured', res.matured)
        height += 1n
        time += BigInt(o.step)
        break
      }
    }
    await check(world, n)
  }
}

/**
 * Fixed seed: CI runs the same sequences every time, so the coverage counts below are stable (the
 * generator makes cancel, redelegate and unjail succeed often; the lowest count at this seed is
 * well above its bound). Explore other sequences with OPENLEDGER_PROPERTY_SEED=<n>.
 */
const SEED = Number(process.env.OPENLEDGER_PROPERTY_SEED ?? 1)
if (!Number.isSafeInteger(SEED)) throw new Error('OPENLEDGER_PROPERTY_SEED must be an integer')

describe('staking ledger: conservation of OPEN', () => {
  for (const [name, make, runs] of [
    ['in-memory records', memoryWorld, 150],
    ['the Staking module storage encoding', storageWorld, 40],
  ] as const) {
    it(`holds across random operation sequences (${name})`, async () => {
      const stats = new Map<string, number>()
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) =>
          scenario(make(), ops, stats),
        ),
        { numRuns: runs, seed: SEED },
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
        expect(stats.get(k) ?? 0, k).toBeGreaterThan(runs / 8)
      expect(stats.get('unjail') ?? 0).toBeGreaterThan(0)
    }, 300_000)
  }
})
