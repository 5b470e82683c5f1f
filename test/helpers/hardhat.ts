/**
 * A real `hardhat node` (Hardhat 2.29, the devDependency) as a reference chain for differential
 * tests and the fuzzer: a temporary project whose node_modules links to ours (Hardhat needs a
 * local install), on 127.0.0.1 with an ephemeral port, stopped with SIGTERM (SIGKILL if it lingers).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface HardhatNode {
  url: string
  stop(): Promise<void>
}

export interface HardhatOptions {
  chainId?: number
  /** Hardhat's hardfork name (its default in 2.29 is osaka). */
  hardfork?: string
  accounts?: Array<{ privateKey: string; balance: string }>
  blockGasLimit?: number
  initialBaseFeePerGas?: number
  allowUnlimitedContractSize?: boolean
}

export async function startHardhatNode(opts: HardhatOptions = {}, timeoutMs = 60_000): Promise<HardhatNode> {
  const dir = mkdtempSync(join(tmpdir(), 'hardhat-ref-'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), '{"name":"hardhat-ref","private":true}\n')
  const network: Record<string, unknown> = {
    chainId: opts.chainId ?? 31337,
    hardfork: opts.hardfork ?? 'prague',
  }
  if (opts.accounts) network.accounts = opts.accounts
  if (opts.blockGasLimit) network.blockGasLimit = opts.blockGasLimit
  if (opts.initialBaseFeePerGas !== undefined) network.initialBaseFeePerGas = opts.initialBaseFeePerGas
  if (opts.allowUnlimitedContractSize) network.allowUnlimitedContractSize = true
  writeFileSync(
    join(dir, 'hardhat.config.cjs'),
    `module.exports = ${JSON.stringify({ networks: { hardhat: network } })}\n`,
  )
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/hardhat/internal/cli/bootstrap.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      '0',
      '--config',
      'hardhat.config.cjs',
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`hardhat node did not start in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    )
    const onData = (d: Buffer) => {
      out += d
      const m = /Started HTTP and WebSocket JSON-RPC server at (http:\/\/[\d.]+:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`hardhat node exited:\n${out}`))
    })
  }).catch(async (e) => {
    await stop()
    throw e
  })
  // Hardhat logs every request; the output would grow without bound in long runs.
  child.stdout!.removeAllListeners('data')
  child.stdout!.resume()
  child.stderr!.resume()
  await rpc(url, 'hardhat_setLoggingEnabled', [false])
  return { url, stop }
}

/** One JSON-RPC request; returns the whole response object ({result} or {error}). */
export async function rpcRaw(
  url: string,
  method: string,
  params: unknown[],
): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } }
}

export async function rpc<T = unknown>(url: string, method: string, params: unknown[]): Promise<T> {
  const r = await rpcRaw(url, method, params)
  if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
  return r.result as T
}
