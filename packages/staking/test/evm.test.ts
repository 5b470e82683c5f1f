/**
 * The modules inside the real EVM host (evm-runtime): precompile state is journaled with the calling
 * frame (a contract that delegates and then reverts leaves no trace — Moonbeam PR #768's test), and
 * Governance executes its actions as real calls with itself as msg.sender.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import { createFeeMarket1559Tx, type TypedTransaction } from '@ethereumjs/tx'
import { createSystemModules, parseModuleParams } from '@openledger/attribution'
import { privateKeyToAddress } from '@openledger/consensus'
import {
  createExecutionRuntime,
  type ExecutionRuntime,
  type GenesisConfig,
  parseGenesis,
} from '@openledger/evm-runtime'
import { GOVERNANCE_ADDRESS, keccak, STAKING_ADDRESS, toHex } from '@openledger/module-kit'
import { Level } from 'level'
import solc from 'solc'
import { type Abi, encodeFunctionData, getAddress, type Hex } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { expandModuleGenesis, parseGovernanceGenesis, parseStakingGenesis } from '../src/genesis.ts'
import { createGovernanceModule, hashProposal } from '../src/governance/module.ts'
import { governanceAbi, stakingAbi } from '../src/sol/abi.ts'
import { createStakingHook } from '../src/staking/hook.ts'
import { createStakingModule } from '../src/staking/module.ts'
import { readOnlyStakingStore } from '../src/staking/read.ts'

const E18 = 10n ** 18n
const keyOf = (n: number) => {
  const k = new Uint8Array(32)
  k[0] = 0x22
  k[31] = n
  return k
}
const KEYS = [0, 1, 2, 3].map(keyOf)
const ADDR = KEYS.map(privateKeyToAddress)

const PROBE = `
pragma solidity ^0.8.24;
import "IStaking.sol";
contract Probe {
    IStaking constant S = IStaking(STAKING_ADDRESS);
    address public lastCaller;
    function delegateThenRevert(address v) external payable { S.delegate{value: msg.value}(v); revert("after delegate"); }
    function delegateInnerRevert(address v) external payable returns (bool) {
        try this.delegateThenRevert{value: msg.value}(v) { return true; } catch { return false; }
    }
    function delegateKeep(address v) external payable returns (uint256) { return S.delegate{value: msg.value}(v); }
    function poke() external { lastCaller = msg.sender; }
}`

function compileProbe(): { abi: Abi; bytecode: Uint8Array } {
  const sol = (f: string) => ({ content: readFileSync(join(import.meta.dirname, '../src/sol', f), 'utf8') })
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'Probe.sol': { content: PROBE }, 'IStaking.sol': sol('IStaking.sol') },
        settings: { evmVersion: 'prague', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
      }),
    ),
  )
  const errs = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error')
  if (errs.length > 0) throw new Error(JSON.stringify(errs))
  const c = out.contracts['Probe.sol'].Probe
  return { abi: c.abi, bytecode: Uint8Array.from(Buffer.from(c.evm.bytecode.object, 'hex')) }
}

class Chain {
  head!: Block
  nonces = new Map<number, bigint>()
  constructor(readonly rt: ExecutionRuntime) {
    this.head = rt.genesisBlock
  }
  tx(from: number, to: Uint8Array | undefined, data: Hex | Uint8Array, value = 0n): TypedTransaction {
    const nonce = this.nonces.get(from) ?? 0n
    this.nonces.set(from, nonce + 1n)
    return createFeeMarket1559Tx(
      {
        nonce,
        to,
        data: typeof data === 'string' ? Buffer.from(data.slice(2), 'hex') : data,
        value,
        gasLimit: 5_000_000n,
        maxFeePerGas: 10n ** 11n,
        maxPriorityFeePerGas: 1n,
        chainId: this.rt.chainId,
      },
      { common: this.rt.common },
    ).sign(KEYS[from]!)
  }
  async block(txs: TypedTransaction[] = [], seconds = 1n) {
    const r = await this.rt.buildBlock(this.head.header, txs, {
      timestamp: this.head.header.timestamp + seconds,
      coinbase: new Uint8Array(20),
    })
    expect(r.rejected).toEqual([])
    this.head = r.block
    return r.executed
  }
  store() {
    const root = this.head.header.stateRoot
    return readOnlyStakingStore((a, s) => this.rt.getStorage(root, a, s))
  }
  balance(a: Uint8Array) {
    return this.rt.getAccount(this.head.header.stateRoot, a).then((x) => x?.balance ?? 0n)
  }
}

const runtimes: ExecutionRuntime[] = []
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const r of runtimes) await r.close()
  for (const c of cleanups) await c()
})

async function start(): Promise<Chain> {
  const json = {
    name: 't',
    chainId: 4343,
    timestamp: 1000,
    validators: [toHex(ADDR[0]!)],
    alloc: Object.fromEntries(ADDR.map((a) => [toHex(a), { balance: String(10_000n * E18) }])),
  }
  const g = parseGenesis(json)
  const chain = { epochLength: 100n, blockPeriodSeconds: 1, validators: g.validators }
  const staking = parseStakingGenesis(
    {
      params: { unbondingTime: 100, maxEvidenceAge: 200 },
      validators: [{ operator: toHex(ADDR[0]!), stake: String(1_000n * E18) }],
    },
    chain,
  )
  const governance = parseGovernanceGenesis({ votingDelay: 1, votingPeriod: 2, timelockDelay: 0 })
  const genesis: GenesisConfig = {
    ...g,
    alloc: (await expandModuleGenesis(
      g.alloc,
      staking,
      governance,
      chain,
      g.timestamp,
    )) as GenesisConfig['alloc'],
  }
  const dir = mkdtempSync(join(tmpdir(), 'staking-evm-'))
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  cleanups.push(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const rt = await createExecutionRuntime({
    db,
    genesis,
    modules: [
      ...createSystemModules(parseModuleParams(undefined)),
      createStakingModule({ minBlockInterval: 1n }),
      createGovernanceModule(),
    ],
    blockHooks: [createStakingHook()],
    getBlockHash: async () => undefined,
  })
  runtimes.push(rt)
  return new Chain(rt)
}

describe('Staking and Governance in the EVM', () => {
  const probe = compileProbe()

  it('a contract that calls delegate and then reverts leaves no trace; a kept delegation stays', async () => {
    const c = await start()
    const [deploy] = await c.block([c.tx(1, undefined, probe.bytecode)])
    const at = deploy!.contractAddress!
    const v = getAddress(toHex(ADDR[0]!))
    const before = {
      staking: await c.balance(STAKING_ADDRESS),
      tokens: (await c.store().validator(ADDR[0]!))!.tokens,
    }
    const call = (fn: string) => encodeFunctionData({ abi: probe.abi, functionName: fn, args: [v] })
    const [reverted, caught] = await c.block([
      c.tx(1, at, call('delegateThenRevert'), 5n * E18),
      c.tx(1, at, call('delegateInnerRevert'), 5n * E18),
    ])
    expect(reverted!.status).toBe(0)
    expect(reverted!.logs).toEqual([])
    expect(caught!.status).toBe(1)
    expect(caught!.logs).toEqual([]) // the inner frame's Delegate event went with it
    const s = c.store()
    expect((await s.validator(ADDR[0]!))!.tokens).toBe(before.tokens)
    expect((await s.delegation(at, ADDR[0]!)).shares).toBe(0n)
    expect(await s.delegatorValidators(at)).toEqual([])
    expect(await c.balance(STAKING_ADDRESS)).toBe(before.staking)
    expect(await c.balance(at)).toBe(5n * E18) // the caught call's value came back to the contract

    const [kept] = await c.block([c.tx(1, at, call('delegateKeep'), 3n * E18)])
    expect(kept!.status).toBe(1)
    expect(kept!.logs).toHaveLength(1)
    expect((await c.store().delegation(at, ADDR[0]!)).shares).toBe(3n * E18)
    expect(await c.balance(STAKING_ADDRESS)).toBe(before.staking + 3n * E18)
  })

  it('Governance executes its actions as real calls with itself as msg.sender', async () => {
    const c = await start()
    const [deploy] = await c.block([c.tx(1, undefined, probe.bytecode)])
    const at = deploy!.contractAddress!
    const poke = encodeFunctionData({ abi: probe.abi, functionName: 'poke', args: [] })
    const actions = [[getAddress(toHex(at))], [0n], [poke]] as const
    const propose = encodeFunctionData({
      abi: governanceAbi,
      functionName: 'propose',
      args: [...actions, 'poke'],
    })
    const [p] = await c.block([c.tx(0, GOVERNANCE_ADDRESS, propose)])
    expect(p!.status).toBe(1)
    const dh = toHex(keccak(new TextEncoder().encode('poke')))
    const id = hashProposal(...(actions as unknown as [Hex[], bigint[], Hex[]]), dh)
    await c.block()
    const vote = encodeFunctionData({ abi: governanceAbi, functionName: 'castVote', args: [id, 1] })
    const [v] = await c.block([c.tx(0, GOVERNANCE_ADDRESS, vote)])
    expect(v!.status).toBe(1)
    await c.block()
    await c.block()
    const queue = encodeFunctionData({ abi: governanceAbi, functionName: 'queue', args: [...actions, dh] })
    const execute = encodeFunctionData({
      abi: governanceAbi,
      functionName: 'execute',
      args: [...actions, dh],
    })
    const [q, e] = await c.block([c.tx(2, GOVERNANCE_ADDRESS, queue), c.tx(2, GOVERNANCE_ADDRESS, execute)])
    expect(q!.status).toBe(1)
    expect(e!.status).toBe(1)
    const last = await c.rt.call(
      {
        from: ADDR[2]!,
        to: at,
        data: Buffer.from(
          encodeFunctionData({ abi: probe.abi, functionName: 'lastCaller', args: [] }).slice(2),
          'hex',
        ),
      },
      c.head.header,
    )
    expect(toHex(last.returnData.slice(12))).toBe(toHex(GOVERNANCE_ADDRESS))
    // A direct call to a governance-only setter from an EOA reverts with the typed error.
    const setParams = encodeFunctionData({
      abi: stakingAbi as Abi,
      functionName: 'setParams',
      args: [await c.store().params()],
    })
    const [direct] = await c.block([c.tx(3, STAKING_ADDRESS, setParams)])
    expect(direct!.status).toBe(0)
    expect(toHex(direct!.error!.returnData ?? new Uint8Array()).slice(0, 10)).toBe(
      toHex(keccak(new TextEncoder().encode('OnlyGovernance(address)')).slice(0, 4)),
    )
  })
})
