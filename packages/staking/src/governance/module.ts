/**
 * The Governance module (0x4f50454e…05): OpenZeppelin Governor vocabulary over bonded stake, with
 * the timelock built in and this account as the treasury. Voting power comes from the Staking
 * module's checkpoints at the proposal's snapshot block (ledger/power.ts); the tally rules are in
 * core/tally.ts; storage in storage.ts. Executed actions are calls from this address
 * (ModuleCallContext.call), so only an executed proposal can pass the `OnlyGovernance` checks of the
 * module and chain parameter setters.
 * Long file: one handler per Governor function over one proposal state machine and its storage.
 */
import {
  type AbiTools,
  abiTools,
  type CallEnv,
  type DefinedModule,
  defineModule,
  fromHex,
  GAS,
  GOVERNANCE_ADDRESS,
  keccak,
  keccakGas,
  ModuleRevert,
  toBigInt,
  toHex,
  u256,
  ZERO32,
} from '@openledger/module-kit'
import { encodeAbiParameters } from 'viem/utils'
import { equalBytes } from '../core/bytes.ts'
import { StakingError } from '../core/errors.ts'
import { GOVERNANCE_LIMITS, type GovernanceParams, validateGovernanceParams } from '../core/params.ts'
import {
  castDelegatorVote,
  castValidatorVote,
  type DelegatedPower,
  ProposalState,
  quorumOf,
  type Support,
} from '../core/tally.ts'
import { delegationPowerAt, totalBondedAt, validatorPowerAt, votingPowerAt } from '../ledger/power.ts'
import { governanceAbi } from '../sol/abi.ts'
import { type Now, proposalStateAt, proposalView, stakingThrough } from './read.ts'
import {
  deductedSlot,
  type ProposalRecord,
  proposalCount,
  proposalIdAt,
  pushProposalId,
  readGovernanceParams,
  readProposal,
  readU,
  receiptSlot,
  validatorVoteSlot,
  writeGovernanceParams,
  writeProposal,
} from './storage.ts'

const t: AbiTools = abiTools(governanceAbi)
const G = GOVERNANCE_ADDRESS

export const GOVERNOR_NAME = 'OpenLedger Governance'
export const CLOCK_MODE = 'mode=blocknumber&from=default'
export const COUNTING_MODE = 'support=bravo&quorum=for,abstain'
/** Gas of making one action's call, besides what the call itself uses (CALL's cold access). */
const CALL_BASE = 2_600n

type Hex = `0x${string}`
type Actions = [Hex[], bigint[], Hex[]]

export function hashProposal(
  targets: readonly Hex[],
  values: readonly bigint[],
  calldatas: readonly Hex[],
  descriptionHash: Hex,
): bigint {
  const enc = encodeAbiParameters(
    [{ type: 'address[]' }, { type: 'uint256[]' }, { type: 'bytes[]' }, { type: 'bytes32' }],
    [targets, values, calldatas, descriptionHash],
  )
  return toBigInt(keccak(fromHex(enc)))
}

function stakingReader(env: CallEnv) {
  return stakingThrough(env.x)
}

/** OpenZeppelin's `expectedStates` bitmap. */
function states(...s: ProposalState[]): Hex {
  let bits = 0n
  for (const x of s) bits |= 1n << BigInt(x)
  return toHex(u256(bits))
}

function now(env: CallEnv): Now {
  return { block: env.ctx.block.number, time: env.ctx.block.timestamp }
}

function stateOf(env: CallEnv, p: ProposalRecord): Promise<ProposalState> {
  return proposalStateAt(env.x, p, now(env))
}

async function mustProposal(env: CallEnv, id: bigint): Promise<ProposalRecord> {
  return (await readProposal(env.x, id)) ?? t.fail('GovernorNonexistentProposal', id)
}

function checkActions([targets, values, calldatas]: Actions): void {
  if (targets.length !== values.length || targets.length !== calldatas.length || targets.length === 0)
    t.fail(
      'GovernorInvalidProposalLength',
      BigInt(targets.length),
      BigInt(calldatas.length),
      BigInt(values.length),
    )
  if (targets.length > GOVERNANCE_LIMITS.maxActions)
    t.fail(
      'GovernorProposalTooLarge',
      'actions',
      BigInt(targets.length),
      BigInt(GOVERNANCE_LIMITS.maxActions),
    )
  for (const c of calldatas) {
    const size = (c.length - 2) / 2
    if (size > GOVERNANCE_LIMITS.maxCalldata)
      t.fail('GovernorProposalTooLarge', 'calldata', BigInt(size), BigInt(GOVERNANCE_LIMITS.maxCalldata))
  }
}

