/** The Staking module through its ABI: validators, delegations, unbonding, rewards, epochs, errors. */
import { toHex } from '@openledger/module-kit'
import { describe, expect, it } from 'vitest'
import { account, consensusAddress, E18, STAKING_ADDRESS, World } from './helpers.ts'

const desc = {
  moniker: 'new',
  identity: '',
  website: 'https://example.org',
  securityContact: '',
  details: '',
}

describe('Staking module', () => {
  it('starts from genesis with the staked validators bonded and forming the set', async () => {
    const w = await World.create()
    const set: string[] = await w.view('activeValidatorSet')
    expect(set).toEqual([0, 1, 2].map((i) => toHex(consensusAddress(i))).sort())
    const v = await w.view('validator', [toHex(account(0))])
    expect(v.status).toBe(3)
    expect(v.tokens).toBe(1_000n * E18)
    expect(v.selfDelegation).toBe(1_000n * E18)
    expect(v.description.moniker).toBe('v0')
    expect(await w.view('totalBonded')).toBe(3_000n * E18)
    expect(await w.balance(STAKING_ADDRESS)).toBe(3_000n * E18)
    expect(await w.balance(account(0))).toBe(99_000n * E18)
  })

  it('a new validator joins the set at the next epoch; its operator leaving makes it leave at the following one', async () => {
    const w = await World.create()
    const op = account(5)
    const cons = consensusAddress(5)
    const r = await w.staking(op, 'createValidator', [desc, 500, 2_000, 100, E18, toHex(cons)], 2_000n * E18)
    expect(r.ok).toBe(true)
    expect(r.logs.map((l) => l.eventName)).toEqual(['CreateValidator', 'Delegate'])
    expect((await w.view('validator', [toHex(op)])).status).toBe(1)
    expect(await w.view('activeValidatorSet')).not.toContain(toHex(cons))
    await w.toNextEpoch()
    expect(await w.view('activeValidatorSet')).toContain(toHex(cons))
    expect((await w.view('validator', [toHex(op)])).status).toBe(3)
    // The operator undelegates everything: below its minimum self-delegation → jailed → out.
    const u = await w.staking(op, 'undelegate', [toHex(op), 2_000n * E18])
    expect(u.ok).toBe(true)
    expect(u.logs.map((l) => l.eventName)).toEqual(['Unbond', 'Jail'])
    expect(await w.view('activeValidatorSet')).toContain(toHex(cons))
    await w.toNextEpoch()
    expect(await w.view('activeValidatorSet')).not.toContain(toHex(cons))
    expect((await w.view('validator', [toHex(op)])).status).toBe(2)
  })

  it('undelegation pays out at its completion time, not before', async () => {
    const w = await World.create()
    const d = account(7)
    const v = toHex(account(1))
    expect((await w.staking(d, 'delegate', [v], 50n * E18)).ok).toBe(true)
    const before = await w.balance(d)
    const u = await w.staking(d, 'undelegate', [v, 20n * E18])
    expect(u.ok && u.result).toBe(w.time + 100n)
    const entries = await w.view('unbondingDelegations', [toHex(d), v])
    expect(entries).toHaveLength(1)
    expect(entries[0].balance).toBe(20n * E18)
    // The hook of a block runs at that block's time: 1000, 1050, 1099 (not yet), 1100 (paid).
    await w.endBlock(undefined, 50n)
    await w.endBlock(undefined, 49n)
    await w.endBlock(undefined, 1n)
    expect(await w.balance(d)).toBe(before)
    await w.endBlock()
    expect(await w.balance(d)).toBe(before + 20n * E18)
    expect(await w.view('unbondingDelegations', [toHex(d), v])).toHaveLength(0)
    const [shares, balance] = await w.view('delegation', [toHex(d), v])
    expect(balance).toBe(30n * E18)
    expect(shares).toBe(30n * E18)
  })

  it('answers bad requests with typed errors and writes nothing', async () => {
    const w = await World.create()
    const d = account(7)
    const snapshot = w.h.state.snapshot()
    expect(await w.staking(d, 'delegate', [toHex(account(9))], E18)).toMatchObject({
      ok: false,
      error: 'ValidatorNotFound',
    })
    expect(await w.staking(d, 'delegate', [toHex(account(0))], 0n)).toMatchObject({
      ok: false,
      error: 'ZeroAmount',
    })
    expect(await w.staking(d, 'undelegate', [toHex(account(0)), 1n])).toMatchObject({
      ok: false,
      error: 'InsufficientDelegation',
    })
    expect(await w.staking(d, 'withdrawRewards', [toHex(account(0))])).toMatchObject({
      ok: false,
      error: 'NothingToWithdraw',
    })
    expect(await w.staking(d, 'unjail')).toMatchObject({ ok: false, error: 'ValidatorNotFound' })
    expect(await w.staking(d, 'redelegate', [toHex(account(0)), toHex(account(0)), 1n])).toMatchObject({
      ok: false,
      error: 'SelfRedelegation',
    })
    expect(
      await w.staking(account(0), 'createValidator', [desc, 0, 0, 0, E18, toHex(consensusAddress(8))], E18),
    ).toMatchObject({ ok: false, error: 'ValidatorExists' })
    expect(
      await w.staking(d, 'createValidator', [desc, 0, 0, 0, E18, toHex(consensusAddress(1))], E18),
    ).toMatchObject({ ok: false, error: 'ConsensusAddressInUse' })
    expect(
      await w.staking(d, 'createValidator', [desc, 0, 0, 0, 1n, toHex(consensusAddress(8))], E18),
    ).toMatchObject({
      ok: false,
      error: 'MinSelfDelegationBelowFloor',
    })
    expect(await w.staking(d, 'activeValidatorSet', [], 1n)).toMatchObject({ ok: false, error: 'NonPayable' })
    const p = await w.view('params')
    expect(await w.staking(d, 'setParams', [p])).toMatchObject({
      ok: false,
      error: 'OnlyGovernance',
      args: [toHex(d)],
    })
    expect(w.h.state.snapshot()).toEqual(snapshot)
  })

  it('refuses writes under STATICCALL and DELEGATECALL', async () => {
    const w = await World.create()
    const { encodeFunctionData } = await import('viem')
    const { stakingAbi } = await import('../src/sol/abi.ts')
    const data = Buffer.from(
      encodeFunctionData({ abi: stakingAbi, functionName: 'delegate', args: [toHex(account(0))] }).slice(2),
      'hex',
    )
    for (const flag of [{ isStatic: true }, { isDelegateCall: true }]) {
      const r = await w.h.call({ from: account(7), to: STAKING_ADDRESS, data, ...flag })
      expect(r.status).toBe('revert')
      expect(r.moduleWrites).toBe(0)
    }
  })

  it('distributes the block reward by stake, less commission, and pays it on withdrawal', async () => {
    const w = await World.create({ staking: { blockReward: String(30n * E18) } })
    const d = account(7)
    const v = toHex(account(0))
    expect((await w.staking(d, 'delegate', [v], 1_000n * E18)).ok).toBe(true)
    // 4,000 bonded: validator 0 holds 2,000 (half of it d's). 30 OPEN per block.
    await w.endBlock()
    await w.endBlock()
    const pending = await w.view('pendingRewards', [toHex(d), v])
    // 60 OPEN × 2,000/4,000 × 90 % (10 % commission) × 1/2 = 13.5 OPEN (to the wei, rounding down)
    expect(pending).toBeGreaterThan(13_499_999_999_999_999_990n)
    expect(pending).toBeLessThanOrEqual(13_500_000_000_000_000_000n)
    const before = await w.balance(d)
    const r = await w.staking(d, 'withdrawRewards', [v])
    expect(r.ok && r.result).toBe(pending)
    expect(await w.balance(d)).toBe(before + pending)
    const c = await w.staking(account(0), 'withdrawCommission')
    expect(c.ok && (c.result as bigint) > 2_999_999_999_999_999_990n).toBe(true)
    const s = await w.view('supply')
    expect(s.minted).toBe(60n * E18)
  })

  it('sweeps the stakers part of inference fees credited by Attribution into the reward accumulator', async () => {
    const { ATTRIBUTION_ADDRESS } = await import('./helpers.ts')
    const { accruedSlot } = await import('@openledger/attribution')
    const { u256 } = await import('@openledger/module-kit')
    const w = await World.create()
    // What Attribution.settle leaves behind: the fee in its balance, the stakers' part credited.
    w.h.state.setBalance(ATTRIBUTION_ADDRESS, 9n * E18)
    await w.h.state.putStorage(ATTRIBUTION_ADDRESS, accruedSlot(STAKING_ADDRESS), u256(9n * E18))
    await w.endBlock()
    expect(await w.balance(ATTRIBUTION_ADDRESS)).toBe(0n)
    expect(await w.h.state.getStorage(ATTRIBUTION_ADDRESS, accruedSlot(STAKING_ADDRESS))).toEqual(
      new Uint8Array(32),
    )
    // Each validator (equal stake) gets 3 OPEN: 0.3 commission, 2.7 to its sole delegator (itself).
    const p = await w.view('pendingRewards', [toHex(account(2)), toHex(account(2))])
    expect(p).toBeGreaterThan(2_699_999_999_999_999_990n)
    expect((await w.view('supply')).rewardPool).toBe(9n * E18)
  })
})
