/** A Staking + Governance world on module-kit's in-memory host, started from a real genesis expansion. */

import { privateKeyToAddress } from '@openledger/consensus'
import {
  ATTRIBUTION_ADDRESS,
  fromHex,
  GOVERNANCE_ADDRESS,
  ModuleHarness,
  STAKING_ADDRESS,
  toHex,
} from '@openledger/module-kit'
import {
  type Abi,
  decodeErrorResult,
  decodeEventLog,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
} from 'viem'
import {
  DEFAULT_GOVERNANCE_PARAMS,
  DEFAULT_STAKING_PARAMS,
  type GovernanceParams,
  type StakingParams,
} from '../src/core/params.ts'
import { expandModuleGenesis, parseGovernanceGenesis, parseStakingGenesis } from '../src/genesis.ts'
import { createGovernanceModule } from '../src/governance/module.ts'
import { governanceAbi, stakingAbi } from '../src/sol/abi.ts'
import { createStakingHook } from '../src/staking/hook.ts'
import { createStakingModule } from '../src/staking/module.ts'

export const E18 = 10n ** 18n
export { ATTRIBUTION_ADDRESS, GOVERNANCE_ADDRESS, STAKING_ADDRESS }

export function key(n: number): Uint8Array {
  const k = new Uint8Array(32)
  k[31] = n
  k[0] = 0x11
  return k
}
export const account = (n: number) => privateKeyToAddress(key(100 + n))
export const consensusKey = (i: number) => key(i + 1)
export const consensusAddress = (i: number) => privateKeyToAddress(consensusKey(i))

export interface WorldOptions {
  validators?: number
  stake?: bigint
  staking?: Partial<Record<keyof StakingParams, number | string>>
  governance?: Partial<Record<keyof GovernanceParams, number | string>>
}

export const TEST_STAKING: Partial<Record<keyof StakingParams, number | string>> = {
  epochLength: 10,
  unbondingTime: 100,
  maxEvidenceAge: 200,
  minSelfDelegation: String(E18),
  maxValidators: 4,
  signedBlocksWindow: 4,
  downtimeJailDuration: 50,
}

export class World {
  readonly h: ModuleHarness
  readonly hook = createStakingHook()
  height = 1n
  time = 1_000n
  coinbase = new Uint8Array(20) as Uint8Array<ArrayBuffer>

  constructor() {
    this.h = new ModuleHarness([createStakingModule({ minBlockInterval: 1n }), createGovernanceModule()])
  }

  static async create(o: WorldOptions = {}): Promise<World> {
    const w = new World()
    const n = o.validators ?? 3
    const stake = o.stake ?? 1_000n * E18
    const validators = Array.from({ length: n }, (_, i) => consensusAddress(i))
    const chain = { epochLength: 10n, blockPeriodSeconds: 1, validators }
    const staking = parseStakingGenesis(
      {
        params: { ...TEST_STAKING, ...o.staking },
        validators: validators.map((c, i) => ({
          operator: toHex(account(i)),
          consensus: toHex(c),
          stake: String(stake),
          commissionBps: 1_000,
          maxCommissionBps: 5_000,
          maxCommissionChangeBps: 500,
          moniker: `v${i}`,
        })),
      },
      chain,
    )
    const governance = parseGovernanceGenesis({
      votingDelay: 1,
      votingPeriod: 5,
      timelockDelay: 60,
      ...o.governance,
    })
    const alloc = Array.from({ length: 10 }, (_, i) => ({
      address: account(i),
      balance: 100_000n * E18,
      nonce: 0n,
      code: new Uint8Array(0),
      storage: [],
    }))
    const expanded = await expandModuleGenesis(alloc, staking, governance, chain, w.time)
    for (const a of expanded) {
      w.h.state.setBalance(a.address, a.balance)
      for (const s of a.storage) await w.h.state.putStorage(a.address, s.slot, s.value)
    }
    w.h.block = { number: w.height, timestamp: w.time, coinbase: w.coinbase }
    return w
  }

  async call(
    abi: Abi,
    to: Uint8Array,
    from: Uint8Array,
    functionName: string,
    args: unknown[] = [],
    value = 0n,
  ) {
    const data = fromHex(
      encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]),
    )
    const r = await this.h.call({ from, to, data, value })
    if (r.status === 'revert') {
      const err = decodeErrorResult({ abi, data: toHex(r.returnData) as Hex })
      return {
        ok: false as const,
        error: err.errorName,
        args: lower(err.args ?? []) as unknown[],
        gasUsed: r.gasUsed,
        logs: [],
      }
    }
    if (r.status !== 'success') throw new Error(`call ${functionName} ran out of gas`)
    const result = decodeFunctionResult({ abi, functionName, data: toHex(r.returnData) } as Parameters<
      typeof decodeFunctionResult
    >[0])
    const logs = r.logs.map((l) =>
      decodeEventLog({ abi, topics: l.topics.map(toHex) as [Hex], data: toHex(l.data) }),
    )
    return { ok: true as const, result, gasUsed: r.gasUsed, logs }
  }

  staking(from: Uint8Array, fn: string, args: unknown[] = [], value = 0n) {
    return this.call(stakingAbi as Abi, STAKING_ADDRESS, from, fn, args, value)
  }
  gov(from: Uint8Array, fn: string, args: unknown[] = [], value = 0n) {
    return this.call(governanceAbi as Abi, GOVERNANCE_ADDRESS, from, fn, args, value)
  }
  async view(fn: string, args: unknown[] = []): Promise<any> {
    const r = await this.staking(new Uint8Array(20), fn, args)
    if (!r.ok) throw new Error(`${fn} reverted: ${r.error}`)
    return lower(r.result)
  }
  async govView(fn: string, args: unknown[] = []): Promise<any> {
    const r = await this.gov(new Uint8Array(20), fn, args)
    if (!r.ok) throw new Error(`${fn} reverted: ${r.error}`)
    return lower(r.result)
  }

  /** Ends the current block (the staking hook) and starts the next one. */
  async endBlock(coinbase?: Uint8Array, seconds = 1n): Promise<void> {
    const set: string[] = await this.view('activeValidatorSet')
    const cb =
      coinbase ?? (set.length > 0 ? fromHex(set[Number(this.height) % set.length]!) : new Uint8Array(20))
    await this.hook.endBlock!({
      chainId: this.h.chainId,
      block: {
        number: this.height,
        timestamp: this.time,
        coinbase: cb,
        parentHash: new Uint8Array(32),
        gasLimit: 30_000_000n,
        baseFeePerGas: 0n,
        parentBeaconBlockRoot: new Uint8Array(32),
      },
      state: this.h.state,
      executed: [],
      gasUsed: 0n,
    })
    this.coinbase = cb as Uint8Array<ArrayBuffer>
    this.height += 1n
    this.time += seconds
    this.h.block = { number: this.height, timestamp: this.time, coinbase: cb as Uint8Array<ArrayBuffer> }
  }

  /** Ends blocks until the next block starts a new epoch. */
  async toNextEpoch(): Promise<void> {
    const e = await this.view('epoch')
    while (this.height < e.nextStartBlock) await this.endBlock()
  }

  balance(a: Uint8Array): Promise<bigint> {
    return this.h.state.getBalance(a)
  }
}

export { DEFAULT_GOVERNANCE_PARAMS, DEFAULT_STAKING_PARAMS }

/** viem decodes addresses checksummed; tests compare lowercase hex. */
export function lower(v: unknown): any {
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase()
  if (Array.isArray(v)) return v.map(lower)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, lower(x)]))
  return v
}
