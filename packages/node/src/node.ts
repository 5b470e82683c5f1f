/**
 * Assembly of a running node: one LevelDB (state + chain buckets), the execution runtime, the
 * chain store, the mempool, a block producer and the JSON-RPC server. `start` opens everything in
 * dependency order; `close` releases it in reverse, once, on one AbortController.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import type { ModuleParams } from '@openledger/attribution'
import type { L1Addresses } from '@openledger/bridge'
import {
  type BlockHook,
  createExecutionRuntime,
  type ExecutedTx,
  type ExecutionRuntime,
  type GenesisConfig,
  type SystemModule,
} from '@openledger/evm-runtime'
import { createRpcServer, type RpcMethods, type RpcServerOptions } from '@openledger/rpc'
import { Level } from 'level'
import type { Hex } from 'viem'
import { attributionRpcMethods } from './attribution/rpc.ts'
import type { ExecutionConfig } from './backend/exec-limits.ts'
import { NodeBackend } from './backend/node-backend.ts'
import { createRecoverPool } from './backend/recover-pool.ts'
import { L2Bridge } from './bridge/l2-bridge.ts'
import { OutputService } from './bridge/outputs.ts'
import { Chain } from './chain/chain.ts'
import { type RuntimeSpec, runtimeOptions, runtimeSpec } from './chain/runtime-spec.ts'
import { DevControls } from './dev/dev-controls.ts'
import { nativeModules } from './genesis/native-modules.ts'
import type { DevAccount } from './keys/dev-accounts.ts'
import type { Logger } from './logger.ts'
import { type HealthState, NodeMetrics, serveMetrics } from './metrics.ts'
import { DevSealer, type MiningMode } from './miner/dev-sealer.ts'
import { stakingRpcMethods } from './staking/rpc.ts'
import { ChainStore } from './store/index.ts'
import { maintainPool, TxPool, type TxPoolOptions } from './txpool/index.ts'
import { key } from './util/bytes.ts'
import { DEV_CLIENT_VERSION } from './version.ts'

export interface DevNodeOptions {
  /** Persistent data directory; without it a temporary one is used and deleted on close. */
  datadir?: string
  genesis: GenesisConfig
  rpc: { host: string; port: number } & Omit<RpcServerOptions, 'logger'>
  mining: MiningMode
  /** Unlocked accounts for eth_accounts / eth_sendTransaction / eth_sign. */
  accounts: DevAccount[]
  coinbase?: Uint8Array
  txpool?: Partial<Omit<TxPoolOptions, 'common' | 'getAccount' | 'blockGasLimit'>>
  /** Serve Prometheus /metrics and /health on this address (off when absent). */
  metrics?: { host: string; port: number }
  /** Automine: answer a send whose transaction failed with Hardhat's error (the transaction is
   * still mined). Default true; false answers the hash as anvil does. */
  throwOnTransactionFailures?: boolean
  /** No EIP-170 / EIP-3860 size limits (Hardhat's allowUnlimitedContractSize). Default false. */
  allowUnlimitedContractSize?: boolean
  /** Native modules served besides the chain's own (embedding, tests such as fault injection).
   * In-process execution only: RPC execution workers are rebuilt from the genesis spec. */
  extraModules?: SystemModule[]
  /** Start the sender-recovery worker once raw transactions arrive at this rate (tx/s); 0 = at
   * start. Default: lazily, so embedded and test nodes spawn no thread they do not need. */
  recoverStartRate?: number
  /** Bounds of RPC-requested execution (gas cap, EVM timeout, trace memory); defaults as geth. */
  execution?: Partial<ExecutionConfig>
  log: Logger
  onBlock?: (
    block: Block,
    executed: ExecutedTx[],
    dropped: Array<{ hash: Uint8Array; reason: string }>,
  ) => void
  /** Settle on an L1 (deposits, withdrawals): its RPC endpoint and the deployment's addresses file;
   * with `proposerKey` the node also signs (as the oracle's validator, if it is one) and proposes
   * output roots. */
  l1?: { rpc: string; addresses: L1Addresses; pollMs?: number; proposerKey?: Hex }
}

