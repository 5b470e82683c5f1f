/**
 * Multi-process QBFT networks for tests: real `openledger node` processes on 127.0.0.1 with
 * ephemeral ports, each with its own LevelDB datadir; kill() sends a real signal (SIGKILL by
 * default) and restart() reuses the node's datadir, key and ports.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyToAddress } from '@openledger/consensus'
import { buildQbftGenesis, generatePrivateKey, hex, writeKeyFile } from '@openledger/node'
import { BIN, call, waitFor } from './dev-node.ts'

export interface NetNode {
  readonly index: number
  readonly dir: string
  readonly keyFile?: string
  readonly address?: string
  rpcPort: number
  p2pPort: number
  peerId: string
  rpcUrl: string
  metricsUrl?: string
  child?: ChildProcess
  exited?: Promise<void>
  log: string
}

export interface TestNetworkOptions {
  validators: number
  blockPeriodSeconds?: number
  requestTimeoutSeconds?: number
  /** Extra CLI flags for every node. */
  nodeArgs?: string[]
  /** genesis.modules.staking.params / genesis.modules.governance overrides. */
  stakingParams?: Record<string, number | string>
  governance?: Record<string, number | string>
  /** Nodes with a validator key that is not in the genesis set (they can stake into it). */
  candidates?: number
  /** Bound on a node process reaching "listening" (default 60 s; a loaded machine needs more). */
  startTimeoutMs?: number
  /** Edits the genesis JSON before it is written (e.g. module parameters). */
  editGenesis?: (genesis: Record<string, unknown>) => void
}

export class TestNetwork {
  readonly nodes: NetNode[] = []
  private constructor(
    readonly dir: string,
    readonly genesisPath: string,
    readonly opts: TestNetworkOptions,
  ) {}

  static async create(opts: TestNetworkOptions): Promise<TestNetwork> {
    const dir = await mkdtemp(join(tmpdir(), 'ol-net-'))
    const keys = Array.from({ length: opts.validators + (opts.candidates ?? 0) }, () => generatePrivateKey())
    const genesis = await buildQbftGenesis({
      validators: keys.slice(0, opts.validators).map((k) => privateKeyToAddress(k)),
      blockPeriodSeconds: opts.blockPeriodSeconds ?? 1,
      requestTimeoutSeconds: opts.requestTimeoutSeconds,
      stakingParams: opts.stakingParams,
      governance: opts.governance,
    })
    opts.editGenesis?.(genesis)
    const genesisPath = join(dir, 'genesis.json')
    await writeFile(genesisPath, JSON.stringify(genesis))
    const net = new TestNetwork(dir, genesisPath, opts)
    for (let i = 0; i < keys.length; i++) {
      const keyFile = join(dir, `v${i}.key`)
      await writeKeyFile(keyFile, keys[i]!)
      net.nodes.push({
        index: i,
        dir: join(dir, `node${i}`),
        keyFile,
        address: hex(privateKeyToAddress(keys[i]!)),
        rpcPort: 0,
        p2pPort: 0,
        peerId: '',
        rpcUrl: '',
        log: '',
      })
    }
    return net
  }

  /** A non-validator node (not started). */
  addFullNode(): NetNode {
    const i = this.nodes.length
    const n: NetNode = {
      index: i,
      dir: join(this.dir, `node${i}`),
      rpcPort: 0,
      p2pPort: 0,
      peerId: '',
      rpcUrl: '',
      log: '',
    }
    this.nodes.push(n)
    return n
  }

  bootnodes(except: number): string[] {
    return this.nodes
      .filter((n) => n.index !== except && n.peerId !== '')
      .map((n) => `/ip4/127.0.0.1/tcp/${n.p2pPort}/p2p/${n.peerId}`)
  }

