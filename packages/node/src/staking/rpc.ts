/**
 * `ol_*` JSON-RPC methods of the Staking and Governance modules: validators, the epoch's validator
 * set, delegations with pending rewards and unbonding entries, supply, proposals with their
 * actions, voting power — decoded from the modules' storage at any block (the selected block's
 * state root; "latest" is the head's working root). Same conventions as the attribution ol_*
 * methods: 0x quantities, lowercase hex, null for unknown ids, -32602 for malformed params.
 */
import type { Block } from '@ethereumjs/block'
import type { ExecutionRuntime } from '@openledger/evm-runtime'
import {
  type BlockRef,
  expectParams,
  invalidParams,
  type Json,
  parseAddress,
  parseBlockRef,
  parseIndex,
  parseQuantity,
  quantity,
  type RpcBackend,
  type RpcMethods,
  resourceNotFound,
} from '@openledger/rpc'
import {
  BondStatus,
  EntryKind,
  GOVERNANCE_ADDRESS,
  governanceAbi,
  listValidators,
  type Now,
  proposalCount,
  proposalIdAt,
  proposalView,
  readDelegation,
  readEpoch,
  readGovernanceParams,
  readOnlyStakingStore,
  readPendingRewards,
  readRedelegations,
  readSigningInfo,
  readSupply,
  readUnbonding,
  readValidator,
  STAKING_ADDRESS,
  type StakingStore,
  type StorageReader,
  votingPowerAt,
} from '@openledger/staking'
import type { Hex } from 'viem'
import { decodeEventLog, toEventSelector } from 'viem/utils'
import type { Chain } from '../chain/chain.ts'
import { bytesEqual, hex } from '../util/bytes.ts'

export interface StakingRpcDeps {
  chain: Chain
  runtime: ExecutionRuntime
  backend: RpcBackend
}

const STATUS: Record<string, BondStatus> = {
  all: BondStatus.Unspecified,
  unbonded: BondStatus.Unbonded,
  unbonding: BondStatus.Unbonding,
  bonded: BondStatus.Bonded,
}
const STATUS_NAMES = ['unspecified', 'unbonded', 'unbonding', 'bonded'] as const
const PROPOSAL_CREATED = toEventSelector(
  governanceAbi.find((x) => x.type === 'event' && x.name === 'ProposalCreated')!,
)

function toJson(v: unknown): Json {
  if (typeof v === 'bigint' || typeof v === 'number') return quantity(v)
  if (v === null || v === undefined) return null
  if (Array.isArray(v)) return v.map(toJson)
  if (v instanceof Uint8Array) return hex(v)
  if (typeof v === 'string') return /^0x[0-9a-fA-F]{40}$/.test(v) ? v.toLowerCase() : v
  if (typeof v === 'object') {
    const out: Record<string, Json> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJson(x)
    return out
  }
  return v as Json
}