export class DatadirInUseError extends Error {
  constructor(readonly datadir: string) {
    super(`data directory ${datadir} is in use by another openledger process`)
    this.name = 'DatadirInUseError'
  }
}

export async function openDatabase(path: string): Promise<Level<Uint8Array, Uint8Array>> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    // Multithreading: the RPC execution workers open the same database (backend/exec-worker.ts).
    // Another process still gets LEVEL_LOCKED.
    await db.open({ multithreading: true } as Parameters<typeof db.open>[0])
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new DatadirInUseError(path)
    throw err
  }
  return db
}

export class OpenLedgerNode {
  private readonly abort = new AbortController()
  private closing: Promise<void> | undefined

  private constructor(
    readonly chain: Chain,
    readonly sealer: DevSealer,
    readonly backend: NodeBackend,
    readonly rpcUrl: string,
    readonly metricsUrl: string | undefined,
    /** Releases resources in reverse order of acquisition (RPC first, database last). */
    private readonly closers: Array<() => Promise<unknown>>,
    private readonly log: Logger,
    /** The L1 bridge, on a chain started with `l1`. */
    readonly bridge?: L2Bridge,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal
  }

  /** Single-node development chain (`openledger dev`): dev sealer, dev-only RPC methods on. */
  static async startDev(opts: DevNodeOptions): Promise<OpenLedgerNode> {
    const closers: Array<() => Promise<unknown>> = []
    try {
      const bridge = opts.l1
        ? new L2Bridge({
            l1Rpc: opts.l1.rpc,
            addresses: opts.l1.addresses,
            log: opts.log,
            pollMs: opts.l1.pollMs ?? 500,
          })
        : undefined
      const core = await openCore({ ...opts, blockHooks: bridge ? [bridge.hook] : undefined }, closers)
      const { chain, runtime, store, pool, metrics } = core
      if (bridge) await bridge.attach(runtime, runtime.genesisBlock.header.stateRoot, metrics)
      const sealer = new DevSealer({
        chain,
        runtime,
        pool,
        metrics,
        mode: opts.mining,
        coinbase: opts.coinbase ?? new Uint8Array(20),
        log: opts.log,
        onBlock: opts.onBlock,
        proposalHeader: bridge ? (root) => bridge.proposalHeader(root) : undefined,
      })
      closers.unshift(() => sealer.stop())
      const recovery = createRecoverPool({ startAtRate: opts.recoverStartRate })
      closers.unshift(async () => recovery?.close())
      if (bridge) {
        // Confirmed deposits are work like pending transactions: automine makes a block for them.
        bridge.start(
          runtime,
          () => chain.workingStateRoot,
          async () => {
            if (sealer.miningMode.kind === 'auto') await sealer.mine()
          },
        )
        closers.unshift(() => bridge.stop())
        if (opts.l1?.proposerKey) {
          const outputs = new OutputService({
            chain,
            store,
            runtime,
            addresses: opts.l1.addresses,
            l1Rpc: opts.l1.rpc,
            signerKey: opts.l1.proposerKey,
            proposerKey: opts.l1.proposerKey,
            metrics,
            log: opts.log,
            pollMs: opts.l1.pollMs ?? 500,
          })
          outputs.start()
          closers.unshift(() => outputs.stop())
        }
      }
      const impersonated = new Set<string>()
      const keys = new Map(
        opts.accounts.map((a) => [key(a.address), { address: a.address, privateKey: a.privateKey }]),
      )
      const throwOnFailures = opts.throwOnTransactionFailures ?? true
      const backend = new NodeBackend({
        chain,
        store,
        runtime,
        pool,
        metrics,
        recovery,
        clientVersion: DEV_CLIENT_VERSION,
        keys,
        impersonated,
        dev: new DevControls({
          chain,
          store,
          runtime,
          pool,
          sealer,
          impersonated,
          clientVersion: DEV_CLIENT_VERSION,
        }),
        afterAdmit: (hash) => sealer.waitForOutcome(hash),
        throwOnTransactionFailures: () => throwOnFailures,
        nextBlockEnv: (parent) => sealer.nextEnv(parent),
        pendingFromPool: true,
        rejectBelowBaseFee: () => sealer.miningMode.kind === 'auto',
        execution: opts.execution,
        execWorkers: { dbPath: core.dbPath, spec: core.runtimeSpec },
      })
      closers.unshift(() => backend.close())
      const { rpcUrl, metricsUrl } = await serveApis(
        core,
        backend,
        { ...opts, rpc: devRpcDefaults(opts.rpc) },
        closers,
        () => 'ready',
      )
      const node = new OpenLedgerNode(chain, sealer, backend, rpcUrl, metricsUrl, closers, opts.log, bridge)
      sealer.start()
      opts.log.info({ head: chain.head.header.number.toString(), rpc: node.rpcUrl }, 'node started')
      return node
    } catch (err) {
      for (const close of closers) await close().catch(() => {})
      throw err
    }
  }