  /** Start (or restart) node i; resolves when its RPC listens. */
  async start(i: number, timeoutMs = this.opts.startTimeoutMs ?? 60_000): Promise<NetNode> {
    const n = this.nodes[i]!
    const args = [
      BIN,
      'node',
      '--genesis',
      this.genesisPath,
      '--datadir',
      n.dir,
      '--rpc.port',
      String(n.rpcPort),
      '--p2p.port',
      String(n.p2pPort),
      '--p2p.host',
      '127.0.0.1',
      '--log-level',
      'info',
      ...(this.opts.nodeArgs ?? []),
    ]
    if (n.keyFile) args.push('--validator-key', n.keyFile)
    const boot = this.bootnodes(i)
    if (boot.length > 0) args.push('--bootnodes', boot.join(','))
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    n.child = child
    n.exited = new Promise((resolve) => child.on('exit', () => resolve()))
    let out = ''
    child.stderr!.on('data', (d) => {
      n.log += d
      if (n.log.length > 4_000_000) n.log = n.log.slice(-2_000_000)
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`node${i} did not start in ${timeoutMs} ms\n${out}\n${n.log.slice(-4000)}`))
      }, timeoutMs)
      const onExit = (code: number | null) => {
        clearTimeout(timer)
        reject(new Error(`node${i} exited with ${code} before listening\n${out}\n${n.log.slice(-4000)}`))
      }
      child.on('exit', onExit)
      child.stdout!.on('data', (d) => {
        out += d
        const rpc = /Listening on (http:\/\/[^\s]+)/.exec(out)
        const p2p = /P2P: +\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/(\w+)/.exec(out)
        if (rpc && p2p && n.rpcUrl !== rpc[1]) {
          clearTimeout(timer)
          child.off('exit', onExit)
          n.rpcUrl = rpc[1]!
          n.rpcPort = Number(new URL(n.rpcUrl).port)
          n.p2pPort = Number(p2p[1])
          n.peerId = p2p[2]!
          n.metricsUrl = /Metrics: +(http:\/\/[^\s/]+)/.exec(out)?.[1]
          resolve()
        }
      })
    })
    return n
  }

  async startAll(): Promise<void> {
    // The first node alone (its ports become everyone's bootnode), then the rest together.
    await this.start(0)
    await Promise.all(this.nodes.slice(1).map((n) => (n.keyFile ? this.start(n.index) : undefined)))
  }

  /** The private key of node i's validator key file (tests sign with it). */
  async validatorKey(i: number): Promise<Uint8Array> {
    const { readKeyFile } = await import('@openledger/node')
    return readKeyFile(this.nodes[i]!.keyFile!)
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.nodes[i]!
    if (!n.child || n.child.exitCode !== null || n.child.signalCode !== null) return
    n.child.kill(signal)
    const child = n.child
    // A node that does not stop cleanly within 15 s is killed (and the test sees it in the log).
    const t = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), 15_000)
    await n.exited
    if (t) clearTimeout(t)
    n.rpcUrl = ''
  }

  running(): NetNode[] {
    return this.nodes.filter((n) => n.child && n.child.exitCode === null && n.child.signalCode === null)
  }

  async blockNumber(i: number): Promise<bigint> {
    return BigInt(await call(this.nodes[i]!.rpcUrl, 'eth_blockNumber'))
  }

  /** Waits until every listed node has a head ≥ height. */
  async waitHeight(height: bigint, which: number[] = this.running().map((n) => n.index), timeoutMs = 60_000) {
    await waitFor(
      async () => {
        const hs = await Promise.all(which.map((i) => this.blockNumber(i).catch(() => -1n)))
        return hs.every((h) => h >= height)
      },
      timeoutMs,
      `nodes ${which.join(',')} at height ${height}`,
    )
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.index, 'SIGTERM')))
    await rm(this.dir, { recursive: true, force: true })
  }
}

/**
 * A base port such that `base + i` and `base + 100 + i` (i < n) are free on 127.0.0.1, and so is
 * `base + 200` when `withL1` (devnet's defaults: RPC ports, libp2p ports, the local L1). Each port
 * is probed once; gives up after 50 draws instead of spinning.
 */
export async function freeRange(n: number, opts: { withL1?: boolean } = {}): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer()
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const ports = [...Array(n).keys()].flatMap((i) => [base + i, base + 100 + i])
    if (opts.withL1) ports.push(base + 200)
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base
  }
  throw new Error(`no free port range for ${n} nodes after 50 draws`)
}
