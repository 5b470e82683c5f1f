/** Child processes of the benchmark: spawned, tracked and always killed (exit, error, SIGINT). */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  tempDirs.clear()
}

/** A fresh directory under the OS temp dir, removed by removeTempDir or, at the latest, on exit. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

let hooked = false
/** Installs the handlers that kill every child when the benchmark ends, fails or is interrupted. */
export function installCleanup(): void {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`)
      killAll()
      process.exit(130)
    })
  }
}

export interface Child {
  proc: ChildProcess
  pid: number
  /** Last lines of stderr and stdout, for error messages. */
  tail(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>
  /** Rejects as soon as the process exits (used to race readiness waits). */
  exited: Promise<never>
}

/** Spawns a process whose output is read continuously (never back-pressured) and kept as a short tail. */
export function startChild(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; name: string; onLine?: (line: string) => void },
): Child {
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (proc.pid === undefined) throw new Error(`${opts.name}: could not spawn ${cmd}`)
  children.add(proc)
  const lines: string[] = []
  // Split into lines per stream (a chunk can end mid-line); keep only a short tail.
  const reader = () => {
    let partial = ''
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n')
      partial = parts.pop() ?? ''
      for (const l of parts) {
        if (!l.trim()) continue
        lines.push(l)
        opts.onLine?.(l)
      }
      if (lines.length > 40) lines.splice(0, lines.length - 40)
    }
  }
  proc.on('error', (err) => lines.push(`${opts.name}: ${err.message}`))
  proc.stdout?.on('data', reader())
  proc.stderr?.on('data', reader())
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const exited = gone.then(() => {
    throw new Error(
      `${opts.name} exited (code ${proc.exitCode ?? proc.signalCode}):\n${lines.slice(-15).join('\n')}`,
    )
  })
  exited.catch(() => {}) // only meaningful when raced
  proc.once('exit', () => children.delete(proc))
  return {
    proc,
    pid: proc.pid,
    tail: () => lines.slice(-15).join('\n'),
    exited,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(timer)
    },
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

/** Peak resident set size (VmHWM) of a live Linux process, in bytes; undefined elsewhere. */
export function peakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** CPU time (user + system, all threads) a live process has used so far, in ms; undefined off Linux. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS
  } catch {
    return undefined
  }
}
/** USER_HZ of Linux's /proc times (100 on every common kernel configuration). */
const CLOCK_TICKS = 100

/** Resolves with `p`, or rejects with a message naming `what` after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${Math.round(ms / 1000)} s`)), ms)
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `fn` every 100 ms until it resolves true (a rejection counts as false); throws after `timeoutMs`. */
export async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
