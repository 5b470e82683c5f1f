/**
 * Section (b)/(c) of `pnpm bench` alone: pre-signed transfers from 500 senders at 32 in flight until
 * mined, for one mode, node and Hardhat alternated in the same run (for profiling and quick A/B checks).
 * Run: node --import tsx bench/throughput.ts [automine|interval] [rounds=1] [node|hardhat|both] [transfers=10000]
 * Profile the node with OL_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { describeRun, throughput } from './lib/scenarios.ts'
import { type MiningMode, startHardhat, startNode, type TargetName } from './lib/targets.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

async function main(): Promise<void> {
  installCleanup()
  const mode = (process.argv[2] ?? 'automine') as MiningMode
  const rounds = Number(process.argv[3] ?? 1)
  const which = process.argv[4] ?? 'both'
  const transfers = Number(process.argv[5] ?? 10_000)
  if (
    (mode !== 'automine' && mode !== 'interval') ||
    !Number.isSafeInteger(rounds) ||
    rounds < 1 ||
    !Number.isSafeInteger(transfers) ||
    transfers < 500 ||
    transfers % 500 !== 0
  )
    throw new Error(
      'usage: bench/throughput.ts [automine|interval] [rounds] [node|hardhat|both] [transfers, a multiple of 500]',
    )
  const names: TargetName[] = which === 'both' ? ['node', 'hardhat'] : [which as TargetName]
  const work = buildWorkload(500, transfers / 500)
  const env = { root: ROOT, work }
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
  process.stdout.write(`${cpus().length} CPUs, load average ${load()}\n`)
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const t = await (name === 'node' ? startNode : startHardhat)(env, mode)
      try {
        const tp = await throughput(t, work, 300_000)
        process.stdout.write(`${name.padEnd(8)} ${mode}: ${describeRun(tp)}\n`)
      } finally {
        await t.stop()
      }
    }
  }
  process.stdout.write(`load average at the end ${load()}\n`)
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`)
    process.exit(1)
  },
)
