/**
 * In-process benchmark of the Staking and Governance modules (a script, not a test), on the
 * execution runtime over LevelDB exactly as the node builds blocks (staking hook included), without
 * RPC or pool:
 *
 *  1. CPU per unit of gas of every staking/governance call type against ordinary EVM execution in
 *     the same run (the reference phases of the attribution bench: transfers, ERC-20, storage
 *     writes, keccak loop): "CPU/gas vs EVM" = EVM average gas per µs of execution CPU ÷ the
 *     call's (> 2 would be a DoS hole), the measure of packages/attribution/bench/modules.ts;
 *  2. the epoch transition (the end-of-block hook of an epoch's last block: election, status
 *     changes, epoch record) with V validators and D delegations, against an ordinary empty block.
 *
 *   node --import tsx packages/staking/bench/staking.ts [--k 100] [--validators 100] [--delegations 10000]
 *   quick check: --k 20 --validators 20 --delegations 200
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BlockHeader } from '@ethereumjs/block'
import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx'
import { createSystemModules, parseModuleParams } from '@openledger/attribution'
import { createPrepare, MessageCode, privateKeySigner } from '@openledger/consensus'
import {
  createExecutionRuntime,
  type ExecutionRuntime,
  type GenesisConfig,
  parseGenesis,
  recoverSender,
} from '@openledger/evm-runtime'
import { Level } from 'level'
import { encodeFunctionData, type Hex, keccak256, toHex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import {
  type Acct,
  benchAccount,
  evmReferencePhases,
  type Phase,
  sign,
} from '../../../bench/lib/attribution.ts'
import { expandModuleGenesis, parseGovernanceGenesis, parseStakingGenesis } from '../src/genesis.ts'
import { createGovernanceModule, hashProposal } from '../src/governance/module.ts'
import { governanceAbi, stakingAbi } from '../src/sol/abi.ts'
import { createStakingHook } from '../src/staking/hook.ts'
import { createStakingModule } from '../src/staking/module.ts'
import { readOnlyStakingStore } from '../src/staking/read.ts'

const E18 = 10n ** 18n
const STAKING = '0x4f50454e00000000000000000000000000000004'
const GOVERNANCE = '0x4f50454e00000000000000000000000000000005'
const CHAIN_ID = 31337n

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} expects a positive integer`)
  return v
}

const st = (fn: string, args: unknown[] = []) =>
  encodeFunctionData({ abi: stakingAbi, functionName: fn, args } as Parameters<typeof encodeFunctionData>[0])
const gv = (fn: string, args: unknown[] = []) =>
  encodeFunctionData({ abi: governanceAbi, functionName: fn, args } as Parameters<
    typeof encodeFunctionData
  >[0])
const desc = { moniker: 'bench', identity: '', website: '', securityContact: '', details: '' }

interface Chain {
  rt: ExecutionRuntime
  parent: BlockHeader
  ts: bigint
  close(): Promise<void>
}

async function open(alloc: string[], validators: Acct[], epochLength: number): Promise<Chain> {
  const g = parseGenesis({
    name: 'bench',
    chainId: Number(CHAIN_ID),
    gasLimit: '1000000000',
    timestamp: 1000,
    validators: validators.map((v) => v.address.toLowerCase()),
    alloc: Object.fromEntries(alloc.map((a) => [a.toLowerCase(), { balance: String(10n ** 27n) }])),
  })
  const chain = { epochLength: BigInt(epochLength), blockPeriodSeconds: 1, validators: g.validators }
  const staking = parseStakingGenesis(
    {
      params: {
        epochLength,
        maxValidators: 256,
        maxCandidates: 10_000,
        unbondingTime: 1_000,
        maxEvidenceAge: 100_000,
        blockReward: String(E18),
      },
      validators: validators.map((v) => ({ operator: v.address.toLowerCase(), stake: String(1_000n * E18) })),
    },
    chain,
  )
  const governance = parseGovernanceGenesis({ votingDelay: 1, votingPeriod: 1_000_000, timelockDelay: 0 })
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
  const dir = mkdtempSync(join(tmpdir(), 'staking-bench-'))
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const rt = await createExecutionRuntime({
    db: level.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' }),
    genesis,
    modules: [
      ...createSystemModules(parseModuleParams(undefined)),
      createStakingModule({ minBlockInterval: 1n }),
      createGovernanceModule(),
    ],
    blockHooks: [createStakingHook()],
    getBlockHash: async () => undefined,
  })
  return {
    rt,
    parent: rt.genesisBlock.header,
    ts: 1_001n,
    async close() {
      await rt.close()
      await level.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

interface Timed {
  name: string
  kind: Phase['kind']
  txs: number
  gas: bigint
  execCpuMs: number
}

/** Builds `raws` into blocks of their own; every transaction must succeed. */
async function run(c: Chain, ph: Phase): Promise<Timed> {
  const txs: TypedTransaction[] = ph.raws.map((r) => {
    const tx = createTxFromRLP(Buffer.from(r.slice(2), 'hex'), { common: c.rt.common })
    recoverSender(tx)
    return tx
  })
  const t: Timed = { name: ph.name, kind: ph.kind, txs: txs.length, gas: 0n, execCpuMs: 0 }
  let cursor = 0
  while (cursor < txs.length) {
    const c0 = process.cpuUsage()
    const r = await c.rt.buildBlock(c.parent, txs.slice(cursor), {
      timestamp: c.ts++,
      coinbase: new Uint8Array(20),
    })
    const c1 = process.cpuUsage(c0)
    const cpu = (c1.user + c1.system) / 1000
    // A call's own cost: block-level system work (an epoch transition in the end-of-block hook,
    // measured in part 2) would otherwise land on whichever phase's block ends the epoch.
    const own = r.timings.execution - (r.timings.hooks ?? 0)
    t.execCpuMs += (cpu * own) / (r.timings.execution + r.timings.roots)
    if (r.executed.length === 0) throw new Error(`${ph.name}: nothing included (${r.rejected[0]?.reason})`)
    for (const e of r.executed) {
      if (e.status !== 1) {
        const data = e.error?.returnData ?? new Uint8Array()
        const { decodeErrorResult } = await import('viem')
        let why = e.error?.message
        try {
          why = decodeErrorResult({ abi: [...stakingAbi, ...governanceAbi], data: toHex(data) }).errorName
        } catch {}
        throw new Error(`${ph.name}: transaction failed: ${why}`)
      }
      t.gas += e.gasUsed
    }
    cursor += r.executed.length
    c.parent = r.block.header
  }
  return t
}

