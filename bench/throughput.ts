/**
 * Section (b)/(c) of `pnpm bench` alone: 5,000 pre-signed transfers at 32 in flight until mined,
 * for one mode, node and Hardhat alternated in the same run (for profiling and quick A/B checks).
 * Run: node --import tsx bench/throughput.ts [automine|interval] [rounds=1] [node|hardhat|both]
 * Profile the node with OL_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { fmt } from './lib/report.ts'
import { throughput } from './lib/scenarios.ts'
import { type MiningMode, startHardhat, startNode, type TargetName } from './lib/targets.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** User + system CPU seconds of a process (all its threads), from /proc (Linux). */
function cpuSeconds(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined
  }
}

async function main(): Promise<void> {
  installCleanup()
  const mode = (process.argv[2] ?? 'automine') as MiningMode
  const rounds = Number(process.argv[3] ?? 1)
  const which = process.argv[4] ?? 'both'
  if ((mode !== 'automine' && mode !== 'interval') || !Number.isSafeInteger(rounds) || rounds < 1)
    throw new Error('usage: bench/throughput.ts [automine|interval] [rounds] [node|hardhat|both]')
  const names: TargetName[] = which === 'both' ? ['node', 'hardhat'] : [which as TargetName]
  const work = buildWorkload(500, 10)
  const env = { root: ROOT, work }
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const t = await (name === 'node' ? startNode : startHardhat)(env, mode)
      try {
        const cpu0 = cpuSeconds(t.pid)
        const tp = await throughput(t, work, 300_000)
        const cpu1 = cpuSeconds(t.pid)
        // Transactions per block of the run: shows how full blocks were (interval results are
        // quantised by whole blocks). Automine makes hundreds of blocks: not listed.
        const head = Number.parseInt(await t.rpc.call<string>('eth_blockNumber'), 16)
        const counts: string[] = []
        for (let b = Math.max(1, head - tp.blocks + 1); tp.blocks <= 12 && b <= head; b++) {
          const n = await t.rpc.call<string>('eth_getBlockTransactionCountByNumber', [`0x${b.toString(16)}`])
          counts.push(String(Number.parseInt(n, 16)))
        }

        const cpuPerTx = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / tp.txs : undefined
        const phases = tp.time
          ? Object.entries(tp.time.phases)
              .map(([k, v]) => `${k} ${fmt(v, 2)}`)
              .join(', ')
          : ''
        process.stdout.write(
          `${name.padEnd(8)} ${mode}: ${fmt(tp.txPerSec)} tx/s (${tp.blocks} blocks, sends done ${fmt(tp.sendSeconds, 2)} s, all mined ${fmt(tp.seconds, 2)} s${counts.length > 0 ? `, txs per block ${counts.join('/')}` : ''}${cpuPerTx !== undefined ? `, process CPU ${fmt(cpuPerTx)} µs/tx` : ''})${phases ? ` [${phases} s]` : ''}\n`,
        )
      } finally {
        await t.stop()
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`)
    process.exit(1)
  },
)
