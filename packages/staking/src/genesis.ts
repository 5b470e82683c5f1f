/**
 * Genesis sections `modules.staking` and `modules.governance`: strict parsing (errors name the
 * field) and their expansion into genesis state. The initial validators' self-delegations are taken
 * from their operators' allocations and moved to the Staking account; the module storage is written
 * by running the same ledger code on an in-memory state, so the genesis state is exactly what the
 * modules would have produced. Every node computes the same expansion from the same file.
 *
 *   "modules": {
 *     "staking": { "params": { "epochLength": 20, "unbondingTime": 60, … },
 *                  "validators": [{ "operator": "0x…", "consensus": "0x…", "stake": "1000000000000000000000",
 *                                   "commissionBps": 500, "maxCommissionBps": 2000,
 *                                   "maxCommissionChangeBps": 100, "minSelfDelegation": "…", "moniker": "v0" }] },
 *     "governance": { "votingDelay": 1, "votingPeriod": 20, "quorumBps": 3340, … }
 *   }
 *
 * Without staking validators, the genesis QBFT validators form the set (no stake behind them) until
 * an epoch elects at least `minValidators` staked validators.
 */
import { Exec, GOVERNANCE_ADDRESS, MemoryState, STAKING_ADDRESS, toHex } from '@openledger/module-kit'
import { compareBytes, equalBytes } from './core/bytes.ts'
import { validatorSetHash } from './core/election.ts'
import { StakingError } from './core/errors.ts'
import {
  DEFAULT_GOVERNANCE_PARAMS,
  DEFAULT_STAKING_PARAMS,
  type GovernanceParams,
  type StakingParams,
  validateGovernanceParams,
  validateStakingParams,
} from './core/params.ts'
import { emptyDescription } from './core/records.ts'
import { writeGovernanceParams } from './governance/storage.ts'
import { type GenesisValidator, initGenesis } from './ledger/genesis.ts'
import { StorageStakingStore } from './staking/storage-store.ts'

