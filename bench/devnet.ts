/**
 * The devnet benchmark alone: `node --import tsx bench/devnet.ts [--quick | --sustained]`
 * (`npx -y pnpm@10 bench:devnet …`). Also part of `pnpm bench` (section h).
 *  --quick      500 transfers (100 senders × 5): a smoke run;
 *  (default)    5,000 transfers (500 senders × 10), as in `pnpm bench`;
 *  --sustained  issue 16's figure: a timed load, 5 s of warm-up then a 60 s window (--window S),
 *               32 in flight, from 100,000 pre-signed transfers (500 senders × 200; signed once
 *               and kept in the OS temp dir). Committed tx/s = transactions in the blocks sealed
 *               inside the window / the window; also the lowest 10 s span, the transactions of
 *               every block and where the block cycle goes.
 *  --no-sync    skip the sync figure.
 *  --timeline   print the load second by second: sends answered, transactions committed, the
 *               validators' CPU (main threads, other threads) and the load generator's
 *               (bench/lib/devnet-timeline.ts): where a slow start comes from.
 *  --profile    run the validators with --cpu-prof and print where the CPU per transaction goes
 *               (all threads of the four nodes, load window only; bench/lib/cpu-profile.ts).
 * Environment: OL_BENCH_RT=<s> overrides the round-0 timeout of the generated genesis;
 * OL_BENCH_NODE_LOG=<prefix> writes each node's debug log to <prefix>-<node>.log;
 * OL_BENCH_NODE_FLAGS passes Node flags (e.g. --cpu-prof) to every node.
 */
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuBreakdown } from './lib/cpu-profile.ts'
import { devnetThroughput, formatDevnet } from './lib/devnet.ts'
import { installCleanup, makeTempDir, removeTempDir } from './lib/proc.ts'
import { fmt, mib } from './lib/report.ts'
import { syncSection } from './lib/sync.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const quick = process.argv.includes('--quick')
const sustained = process.argv.includes('--sustained')
const windowArg = process.argv.indexOf('--window')
const windowS = windowArg > 0 ? Number(process.argv[windowArg + 1]) : 60
if (!(windowS >= 10)) throw new Error('--window: seconds, at least 10')
installCleanup()
const out = (s = '') => process.stdout.write(`${s}\n`)
out(
  `devnet bench: load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the start`,
)
const t = performance.now()
const w = sustained ? buildWorkload(500, 200, tmpdir()) : buildWorkload(quick ? 100 : 500, quick ? 5 : 10)
out(
  `signed (or read) ${w.raws.length} transfers in ${fmt((performance.now() - t) / 1000, 1)} s (not measured)`,
)
const profileDir = process.argv.includes('--profile') ? makeTempDir('openledger-devnet-prof-') : undefined
const r = await devnetThroughput(ROOT, w, 4, {
  nodeFlags: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
  timed: sustained ? { warmupMs: 5_000, windowMs: windowS * 1000 } : undefined,
  timeline: process.argv.includes('--timeline'),
})
out(`4-validator devnet (4 processes, QBFT, 1 s blocks):`)
for (const line of formatDevnet(r, '  ')) out(line)
if (profileDir && r.window && r.cpuSeconds !== undefined) {
  const parts = cpuBreakdown(profileDir, r.window, r.cpuSeconds, r.sent)
  const total = parts.reduce((a, b) => a + b.ms, 0)
  out(
    `  where the CPU goes (--cpu-prof, all threads of the four nodes; ms per transaction, total ${fmt(total, 2)}):`,
  )
  for (const p of parts.filter((p) => p.ms >= 0.005)) out(`    ${p.component.padEnd(40)} ${fmt(p.ms, 3)}`)
  removeTempDir(profileDir)
}
out(`  peak RSS ${mib(r.rssTotalBytes)} total (${r.rssEachBytes.map(mib).join(', ')})`)
if (sustained) {
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
  out(
    `  issue 16 (≥ 600 tx/s over ${windowS} s and in every 10 s span, p50 ≤ 1.5 s, p99 ≤ 3 s, 0 round changes): ${met(r.txPerSec >= 600 && r.ranOutAtS === undefined)}, ${met(r.minWindowTxPerSec >= 600)}, ${met(r.latencyP50Ms <= 1500)}, ${met(r.latencyP99Ms <= 3000)}, ${met(r.roundChanges === 0)}`,
  )
}
if (!process.argv.includes('--no-sync')) await syncSection(ROOT, { quick, log: out })
process.exit(0)
