/**
 * The devnet benchmark alone: `node --import tsx bench/devnet.ts [--quick | --sustained]`
 * (`npx -y pnpm@10 bench:devnet …`). Also part of `pnpm bench` (section h).
 *  --quick      500 transfers (100 senders × 5): a smoke run;
 *  (default)    5,000 transfers (500 senders × 10), as in `pnpm bench`;
 *  --sustained  40,000 transfers (500 senders × 80): over 60 s of load at the 600 tx/s goal.
 *  --no-sync    skip the sync figure.
 *  --profile    run the validators with --cpu-prof and print where the CPU per transaction goes
 *               (all threads of the four nodes, load window only; bench/lib/cpu-profile.ts).
 * Environment: OL_BENCH_RT=<s> overrides the round-0 timeout of the generated genesis;
 * OL_BENCH_NODE_LOG=<prefix> writes each node's debug log to <prefix>-<node>.log;
 * OL_BENCH_NODE_FLAGS passes Node flags (e.g. --cpu-prof) to every node.
 */
import { loadavg } from 'node:os'
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
installCleanup()
const out = (s = '') => process.stdout.write(`${s}\n`)
out(
  `devnet bench: load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the start`,
)
const t = performance.now()
const w = buildWorkload(quick ? 100 : 500, quick ? 5 : sustained ? 80 : 10)
out(`signed ${w.raws.length} transfers in ${fmt((performance.now() - t) / 1000, 1)} s (not measured)`)
const profileDir = process.argv.includes('--profile') ? makeTempDir('openledger-devnet-prof-') : undefined
const r = await devnetThroughput(ROOT, w, 4, {
  nodeFlags: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
})
out(`4-validator devnet (4 processes, QBFT, 1 s blocks):`)
for (const line of formatDevnet(r, '  ')) out(line)
if (profileDir && r.window && r.cpuSeconds !== undefined) {
  const parts = cpuBreakdown(profileDir, r.window, r.cpuSeconds, r.txs)
  const total = parts.reduce((a, b) => a + b.ms, 0)
  out(
    `  where the CPU goes (--cpu-prof, all threads of the four nodes; ms per transaction, total ${fmt(total, 2)}):`,
  )
  for (const p of parts.filter((p) => p.ms >= 0.005)) out(`    ${p.component.padEnd(40)} ${fmt(p.ms, 3)}`)
  removeTempDir(profileDir)
}
out(`  peak RSS ${mib(r.rssTotalBytes)} total (${r.rssEachBytes.map(mib).join(', ')})`)
if (!process.argv.includes('--no-sync')) await syncSection(ROOT, { quick, log: out })
process.exit(0)