async function emptyBlocks(c: Chain, n: number): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await c.rt.buildBlock(c.parent, [], { timestamp: c.ts++, coinbase: new Uint8Array(20) })
    ms.push(r.timings.execution)
    c.parent = r.block.header
  }
  return ms
}

/** Part 1: gas and CPU of each call type vs EVM. */
async function calls(k: number): Promise<void> {
  const vals = Array.from({ length: 4 }, (_, i) => benchAccount(`staking-genesis:${i}`))
  const ops = Array.from({ length: k }, (_, i) => benchAccount(`staking-op:${i}`))
  const dels = Array.from({ length: k }, (_, i) => benchAccount(`staking-del:${i}`))
  const evm = benchAccount('staking-evm')
  // Its own sender: the EVM reference phases derive the contract addresses from evm's nonces 0–2.
  const reporter = benchAccount('staking-reporter')
  const consensus = (i: number) => {
    const key = keccak256(toHex(`staking-consensus:${i}`))
    return { key, address: privateKeyToAddress(key) }
  }
  const phases: Phase[] = []
  const v = (i: number) => ops[i % k]!.address
  phases.push({
    name: 'createValidator',
    kind: 'module',
    raws: ops.map((o, i) =>
      sign(
        o,
        STAKING,
        st('createValidator', [desc, 500, 2_000, 100, E18, consensus(i).address]) as Hex,
        600_000n,
        100n * E18,
      ),
    ),
  })
  phases.push({
    name: 'delegate (new delegation)',
    kind: 'module',
    raws: dels.map((d, i) => sign(d, STAKING, st('delegate', [v(i)]) as Hex, 600_000n, 10n * E18)),
  })
  phases.push({
    name: 'delegate (top-up)',
    kind: 'module',
    raws: dels.map((d, i) => sign(d, STAKING, st('delegate', [v(i)]) as Hex, 600_000n, E18)),
  })
  phases.push({
    name: 'undelegate',
    kind: 'module',
    raws: dels.map((d, i) => sign(d, STAKING, st('undelegate', [v(i), E18]) as Hex, 600_000n)),
  })
  phases.push({
    name: 'redelegate',
    kind: 'module',
    raws: dels.map((d, i) => sign(d, STAKING, st('redelegate', [v(i), v(i + 1), E18]) as Hex, 800_000n)),
  })
  phases.push({
    name: 'withdrawRewards',
    kind: 'module',
    raws: vals.map((o) => sign(o, STAKING, st('withdrawRewards', [o.address]) as Hex, 600_000n)),
  })
  phases.push({
    name: 'submitEvidence (prepare)',
    kind: 'module',
    raws: vals.map((o, i) => {
      const s = privateKeySigner(Buffer.from(o.key.privateKey.slice(2), 'hex'))
      const a = createPrepare(s, CHAIN_ID, 1n, 0, Buffer.from(keccak256(toHex(`a${i}`)).slice(2), 'hex'))
      const b = createPrepare(s, CHAIN_ID, 1n, 0, Buffer.from(keccak256(toHex(`b${i}`)).slice(2), 'hex'))
      return sign(
        reporter,
        STAKING,
        st('submitEvidence', [MessageCode.PREPARE, toHex(a.signed.encoded), toHex(b.signed.encoded)]) as Hex,
        800_000n,
      )
    }),
    oneSender: true,
  })
  const proposals = ops.map((_, i) => ({
    targets: [STAKING as Hex],
    values: [0n],
    calldatas: [st('totalBonded') as Hex],
    description: `proposal ${i}`,
  }))
  phases.push({
    name: 'propose',
    kind: 'module',
    raws: proposals.map((p, i) =>
      sign(
        dels[i]!,
        GOVERNANCE,
        gv('propose', [p.targets, p.values, p.calldatas, p.description]) as Hex,
        800_000n,
      ),
    ),
  })
  const id0 = hashProposal(
    proposals[0]!.targets,
    proposals[0]!.values,
    proposals[0]!.calldatas,
    keccak256(toHex(proposals[0]!.description)),
  )
  phases.push({
    name: 'castVote (delegator)',
    kind: 'module',
    raws: dels.map((d) => sign(d, GOVERNANCE, gv('castVote', [id0, 1]) as Hex, 800_000n)),
  })
  phases.push(...evmReferencePhases(evm, dels, k))
  const c = await open(
    [...vals, ...ops, ...dels, evm, reporter].map((a) => a.address),
    vals,
    4, // short epochs: the new validators are bonded (and earn) for the later phases
  )
  try {
    const out: Timed[] = []
    for (const ph of phases) {
      const t = await run(c, ph)
      out.push(t)
      // Rewards to withdraw, and the created validators elected (epoch of 4 blocks).
      if (ph.name === 'createValidator') await emptyBlocks(c, 4)
      // Voting opens after the snapshot block (votingDelay 1).
      if (ph.name === 'propose') await emptyBlocks(c, 1)
    }
    const evmRows = out.filter((r) => r.kind === 'evm')
    const evmAvg =
      Number(evmRows.reduce((a, r) => a + r.gas, 0n)) / (evmRows.reduce((a, r) => a + r.execCpuMs, 0) * 1000)
    console.log('call                              gas/tx   exec-cpu µs/tx   gas/µs   CPU/gas vs EVM')
    for (const r of out) {
      if (r.kind === 'setup') continue
      const us = (r.execCpuMs * 1000) / r.txs
      const gasPerTx = Number(r.gas) / r.txs
      const ratio = evmAvg / (gasPerTx / us)
      console.log(
        `${r.name.padEnd(32)}${gasPerTx.toFixed(0).padStart(8)}${us.toFixed(0).padStart(17)}${(gasPerTx / us).toFixed(1).padStart(9)}${r.kind === 'module' ? `${ratio.toFixed(2)}×`.padStart(17) : ''}`,
      )
    }
    console.log(`EVM average: ${evmAvg.toFixed(1)} gas per µs of execution CPU`)
  } finally {
    await c.close()
  }
}

