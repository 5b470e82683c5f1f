/** Governance through its ABI: proposals over bonded stake, overrides, quorum, timelock, execution. */
import { fromHex, GOVERNANCE_ADDRESS, keccak, STAKING_ADDRESS, toHex } from '@openledger/module-kit'
import { type Abi, decodeErrorResult, encodeFunctionData, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { governanceAbi, stakingAbi } from '../src/sol/abi.ts'
import { account, E18, World } from './helpers.ts'

const Active = 1
const Canceled = 2
const Defeated = 3
const Succeeded = 4
const Queued = 5
const Executed = 7

function actionsSetBlockReward(params: Record<string, unknown>, reward: bigint) {
  const data = encodeFunctionData({
    abi: stakingAbi as Abi,
    functionName: 'setParams',
    args: [{ ...params, blockReward: reward }],
  })
  return [[toHex(STAKING_ADDRESS)], [0n], [data]] as [Hex[], bigint[], Hex[]]
}

async function propose(w: World, from: Uint8Array, actions: [Hex[], bigint[], Hex[]], description: string) {
  const r = await w.gov(from, 'propose', [...actions, description])
  if (!r.ok) throw new Error(`propose: ${r.error}`)
  return r.result as bigint
}

const descHash = (d: string) => toHex(keccak(new TextEncoder().encode(d)))

describe('Governance module', () => {
  it('a proposal passes with quorum, waits the timelock and executes as the Governance account', async () => {
    const w = await World.create()
    await w.endBlock()
    const params = await w.view('params')
    const actions = actionsSetBlockReward(params, 7n * E18)
    const id = await propose(w, account(0), actions, 'reward 7')
    expect(await w.govView('state', [id])).toBe(0)
    expect(await w.govView('proposalSnapshot', [id])).toBe(w.height + 1n)
    await w.endBlock()
    expect(await w.gov(account(0), 'castVote', [id, 1])).toMatchObject({
      ok: false,
      error: 'GovernorUnexpectedProposalState',
    })
    await w.endBlock()
    expect(await w.govView('state', [id])).toBe(Active)
    const v0 = await w.gov(account(0), 'castVote', [id, 1])
    expect(v0.ok && v0.result).toBe(1_000n * E18)
    expect(v0.logs[0]!.eventName).toBe('VoteCast')
    expect((await w.gov(account(1), 'castVoteWithReason', [id, 1, 'more rewards'])).ok).toBe(true)
    expect(await w.gov(account(1), 'castVote', [id, 0])).toMatchObject({
      ok: false,
      error: 'GovernorAlreadyCastVote',
    })
    expect(await w.gov(account(7), 'castVote', [id, 0])).toMatchObject({
      ok: false,
      error: 'GovernorNoVotingPower',
    })
    expect(await w.gov(account(2), 'castVote', [id, 3])).toMatchObject({
      ok: false,
      error: 'GovernorInvalidVoteType',
    })
    expect(await w.govView('proposalVotes', [id])).toEqual([0n, 2_000n * E18, 0n])
    const [t, v, c] = actions
    // Not yet: voting still open.
    expect(await w.gov(account(5), 'queue', [t, v, c, descHash('reward 7')])).toMatchObject({ ok: false })
    for (let i = 0; i < 6; i++) await w.endBlock()
    expect(await w.govView('state', [id])).toBe(Succeeded)
    const q = await w.gov(account(5), 'queue', [t, v, c, descHash('reward 7')])
    expect(q.ok).toBe(true)
    expect(await w.govView('state', [id])).toBe(Queued)
    expect(await w.gov(account(5), 'execute', [t, v, c, descHash('reward 7')])).toMatchObject({
      ok: false,
      error: 'GovernorTimelockNotReady',
    })
    await w.endBlock(undefined, 60n)
    await w.endBlock()
    const e = await w.gov(account(5), 'execute', [t, v, c, descHash('reward 7')])
    expect(e.ok).toBe(true)
    expect(await w.govView('state', [id])).toBe(Executed)
    expect((await w.view('params')).blockReward).toBe(7n * E18)
    expect(await w.gov(account(5), 'execute', [t, v, c, descHash('reward 7')])).toMatchObject({ ok: false })
  })

  it('a proposal without quorum is Defeated', async () => {
    const w = await World.create()
    await w.endBlock()
    const id = await propose(w, account(0), actionsSetBlockReward(await w.view('params'), 1n), 'lonely')
    await w.endBlock()
    await w.endBlock()
    // 1,000 of 3,000 bonded = 33.3 % < 33.4 %
    expect((await w.gov(account(0), 'castVote', [id, 1])).ok).toBe(true)
    for (let i = 0; i < 6; i++) await w.endBlock()
    expect(await w.govView('state', [id])).toBe(Defeated)
    expect((await w.govView('proposal', [id])).quorum).toBe((3_000n * E18 * 3_340n) / 10_000n)
  })

  it("a delegator's vote overrides its validator's for its part, in either order", async () => {
    for (const delegatorFirst of [false, true]) {
      const w = await World.create()
      const d = account(7)
      expect((await w.staking(d, 'delegate', [toHex(account(0))], 500n * E18)).ok).toBe(true)
      await w.endBlock()
      const id = await propose(w, account(1), actionsSetBlockReward(await w.view('params'), 1n), 'override')
      await w.endBlock()
      await w.endBlock()
      // Stake moved after the snapshot does not count.
      expect((await w.staking(d, 'delegate', [toHex(account(0))], 100n * E18)).ok).toBe(true)
      const votes = [() => w.gov(account(0), 'castVote', [id, 1]), () => w.gov(d, 'castVote', [id, 0])]
      if (delegatorFirst) votes.reverse()
      for (const vote of votes) expect((await vote()).ok).toBe(true)
      expect(await w.govView('proposalVotes', [id])).toEqual([500n * E18, 1_000n * E18, 0n])
      expect(await w.govView('getVotes', [toHex(d), w.height - 2n])).toBe(500n * E18)
    }
  })

  it('spends the treasury only through executed proposals; setters refuse everyone else', async () => {
    const w = await World.create({ governance: { timelockDelay: 0 } })
    w.h.state.setBalance(GOVERNANCE_ADDRESS, 50n * E18)
    const to = account(9)
    const before = await w.balance(to)
    await w.endBlock()
    const actions: [Hex[], bigint[], Hex[]] = [[toHex(to)], [20n * E18], ['0x']]
    const id = await propose(w, account(0), actions, 'grant')
    await w.endBlock()
    await w.endBlock()
    for (const i of [0, 1, 2]) expect((await w.gov(account(i), 'castVote', [id, 1])).ok).toBe(true)
    for (let i = 0; i < 6; i++) await w.endBlock()
    expect((await w.gov(account(3), 'queue', [...actions, descHash('grant')])).ok).toBe(true)
    expect((await w.gov(account(3), 'execute', [...actions, descHash('grant')])).ok).toBe(true)
    expect(await w.balance(to)).toBe(before + 20n * E18)
    expect(await w.balance(GOVERNANCE_ADDRESS)).toBe(30n * E18)

    const gp = await w.govView('params')
    expect(await w.gov(account(0), 'setParams', [{ ...gp, minBaseFee: 1n }])).toMatchObject({
      ok: false,
      error: 'OnlyGovernance',
    })
  })

  it('a failing action reverts the whole execution with its revert data', async () => {
    const w = await World.create({ governance: { timelockDelay: 0 } })
    await w.endBlock()
    const bad = actionsSetBlockReward({ ...(await w.view('params')), maxValidators: 0 }, 1n)
    const id = await propose(w, account(0), bad, 'bad')
    await w.endBlock()
    await w.endBlock()
    for (const i of [0, 1]) await w.gov(account(i), 'castVote', [id, 1])
    for (let i = 0; i < 6; i++) await w.endBlock()
    await w.gov(account(3), 'queue', [...bad, descHash('bad')])
    const data = encodeFunctionData({
      abi: governanceAbi as Abi,
      functionName: 'execute',
      args: [...bad, descHash('bad')],
    })
    const r = await w.h.call({ from: account(3), to: GOVERNANCE_ADDRESS, data: fromHex(data) })
    expect(r.status).toBe('revert')
    // The action's own error (Staking's InvalidParams) bubbles up.
    const err = decodeErrorResult({ abi: stakingAbi as Abi, data: toHex(r.returnData) })
    expect(err.errorName).toBe('InvalidParams')
    expect(err.args?.[0]).toBe('maxValidators')
    expect(await w.govView('state', [id])).toBe(Queued)
  })

  it('the proposer may cancel while Pending; malformed proposals are refused', async () => {
    const w = await World.create({ governance: { votingDelay: 5 } })
    await w.endBlock()
    const actions = actionsSetBlockReward(await w.view('params'), 1n)
    const id = await propose(w, account(0), actions, 'c')
    expect(await w.gov(account(1), 'cancel', [...actions, descHash('c')])).toMatchObject({
      ok: false,
      error: 'GovernorOnlyProposer',
    })
    expect((await w.gov(account(0), 'cancel', [...actions, descHash('c')])).ok).toBe(true)
    expect(await w.govView('state', [id])).toBe(Canceled)
    expect(await w.gov(account(0), 'propose', [[], [], [], 'x'])).toMatchObject({
      ok: false,
      error: 'GovernorInvalidProposalLength',
    })
    expect(
      await w.gov(account(0), 'propose', [[toHex(STAKING_ADDRESS)], [0n, 1n], ['0x'], 'x']),
    ).toMatchObject({
      ok: false,
      error: 'GovernorInvalidProposalLength',
    })
    expect(await w.govView('COUNTING_MODE')).toBe('support=bravo&quorum=for,abstain')
    expect(await w.govView('hashProposal', [...actions, descHash('c')])).toBe(id)
    const g = encodeFunctionData({ abi: governanceAbi as Abi, functionName: 'state', args: [123n] })
    const r = await w.h.call({ from: account(0), to: GOVERNANCE_ADDRESS, data: fromHex(g) })
    expect(r.status).toBe('revert')
  })
})
