/** Starting and stopping the nodes under test: our `openledger dev` and Hardhat Network 2.29. */
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Child, freePort, makeTempDir, peakRss, removeTempDir, startChild, withTimeout } from './proc.ts'
import { RpcClient, waitFor } from './rpc.ts'
import { hardhatConfig, nodeGenesis, type Workload } from './workload.ts'

export type TargetName = 'node' | 'hardhat'
export type MiningMode = 'automine' | 'interval'

export interface Target {
  name: TargetName
  mode: MiningMode
  rpc: RpcClient
  /** Prometheus endpoint (our node only). */
  metricsUrl?: string
  pid: number
  /** Reads VmHWM, then stops the process and removes its files. */
  stop(): Promise<{ peakRssBytes?: number }>
}

const START_TIMEOUT_MS = 90_000

export interface TargetEnv {
  root: string
  work: Workload
}

/** A running `openledger dev` started by {@link launchDevNode}. */
export interface LaunchedNode {
  child: Child
  rpcUrl: string
  /** Full URL of the Prometheus endpoint. */
  metricsUrl: string
}

/**
 * Starts `openledger dev` with `genesis` (written into `dir`, datadir `dir/data`). Not --silent, so
 * its banner gives the ports; --log-level silent keeps pino quiet, and the per-block lines on stdout
 * are read and discarded. Stops the child if it does not come up.
 */
export async function launchDevNode(
  root: string,
  dir: string,
  genesis: unknown,
  /** 'none': `--no-mining`, transactions are only admitted (bench/intake.ts). */
  mode: MiningMode | 'none',
  name = 'openledger dev',
): Promise<LaunchedNode> {
  const genesisPath = join(dir, 'genesis.json')
  writeFileSync(genesisPath, JSON.stringify(genesis))
  const args = [
    // e.g. OL_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the node under load
    ...(process.env.OL_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    join(root, 'packages/node/bin/openledger.mjs'),
    'dev',
    '--port',
    '0',
    '--metrics.port',
    '0',
    '--genesis',
    genesisPath,
    '--datadir',
    join(dir, 'data'),
    '--log-level',
    'silent',
    ...(mode === 'interval' ? ['--block-time', '1'] : mode === 'none' ? ['--no-mining'] : []),
  ]
  return startOpenledger(root, args, name)
}

/**
 * Spawns `node <args>` (an `openledger` command line) and resolves once it prints its RPC URL
 * ("Listening on …") and metrics URL ("Metrics: …"); `onLine` sees every output line. Stops the
 * child if it does not come up.
 */
export async function startOpenledger(
  root: string,
  args: string[],
  name: string,
  onLine?: (line: string) => void,
): Promise<LaunchedNode> {
  let rpcUrl: string | undefined
  let metricsUrl: string | undefined
  let ready: () => void = () => {}
  const readyP = new Promise<void>((r) => {
    ready = r
  })
  const child = startChild(process.execPath, args, {
    cwd: root,
    name,
    onLine(line) {
      onLine?.(line)
      const m = /^Metrics:\s+(http:\/\/\S+?)\/metrics/.exec(line)
      if (m) metricsUrl = `${m[1]}/metrics`
      const l = /^Listening on (http:\/\/\S+)/.exec(line)
      if (l) {
        rpcUrl = l[1]
        ready()
      }
    },
  })
  try {
    await withTimeout(Promise.race([readyP, child.exited]), START_TIMEOUT_MS, `${name} start`)
    if (!metricsUrl) throw new Error(`${name} did not print its metrics URL`)
  } catch (err) {
    await child.stop()
    throw err
  }
  return { child, rpcUrl: rpcUrl!, metricsUrl }
}

/** `openledger dev` with the workload's genesis on a fresh temporary datadir. */
export async function startNode(env: TargetEnv, mode: MiningMode): Promise<Target> {
  const dir = makeTempDir('openledger-bench-')
  const genesis = nodeGenesis(env.work, join(env.root, 'genesis/devnet.json'))
  let node: LaunchedNode
  try {
    node = await launchDevNode(env.root, dir, genesis, mode)
  } catch (err) {
    removeTempDir(dir)
    throw err
  }
  const rpc = new RpcClient(node.rpcUrl)
  return target('node', mode, rpc, node.child, () => removeTempDir(dir), node.metricsUrl)
}

/** `hardhat node` in a temporary project whose node_modules links to ours (Hardhat insists on a local install). */
export async function startHardhat(env: TargetEnv, mode: MiningMode): Promise<Target> {
  const dir = makeTempDir('hardhat-bench-')
  symlinkSync(join(env.root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), '{"name":"hardhat-bench","private":true}\n')
  const mining = mode === 'automine' ? { auto: true } : { auto: false, interval: 1000 }
  writeFileSync(join(dir, 'hardhat.config.cjs'), hardhatConfig(env.work, mining))
  const cleanup = () => removeTempDir(dir)
  const port = await freePort()
  const child = startChild(
    process.execPath,
    [
      join(env.root, 'node_modules/hardhat/internal/cli/bootstrap.js'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      'hardhat.config.cjs',
    ],
    {
      cwd: dir,
      name: 'hardhat node',
      env: { ...process.env, CI: 'true', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    },
  )
  const rpc = new RpcClient(`http://127.0.0.1:${port}`)
  try {
    await withTimeout(
      Promise.race([
        waitFor(
          'hardhat node',
          async () => (await rpc.call<string>('eth_chainId')) !== undefined,
          START_TIMEOUT_MS,
          200,
        ),
        child.exited,
      ]),
      START_TIMEOUT_MS + 1000,
      'hardhat node start',
    )
    // Hardhat logs every request by default; turned off so terminal output does not count against it.
    await rpc.call('hardhat_setLoggingEnabled', [false])
  } catch (err) {
    rpc.close()
    await child.stop()
    cleanup()
    throw err
  }
  return target('hardhat', mode, rpc, child, cleanup)
}

function target(
  name: TargetName,
  mode: MiningMode,
  rpc: RpcClient,
  child: Child,
  cleanup: () => void,
  metricsUrl?: string,
): Target {
  return {
    name,
    mode,
    rpc,
    metricsUrl,
    pid: child.pid,
    async stop() {
      const peakRssBytes = peakRss(child.pid)
      rpc.close()
      await child.stop()
      cleanup()
      return { peakRssBytes }
    },
  }
}
