/**
 * `pnpm bench`: OpenLedger Node against Hardhat Network 2.29 on the same machine, in the same run.
 *   (a) raw execution ceiling (packages/evm-runtime/bench/exec-ceiling.ts)
 *   (b)/(c) pre-signed transfers via eth_sendRawTransaction at 32 in flight until all are mined,
 *           automine and 1 s interval, for both nodes
 *   (d) eth_call p50/p99 and eth_blockNumber req/s, for both nodes
 *   (e) attribution modules: settlements/s and gas per CPU-µs against EVM execution
 *   (f) inference provider answers/s; (g) attribution engine index build and query latency
 *   (h) 4-validator QBFT devnet: sustained tx/s, submit → final latency, RSS; fresh-node sync blocks/s
 *   (i) start-up to the first eth_chainId and peak RSS: `openledger dev` compiled and from the
 *       sources through tsx, and `hardhat node` (bench/lib/startup.ts; needs `pnpm build`)
 * Prints tables with node/Hardhat ratios, where our node's time went, its peak RSS, and writes
 * bench/results/latest.json. Flags: --quick, --only node|hardhat, --help.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { attributionScenario } from './lib/attribution.ts'
import { type CeilingResult, execCeiling } from './lib/ceiling.ts'
import { devnetScenario } from './lib/devnet.ts'
import { engineScenario } from './lib/engine.ts'
import { installCleanup } from './lib/proc.ts'
import { providerScenario } from './lib/provider.ts'
import { fmt, mib, ratio, table, timeBreakdown } from './lib/report.ts'
import {
  blockNumberRate,
  CONCURRENCY,
  callLatency,
  deployContract,
  type LatencyResult,
  type RateResult,
  type ThroughputResult,
  throughput,
} from './lib/scenarios.ts'
import { type StartupResult, startupScenario } from './lib/startup.ts'
import { type MiningMode, startHardhat, startNode, type Target, type TargetName } from './lib/targets.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const GIB = 2 ** 30

/** Bad command-line input: reported without a stack trace. */
class UsageError extends Error {}

interface Options {
  quick: boolean
  only?: TargetName
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--quick') o.quick = true
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i]
      if (v !== 'node' && v !== 'hardhat')
        throw new UsageError(`--only expects "node" or "hardhat", got ${v ?? 'nothing'}`)
      o.only = v
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: pnpm bench [--quick] [--only node|hardhat]\n')
      process.exit(0)
    } else if (a !== '--')
      throw new UsageError(`unknown argument ${a} (usage: pnpm bench [--quick] [--only node|hardhat])`)
  }
  return o
}

interface TargetResults {
  automine?: ThroughputResult
  interval?: ThroughputResult
  ethCall?: LatencyResult
  blockNumber?: RateResult
  peakRssBytes: { automine?: number; interval?: number }
  errors: string[]
}

