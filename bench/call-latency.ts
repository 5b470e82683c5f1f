/**
 * eth_call latency alone, node and Hardhat alternated in the same run (section (d) of `pnpm bench`
 * without the throughput phases): sequential eth_blockNumber (the HTTP + JSON floor) and eth_call x().
 * Run: node --import tsx bench/call-latency.ts [rounds]
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { fmt } from './lib/report.ts'
import { callLatency, deployContract } from './lib/scenarios.ts'
import { startHardhat, startNode, type Target } from './lib/targets.ts'
import { buildWorkload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

async function seqLatency(t: Target, method: string, params: unknown[], n: number): Promise<number> {
  for (let k = 0; k < 200; k++) await t.rpc.call(method, params)
  const times: number[] = []
  for (let k = 0; k < n; k++) {
    const s = performance.now()
    await t.rpc.call(method, params)
    times.push(performance.now() - s)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(n / 2)]!
}

async function main() {
  installCleanup()
  const rounds = Number(process.argv[2] ?? 3)
  const work = buildWorkload(2, 1)
  const env = { root: ROOT, work }
  const targets: Record<string, Target> = {
    node: await startNode(env, 'automine'),
    hardhat: await startHardhat(env, 'automine'),
  }
  try {
    for (const t of Object.values(targets)) await deployContract(t, work)
    for (let r = 0; r < rounds; r++) {
      for (const [name, t] of Object.entries(targets)) {
        const bn = await seqLatency(t, 'eth_blockNumber', [], 2000)
        const call = await callLatency(t, work, 2000)
        process.stdout.write(
          `round ${r} ${name.padEnd(8)} eth_blockNumber p50 ${fmt(bn, 3)} ms  eth_call p50 ${fmt(call.p50Ms, 3)} ms p99 ${fmt(call.p99Ms, 3)} ms\n`,
        )
      }
    }
  } finally {
    for (const t of Object.values(targets)) await t.stop()
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`)
    process.exit(1)
  },
)
