/**
 * `openledger gov …`: proposals, votes, queue, execute over JSON-RPC (the Governance module's
 * SDK). Proposal actions are given raw (--action target,value,calldata) or built from parameter
 * changes (--staking-param / --governance-param key=value: the module's setParams with the
 * current parameters and these changes). queue/execute/cancel take the id only: the actions and
 * description come back from the proposal's ProposalCreated event (ol_getProposal).
 */

import {
  type ChainContext,
  open,
  PayableError,
  parseOpenAmount,
  requireWallet,
  table,
} from '@openledger/payable'
import { GOVERNANCE_ADDRESS, governanceAbi, STAKING_ADDRESS, stakingAbi } from '@openledger/staking'
import { cancel, castVoteWithReason, execute, propose, queue } from '@openledger/staking/sdk'
import { type Command, InvalidArgumentError } from 'commander'
import {
  type Abi,
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  isHex,
  keccak256,
  toBytes,
} from 'viem'
import { type CliOpts, chainFor, common, mine, ol, print } from './stake.ts'

interface Action {
  target: Address
  value: bigint
  calldata: Hex
}

function parseAction(value: string, previous: Action[] = []): Action[] {
  const [target, amount, calldata] = value.split(',')
  if (target === undefined || !/^0x[0-9a-fA-F]{40}$/.test(target))
    throw new InvalidArgumentError('expected target,value,calldata (target a 20-byte address)')
  if (calldata !== undefined && !isHex(calldata)) throw new InvalidArgumentError('calldata must be 0x hex')
  return [
    ...previous,
    {
      target: getAddress(target),
      value: amount ? parseOpenAmount(amount) : 0n,
      calldata: (calldata ?? '0x') as Hex,
    },
  ]
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

const SUPPORT: Record<string, number> = { against: 0, for: 1, abstain: 2 }

/** setParams calldata: the module's current parameters (at latest) with `changes` applied. */
async function paramsCall(
  ctx: ChainContext,
  method: 'ol_getStakingParams' | 'ol_getGovernanceParams',
  changes: string[],
): Promise<Hex> {
  const current = await ol<Record<string, string>>(ctx, method, [])
  const next: Record<string, bigint | number> = {}
  for (const [k, v] of Object.entries(current)) next[k] = BigInt(v)
  for (const c of changes) {
    const [key, raw] = c.split('=')
    if (key === undefined || raw === undefined || !(key in next))
      throw new PayableError(`${c}: expected key=value with key one of ${Object.keys(next).join(', ')}`)
    if (!/^\d+$/.test(raw)) throw new PayableError(`${c}: the value must be a non-negative integer`)
    next[key] = BigInt(raw)
  }
  const abi = method === 'ol_getStakingParams' ? stakingAbi : governanceAbi
  const fn = abi.find((x) => x.type === 'function' && x.name === 'setParams')!
  const tuple = (fn as unknown as { inputs: { components: { name: string; type: string }[] }[] }).inputs[0]!
    .components
  const arg = Object.fromEntries(
    tuple.map((c) => [c.name, /^uint(8|16|32)$/.test(c.type) ? Number(next[c.name]) : next[c.name]]),
  )
  return encodeFunctionData({ abi: abi as Abi, functionName: 'setParams', args: [arg] })
}

interface ProposalJson {
  id: string
  stateName: string
  description: string | null
  actions: { target: Address; value: string; calldata: Hex }[]
  [k: string]: unknown
}

async function proposal(ctx: ChainContext, id: bigint): Promise<ProposalJson> {
  const p = await ol<ProposalJson | null>(ctx, 'ol_getProposal', [`0x${id.toString(16)}`])
  if (p === null) throw new PayableError(`no proposal ${id}`)
  if (p.description === null)
    throw new PayableError(`proposal ${id}: its ProposalCreated event was not found`)
  return p
}

function key(p: ProposalJson) {
  return {
    targets: p.actions.map((a) => a.target),
    values: p.actions.map((a) => BigInt(a.value)),
    calldatas: p.actions.map((a) => a.calldata),
    descriptionHash: keccak256(toBytes(p.description as string)),
  }
}

const parseId = (v: string) => {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) throw new InvalidArgumentError('expected a proposal id')
  return BigInt(v)
}