  /** Stops block production, closes RPC, flushes and closes the databases. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort()
      for (const close of this.closers) {
        await close().catch((err: unknown) => this.log.warn({ err }, 'error while closing'))
      }
      this.log.info('node stopped')
    })()
    return this.closing
  }
}

/**
 * Dev mode serves one developer and their tools, like anvil: browsers may call it from any origin
 * (the Host allow-list still stops DNS rebinding), and a test suite's burst of parallel calls is
 * queued rather than refused. Explicit options win.
 */
function devRpcDefaults(rpc: DevNodeOptions['rpc']): DevNodeOptions['rpc'] {
  return {
    corsOrigins: ['*'],
    wsOrigins: ['*'],
    ...rpc,
    limits: { maxPendingExecutions: 1024, maxPendingExecutionsPerClient: 1024, ...rpc.limits },
  }
}

export interface CoreOptions {
  datadir?: string
  genesis: GenesisConfig
  txpool?: Partial<Omit<TxPoolOptions, 'common' | 'getAccount' | 'blockGasLimit'>>
  log: Logger
  /** Block execution yields to other work this often (ms); see CreateExecutionRuntimeOptions. */
  yieldEveryMs?: number
  /** Applied to the genesis block and every block read back from the store (QBFT block hash). */
  decorateBlock?: (block: Block) => Block
  /** Block hooks (system work in every block), e.g. the L1 bridge's deposits. */
  blockHooks?: BlockHook[]
  /** Dev only: see DevNodeOptions.allowUnlimitedContractSize. */
  allowUnlimitedContractSize?: boolean
  /** See DevNodeOptions.extraModules. */
  extraModules?: SystemModule[]
}

/** What every node has: database, runtime, chain store, mempool, chain, metrics. */
export interface NodeCore {
  datadir: string
  /** The LevelDB directory and the runtime's configuration, for the RPC execution workers. */
  dbPath: string
  runtimeSpec: RuntimeSpec
  runtime: ExecutionRuntime
  store: ChainStore
  chain: Chain
  pool: TxPool
  metrics: NodeMetrics
  moduleParams: ModuleParams
}

/**
 * Opens the core in dependency order, each part from parts that already exist; registers closers
 * (reverse order) as it goes. The pool is the chain's first observer (txpool/maintain.ts).
 */
export async function openCore(opts: CoreOptions, closers: Array<() => Promise<unknown>>): Promise<NodeCore> {
  const tempDir = opts.datadir ? undefined : await mkdtemp(join(tmpdir(), 'openledger-'))
  const datadir = opts.datadir ?? tempDir!
  if (tempDir) closers.unshift(() => rm(tempDir, { recursive: true, force: true }))
  const dbPath = join(datadir, 'db')
  const db = await openDatabase(dbPath)
  closers.unshift(() => db.close())
  const stateDb = db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' })
  const chainDb = db.sublevel<Uint8Array, Uint8Array>('chain', { keyEncoding: 'view', valueEncoding: 'view' })
  const native = await nativeModules(opts.genesis)
  const { moduleParams } = native
  const base = runtimeOptions(native.genesis, opts)
  const runtime = await createExecutionRuntime({
    ...base,
    modules: [...(base.modules ?? []), ...(opts.extraModules ?? [])],
    // The native modules' system work (staking) first, then the node's own (the L1 bridge).
    blockHooks: [...(base.blockHooks ?? []), ...(opts.blockHooks ?? [])],
    db: stateDb,
    getBlockHash: ChainStore.canonicalHashReader(chainDb),
    yieldEveryMs: opts.yieldEveryMs,
  })
  closers.unshift(() => runtime.close())
  const genesisBlock = opts.decorateBlock ? opts.decorateBlock(runtime.genesisBlock) : runtime.genesisBlock
  const store = await ChainStore.open(chainDb, {
    genesisBlock,
    blockOptions: runtime.blockOptions,
    decorateBlock: opts.decorateBlock,
  })
  closers.unshift(() => store.close())
  const metrics = new NodeMetrics()
  const chain = new Chain(store, { log: opts.log, metrics })
  const pool = new TxPool({
    // Unlimited contracts need deployments larger than geth's 128 KiB transaction bound.
    ...(opts.allowUnlimitedContractSize && { maxTxSize: UNLIMITED_CODE_MAX_TX_BYTES }),
    ...opts.txpool,
    common: runtime.common,
    blockGasLimit: () => store.head().header.gasLimit,
    getAccount: async (address) => {
      const acc = await runtime.getAccount(chain.workingStateRoot, address)
      return { nonce: acc?.nonce ?? 0n, balance: acc?.balance ?? 0n }
    },
  })
  chain.subscribe(maintainPool(pool, metrics))
  // Block hooks (the L1 bridge's deposits) hold node state a worker cannot rebuild: with hooks,
  // traces (which replay a block's hooks) stay on the main thread.
  const spec = runtimeSpec(native.genesis, { ...opts, blockHooks: (opts.blockHooks?.length ?? 0) > 0 })
  return { datadir, dbPath, runtimeSpec: spec, runtime, store, chain, pool, metrics, moduleParams }
}

/** Largest transaction the pool takes with unlimited contract sizes (RPC bodies are 5 MiB). */
const UNLIMITED_CODE_MAX_TX_BYTES = 4 * 1024 * 1024

export interface ApiOptions {
  rpc: { host: string; port: number } & Omit<RpcServerOptions, 'logger'>
  /** Bounds of RPC-requested execution (gas cap, EVM timeout, trace memory); defaults as geth. */
  execution?: Partial<ExecutionConfig>
  metrics?: { host: string; port: number }
  log: Logger
}

/** JSON-RPC (with the ol_ namespace and any extra modules) and the metrics endpoint. */
export async function serveApis(
  core: NodeCore,
  backend: NodeBackend,
  opts: ApiOptions,
  closers: Array<() => Promise<unknown>>,
  health: () => HealthState,
  extraModules: Record<string, RpcMethods> = {},
): Promise<{ rpcUrl: string; metricsUrl: string | undefined }> {
  const { host, port, ...rpcOptions } = opts.rpc
  const server = createRpcServer(backend, {
    ...rpcOptions,
    // As many executions run at once as there are execution workers (one in-thread).
    limits: { executionConcurrency: Math.max(1, backend.execution.threads), ...rpcOptions.limits },
    logger: opts.log,
    onRequest: core.metrics.observeRpc,
  })
  server.registerModule('ol', {
    ...attributionRpcMethods({
      chain: core.chain,
      runtime: core.runtime,
      backend,
      params: core.moduleParams,
    }),
    ...stakingRpcMethods({ chain: core.chain, runtime: core.runtime, backend }),
  })
  for (const [name, methods] of Object.entries(extraModules)) server.registerModule(name, methods)
  core.metrics.trackRpcServer(() => server.stats())
  const bound = await server.listen(port, host)
  closers.unshift(() => server.close())
  let metricsUrl: string | undefined
  if (opts.metrics) {
    const m = await serveMetrics(core.metrics, health, opts.metrics.host, opts.metrics.port)
    closers.unshift(() => new Promise((resolve) => m.server.close(resolve)))
    metricsUrl = `http://${urlHost(opts.metrics.host)}:${m.port}`
  }
  return { rpcUrl: `http://${urlHost(host)}:${bound.port}`, metricsUrl }
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
