/**
 * The sync benchmark alone: `node --import tsx bench/sync.ts [--quick] [--runs N] [--baseline DIR]`
 * (`pnpm bench:sync`). `--baseline DIR`: the node of another built checkout (e.g. a `git worktree`
 * of an older commit, installed) syncs the same chains right after ours, for a same-run ratio. Also part of `pnpm bench` (section h). A fresh `openledger node` syncs from
 * one peer over libp2p: sealed empty blocks/s, and tx/s replaying blocks full of transfers and
 * ERC-20 transfers, each with the syncing node's breakdown per phase. OL_BENCH_NODE_FLAGS passes
 * Node flags (e.g. --cpu-prof) to both nodes.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { syncSection } from './lib/sync.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const quick = process.argv.includes('--quick')
const runsAt = process.argv.indexOf('--runs')
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 1
const baseAt = process.argv.indexOf('--baseline')
const baseline = baseAt > 0 ? process.argv[baseAt + 1] : undefined
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer')
installCleanup()
const log = (s = '') => process.stdout.write(`${s}\n`)
let failed = false
for (let i = 1; i <= runs; i++) {
  log(`sync run ${i} of ${runs}${quick ? ' (quick)' : ''}`)
  const s = await syncSection(ROOT, { quick, log, baseline })
  if (s === undefined || s.replay === undefined) failed = true
}
process.exit(failed ? 1 : 0)