/**
 * Part 2: the epoch transition with `nv` validators and `nd` delegations: execution time of the
 * epoch's last block (its end-of-block hook elects the next set) against ordinary empty blocks.
 */
async function transition(nv: number, nd: number): Promise<{ normalMs: number; transitionMs: number }> {
  const vals = Array.from({ length: nv }, (_, i) => benchAccount(`epoch-val:${i}`))
  const dels = Array.from({ length: Math.max(1, Math.min(nd, 1_000)) }, (_, i) =>
    benchAccount(`epoch-del:${i}`),
  )
  const c = await open(
    [...vals, ...dels].map((a) => a.address),
    vals,
    200,
  )
  try {
    // nd delegations spread over the validators (each delegator to up to nd/1000 validators).
    const raws: string[] = []
    for (let i = 0; i < nd; i++) {
      const d = dels[i % dels.length]!
      const v = vals[((i % dels.length) + Math.floor(i / dels.length) * 13) % nv]!
      raws.push(sign(d, STAKING, st('delegate', [v.address]) as Hex, 600_000n, E18))
    }
    for (let i = 0; i < raws.length; i += 2_000)
      await run(c, { name: 'delegations', kind: 'setup', raws: raws.slice(i, i + 2_000) })
    const store = readOnlyStakingStore((a, sl) => c.rt.getStorage(c.parent.stateRoot, a, sl))
    const next = (await store.epoch()).nextStartBlock
    if (c.parent.number + 8n >= next)
      throw new Error('setup crossed the epoch boundary: raise the epoch length')
    const normal: number[] = []
    while (c.parent.number + 2n < next) {
      const ms = await emptyBlocks(c, 1)
      if (c.parent.number + 12n >= next) normal.push(ms[0]!)
    }
    const [transitionMs] = await emptyBlocks(c, 1)
    const after = readOnlyStakingStore((a, sl) => c.rt.getStorage(c.parent.stateRoot, a, sl))
    if ((await after.epoch()).startBlock !== next)
      throw new Error('no epoch transition in the measured block')
    return { normalMs: median(normal), transitionMs: transitionMs! }
  } finally {
    await c.close()
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main() {
  const k = arg('k', 100)
  const nv = arg('validators', 100)
  const nd = arg('delegations', 10_000)
  console.log(`Staking and Governance call costs (${k} transactions per call type)`)
  await calls(k)
  console.log(`\nEpoch transition, ${nv} validators (execution of the epoch's last block, hook included)`)
  await transition(Math.min(nv, 4), 0) // warm-up (JIT), not reported
  for (const d of [0, nd]) {
    const r = await transition(nv, d)
    console.log(
      `  ${String(d).padStart(6)} delegations: transition block ${r.transitionMs.toFixed(1)} ms, ordinary empty block ${r.normalMs.toFixed(1)} ms (median of 10)`,
    )
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
