/**
 * The two nodes the suite runs against in the same run: `openledger dev` (this repository) and
 * `hardhat node` of the suite's own toolchain and config (hardfork and allowUnlimitedContractSize
 * as its in-process network has them). Both on 127.0.0.1, ephemeral ports.
 */
import { join } from 'node:path'
import { type Child, freePort, startChild, withTimeout } from '../../bench/lib/proc.ts'
import type { SuitePaths } from './suite.ts'

export type TargetName = 'openledger' | 'hardhat'

export interface RunningTarget {
  name: TargetName
  url: string
  child: Child
}

const START_TIMEOUT_MS = 120_000

/** Starts a node and resolves once it prints the line `ready` matches (its URL in group 1). */
async function startNode(
  name: TargetName,
  cmd: string[],
  cwd: string,
  ready: RegExp,
  env?: NodeJS.ProcessEnv,
): Promise<RunningTarget> {
  let url: string | undefined
  let resolveReady: () => void = () => {}
  const readyP = new Promise<void>((r) => {
    resolveReady = r
  })
  const child = startChild(process.execPath, cmd, {
    cwd,
    env,
    name,
    onLine(line) {
      const m = ready.exec(line)
      if (m && url === undefined) {
        url = m[1]!.replace(/\/$/, '')
        resolveReady()
      }
    },
  })
  try {
    await withTimeout(Promise.race([readyP, child.exited]), START_TIMEOUT_MS, `${name} start`)
  } catch (err) {
    await child.stop()
    throw err
  }
  return { name, url: url!, child }
}

export function startOpenledger(root: string, extraArgs: string[] = []): Promise<RunningTarget> {
  return startNode(
    'openledger',
    [
      join(root, 'packages/node/bin/openledger.mjs'),
      'dev',
      '--port',
      '0',
      '--log-level',
      'silent',
      // The suite's exposed helpers exceed EIP-170, as its in-process network allows.
      '--disable-code-size-limit',
      ...extraArgs,
    ],
    root,
    /^Listening on (http:\/\/\S+)/,
  )
}

export async function startHardhat(suite: SuitePaths): Promise<RunningTarget> {
  const port = await freePort()
  return startNode(
    'hardhat',
    [
      join(suite.dir, 'node_modules/hardhat/internal/cli/bootstrap.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      suite.config,
    ],
    suite.dir,
    /Started HTTP and WebSocket JSON-RPC server at (http:\/\/\S+)/,
    { ...process.env, COMPAT_SOLC_DIR: suite.solcDir },
  ).then((t) => ({ ...t, url: `http://127.0.0.1:${port}` }))
}

/** A JSON-RPC call with a deadline (nodes are local; a hang is a failure). */
export async function rpc(
  url: string,
  method: string,
  params: unknown[] = [],
  timeoutMs = 60_000,
): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const json = (await res.json()) as { result?: unknown; error?: { message: string } }
  if (json.error) throw new Error(`${method}: ${json.error.message}`)
  return json.result
}