export class ModuleGenesisError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`)
    this.name = 'ModuleGenesisError'
  }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function keys(path: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (k.startsWith('_')) continue
    if (!allowed.includes(k))
      throw new ModuleGenesisError(`${path}.${k}`, `unknown field (expected one of: ${allowed.join(', ')})`)
  }
}

function quantity(path: string, v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) {
    const n = BigInt(v)
    if (n < 1n << 256n) return n
  }
  throw new ModuleGenesisError(
    path,
    `expected a non-negative integer (decimal or 0x-hex string), got ${JSON.stringify(v)}`,
  )
}

function small(path: string, v: unknown): number {
  const n = quantity(path, v)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModuleGenesisError(path, 'too large')
  return Number(n)
}

function address(path: string, v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v))
    throw new ModuleGenesisError(path, `expected a 0x-prefixed 20-byte address, got ${JSON.stringify(v)}`)
  return Uint8Array.from(Buffer.from(v.slice(2), 'hex'))
}

function text(path: string, v: unknown): string {
  if (v === undefined) return ''
  if (typeof v !== 'string') throw new ModuleGenesisError(path, 'expected a string')
  return v
}

/** Runs a core validation, naming the genesis field on failure. */
function checked(path: string, fn: () => void): void {
  try {
    fn()
  } catch (e) {
    if (e instanceof StakingError)
      throw new ModuleGenesisError(`${path}.${String(e.args[0])}`, String(e.args[1]))
    throw e
  }
}

export interface ChainFacts {
  /** genesis.consensus.epochLength: the default staking epoch. */
  epochLength: bigint
  /** genesis.consensus.blockPeriodSeconds (QBFT) — the least interval between blocks. */
  blockPeriodSeconds: number
  /** genesis.validators (the QBFT set of block 1). */
  validators: readonly Uint8Array[]
}

export interface StakingGenesis {
  params: StakingParams
  validators: GenesisValidator[]
}

const STAKING_PARAM_KEYS = Object.keys(DEFAULT_STAKING_PARAMS) as (keyof StakingParams)[]
const GOVERNANCE_PARAM_KEYS = Object.keys(DEFAULT_GOVERNANCE_PARAMS) as (keyof GovernanceParams)[]

export function minBlockInterval(chain: Pick<ChainFacts, 'blockPeriodSeconds'>): bigint {
  return BigInt(Math.max(1, chain.blockPeriodSeconds))
}

export function parseStakingGenesis(section: unknown, chain: ChainFacts): StakingGenesis {
  const path = 'genesis.modules.staking'
  const params: StakingParams = { ...DEFAULT_STAKING_PARAMS, epochLength: chain.epochLength }
  if (section === undefined) return { params, validators: [] }
  if (!isObj(section)) throw new ModuleGenesisError(path, 'expected an object {params, validators}')
  keys(path, section, ['params', 'validators'])
  if (section.params !== undefined) {
    if (!isObj(section.params)) throw new ModuleGenesisError(`${path}.params`, 'expected an object')
    keys(`${path}.params`, section.params, STAKING_PARAM_KEYS)
    for (const k of STAKING_PARAM_KEYS) {
      const v = section.params[k]
      if (v === undefined) continue
      const p = `${path}.params.${k}`
      ;(params as unknown as Record<string, unknown>)[k] =
        typeof DEFAULT_STAKING_PARAMS[k] === 'number' ? small(p, v) : quantity(p, v)
    }
  }
  checked(`${path}.params`, () => validateStakingParams(params, minBlockInterval(chain)))
  const validators: GenesisValidator[] = []
  if (section.validators !== undefined) {
    if (!Array.isArray(section.validators))
      throw new ModuleGenesisError(`${path}.validators`, 'expected an array')
    section.validators.forEach((raw, i) => {
      const p = `${path}.validators[${i}]`
      if (!isObj(raw)) throw new ModuleGenesisError(p, 'expected an object')
      keys(p, raw, [
        'operator',
        'consensus',
        'stake',
        'commissionBps',
        'maxCommissionBps',
        'maxCommissionChangeBps',
        'minSelfDelegation',
        'moniker',
        'website',
        'details',
      ])
      const operator = address(`${p}.operator`, raw.operator)
      validators.push({
        operator,
        consensus: raw.consensus === undefined ? operator : address(`${p}.consensus`, raw.consensus),
        stake: quantity(`${p}.stake`, raw.stake),
        commissionBps: raw.commissionBps === undefined ? 0 : small(`${p}.commissionBps`, raw.commissionBps),
        maxCommissionBps:
          raw.maxCommissionBps === undefined ? 10_000 : small(`${p}.maxCommissionBps`, raw.maxCommissionBps),
        maxCommissionChangeBps:
          raw.maxCommissionChangeBps === undefined
            ? 100
            : small(`${p}.maxCommissionChangeBps`, raw.maxCommissionChangeBps),
        minSelfDelegation:
          raw.minSelfDelegation === undefined
            ? params.minSelfDelegation
            : quantity(`${p}.minSelfDelegation`, raw.minSelfDelegation),
        description: {
          ...emptyDescription(),
          moniker: text(`${p}.moniker`, raw.moniker),
          website: text(`${p}.website`, raw.website),
          details: text(`${p}.details`, raw.details),
        },
      })
    })
    // The staked validators must be exactly the QBFT set of block 1 (same extraData everywhere).
    if (validators.length > 0) {
      const a = validators.map((v) => toHex(v.consensus)).sort()
      const b = chain.validators.map((v) => toHex(v)).sort()
      if (a.length !== b.length || a.some((x, i) => x !== b[i]))
        throw new ModuleGenesisError(
          `${path}.validators`,
          `their consensus addresses must equal genesis.validators (${b.join(', ') || 'empty'})`,
        )
    }
  }
  return { params, validators }
}

export function parseGovernanceGenesis(section: unknown): GovernanceParams {
  const path = 'genesis.modules.governance'
  const params: GovernanceParams = { ...DEFAULT_GOVERNANCE_PARAMS }
  if (section === undefined) return params
  if (!isObj(section)) throw new ModuleGenesisError(path, 'expected an object')
  keys(path, section, GOVERNANCE_PARAM_KEYS)
  for (const k of GOVERNANCE_PARAM_KEYS) {
    const v = section[k]
    if (v === undefined) continue
    ;(params as unknown as Record<string, unknown>)[k] =
      typeof DEFAULT_GOVERNANCE_PARAMS[k] === 'number'
        ? small(`${path}.${k}`, v)
        : quantity(`${path}.${k}`, v)
  }
  checked(path, () => validateGovernanceParams(params))
  return params
}

export interface GenesisAccountLike {
  address: Uint8Array
  balance: bigint
  nonce: bigint
  code: Uint8Array
  storage: Array<{ slot: Uint8Array; value: Uint8Array }>
}

/**
 * The allocation with the modules' genesis state applied: operators' allocations debited by their
 * stake, the Staking account credited, Staking and Governance storage filled.
 */
export async function expandModuleGenesis(
  alloc: readonly GenesisAccountLike[],
  staking: StakingGenesis,
  governance: GovernanceParams,
  chain: ChainFacts,
  timestamp: bigint,
): Promise<GenesisAccountLike[]> {
  const out = alloc.map((a) => ({ ...a, storage: [...a.storage] }))
  const find = (addr: Uint8Array) => out.find((a) => equalBytes(a.address, addr))
  const state = new MemoryState()
  let staked = 0n
  for (const [i, v] of staking.validators.entries()) {
    const acct = find(v.operator)
    if (acct === undefined || acct.balance < v.stake)
      throw new ModuleGenesisError(
        `genesis.modules.staking.validators[${i}].stake`,
        `the operator ${toHex(v.operator)} needs an allocation of at least ${v.stake} wei (has ${acct?.balance ?? 0n})`,
      )
    acct.balance -= v.stake
    staked += v.stake
  }
  state.setBalance(STAKING_ADDRESS, staked)
  const x = new Exec(state, 1n << 62n)
  const store = new StorageStakingStore(x, (to, amount) => x.pay(STAKING_ADDRESS, to, amount))
  try {
    if (staking.validators.length > 0) await initGenesis(store, staking.params, staking.validators, timestamp)
    else {
      // Unstaked bootstrap set (see the file comment).
      await store.setParams(staking.params)
      const set = [...chain.validators].sort(compareBytes)
      await store.setActiveSet(set)
      await store.pushEpoch({ number: 0n, startBlock: 0n, setHash: validatorSetHash(set), members: set })
      await store.setEpoch({
        number: 0n,
        startBlock: 0n,
        nextStartBlock: staking.params.epochLength,
        lastCoinbase: new Uint8Array(20),
      })
    }
  } catch (e) {
    if (e instanceof StakingError)
      throw new ModuleGenesisError(
        'genesis.modules.staking.validators',
        `${e.error}(${e.args.map(String).join(', ')})`,
      )
    throw e
  }
  writeGovernanceParams(x, governance)
  await x.commit()
  for (const [account, balance] of [
    [STAKING_ADDRESS, await state.getBalance(STAKING_ADDRESS)],
    [GOVERNANCE_ADDRESS, 0n],
  ] as const) {
    let acct = find(account)
    if (acct === undefined) {
      acct = { address: account, balance: 0n, nonce: 1n, code: new Uint8Array(0), storage: [] }
      out.push(acct)
    }
    acct.balance += balance
    acct.storage.push(...storageOf(state, account))
  }
  return out
}

/** The storage of `account` in a MemoryState, as genesis entries. */
function storageOf(state: MemoryState, account: Uint8Array): Array<{ slot: Uint8Array; value: Uint8Array }> {
  const prefix = `${toHex(account)}:`
  return Object.entries(state.snapshot().storage)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => ({
      slot: Buffer.from(k.slice(prefix.length + 2), 'hex'),
      value: Buffer.from(v.slice(2), 'hex'),
    }))
    .map(({ slot, value }) => ({ slot: new Uint8Array(slot), value: new Uint8Array(value) }))
}
