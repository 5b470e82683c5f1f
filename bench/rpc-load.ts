/**
 * `pnpm bench:rpc`: eth_blockNumber latency and block-production delay while N heavy eth_calls run
 * (N = 0, 8, 200), with RPC execution on the main thread (time-sliced) and on a worker thread, on
 * `openledger dev --block-time 1` and (with --devnet) on a 4-validator devnet. See bench/lib/rpc-load.ts.
 * Flags: --quick (5 s windows), --seconds S, --n 0,8,200, --threads 0,1, --devnet.
 */

import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { loadTable, rpcLoadScenario } from './lib/rpc-load.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const log = (s = '') => process.stdout.write(`${s}\n`)
const nums = (v: string | undefined, flag: string): number[] => {
  const out = (v ?? '').split(',').map(Number)
  if (out.length === 0 || out.some((x) => !Number.isInteger(x) || x < 0))
    throw new Error(`${flag} expects comma-separated non-negative integers, got ${v ?? 'nothing'}`)
  return out
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  let seconds = 20
  let ns = [0, 8, 200]
  let threads = [0, 1]
  let devnet = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--quick') seconds = 5
    else if (a === '--seconds') seconds = nums(argv[++i], a)[0]!
    else if (a === '--n') ns = nums(argv[++i], a)
    else if (a === '--threads') threads = nums(argv[++i], a)
    else if (a === '--devnet') devnet = true
    else if (a === '--help' || a === '-h') {
      log('usage: pnpm bench:rpc [--quick] [--seconds S] [--n 0,8,200] [--threads 0,1] [--devnet]')
      return
    } else if (a !== '--') throw new Error(`unknown argument ${a}`)
  }
  installCleanup()
  log(
    `(i) heavy RPC execution: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
  const results = await rpcLoadScenario(ROOT, { seconds, ns, threads, devnet, log })
  log()
  log(loadTable(results))
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:rpc: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