export function stakingRpcMethods(deps: StakingRpcDeps): RpcMethods {
  const { chain, runtime, backend } = deps

  async function at(
    ref: BlockRef,
  ): Promise<{ block: Block; store: StakingStore; reader: StorageReader; now: Now }> {
    const block = await backend.getBlock(ref)
    if (block === undefined) throw resourceNotFound('header not found')
    const head = chain.head
    const root =
      block.header.number === head.header.number && bytesEqual(block.hash(), head.hash())
        ? chain.workingStateRoot
        : block.header.stateRoot
    const get = (a: Uint8Array, s: Uint8Array) => runtime.getStorage(root, a, s)
    return {
      block,
      store: readOnlyStakingStore(get),
      reader: { read: get },
      now: { block: block.header.number, time: block.header.timestamp },
    }
  }

  /** An operator address, or a consensus address resolved to its operator. */
  async function operator(store: StakingStore, a: Uint8Array): Promise<Uint8Array | undefined> {
    if ((await store.validator(a)) !== undefined) return a
    return store.operatorOf(a)
  }

  async function validatorJson(store: StakingStore, op: Uint8Array, now: Now): Promise<Json> {
    const v = await readValidator(store, op, now.time)
    if (v === undefined) return null
    return toJson({ ...v, statusName: STATUS_NAMES[v.status], signingInfo: await readSigningInfo(store, op) })
  }

  async function actionsOf(createdAt: bigint, id: bigint) {
    const logs = await backend.getLogs({
      fromBlock: createdAt,
      toBlock: createdAt,
      addresses: [GOVERNANCE_ADDRESS],
      topics: [[Buffer.from(PROPOSAL_CREATED.slice(2), 'hex')]],
      limit: 1_000,
    })
    for (const l of logs) {
      const e = decodeEventLog({
        abi: governanceAbi,
        topics: l.topics.map(hex) as [Hex],
        data: hex(l.data) as Hex,
      })
      if (e.eventName !== 'ProposalCreated' || e.args === undefined || e.args.proposalId !== id) continue
      const a = e.args
      return {
        transactionHash: hex(l.transactionHash),
        description: a.description,
        actions: a.targets.map((target, i) => ({
          target: target.toLowerCase(),
          value: a.values[i],
          calldata: a.calldatas[i],
        })),
      }
    }
    return { transactionHash: null, description: null, actions: [] }
  }

  return {
    ol_getValidator: async (raw) => {
      const [a, b] = expectParams(raw, 1, 2)
      const address = parseAddress(a, 'address')
      const { store, now } = await at(parseBlockRef(b, 'block'))
      const op = await operator(store, address)
      return op === undefined ? null : validatorJson(store, op, now)
    },

    ol_listValidators: async (raw) => {
      const [s, o, l, b] = expectParams(raw, 0, 4)
      const status = s === undefined ? BondStatus.Unspecified : STATUS[String(s)]
      if (status === undefined)
        throw invalidParams('invalid argument status: expected all, bonded, unbonding or unbonded')
      const offset = o === undefined ? 0 : parseIndex(o, 'offset')
      const limit = l === undefined ? 20 : parseIndex(l, 'limit', 100)
      const { store, now } = await at(parseBlockRef(b, 'block'))
      const r = await listValidators(store, status, BigInt(offset), BigInt(limit), now.time)
      return toJson({
        total: r.total,
        offset,
        items: r.page.map((v) => ({ ...v, statusName: STATUS_NAMES[v.status] })),
      })
    },

    ol_getValidatorSet: async (raw) => {
      const [b] = expectParams(raw, 0, 1)
      const { block, store } = await at(parseBlockRef(b, 'block'))
      const set = await store.activeSet()
      const members = []
      for (const c of set) {
        const op = await store.operatorOf(c)
        const v = op === undefined ? undefined : await store.validator(op)
        members.push({
          consensusAddress: c,
          operator: op ?? null,
          tokens: v?.tokens ?? 0n,
          jailed: v?.jailed ?? false,
        })
      }
      return toJson({
        // The set that validates the block after `block`.
        forBlock: block.header.number + 1n,
        epoch: await readEpoch(store),
        validators: members,
        totalBonded: (await store.rewards()).bondedTokens,
      })
    },

    ol_getDelegation: async (raw) => {
      const [d, v, b] = expectParams(raw, 2, 3)
      const delegator = parseAddress(d, 'delegator')
      const validator = parseAddress(v, 'validator')
      const { store } = await at(parseBlockRef(b, 'block'))
      if ((await store.validator(validator)) === undefined) return null
      return toJson({
        delegator,
        validator,
        ...(await readDelegation(store, delegator, validator)),
        pendingRewards: await readPendingRewards(store, delegator, validator),
        unbonding: await readUnbonding(store, delegator, validator),
      })
    },

    ol_getDelegations: async (raw) => {
      const [d, b] = expectParams(raw, 1, 2)
      const delegator = parseAddress(d, 'delegator')
      const { store } = await at(parseBlockRef(b, 'block'))
      // Validators it delegates to, then those it has fully left but still has unbonding entries
      // with (the delegation record is gone; the entries stay until they mature). O(validators).
      const validators = await store.delegatorValidators(delegator)
      const held = new Set(validators.map((v) => hex(v)))
      const n = await store.validatorCount()
      for (let i = 0; i < n; i++) {
        const v = await store.validatorAt(i)
        if (held.has(hex(v))) continue
        if ((await store.entryIds(EntryKind.Unbonding, delegator, v)).length > 0) validators.push(v)
      }
      const items = []
      for (const validator of validators) {
        items.push({
          validator,
          ...(await readDelegation(store, delegator, validator)),
          pendingRewards: await readPendingRewards(store, delegator, validator),
          unbonding: await readUnbonding(store, delegator, validator),
        })
      }
      return toJson({ delegator, delegations: items })
    },

    ol_getRedelegations: async (raw) => {
      const [d, s, t, b] = expectParams(raw, 3, 4)
      const { store } = await at(parseBlockRef(b, 'block'))
      return toJson(
        await readRedelegations(
          store,
          parseAddress(d, 'delegator'),
          parseAddress(s, 'src'),
          parseAddress(t, 'dst'),
        ),
      )
    },

    ol_getStakingParams: async (raw) => {
      const [b] = expectParams(raw, 0, 1)
      const { store } = await at(parseBlockRef(b, 'block'))
      return toJson(await store.params())
    },

    ol_getStakingSupply: async (raw) => {
      const [b] = expectParams(raw, 0, 1)
      const { store } = await at(parseBlockRef(b, 'block'))
      const stakingBalance = await backend.getBalance(STAKING_ADDRESS, parseBlockRef(b, 'block'))
      return toJson({
        ...(await readSupply(store)),
        totalBonded: (await store.rewards()).bondedTokens,
        stakingBalance,
      })
    },

    ol_getVotingPower: async (raw) => {
      const [a, n, b] = expectParams(raw, 1, 3)
      const account = parseAddress(a, 'address')
      const { store, now } = await at(parseBlockRef(b, 'block'))
      const atBlock = n === undefined ? now.block : parseQuantity(n, 'timepoint', 64)
      const p = await votingPowerAt(store, account, atBlock)
      return toJson({ account, block: atBlock, ...p })
    },

    ol_getProposal: async (raw) => {
      const [i, b] = expectParams(raw, 1, 2)
      const id = parseQuantity(i, 'proposalId')
      const { reader, now } = await at(parseBlockRef(b, 'block'))
      const v = await proposalView(reader, id, now)
      if (v === undefined) return null
      return toJson({ ...v, ...(await actionsOf(v.createdAt, id)) })
    },

    ol_listProposals: async (raw) => {
      const [o, l, b] = expectParams(raw, 0, 3)
      const offset = o === undefined ? 0 : parseIndex(o, 'offset')
      const limit = l === undefined ? 20 : parseIndex(l, 'limit', 100)
      const { reader, now } = await at(parseBlockRef(b, 'block'))
      const total = await proposalCount(reader)
      const items = []
      for (let k = BigInt(offset); k < total && items.length < limit; k++)
        items.push(await proposalView(reader, await proposalIdAt(reader, k), now))
      return toJson({ total, offset, items })
    },

    ol_getGovernanceParams: async (raw) => {
      const [b] = expectParams(raw, 0, 1)
      const { reader } = await at(parseBlockRef(b, 'block'))
      return toJson(await readGovernanceParams(reader))
    },
  }
}
