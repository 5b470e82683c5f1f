/**
 * `pnpm bench`: OpenLedger Node against Hardhat Network 2.29 on the same machine, in the same run.
 *   (a) raw execution ceiling (packages/evm-runtime/bench/exec-ceiling.ts)
 *   (b)/(c) pre-signed transfers via eth_sendRawTransaction at 32 in flight until all are mined,
 *           automine and 1 s interval, for both nodes
 *   (d) eth_call p50/p99 and eth_blockNumber req/s, for both nodes
 *   (e) attribution modules: settlements/s and gas per CPU-µs against EVM execution
 *   (f) inference provider answers/s; (g) attribution engine index build and query latency
 *   (h) 4-validator QBFT devnet: sustained tx/s, submit → final latency, RSS; fresh-node sync blocks/s
 *   (i) start-up to the first eth_chainId and peak RSS: `openledger dev` bundled and running dist/
 *       module by module, and `hardhat node` (bench/lib/startup.ts; needs `pnpm build`)
 * Prints tables with node/Hardhat ratios, where our node's time went, its peak RSS, and writes
 * bench/results/latest.json. Flags: --quick, --only node|hardhat, --sections <letters> (e.g. `bcdi`:
 * the dev-mode figures of issue 16 only), --transfers <n> (a multiple of 500; default 5,000, 500
 * with --quick; issue 16 asks for 10,000), --help.
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
  describeRun,
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
  /** Section letters to run (a–i); all by default. */
  sections: Set<string>
  transfers?: number
}

