/**
 * A local L1: anvil from the `@foundry-rs/anvil` npm package (its per-platform optional dependency
 * carries the binary; nothing is downloaded at run time), started as a child process on
 * 127.0.0.1 with an ephemeral port unless told otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

const PLATFORM_PACKAGES: Record<string, string | undefined> = {
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
}

/** Path of the anvil binary installed by npm for this platform. */
export function anvilBinary(): string {
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`]
  if (pkg === undefined)
    throw new Error(`anvil: no @foundry-rs/anvil binary for ${process.platform}-${process.arch}`)
  // The platform package is a dependency of @foundry-rs/anvil: resolve it from there.
  const wrapper = dirname(require.resolve('@foundry-rs/anvil/package.json'))
  const fromWrapper = createRequire(join(wrapper, 'package.json'))
  let bin: string
  try {
    bin = fromWrapper.resolve(`${pkg}/bin/${process.platform === 'win32' ? 'anvil.exe' : 'anvil'}`)
  } catch {
    throw new Error(
      `anvil: ${pkg} is not installed (run pnpm install; it is an optional dependency of @foundry-rs/anvil)`,
    )
  }
  if (!existsSync(bin)) throw new Error(`anvil: binary missing at ${bin}`)
  return bin
}

export interface AnvilOptions {
  /** 0 (default): an ephemeral port. */
  port?: number
  host?: string
  /** Interval mining every `blockTime` seconds; default automine (a block per transaction). */
  blockTime?: number
  chainId?: number
  /** Persist the chain here (anvil `--state`): loaded at start, written on exit. */
  stateFile?: string
  /** Extra anvil flags. */
  args?: string[]
  /** Each line anvil prints (stdout and stderr). */
  onLine?: (line: string) => void
  startTimeoutMs?: number
}

export interface LocalL1 {
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  /** SIGTERM (anvil then writes --state), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export async function startAnvil(opts: AnvilOptions = {}): Promise<LocalL1> {
  const host = opts.host ?? '127.0.0.1'
  const args = ['--host', host, '--port', String(opts.port ?? 0)]
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime))
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId))
  if (opts.stateFile !== undefined) args.push('--state', opts.stateFile)
  args.push(...(opts.args ?? []))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  // Never outlive the process that started it (a crashed test worker, a killed CLI).
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', reap)
      resolve()
    }),
  )
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`anvil did not start within ${opts.startTimeoutMs ?? 30_000} ms:\n${output}`))
    }, opts.startTimeoutMs ?? 30_000)
    let pending = ''
    const onData = (d: Buffer) => {
      pending += d.toString()
      let nl = pending.indexOf('\n')
      while (nl >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (output.length < 64_000) output += `${line}\n`
        opts.onLine?.(line)
        const m = /Listening on [^\s]*:(\d+)/.exec(line)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
        nl = pending.indexOf('\n')
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`anvil exited before listening (code ${code}, signal ${signal}):\n${output}`))
    })
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    child,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
