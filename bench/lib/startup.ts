/**
 * Start-up benchmark (issue 12): time from spawning the process to its first answer to
 * `eth_chainId`, and its peak resident memory (VmHWM) once it has settled, for `openledger dev`
 * (the bundle of the compiled dist/, as users run it), the same command running dist/ module by
 * module (`OPENLEDGER_BUNDLE=0`: what the binary did before the bundle), and `hardhat node`,
 * interleaved round by round so that load drift hits all alike. Each start uses a fresh temporary directory and free port.
 */
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cpuMs, freePort, makeTempDir, peakRss, removeTempDir, startChild, withTimeout } from './proc.ts'
import { fmt, mib, ratio, table } from './report.ts'

export type StartupTarget = 'openledger' | 'openledger-modules' | 'hardhat'

export interface StartupSample {
  /** Spawn → first successful eth_chainId answer. */
  startMs: number
  /** CPU time (all threads) the process had used by then: less distorted by a loaded machine. */
  startCpuMs?: number
  /** VmHWM after `settleMs` more of idling (workers, timers and the first blocks have started). */
  peakRssBytes?: number
}

export interface StartupResult {
  rounds: number
  settleMs: number
  samples: Record<StartupTarget, StartupSample[]>
  medianStartMs: Partial<Record<StartupTarget, number>>
  medianStartCpuMs: Partial<Record<StartupTarget, number>>
  medianPeakRssBytes: Partial<Record<StartupTarget, number>>
}

const START_TIMEOUT_MS = 120_000
const POLL_MS = 10

async function chainIdAnswered(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
      signal: AbortSignal.timeout(2000),
    })
    const body = (await res.json()) as { result?: unknown }
    return typeof body.result === 'string'
  } catch {
    return false
  }
}

function command(root: string, target: StartupTarget, dir: string, port: number) {
  if (target === 'hardhat') {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    writeFileSync(join(dir, 'package.json'), '{"name":"hardhat-startup","private":true}\n')
    writeFileSync(join(dir, 'hardhat.config.cjs'), 'module.exports = {}\n')
    return {
      args: [join(root, 'node_modules/hardhat/internal/cli/bootstrap.js'), 'node', '--port', String(port)],
      env: { ...process.env, CI: 'true', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    }
  }
  // Compiled JavaScript either way: without the source condition (see bin/openledger.mjs).
  const nodeOptions = (process.env.NODE_OPTIONS ?? '').replace(/--conditions=@openledger\/source/g, '')
  return {
    args: [join(root, 'packages/node/bin/openledger.mjs'), 'dev', '--port', String(port)],
    env: {
      ...process.env,
      NODE_OPTIONS: nodeOptions.trim(),
      OPENLEDGER_BUNDLE: target === 'openledger-modules' ? '0' : '1',
    },
  }
}

async function startOnce(root: string, target: StartupTarget, settleMs: number): Promise<StartupSample> {
  const dir = makeTempDir(`startup-${target}-`)
  const port = await freePort()
  const { args, env } = command(root, target, dir, port)
  const url = `http://127.0.0.1:${port}`
  const t0 = performance.now()
  const child = startChild(process.execPath, args, { cwd: dir, env, name: target })
  try {
    const ready = (async () => {
      while (!(await chainIdAnswered(url))) await new Promise((r) => setTimeout(r, POLL_MS))
    })()
    await withTimeout(Promise.race([ready, child.exited]), START_TIMEOUT_MS, `${target} start`)
    const startMs = performance.now() - t0
    const startCpuMs = cpuMs(child.pid)
    await new Promise((r) => setTimeout(r, settleMs))
    return { startMs, startCpuMs, peakRssBytes: peakRss(child.pid) }
  } finally {
    await child.stop()
    removeTempDir(dir)
  }
}

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export async function startupScenario(
  root: string,
  opts: { rounds: number; settleMs?: number; log: (line: string) => void },
): Promise<StartupResult> {
  const settleMs = opts.settleMs ?? 2000
  const targets: StartupTarget[] = ['openledger', 'openledger-modules', 'hardhat']
  const samples: Record<StartupTarget, StartupSample[]> = {
    openledger: [],
    'openledger-modules': [],
    hardhat: [],
  }
  for (let round = 1; round <= opts.rounds; round++) {
    for (const t of targets) {
      const s = await startOnce(root, t, settleMs)
      samples[t].push(s)
      opts.log(
        `  round ${round} ${t}: first eth_chainId after ${fmt(s.startMs)} ms (CPU ${fmt(s.startCpuMs)} ms), peak RSS ${mib(s.peakRssBytes)}`,
      )
    }
  }
  const medianStartMs: StartupResult['medianStartMs'] = {}
  const medianStartCpuMs: StartupResult['medianStartCpuMs'] = {}
  const medianPeakRssBytes: StartupResult['medianPeakRssBytes'] = {}
  for (const t of targets) {
    medianStartMs[t] = median(samples[t].map((s) => s.startMs))
    medianStartCpuMs[t] = median(
      samples[t].flatMap((s) => (s.startCpuMs === undefined ? [] : [s.startCpuMs])),
    )
    medianPeakRssBytes[t] = median(
      samples[t].flatMap((s) => (s.peakRssBytes === undefined ? [] : [s.peakRssBytes])),
    )
  }
  const h = { start: medianStartMs.hardhat, cpu: medianStartCpuMs.hardhat, rss: medianPeakRssBytes.hardhat }
  opts.log(
    `\nStart-up to first eth_chainId and peak RSS ${settleMs} ms later, median of ${opts.rounds} (lower is better)`,
  )
  opts.log(
    table(
      ['target', 'start-up ms', 'CPU ms', 'peak RSS', '× Hardhat start', '× Hardhat CPU', '× Hardhat RSS'],
      targets.map((t) => [
        t === 'openledger'
          ? 'openledger dev (bundle)'
          : t === 'openledger-modules'
            ? 'openledger dev (dist modules)'
            : 'hardhat node',
        fmt(medianStartMs[t]),
        fmt(medianStartCpuMs[t]),
        mib(medianPeakRssBytes[t]),
        fmt(ratio(medianStartMs[t], h.start), 2),
        fmt(ratio(medianStartCpuMs[t], h.cpu), 2),
        fmt(ratio(medianPeakRssBytes[t], h.rss), 2),
      ]),
    ),
  )
  const sRatio = ratio(medianStartMs.openledger, h.start)
  const rRatio = ratio(medianPeakRssBytes.openledger, h.rss)
  opts.log(
    `  goal start-up ≤ Hardhat's: ${sRatio === undefined ? 'n/a' : sRatio <= 1 ? 'met' : 'NOT met'} (${fmt(sRatio, 2)}×); ` +
      `goal RSS ≤ 1.5× Hardhat's: ${rRatio === undefined ? 'n/a' : rRatio <= 1.5 ? 'met' : 'NOT met'} (${fmt(rRatio, 2)}×)`,
  )
  return { rounds: opts.rounds, settleMs, samples, medianStartMs, medianStartCpuMs, medianPeakRssBytes }
}
