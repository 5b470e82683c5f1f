/**
 * In-process benchmark of the system modules (a script, not a test): the transactions of the
 * `pnpm bench` attribution scenario (bench/lib/attribution.ts) built into blocks by the execution
 * runtime on LevelDB, exactly as `openledger dev` does, without the RPC server and txpool, so
 * that a CPU profile shows only execution. Prints, per phase, gas per µs of execution, the call's
 * CPU time per unit of gas relative to the EVM reference phases' (> 2 would be a DoS hole), the
 * state-root time and the process CPU time per transaction (robust to other load on the machine).
 *
 *   node --import tsx packages/attribution/bench/modules.ts [--senders 100] [--each 20] [--k 200] [--rounds 1]
 *   (add --cpu-prof --cpu-prof-dir=/tmp/prof before --import to profile)
 * --rounds R repeats the whole scenario R times on fresh chains and reports medians.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx'
import { createExecutionRuntime, parseGenesis, recoverSender } from '@openledger/evm-runtime'
import { plan } from '../../../bench/lib/attribution.ts'
import { createSystemModules, parseModuleParams } from '../src/index.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
interface SubLevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  put(key: Uint8Array, value: Uint8Array): Promise<void>
  del(key: Uint8Array): Promise<void>
  batch(
    ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }>,
  ): Promise<void>
}
type LevelCtor = new (
  dir: string,
  opts: { keyEncoding: 'view'; valueEncoding: 'view' },
) => {
  sublevel(name: string, opts: { keyEncoding: 'view'; valueEncoding: 'view' }): SubLevel
  close(): Promise<void>
}
// LevelDB as the node uses it; `level` is a dependency of evm-runtime, not of this package.
const { Level } = (await import(
  pathToFileURL(createRequire(join(ROOT, 'packages/evm-runtime/package.json')).resolve('level')).href
)) as { Level: LevelCtor }

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} expects a positive integer`)
  return v
}

interface PhaseTiming {
  name: string
  kind: string
  txs: number
  gas: bigint
  execMs: number
  rootsMs: number
  /** Process CPU time (all threads) of the phase's buildBlock calls: robust to other load. */
  cpuMs: number
  /** cpuMs apportioned to execution by each block's execution share of its wall time. */
  execCpuMs: number
}

