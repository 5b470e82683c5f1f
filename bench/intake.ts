/**
 * Transaction intake alone: the workload's pre-signed transfers sent with eth_sendRawTransaction at
 * 32 in flight to `openledger dev --no-mining` (nothing is mined, so block building and commits do
 * not share the CPU with admission), until every send is answered. Prints admission tx/s, process
 * CPU µs/tx (all threads) and the main thread's CPU µs/tx (from /proc/<pid>/task/<pid>/stat). CPU
 * per transaction is the figure a loaded machine distorts least.
 * Run (after `pnpm build`): node --import tsx bench/intake.ts [rounds=3] [transfers=5000] [--baseline DIR]
 * `--baseline DIR`: another built checkout's node, alternated with ours in each round (same-run A/B).
 * `--chunks N`: also the CPU µs/tx of every N answered sends in turn (process, main thread): the
 * warm-up curve of a fresh process (lazy compilation, optimisation, the recovery worker's start).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup, makeTempDir, removeTempDir } from './lib/proc.ts'
import { RpcClient } from './lib/rpc.ts'
import { CONCURRENCY, cpuSeconds } from './lib/scenarios.ts'
import { launchDevNode } from './lib/targets.ts'
import { buildWorkload, nodeGenesis, type Workload } from './lib/workload.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** CPU seconds of one thread (the main thread: task id = pid). */
function threadCpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** CPU seconds per thread name (V8 and libuv name their threads), summed over threads of a name. */
function threadsCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name =
        tid === String(pid) ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}#${tid}`
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100)
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out
}

interface IntakeRun {
  txPerSec: number
  cpuUs: number
  mainUs: number
  /** CPU µs/tx per thread name, largest first. */
  threads: Array<[string, number]>
  /** --chunks: [process, main thread] CPU µs/tx of each chunk of answered sends, in order. */
  chunks: Array<[number, number]>
}

async function run(root: string, work: Workload, chunk: number): Promise<IntakeRun> {
  const dir = makeTempDir('openledger-intake-')
  try {
    const genesis = nodeGenesis(work, join(root, 'genesis/devnet.json'))
    const node = await launchDevNode(root, dir, genesis, 'none')
    try {
      const rpc = new RpcClient(node.rpcUrl)
      const pid = node.child.pid
      const cpu0 = cpuSeconds(pid)!
      const main0 = threadCpuSeconds(pid)
      const threads0 = threadsCpu(pid)
      const t0 = performance.now()
      let i = 0
      let answered = 0
      const chunks: Array<[number, number]> = []
      let last = [cpu0, main0]
      const worker = async () => {
        for (let raw = work.raws[i++]; raw !== undefined; raw = work.raws[i++]) {
          await rpc.call('eth_sendRawTransaction', [raw])
          if (chunk > 0 && ++answered % chunk === 0) {
            const now = [cpuSeconds(pid)!, threadCpuSeconds(pid)]
            chunks.push([((now[0]! - last[0]!) * 1e6) / chunk, ((now[1]! - last[1]!) * 1e6) / chunk])
            last = now
          }
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const seconds = (performance.now() - t0) / 1000
      const n = work.raws.length
      const threads = [...threadsCpu(pid)]
        .map(([name, s]): [string, number] => [name, ((s - (threads0.get(name) ?? 0)) * 1e6) / n])
        .filter(([, us]) => us >= 1)
        .sort((a, b) => b[1] - a[1])
      return {
        txPerSec: n / seconds,
        cpuUs: ((cpuSeconds(pid)! - cpu0) * 1e6) / n,
        mainUs: ((threadCpuSeconds(pid) - main0) * 1e6) / n,
        threads,
        chunks,
      }
    } finally {
      await node.child.stop()
    }
  } finally {
    removeTempDir(dir)
  }
}

async function main(): Promise<void> {
  installCleanup()
  const args = process.argv.slice(2)
  const baseAt = args.indexOf('--baseline')
  const baseline = baseAt >= 0 ? args.splice(baseAt, 2)[1] : undefined
  const chunksAt = args.indexOf('--chunks')
  const chunk = chunksAt >= 0 ? Number(args.splice(chunksAt, 2)[1]) : 0
  if (!Number.isSafeInteger(chunk) || chunk < 0) throw new Error('--chunks: a number of sends')
  const rounds = Number(args[0] ?? 3)
  const transfers = Number(args[1] ?? 5000)
  if (
    !Number.isSafeInteger(rounds) ||
    rounds < 1 ||
    transfers % 500 !== 0 ||
    transfers < 500 ||
    transfers > 20_000
  )
    throw new Error(
      'usage: bench/intake.ts [rounds] [transfers: a multiple of 500, ≤ 20,000] [--baseline DIR]',
    )
  // ≤ 40 per sender: within the pool's per-sender limit (64), nothing is evicted.
  const work = buildWorkload(500, transfers / 500)
  const targets: Array<[string, string]> = baseline
    ? [
        ['baseline', baseline],
        ['this', ROOT],
      ]
    : [['this', ROOT]]
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  process.stdout.write(`intake: ${transfers} transfers, ${CONCURRENCY} in flight, --no-mining\n`)
  for (let r = 1; r <= rounds; r++) {
    for (const [name, root] of targets) {
      const load = loadavg()
      const x = await run(root, work, chunk)
      process.stdout.write(
        `round ${r} ${name.padEnd(8)} ${x.txPerSec.toFixed(0).padStart(5)} tx/s admitted, ` +
          `process CPU ${x.cpuUs.toFixed(0)} µs/tx, main thread ${x.mainUs.toFixed(0)} µs/tx (load ${load})\n` +
          `        threads µs/tx: ${x.threads.map(([t, us]) => `${t} ${us.toFixed(0)}`).join(', ')}\n` +
          (x.chunks.length > 0
            ? `        per ${chunk} sends, process / main µs/tx: ${x.chunks.map(([p, m]) => `${p.toFixed(0)}/${m.toFixed(0)}`).join(' ')}\n`
            : ''),
      )
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