function actionBytes(a: Actions): number {
  return a[2].reduce((s, c) => s + (c.length - 2) / 2 + 96, 0) + 64 * a[0].length
}

async function vote(env: CallEnv, id: bigint, support: number, reason: string): Promise<bigint> {
  const { x } = env
  if (support > 2) t.fail('GovernorInvalidVoteType')
  const p = await mustProposal(env, id)
  const st = await stateOf(env, p)
  if (st !== ProposalState.Active)
    t.fail('GovernorUnexpectedProposalState', id, st, states(ProposalState.Active))
  const voter = env.caller
  if ((await readU(x, receiptSlot(id, voter))) !== 0n) t.fail('GovernorAlreadyCastVote', toHex(voter))
  const store = stakingReader(env)
  let votes = p.votes
  let weight = 0n
  // As a validator operator: its validator's tokens less what its delegators voted with.
  const own = await validatorPowerAt(store, voter, p.voteStart)
  if (own > 0n) {
    const r = castValidatorVote(votes, support as Support, own, await readU(x, deductedSlot(id, voter)))
    votes = r.votes
    weight += r.weight
    x.write(G, validatorVoteSlot(id, voter), u256(BigInt(support) + 1n))
  }
  // As a delegator: each delegation's tokens, overriding its validator's vote for that part.
  const parts: DelegatedPower[] = []
  for (const v of await store.delegatorValidators(voter)) {
    if (equalBytes(v, voter)) continue
    const amount = await delegationPowerAt(store, voter, v, p.voteStart)
    if (amount === 0n) continue
    const vv = await readU(x, validatorVoteSlot(id, v))
    parts.push({ amount, validatorVote: vv === 0n ? undefined : (Number(vv - 1n) as Support) })
    const d = deductedSlot(id, v)
    x.write(G, d, u256((await readU(x, d)) + amount))
  }
  const r = castDelegatorVote(votes, support as Support, parts)
  votes = r.votes
  weight += r.weight
  if (weight === 0n) t.fail('GovernorNoVotingPower', toHex(voter))
  x.write(G, receiptSlot(id, voter), u256(BigInt(support) + 1n))
  writeProposal(x, { ...p, votes })
  x.emit(t.log('VoteCast', { voter: toHex(voter), proposalId: id, support, weight, reason }))
  return weight
}