async function once(senders: number, each: number, k: number): Promise<PhaseTiming[]> {
  const p = plan(senders, each, k)
  const base = JSON.parse(readFileSync(join(ROOT, 'genesis/devnet.json'), 'utf8')) as Record<string, unknown>
  const alloc: Record<string, { balance: string }> = {
    ...(base.alloc as Record<string, { balance: string }>),
  }
  for (const a of p.alloc) alloc[a.toLowerCase()] = { balance: (10n ** 24n).toString() }
  const genesis = parseGenesis({ ...base, chainId: 31337, gasLimit: '1000000000', alloc })
  const dir = mkdtempSync(join(tmpdir(), 'attr-modules-bench-'))
  const level = new Level(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const db = level.sublevel('state', { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    const rt = await createExecutionRuntime({
      db,
      genesis,
      modules: createSystemModules(parseModuleParams(genesis.modules)),
      getBlockHash: async () => undefined,
    })
    let parent = rt.genesisBlock.header
    let ts = 1_000n
    const out: PhaseTiming[] = []
    for (const ph of p.phases) {
      // Decoded from RLP with the sender recovered up front, as eth_sendRawTransaction does before
      // the txpool: the node's execution phase does not include sender recovery either.
      const txs: TypedTransaction[] = ph.raws.map((r) => {
        const tx = createTxFromRLP(Buffer.from(r.slice(2), 'hex'), { common: rt.common })
        recoverSender(tx)
        return tx
      })
      const t: PhaseTiming = {
        name: ph.name,
        kind: ph.kind,
        txs: txs.length,
        gas: 0n,
        execMs: 0,
        rootsMs: 0,
        cpuMs: 0,
        execCpuMs: 0,
      }
      let cursor = 0
      const w0 = process.hrtime.bigint() / 1000n
      while (cursor < txs.length) {
        const c0 = process.cpuUsage()
        const r = await rt.buildBlock(parent, txs.slice(cursor), {
          timestamp: ts++,
          coinbase: new Uint8Array(20),
        })
        const c1 = process.cpuUsage(c0)
        const cpu = (c1.user + c1.system) / 1000
        t.cpuMs += cpu
        t.execCpuMs += (cpu * r.timings.execution) / (r.timings.execution + r.timings.roots)
        if (r.executed.length === 0)
          throw new Error(`${ph.name}: nothing included (${r.rejected[0]?.reason ?? 'no reason'})`)
        for (const e of r.executed) {
          if (e.status !== 1) throw new Error(`${ph.name}: transaction failed: ${e.error?.message}`)
          t.gas += e.gasUsed
        }
        cursor += r.executed.length
        t.execMs += r.timings.execution
        t.rootsMs += r.timings.roots
        parent = r.block.header
      }
      // OL_PHASE_WINDOWS=1: each phase's window in the CPU profile's clock (µs, monotonic), to cut
      // a --cpu-prof profile by phase.
      if (process.env.OL_PHASE_WINDOWS)
        console.error(`window ${w0} ${process.hrtime.bigint() / 1000n} ${ph.name}`)
      out.push(t)
    }
    await rt.close()
    // OL_PRINT_ROOT=1: the final state root, to check that a host change leaves state identical.
    if (process.env.OL_PRINT_ROOT)
      console.error(`final state root ${Buffer.from(parent.stateRoot).toString('hex')}`)
    return out
  } finally {
    await level.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main() {
  const senders = arg('senders', 100)
  const each = arg('each', 20)
  const k = arg('k', 200)
  const rounds = arg('rounds', 1)
  interface Row {
    kind: string
    gasPerTx: number
    execUs: number[]
    rootsUs: number[]
    cpuUs: number[]
    execCpuUs: number[]
    ratio: number[]
  }
  const rows = new Map<string, Row>()
  const evmAvgs: number[] = []
  for (let round = 0; round < rounds; round++) {
    const res = await once(senders, each, k)
    const evm = res.filter((r) => r.kind === 'evm')
    // Execution CPU time rather than wall time, so that other processes on the machine inflate
    // neither side of the ratio.
    const evmAvg =
      Number(evm.reduce((a, r) => a + r.gas, 0n)) / (evm.reduce((a, r) => a + r.execCpuMs, 0) * 1000)
    evmAvgs.push(evmAvg)
    for (const r of res) {
      if (r.kind === 'setup') continue
      const row = rows.get(r.name) ?? {
        kind: r.kind,
        gasPerTx: 0,
        execUs: [],
        rootsUs: [],
        cpuUs: [],
        execCpuUs: [],
        ratio: [],
      }
      row.gasPerTx = Number(r.gas) / r.txs
      row.execUs.push((r.execMs * 1000) / r.txs)
      row.rootsUs.push((r.rootsMs * 1000) / r.txs)
      row.cpuUs.push((r.cpuMs * 1000) / r.txs)
      row.execCpuUs.push((r.execCpuMs * 1000) / r.txs)
      row.ratio.push(evmAvg / (Number(r.gas) / (r.execCpuMs * 1000)))
      rows.set(r.name, row)
    }
  }
  const cols = (xs: string[]) => xs.map((x, i) => (i === 0 ? x.padEnd(36) : x.padStart(12))).join('')
  console.log(
    `medians of ${rounds} round(s); exec = wall time of the tx loop, cpu = process CPU time of the block, exec-cpu = its share for the tx loop;\nCPU/gas vs EVM = EVM average gas per exec-cpu µs ÷ the call's (> 2: DoS hole)`,
  )
  console.log(
    cols([
      'phase',
      'gas/tx',
      'exec µs/tx',
      'roots µs/tx',
      'cpu µs/tx',
      'exec-cpu µs',
      'gas/exec-cpu',
      ' CPU/gas vs EVM',
    ]),
  )
  for (const [name, r] of rows) {
    const execCpuUs = median(r.execCpuUs)
    console.log(
      `${cols([
        name,
        r.gasPerTx.toFixed(0),
        median(r.execUs).toFixed(0),
        median(r.rootsUs).toFixed(0),
        median(r.cpuUs).toFixed(0),
        execCpuUs.toFixed(0),
        (r.gasPerTx / execCpuUs).toFixed(1),
        r.kind === 'module' ? `${median(r.ratio).toFixed(2)}×` : '',
      ])}${r.kind === 'module' && rounds > 1 ? `  [${r.ratio.map((x) => x.toFixed(2)).join(' ')}]` : ''}`,
    )
  }
  console.log(
    `EVM average: ${median(evmAvgs).toFixed(1)} gas per µs of execution CPU [${evmAvgs.map((x) => x.toFixed(1)).join(' ')}]`,
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
