/** Starts real dev nodes for tests: in-process on 127.0.0.1 with an ephemeral port, or as a real
 * `openledger dev` child process (for kill -9 tests). */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseGenesis } from '@openledger/evm-runtime'
import {
  buildDevGenesis,
  deriveDevAccounts,
  hex,
  type MiningMode,
  OpenLedgerNode,
  silentLogger,
} from '@openledger/node'
import { getAddress } from 'viem'

const devAccounts = deriveDevAccounts(5)
/** The first dev accounts of the standard mnemonic: 0x private keys and checksummed addresses. */
export const DEV_KEYS = devAccounts.map((a) => hex(a.privateKey))
export const DEV_ADDRESSES = devAccounts.map((a) => getAddress(hex(a.address)))

export async function startDevNode(
  opts: {
    datadir?: string
    mining?: MiningMode
    accounts?: number
    chainId?: number
    limits?: Record<string, number>
    throwOnTransactionFailures?: boolean
    allowUnlimitedContractSize?: boolean
    /** Bounds and threads of RPC execution (gas cap, EVM timeout, execution workers). */
    execution?: { threads?: number; timeoutMs?: number; gasCap?: bigint }
    /** Fields replacing genesis/devnet.json's (e.g. hardfork, hardforks). */
    genesis?: Record<string, unknown>
    /** Fork a remote chain (`--fork-url`). */
    fork?: { url: string; blockNumber?: bigint; timeoutMs?: number; retries?: number }
  } = {},
): Promise<OpenLedgerNode> {
  const { json, accounts } = await buildDevGenesis({ accounts: opts.accounts, chainId: opts.chainId })
  Object.assign(json, opts.genesis)
  return OpenLedgerNode.startDev({
    datadir: opts.datadir,
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0, limits: opts.limits },
    execution: opts.execution,
    mining: opts.mining ?? { kind: 'auto' },
    accounts,
    throwOnTransactionFailures: opts.throwOnTransactionFailures,
    allowUnlimitedContractSize: opts.allowUnlimitedContractSize,
    fork: opts.fork,
    log: silentLogger(),
  })
}

export async function tempDir(prefix = 'ol-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** The `openledger` binary as users run it. */
export const BIN = fileURLToPath(new URL('../../packages/node/bin/openledger.mjs', import.meta.url))

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `openledger <args>` as a real process until it exits. `onSpawn` sees the child (for cleanup). */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env,
    })
    opts.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => {
      stdout += d
    })
    child.stderr!.on('data', (d) => {
      stderr += d
    })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

export interface NodeProcess {
  child: ChildProcess
  rpcUrl: string
  exited: Promise<number | null>
  /** Everything the process printed on stdout so far. */
  output: () => string
}

/** Spawns `openledger dev` and resolves once it prints its RPC URL (bounded by `timeoutMs`). */
export function spawnDevProcess(args: string[], timeoutMs = 120_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, [BIN, 'dev', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`node did not start in ${timeoutMs} ms\n${out}\n${err}`))
    }, timeoutMs)
    child.stderr!.on('data', (d) => {
      err += d
    })
    child.stdout!.on('data', (d) => {
      out += d
      const m = /Listening on (http:\/\/[^\s]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ child, rpcUrl: m[1]!, exited, output: () => out })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before listening\n${out}\n${err}`))
    })
  })
}

/** Raw JSON-RPC over HTTP (for error-shape assertions that client libraries would hide). */
export async function rpc(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.status, json }
}

export async function call(url: string, method: string, params: unknown[] = []): Promise<any> {
  const { json } = await rpc(url, { jsonrpc: '2.0', id: 1, method, params })
  if (json.error) throw Object.assign(new Error(json.error.message), json.error)
  return json.result
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