const log = (s = '') => process.stdout.write(`${s}\n`)

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2))
  installCleanup()
  const size = opts.quick
    ? { senders: 100, txsPerSender: 5, callN: 300, rateSeconds: 2, timeoutMs: 120_000 }
    : { senders: 500, txsPerSender: 10, callN: 2_000, rateSeconds: 5, timeoutMs: 300_000 }
  const targets: TargetName[] = opts.only ? [opts.only] : ['node', 'hardhat']
  const load0 = loadavg()
  log(
    `OpenLedger bench${opts.quick ? ' (--quick)' : ''}: ${cpus().length} CPUs, load average ${load0.map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`,
  )

  const t = performance.now()
  const work = buildWorkload(size.senders, size.txsPerSender)
  log(
    `Signed ${work.raws.length} transfers from ${size.senders} senders and compiled the contract in ${fmt((performance.now() - t) / 1000, 1)} s (not measured)`,
  )

  let ceiling: CeilingResult | undefined
  if (opts.only !== 'hardhat') {
    log('\n(a) raw execution ceiling …')
    ceiling = await execCeiling(ROOT, work.raws.length, size.senders, 300_000)
    if (ceiling.status === 'missing') log(`    ${ceiling.script} not found: skipped`)
    else {
      for (const l of ceiling.output) log(`    ${l}`)
      if (ceiling.error) log(`    failed: ${ceiling.error}`)
    }
  }

  const results: Record<TargetName, TargetResults> = {
    node: { peakRssBytes: {}, errors: [] },
    hardhat: { peakRssBytes: {}, errors: [] },
  }
  const env = { root: ROOT, work }
  // Interleaved per mode (node, hardhat, node, hardhat) so slow drift in machine load hits both alike.
  for (const mode of ['automine', 'interval'] as MiningMode[]) {
    for (const name of targets) {
      const r = results[name]
      log(`\n${name} ${mode}: starting …`)
      let target: Target | undefined
      try {
        target = await (name === 'node' ? startNode : startHardhat)(env, mode)
        if (mode === 'automine') await deployContract(target, work)
        const tp = await throughput(target, work, size.timeoutMs)
        r[mode] = tp
        log(
          `  ${fmt(tp.txPerSec)} tx/s (${tp.txs} txs in ${fmt(tp.seconds, 2)} s, ${tp.blocks} blocks, sends done at ${fmt(tp.sendSeconds, 2)} s)`,
        )
        if (mode === 'automine') {
          r.ethCall = await callLatency(target, work, size.callN)
          log(
            `  eth_call p50 ${fmt(r.ethCall.p50Ms, 3)} ms, p99 ${fmt(r.ethCall.p99Ms, 3)} ms (n=${size.callN})`,
          )
          r.blockNumber = await blockNumberRate(target, size.rateSeconds)
          log(`  eth_blockNumber ${fmt(r.blockNumber.reqPerSec)} req/s at ${CONCURRENCY} concurrent`)
        }
      } catch (err) {
        const msg = `${mode}: ${(err as Error).message}`
        r.errors.push(msg)
        log(`  FAILED ${msg}`)
      } finally {
        if (target) r.peakRssBytes[mode] = (await target.stop()).peakRssBytes
      }
    }
  }

  log(`\n${'='.repeat(78)}`)
  const n = results.node
  const h = results.hardhat
  const row = (
    label: string,
    a: number | undefined,
    b: number | undefined,
    d = 0,
    withRatio = true,
  ): string[] => [label, fmt(a, d), fmt(b, d), withRatio ? fmt(ratio(a, b), 2) : '']
  log(
    `\nThroughput: ${work.raws.length} pre-signed transfers, ${size.senders} senders, ${CONCURRENCY} in flight (higher is better)`,
  )
  log(
    table(
      ['scenario', 'node', 'hardhat', 'node/hardhat'],
      [
        row('automine tx/s', n.automine?.txPerSec, h.automine?.txPerSec),
        row('1 s interval tx/s', n.interval?.txPerSec, h.interval?.txPerSec),
        row('automine blocks', n.automine?.blocks, h.automine?.blocks, 0, false),
        row('interval blocks', n.interval?.blocks, h.interval?.blocks, 0, false),
      ],
    ),
  )
  if (ceiling?.txPerSec !== undefined) {
    log(
      `(a) raw execution ceiling (buildBlock on LevelDB, no RPC, same tx count): ${fmt(ceiling.txPerSec)} tx/s` +
        (n.interval
          ? `; node interval reaches ${fmt((100 * n.interval.txPerSec) / ceiling.txPerSec)} % of it`
          : ''),
    )
  }
  log(`\neth_call x() latency, ${size.callN} sequential requests (lower is better)`)
  log(
    table(
      ['scenario', 'node', 'hardhat', 'node/hardhat'],
      [
        row('p50 ms', n.ethCall?.p50Ms, h.ethCall?.p50Ms, 3),
        row('p99 ms', n.ethCall?.p99Ms, h.ethCall?.p99Ms, 3),
        row('mean ms', n.ethCall?.meanMs, h.ethCall?.meanMs, 3),
      ],
    ),
  )
  log(`\neth_blockNumber, ${CONCURRENCY} concurrent for ${size.rateSeconds} s (higher is better)`)
  log(
    table(
      ['scenario', 'node', 'hardhat', 'node/hardhat'],
      [row('req/s', n.blockNumber?.reqPerSec, h.blockNumber?.reqPerSec)],
    ),
  )

  log('\nPeak resident memory (VmHWM, read just before stopping)')
  log(
    table(
      ['run', 'node', 'hardhat'],
      (['automine', 'interval'] as const).map((m) => [m, mib(n.peakRssBytes[m]), mib(h.peakRssBytes[m])]),
    ),
  )
  for (const mode of ['automine', 'interval'] as const) {
    const tp = n[mode]
    if (tp?.time) {
      log(`\nWhere our node's time went, ${mode} (wall ${fmt(tp.seconds, 2)} s, first send → last mined)`)
      log(timeBreakdown(tp.time, tp.seconds))
    }
  }

  const intervalRatio = ratio(n.interval?.txPerSec, h.interval?.txPerSec)
  const peak = Math.max(0, ...Object.values(n.peakRssBytes).filter((v): v is number => v !== undefined))
  const bar =
    targets.length === 2
      ? {
          intervalThroughputAtLeast075xHardhat:
            intervalRatio === undefined ? undefined : intervalRatio >= 0.75,
          ethCallP50AtMostHardhat: n.ethCall && h.ethCall ? n.ethCall.p50Ms <= h.ethCall.p50Ms : undefined,
          peakRssAtMost1GiB: peak > 0 ? peak <= GIB : undefined,
        }
      : undefined
  if (bar) {
    log('\nBar of issue 2')
    log(
      `  interval throughput ≥ 0.75× Hardhat: ${verdict(bar.intervalThroughputAtLeast075xHardhat)} (${fmt(intervalRatio, 2)}×)`,
    )
    log(`  eth_call p50 ≤ Hardhat's:            ${verdict(bar.ethCallP50AtMostHardhat)}`)
    log(
      `  node peak RSS ≤ 1 GiB:               ${verdict(bar.peakRssAtMost1GiB)} (${mib(peak || undefined)})`,
    )
  }
  await attributionScenario(ROOT, { quick: opts.quick, skip: opts.only === 'hardhat', log })
  await providerScenario({ quick: opts.quick, skip: opts.only === 'hardhat', log })
  const engine = await engineScenario(ROOT, { quick: opts.quick, skip: opts.only === 'hardhat', log })
  const devnet = await devnetScenario(ROOT, work, { quick: opts.quick, skip: opts.only === 'hardhat', log })
  let startup: StartupResult | undefined
  if (targets.length === 2) {
    log('\n(i) start-up …')
    try {
      startup = await startupScenario(ROOT, { rounds: opts.quick ? 1 : 5, log })
    } catch (err) {
      results.node.errors.push(`start-up: ${(err as Error).message}`)
      log(`  FAILED start-up: ${(err as Error).message}`)
    }
  }
  const load1 = loadavg()
  log(
    `\nLoad average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')} (on ${cpus().length} CPUs; a load above the CPU count makes figures noisy)`,
  )

  const out = join(ROOT, 'bench/results/latest.json')
  mkdirSync(dirname(out), { recursive: true })
  const json = {
    date: new Date().toISOString(),
    quick: opts.quick,
    only: opts.only ?? null,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      loadavgStart: load0,
      loadavgEnd: load1,
    },
    workload: {
      senders: size.senders,
      txsPerSender: size.txsPerSender,
      txs: work.raws.length,
      concurrency: CONCURRENCY,
      ethCallN: size.callN,
      blockNumberSeconds: size.rateSeconds,
    },
    ceiling: ceiling ?? null,
    engine,
    devnet: devnet ?? null,
    startup: startup ?? null,
    results: Object.fromEntries(targets.map((name) => [name, results[name]])),
    ratios: {
      automineTxPerSec: ratio(n.automine?.txPerSec, h.automine?.txPerSec) ?? null,
      intervalTxPerSec: intervalRatio ?? null,
      ethCallP50: ratio(n.ethCall?.p50Ms, h.ethCall?.p50Ms) ?? null,
      ethCallP99: ratio(n.ethCall?.p99Ms, h.ethCall?.p99Ms) ?? null,
      blockNumberReqPerSec: ratio(n.blockNumber?.reqPerSec, h.blockNumber?.reqPerSec) ?? null,
    },
    bar: bar ?? null,
  }
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`)
  log(`Results written to ${out}`)

  const failed = targets.flatMap((name) => results[name].errors.map((e) => `${name} ${e}`))
  if (ceiling?.status === 'failed') failed.push(`exec-ceiling: ${ceiling.error}`)
  if (failed.length > 0) {
    log(`\n${failed.length} scenario(s) failed:\n  ${failed.join('\n  ')}`)
    return 1
  }
  return 0
}

function verdict(v: boolean | undefined): string {
  return v === undefined ? 'n/a' : v ? 'PASS' : 'FAIL'
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`)
      process.exit(2)
    }
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