export function createGovernanceModule(): DefinedModule {
  return defineModule({
    name: 'Governance',
    address: GOVERNANCE_ADDRESS,
    abi: governanceAbi,
    handlers: {
      propose: {
        mutating: true,
        intrinsic(args) {
          const [targets, values, calldatas, description] = args as [...Actions, string]
          return (
            keccakGas(actionBytes([targets, values, calldatas])) + keccakGas(Buffer.byteLength(description))
          )
        },
        async run(env, args) {
          const [targets, values, calldatas, description] = args as [...Actions, string]
          checkActions([targets, values, calldatas])
          const descBytes = Buffer.byteLength(description, 'utf8')
          if (descBytes > GOVERNANCE_LIMITS.maxDescription)
            t.fail(
              'GovernorProposalTooLarge',
              'description',
              BigInt(descBytes),
              BigInt(GOVERNANCE_LIMITS.maxDescription),
            )
          const { x, ctx } = env
          const params = await readGovernanceParams(x)
          const block = ctx.block.number
          const power =
            block === 0n ? 0n : (await votingPowerAt(stakingReader(env), env.caller, block - 1n)).total
          if (power < params.proposalThreshold)
            t.fail('GovernorInsufficientProposerVotes', toHex(env.caller), power, params.proposalThreshold)
          const descriptionHash = keccak(new TextEncoder().encode(description))
          const id = hashProposal(targets, values, calldatas, toHex(descriptionHash))
          const existing = await readProposal(x, id)
          if (existing !== undefined)
            t.fail('GovernorUnexpectedProposalState', id, await stateOf(env, existing), ZERO32_HEX)
          const voteStart = block + params.votingDelay
          const voteEnd = voteStart + params.votingPeriod
          writeProposal(x, {
            id,
            proposer: env.caller,
            executed: false,
            canceled: false,
            actions: targets.length,
            quorumBps: params.quorumBps,
            voteStart,
            voteEnd,
            eta: 0n,
            createdAt: block,
            votes: { against: 0n, for: 0n, abstain: 0n },
            descriptionHash,
          })
          await pushProposalId(x, id)
          x.emit(
            t.log('ProposalCreated', {
              proposalId: id,
              proposer: toHex(env.caller),
              targets,
              values,
              signatures: targets.map(() => ''),
              calldatas,
              voteStart,
              voteEnd,
              description,
            }),
          )
          return id
        },
      },
      castVote: {
        mutating: true,
        async run(env, args) {
          const [id, support] = args as [bigint, number]
          return vote(env, id, support, '')
        },
      },
      castVoteWithReason: {
        mutating: true,
        intrinsic(args) {
          return 8n * BigInt(Buffer.byteLength(args[2] as string))
        },
        async run(env, args) {
          const [id, support, reason] = args as [bigint, number, string]
          if (Buffer.byteLength(reason) > GOVERNANCE_LIMITS.maxReason)
            t.fail(
              'GovernorProposalTooLarge',
              'reason',
              BigInt(Buffer.byteLength(reason)),
              BigInt(GOVERNANCE_LIMITS.maxReason),
            )
          return vote(env, id, support, reason)
        },
      },
      queue: {
        mutating: true,
        intrinsic(args) {
          return keccakGas(actionBytes(args.slice(0, 3) as Actions))
        },
        async run(env, args) {
          const [targets, values, calldatas, descriptionHash] = args as [...Actions, Hex]
          const id = hashProposal(targets, values, calldatas, descriptionHash)
          const p = await mustProposal(env, id)
          const st = await stateOf(env, p)
          if (st !== ProposalState.Succeeded)
            t.fail('GovernorUnexpectedProposalState', id, st, states(ProposalState.Succeeded))
          const params = await readGovernanceParams(env.x)
          const eta = env.ctx.block.timestamp + params.timelockDelay
          writeProposal(env.x, { ...p, eta: eta === 0n ? 1n : eta })
          env.x.emit(t.log('ProposalQueued', { proposalId: id, etaSeconds: eta }))
          return id
        },
      },
      execute: {
        mutating: true,
        payable: true,
        intrinsic(args) {
          return keccakGas(actionBytes(args.slice(0, 3) as Actions))
        },
        async run(env, args) {
          const [targets, values, calldatas, descriptionHash] = args as [...Actions, Hex]
          const { x, ctx } = env
          const id = hashProposal(targets, values, calldatas, descriptionHash)
          const p = await mustProposal(env, id)
          const st = await stateOf(env, p)
          if (st !== ProposalState.Queued)
            t.fail('GovernorUnexpectedProposalState', id, st, states(ProposalState.Queued))
          if (ctx.block.timestamp < p.eta) t.fail('GovernorTimelockNotReady', id, p.eta)
          if (ctx.call === undefined) throw new Error('the host cannot make calls for the Governance module')
          // Effects before interactions: an action re-entering execute finds the proposal executed.
          writeProposal(x, { ...p, executed: true })
          await x.flush()
          for (let i = 0; i < targets.length; i++) {
            const value = values[i] as bigint
            x.charge(CALL_BASE + (value > 0n ? GAS.VALUE_TRANSFER : 0n))
            const left = x.gasLimit - x.gasUsed
            const r = await ctx.call(
              fromHex(targets[i] as string),
              value,
              fromHex(calldatas[i] as string),
              left - left / 64n,
            )
            x.charge(r.gasUsed)
            if (!r.success) {
              if (r.returnData.length > 0) throw new ModuleRevert(r.returnData, 'action reverted')
              t.fail('GovernorCallFailed', BigInt(i))
            }
          }
          x.emit(t.log('ProposalExecuted', { proposalId: id }))
          return id
        },
      },
      cancel: {
        mutating: true,
        intrinsic(args) {
          return keccakGas(actionBytes(args.slice(0, 3) as Actions))
        },
        async run(env, args) {
          const [targets, values, calldatas, descriptionHash] = args as [...Actions, Hex]
          const id = hashProposal(targets, values, calldatas, descriptionHash)
          const p = await mustProposal(env, id)
          if (!equalBytes(p.proposer, env.caller)) t.fail('GovernorOnlyProposer', toHex(env.caller))
          const st = await stateOf(env, p)
          if (st !== ProposalState.Pending)
            t.fail('GovernorUnexpectedProposalState', id, st, states(ProposalState.Pending))
          writeProposal(env.x, { ...p, canceled: true })
          env.x.emit(t.log('ProposalCanceled', { proposalId: id }))
          return id
        },
      },
      setParams: {
        mutating: true,
        async run(env, args) {
          if (!equalBytes(env.caller, G)) t.fail('OnlyGovernance', toHex(env.caller))
          const p = args[0] as GovernanceParams
          try {
            validateGovernanceParams(p)
          } catch (e) {
            if (e instanceof StakingError) t.fail(e.error, ...e.args)
            throw e
          }
          writeGovernanceParams(env.x, p)
          env.x.emit(t.log('ParamsUpdated', {}))
          return true
        },
      },

      // ---- views ----
      hashProposal: {
        mutating: false,
        intrinsic(args) {
          return keccakGas(actionBytes(args.slice(0, 3) as Actions))
        },
        async run(_env, args) {
          const [targets, values, calldatas, descriptionHash] = args as [...Actions, Hex]
          return hashProposal(targets, values, calldatas, descriptionHash)
        },
      },
      state: {
        mutating: false,
        async run(env, args) {
          return stateOf(env, await mustProposal(env, args[0] as bigint))
        },
      },
      proposalSnapshot: {
        mutating: false,
        async run(env, args) {
          return (await readProposal(env.x, args[0] as bigint))?.voteStart ?? 0n
        },
      },
      proposalDeadline: {
        mutating: false,
        async run(env, args) {
          return (await readProposal(env.x, args[0] as bigint))?.voteEnd ?? 0n
        },
      },
      proposalEta: {
        mutating: false,
        async run(env, args) {
          return (await readProposal(env.x, args[0] as bigint))?.eta ?? 0n
        },
      },
      proposalProposer: {
        mutating: false,
        async run(env, args) {
          return toHex((await readProposal(env.x, args[0] as bigint))?.proposer ?? new Uint8Array(20))
        },
      },
      proposalVotes: {
        mutating: false,
        async run(env, args) {
          const p = await mustProposal(env, args[0] as bigint)
          return [p.votes.against, p.votes.for, p.votes.abstain]
        },
      },
      proposal: {
        mutating: false,
        async run(env, args) {
          const v = await proposalView(env.x, args[0] as bigint, now(env))
          return v ?? t.fail('GovernorNonexistentProposal', args[0])
        },
      },
      proposals: {
        mutating: false,
        async run(env, args) {
          const [offset, limit] = args as [bigint, bigint]
          const total = await proposalCount(env.x)
          const max = limit === 0n || limit > 100n ? 100n : limit
          const ids: bigint[] = []
          for (let i = offset; i < total && BigInt(ids.length) < max; i++)
            ids.push(await proposalIdAt(env.x, i))
          return [ids, total]
        },
      },
      hasVoted: {
        mutating: false,
        async run(env, args) {
          return (await readU(env.x, receiptSlot(args[0] as bigint, fromHex(args[1] as string)))) !== 0n
        },
      },
      votingDelay: {
        mutating: false,
        async run(env) {
          return (await readGovernanceParams(env.x)).votingDelay
        },
      },
      votingPeriod: {
        mutating: false,
        async run(env) {
          return (await readGovernanceParams(env.x)).votingPeriod
        },
      },
      proposalThreshold: {
        mutating: false,
        async run(env) {
          return (await readGovernanceParams(env.x)).proposalThreshold
        },
      },
      quorum: {
        mutating: false,
        async run(env, args) {
          const params = await readGovernanceParams(env.x)
          return quorumOf(await totalBondedAt(stakingReader(env), args[0] as bigint), params.quorumBps)
        },
      },
      getVotes: {
        mutating: false,
        async run(env, args) {
          return (await votingPowerAt(stakingReader(env), fromHex(args[0] as string), args[1] as bigint))
            .total
        },
      },
      params: {
        mutating: false,
        async run(env) {
          return readGovernanceParams(env.x)
        },
      },
      minBaseFee: {
        mutating: false,
        async run(env) {
          return (await readGovernanceParams(env.x)).minBaseFee
        },
      },
      name: { mutating: false, run: async () => GOVERNOR_NAME },
      version: { mutating: false, run: async () => '1' },
      clock: { mutating: false, run: async (env) => env.ctx.block.number },
      CLOCK_MODE: { mutating: false, run: async () => CLOCK_MODE },
      COUNTING_MODE: { mutating: false, run: async () => COUNTING_MODE },
    },
  })
}

const ZERO32_HEX = toHex(ZERO32)