export function registerGovernanceCommands(program: Command): void {
  const gov = program
    .command('gov')
    .description('on-chain governance: proposals, votes, timelock (Governance module)')

  common(
    gov.command('propose').description('submit a proposal (actions run as calls from the Governance module)'),
  )
    .requiredOption('--description <text>', 'what the proposal does (its id depends on it)')
    .option('--action <target,value,calldata>', 'a call to make (repeatable; value in OPEN)', parseAction, [])
    .option('--staking-param <key=value>', 'change a Staking parameter (repeatable)', collect, [])
    .option('--governance-param <key=value>', 'change a Governance parameter (repeatable)', collect, [])
    .action(
      async (
        o: CliOpts & {
          description: string
          action: Action[]
          stakingParam: string[]
          governanceParam: string[]
        },
      ) => {
        const ctx = await chainFor(o, true)
        const { wallet } = requireWallet(ctx)
        const actions = [...o.action]
        if (o.stakingParam.length > 0)
          actions.push({
            target: getAddress(STAKING_ADDRESS_HEX),
            value: 0n,
            calldata: await paramsCall(ctx, 'ol_getStakingParams', o.stakingParam),
          })
        if (o.governanceParam.length > 0)
          actions.push({
            target: getAddress(GOVERNANCE_ADDRESS_HEX),
            value: 0n,
            calldata: await paramsCall(ctx, 'ol_getGovernanceParams', o.governanceParam),
          })
        if (actions.length === 0)
          throw new PayableError('give at least one --action, --staking-param or --governance-param')
        const mined = await mine(
          ctx,
          'propose',
          propose(wallet, {
            targets: actions.map((a) => a.target),
            values: actions.map((a) => a.value),
            calldatas: actions.map((a) => a.calldata),
            description: o.description,
          }),
          governanceAbi,
        )
        const ev = mined.logs.find((l) => l.eventName === 'ProposalCreated')
        if (ev === undefined) throw new PayableError(`transaction ${mined.hash} created no proposal`)
        const id = ev.args.proposalId as bigint
        print(
          o,
          { proposalId: id, voteStart: ev.args.voteStart, voteEnd: ev.args.voteEnd, tx: mined.hash },
          () =>
            `Proposal ${id}\n  voting from block ${(ev.args.voteStart as bigint) + 1n} to ${ev.args.voteEnd} (tx ${mined.hash})`,
        )
      },
    )

  common(gov.command('vote').description('vote with your bonded stake (validator or delegator)'))
    .requiredOption('--id <proposalId>', 'proposal id', parseId)
    .requiredOption('--support <for|against|abstain>', 'your vote')
    .option('--reason <text>', 'reason (recorded in the VoteCast event)', '')
    .action(async (o: CliOpts & { id: bigint; support: string; reason: string }) => {
      const support = SUPPORT[o.support]
      if (support === undefined) throw new PayableError('--support: for, against or abstain')
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const mined = await mine(
        ctx,
        'castVote',
        castVoteWithReason(wallet, { proposalId: o.id, support, reason: o.reason }),
        governanceAbi,
      )
      const weight =
        (mined.logs.find((l) => l.eventName === 'VoteCast')?.args.weight as bigint | undefined) ?? 0n
      print(
        o,
        { proposalId: o.id, support: o.support, weight, tx: mined.hash },
        () => `Voted ${o.support} on ${o.id} with ${open(weight)} (tx ${mined.hash})`,
      )
    })

  for (const [name, what] of [
    ['queue', 'queue a succeeded proposal (starts the timelock)'],
    ['execute', 'execute a queued proposal after its timelock'],
    ['cancel', 'cancel your pending proposal'],
  ] as const) {
    common(gov.command(name).description(what))
      .requiredOption('--id <proposalId>', 'proposal id', parseId)
      .action(async (o: CliOpts & { id: bigint }) => {
        const ctx = await chainFor(o, true)
        const { wallet } = requireWallet(ctx)
        const k = key(await proposal(ctx, o.id))
        const send =
          name === 'queue' ? queue(wallet, k) : name === 'execute' ? execute(wallet, k) : cancel(wallet, k)
        const mined = await mine(ctx, name, send, governanceAbi)
        const eta = mined.logs.find((l) => l.eventName === 'ProposalQueued')?.args.etaSeconds as
          | bigint
          | undefined
        print(
          o,
          { proposalId: o.id, tx: mined.hash, ...(eta !== undefined && { eta }) },
          () =>
            `${name === 'queue' ? 'Queued' : name === 'execute' ? 'Executed' : 'Canceled'} proposal ${o.id}${eta !== undefined ? `; executable from ${new Date(Number(eta) * 1000).toISOString()}` : ''} (tx ${mined.hash})`,
        )
      })
  }

  common(gov.command('status').description('state, votes and actions of a proposal'))
    .requiredOption('--id <proposalId>', 'proposal id', parseId)
    .action(async (o: CliOpts & { id: bigint }) => {
      const ctx = await chainFor(o, false)
      const p = await proposal(ctx, o.id)
      const q = (k: string) => BigInt(p[k] as string)
      print(o, p, () =>
        [
          `Proposal ${o.id}: ${p.stateName}`,
          `  ${p.description}`,
          `  votes: for ${open(q('forVotes'))}, against ${open(q('againstVotes'))}, abstain ${open(q('abstainVotes'))}; quorum ${open(q('quorum'))}`,
          `  voting blocks ${q('voteStart') + 1n}…${q('voteEnd')}${q('eta') > 0n ? `; executable from ${new Date(Number(q('eta')) * 1000).toISOString()}` : ''}`,
          table(
            ['target', 'value', 'calldata'],
            p.actions.map((a) => [
              a.target,
              open(BigInt(a.value)),
              a.calldata.length > 74 ? `${a.calldata.slice(0, 74)}…` : a.calldata,
            ]),
          ),
        ].join('\n'),
      )
    })

  common(gov.command('list').description('proposals, oldest first')).action(async (o: CliOpts) => {
    const ctx = await chainFor(o, false)
    const r = await ol<{ total: string; items: Record<string, string>[] }>(ctx, 'ol_listProposals', [0, 100])
    print(o, r, () =>
      table(
        ['id', 'state', 'proposer', 'for', 'against'],
        r.items.map((p) => [
          shortId(p.id!),
          p.stateName!,
          p.proposer!,
          open(BigInt(p.forVotes!)),
          open(BigInt(p.againstVotes!)),
        ]),
      ),
    )
  })
}

const STAKING_ADDRESS_HEX = `0x${Buffer.from(STAKING_ADDRESS).toString('hex')}`
const GOVERNANCE_ADDRESS_HEX = `0x${Buffer.from(GOVERNANCE_ADDRESS).toString('hex')}`

function shortId(hex: string): string {
  const n = BigInt(hex).toString()
  return n.length > 16 ? `${n.slice(0, 8)}…${n.slice(-6)}` : n
}