const USAGE =
  'usage: pnpm bench [--quick] [--only node|hardhat] [--sections <letters a-i>] [--transfers <multiple of 500>]'

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, sections: new Set('abcdefghi') }
  const value = (a: string, i: number): [string | undefined, number] =>
    a.includes('=') ? [a.slice(a.indexOf('=') + 1), i] : [argv[i + 1], i + 1]
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--quick') o.quick = true
    else if (a === '--sections' || a.startsWith('--sections=')) {
      const [v, j] = value(a, i)
      i = j
      if (!v || !/^[a-i]+$/.test(v))
        throw new UsageError(`--sections expects letters a to i, got ${v ?? 'nothing'}`)
      o.sections = new Set(v)
    } else if (a === '--transfers' || a.startsWith('--transfers=')) {
      const [v, j] = value(a, i)
      i = j
      const n = Number(v)
      if (!Number.isSafeInteger(n) || n < 500 || n % 500 !== 0)
        throw new UsageError(`--transfers expects a multiple of 500, got ${v ?? 'nothing'}`)
      o.transfers = n
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i]
      if (v !== 'node' && v !== 'hardhat')
        throw new UsageError(`--only expects "node" or "hardhat", got ${v ?? 'nothing'}`)
      o.only = v
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else if (a !== '--') throw new UsageError(`unknown argument ${a} (${USAGE})`)
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
  if (opts.transfers !== undefined) {
    size.senders = 500
    size.txsPerSender = opts.transfers / 500
  }
  const has = (letters: string) => [...letters].some((l) => opts.sections.has(l))
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
  if (opts.only !== 'hardhat' && has('a')) {
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
  const modes = (['automine', 'interval'] as MiningMode[]).filter((m) =>
    m === 'automine' ? has('bd') : has('c'),
  )
  for (const mode of modes) {
    for (const name of targets) {
      const r = results[name]
      log(`\n${name} ${mode}: starting …`)
      let target: Target | undefined
      try {
        target = await (name === 'node' ? startNode : startHardhat)(env, mode)
        if (mode === 'automine') await deployContract(target, work)
        if (mode === 'interval' || has('b')) {
          const tp = await throughput(target, work, size.timeoutMs)
          r[mode] = tp
          log(`  ${describeRun(tp)}`)
        }
        if (mode === 'automine' && has('d')) {
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
        row('automine txs/block (mean)', perBlock(n.automine), perBlock(h.automine), 1, false),
        row('interval txs/block (mean)', perBlock(n.interval), perBlock(h.interval), 1, false),
        row('automine CPU µs/tx (process)', n.automine?.cpuMicrosPerTx, h.automine?.cpuMicrosPerTx),
        row('interval CPU µs/tx (process)', n.interval?.cpuMicrosPerTx, h.interval?.cpuMicrosPerTx),
        row('block gas limit (M)', gasM(n.interval ?? n.automine), gasM(h.interval ?? h.automine), 0, false),
      ],
    ),
  )
  for (const name of targets)
    if (results[name].interval?.txsPerBlock)
      log(`${name} interval, txs per block: ${results[name].interval!.txsPerBlock!.join('/')}`)
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
  const automineRatio = ratio(n.automine?.txPerSec, h.automine?.txPerSec)
  const peakOf = (r: TargetResults) =>
    Math.max(0, ...Object.values(r.peakRssBytes).filter((v): v is number => v !== undefined)) || undefined
  const peak = peakOf(n)
  const hardhatPeak = peakOf(h)
  const rssRatio = ratio(peak, hardhatPeak)
  const both = <T>(a: T | undefined, b: T | undefined, f: (a: T, b: T) => boolean) =>
    a === undefined || b === undefined ? undefined : f(a, b)
  const bar =
    targets.length === 2
      ? {
          intervalAtLeast15xHardhat: intervalRatio === undefined ? undefined : intervalRatio >= 1.5,
          automineAtLeast15xHardhat: automineRatio === undefined ? undefined : automineRatio >= 1.5,
          ethCallP50AtMostHardhat: both(n.ethCall, h.ethCall, (a, b) => a.p50Ms <= b.p50Ms),
          ethCallP99AtMostHardhat: both(n.ethCall, h.ethCall, (a, b) => a.p99Ms <= b.p99Ms),
          peakRssAtMost15xHardhat: rssRatio === undefined ? undefined : rssRatio <= 1.5,
          peakRssAtMost1GiB: peak === undefined ? undefined : peak <= GIB,
        }
      : undefined
  if (bar) {
    log('\nBar of issue 16 (dev mode; start-up is judged in section (i))')
    log(
      `  interval tx/s ≥ 1.5× Hardhat:  ${verdict(bar.intervalAtLeast15xHardhat)} (${fmt(intervalRatio, 2)}×)`,
    )
    log(
      `  automine tx/s ≥ 1.5× Hardhat:  ${verdict(bar.automineAtLeast15xHardhat)} (${fmt(automineRatio, 2)}×)`,
    )
    log(`  eth_call p50 ≤ Hardhat's:      ${verdict(bar.ethCallP50AtMostHardhat)}`)
    log(`  eth_call p99 ≤ Hardhat's:      ${verdict(bar.ethCallP99AtMostHardhat)}`)
    log(
      `  peak RSS ≤ 1.5× Hardhat's:     ${verdict(bar.peakRssAtMost15xHardhat)} (${mib(peak)} vs ${mib(hardhatPeak)}, ${fmt(rssRatio, 2)}×)`,
    )
  }
  const skip = (letter: string) => opts.only === 'hardhat' || !has(letter)
  await attributionScenario(ROOT, { quick: opts.quick, skip: skip('e'), log })
  await providerScenario({ quick: opts.quick, skip: skip('f'), log })
  const engine = await engineScenario(ROOT, { quick: opts.quick, skip: skip('g'), log })
  const devnet = await devnetScenario(ROOT, work, { quick: opts.quick, skip: skip('h'), log })
  let startup: StartupResult | undefined
  if (targets.length === 2 && has('i')) {
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

const perBlock = (tp: ThroughputResult | undefined) => (tp ? tp.txs / Math.max(1, tp.blocks) : undefined)
const gasM = (tp: ThroughputResult | undefined) => (tp ? tp.gasLimit / 1e6 : undefined)

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
