/**
 * The devnet benchmark alone: `node --import tsx bench/devnet.ts [--quick]`.
 * Also part of `pnpm bench` (section h). Environment: OL_BENCH_RT=<s> overrides the round-0
 * timeout of the generated genesis; OL_BENCH_NODE_LOG=<prefix> writes each node's debug log to
 * <prefix>-<node>.log; OL_BENCH_NODE_FLAGS passes Node flags (e.g. --cpu-prof) to every node.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { devnetThroughput } from './lib/devnet.ts'
import { installCleanup } from './lib/proc.ts'
import { fmt, mib } from './lib/report.ts'
import { syncSection } from './lib/sync.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const quick = process.argv.includes('--quick')
installCleanup()
const w = buildWorkload(quick ? 100 : 500, quick ? 5 : 10)
const r = await devnetThroughput(ROOT, w)
process.stdout.write(
  `4-validator devnet: ${fmt(r.txPerSec)} tx/s sustained (${r.txs} txs in ${fmt(r.seconds, 2)} s, ${r.blocks} blocks, ${r.roundChanges} round changes); submit → finalised p50 ${fmt(r.latencyP50Ms)} ms, p99 ${fmt(r.latencyP99Ms)} ms; peak RSS ${mib(r.rssTotalBytes)} total (${r.rssEachBytes.map(mib).join(', ')})\n`,
)
await syncSection(ROOT, { quick, log: (l = '') => process.stdout.write(`${l}\n`) })
process.exit(0)
