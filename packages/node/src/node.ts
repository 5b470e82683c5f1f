/**
 * Assembly of a running node: one LevelDB (state + chain buckets), the execution runtime, the
 * chain store, the mempool, a block producer and the JSON-RPC server. `start` opens everything in
 * dependency order; `close` releases it in reverse, once, on one AbortController.
 * Long file: the dev node's assembly and the core shared with network nodes, in dependency order.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Block } from '@ethereumjs/block'
import type { ModuleParams } from '@openledger/attribution'
import type { L1Addresses } from '@openledger/bridge'
import {
  type BlockHook,
  createExecutionRuntime,
  type ExecutedTx,
  type ExecutionRuntime,
  type ForkPoint,
  type GenesisConfig,
  type SystemModule,
  withForkHash,
} from '@openledger/evm-runtime'
import {
  createRpcServer,
  erigonMethods,
  otsMethods,
  type RpcMethods,
  type RpcServerOptions,
} from '@openledger/rpc'
import { Level } from 'level'
import type { Hex } from 'viem'
import { chainHistory } from './attribution/history.ts'
import { attributionRpcMethods } from './attribution/rpc.ts'
import { DEV_EVM_TIMEOUT_MS, type ExecutionConfig } from './backend/exec-limits.ts'
import { NodeBackend } from './backend/node-backend.ts'
import { createRecoverPool } from './backend/recover-pool.ts'
import type { L2Bridge } from './bridge/l2-bridge.ts'
import { addressIndexObserver } from './chain/address-index-observer.ts'
import { Chain } from './chain/chain.ts'
import { type RuntimeSpec, runtimeOptions, runtimeSpec } from './chain/runtime-spec.ts'
import { DevControls } from './dev/dev-controls.ts'
import { Forking, type ForkTransport } from './fork/forking.ts'
import { type Fork, openFork } from './fork/open.ts'
import { nativeModules } from './genesis/native-modules.ts'
import { TxIntake } from './intake/tx-intake.ts'
import type { DevAccount } from './keys/dev-accounts.ts'
import type { Logger } from './logger.ts'
import { type HealthState, NodeMetrics, serveMetrics } from './metrics.ts'
import { DevSealer, type MiningMode } from './miner/dev-sealer.ts'
import { type StudioOptions, studioHandler } from './rpc/studio.ts'
import { stakingRpcMethods } from './staking/rpc.ts'
import { AddressIndex } from './store/address-index.ts'
import { ChainStore } from './store/index.ts'
import { maintainPool, TxPool, type TxPoolOptions } from './txpool/index.ts'
import { key } from './util/bytes.ts'
import { DEV_CLIENT_VERSION } from './version.ts'

export interface DevNodeOptions {
  /** Persistent data directory; without it a temporary one is used and deleted on close. */
  datadir?: string
  genesis: GenesisConfig
  rpc: ApiOptions['rpc']
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
  /** Block hooks run after the chain's own (embedding, tests such as hook fault injection).
   * In-process execution only, as extraModules. */
  extraBlockHooks?: BlockHook[]
  /** JSON-RPC namespaces served besides the node's own (Studio's studio_* in `openledger dev`). */
  rpcModules?: Record<string, RpcMethods>
  /** Start the sender-recovery worker once raw transactions arrive at this rate (tx/s); 0 = at
   * start. Default: lazily, so embedded and test nodes spawn no thread they do not need. */
  recoverStartRate?: number
  /** Bounds of RPC-requested execution (gas cap, EVM timeout, trace memory); defaults as geth
   * except the time limit (DEV_EVM_TIMEOUT_MS). */
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
  /**
   * Fork a remote chain (anvil's / Hardhat's forking): the chain continues from its block
   * `blockNumber` (default its latest) on its state, read lazily over JSON-RPC; the genesis alloc
   * (dev accounts) is laid over it. The chain id is the remote's unless `chainId` is given. Not
   * with `datadir` (a fork lives as long as the process, as anvil's and Hardhat's).
   */
  fork?: ForkTransport & { url: string; blockNumber?: bigint; chainId?: bigint }
}

export class DatadirInUseError extends Error {
  constructor(readonly datadir: string) {
    super(`data directory ${datadir} is in use by another openledger process`)
    this.name = 'DatadirInUseError'
  }
}

/** Databases a node of this thread holds. Multithreading mode lets a second open in the same
 * process succeed (LevelDB's lock is per process), so two nodes on one datadir are refused here. */
const openPaths = new Set<string>()

export async function openDatabase(path: string): Promise<Level<Uint8Array, Uint8Array>> {
  const key = resolve(path)
  if (openPaths.has(key)) throw new DatadirInUseError(path)
  openPaths.add(key)
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    // Multithreading: the RPC execution workers open the same database (backend/exec-worker.ts).
    // Another process still gets LEVEL_LOCKED.
    await db.open({ multithreading: true } as Parameters<typeof db.open>[0])
  } catch (err) {
    openPaths.delete(key)
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new DatadirInUseError(path)
    throw err
  }
  db.once('closed', () => openPaths.delete(key))
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
  static async startDev(options: DevNodeOptions): Promise<OpenLedgerNode> {
    const closers: Array<() => Promise<unknown>> = []
    if (options.fork && options.datadir !== undefined)
      throw new Error('--fork-url cannot be used with --datadir: a forked chain is not persisted')
    if (options.fork && options.l1) throw new Error('a forked dev chain cannot settle on an L1')
    // The remote is asked first: a bad URL or fork block fails before anything is opened.
    const fork: Fork | undefined = options.fork && (await openFork(options.fork))
    const opts: DevNodeOptions = fork
      ? { ...options, genesis: { ...options.genesis, chainId: options.fork!.chainId ?? fork.chainId } }
      : options
    // Forking (at start or by hardhat_reset) needs a chain that lives only as long as the process.
    const forking =
      opts.datadir === undefined && !opts.l1
        ? new Forking(
            { timeoutMs: opts.fork?.timeoutMs, retries: opts.fork?.retries, headers: opts.fork?.headers },
            fork,
          )
        : undefined
    try {
      // The bridge modules (L1 clients) load only for a chain settled on an L1.
      const bridge = opts.l1
        ? new (await import('./bridge/l2-bridge.ts')).L2Bridge({
            l1Rpc: opts.l1.rpc,
            addresses: opts.l1.addresses,
            log: opts.log,
            pollMs: opts.l1.pollMs ?? 500,
          })
        : undefined
      const hooks = [...(bridge ? [bridge.hook] : []), ...(opts.extraBlockHooks ?? [])]
      const core = await openCore(
        {
          ...opts,
          blockHooks: hooks.length > 0 ? hooks : undefined,
          fork: fork?.point,
          forkable: forking !== undefined,
        },
        closers,
      )
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
        admissionsSettled: (): Promise<void> => intake.settled(),
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
          const { OutputService } = await import('./bridge/outputs.ts')
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
      // Dev automine refuses what could never be mined, as anvil and Hardhat do.
      const intake: TxIntake = new TxIntake({
        ...core,
        rejectBelowBaseFee: () => sealer.miningMode.kind === 'auto',
      })
      const backend = new NodeBackend({
        chain,
        intake,
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
          forking,
        }),
        fork: forking && (() => forking.history),
        afterAdmit: (hash) => sealer.waitForOutcome(hash),
        throwOnTransactionFailures: () => throwOnFailures,
        nextBlockEnv: (parent) => sealer.nextEnv(parent),
        pendingFromPool: true,
        execution: { timeoutMs: DEV_EVM_TIMEOUT_MS, ...opts.execution },
        execWorkers: { dbPath: core.dbPath, spec: core.runtimeSpec },
      })
      closers.unshift(() => backend.close())
      const { rpcUrl, metricsUrl } = await serveApis(
        core,
        backend,
        { ...opts, rpc: devRpcDefaults(opts.rpc) },
        closers,
        () => 'ready',
        opts.rpcModules,
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
    studio: {},
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
  /** Start as a fork of a remote chain (dev; see DevNodeOptions.fork). */
  fork?: ForkPoint
  /** The chain may be (re-)forked by a reset (dev): its first block may be a remote's fork block,
   * known by the remote's hash. */
  forkable?: boolean
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
  /** Address → transactions (ots_searchTransactions*), kept at the head by a chain observer. */
  addressIndex: AddressIndex
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
  const base = runtimeOptions(native.genesis, { ...opts, history: chainHistory(chainDb) })
  const canonicalHash = ChainStore.canonicalHashReader(chainDb)
  // Set once the store is open; until then nothing is being committed.
  let unlanded: ChainStore | undefined
  const runtime = await createExecutionRuntime({
    ...base,
    modules: [...(base.modules ?? []), ...(opts.extraModules ?? [])],
    // The native modules' system work (staking) first, then the node's own (the L1 bridge).
    blockHooks: [...(base.blockHooks ?? []), ...(opts.blockHooks ?? [])],
    db: stateDb,
    // A block whose batch is still in flight is already the parent of the next automine build.
    getBlockHash: (n) => {
      const h = unlanded?.unlandedHash(n)
      return h === undefined ? canonicalHash(n) : Promise.resolve(h)
    },
    yieldEveryMs: opts.yieldEveryMs,
    fork: opts.fork,
    // Blocks' state goes to disk in the chain's block batch (Chain, stateWrites below).
    deferStateWrites: true,
  })
  closers.unshift(() => runtime.close())
  // A fork block read back from the store is known by the remote's hash, not its local header's.
  const decorateBlock = opts.forkable ? forkHashDecorator(runtime, opts.decorateBlock) : opts.decorateBlock
  const genesisBlock = decorateBlock ? decorateBlock(runtime.genesisBlock) : runtime.genesisBlock
  const store = await ChainStore.open(chainDb, {
    genesisBlock,
    blockOptions: runtime.blockOptions,
    decorateBlock,
    forkedGenesis: opts.forkable,
    batchDb: db,
  })
  closers.unshift(() => store.close())
  unlanded = store
  const metrics = new NodeMetrics()
  const chain = new Chain(store, {
    log: opts.log,
    metrics,
    stateWrites: () => {
      const taken = runtime.takeStateWrites()
      if (taken === undefined) return undefined
      const ops = taken.ops
      for (const op of ops) op.key = stateDb.prefixKey(op.key, 'view', false)
      return { ops, landed: taken.landed, failed: taken.failed }
    },
  })
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
  // Before the RPC events: a client told of a new block finds it in ots_searchTransactions*.
  const addressIndex = await AddressIndex.open(
    db.sublevel<Uint8Array, Uint8Array>('ots', { keyEncoding: 'view', valueEncoding: 'view' }),
    store,
    opts.log,
    db,
  )
  chain.subscribe(addressIndexObserver(addressIndex))
  // Its writes trail the commits: finish them before the store and database close.
  closers.unshift(() => addressIndex.settled())
  // Block hooks (the L1 bridge's deposits) hold node state a worker cannot rebuild: with hooks,
  // traces (which replay a block's hooks) stay on the main thread.
  const spec = runtimeSpec(native.genesis, { ...opts, blockHooks: (opts.blockHooks?.length ?? 0) > 0 })
  return {
    datadir,
    dbPath,
    runtimeSpec: spec,
    runtime,
    store,
    chain,
    pool,
    metrics,
    moduleParams,
    addressIndex,
  }
}

function forkHashDecorator(runtime: ExecutionRuntime, then?: (b: Block) => Block): (b: Block) => Block {
  return (block) => {
    const f = runtime.fork?.block
    const b = f !== undefined && block.header.number === f.number ? withForkHash(block, f.hash) : block
    return then ? then(b) : b
  }
}

/** Largest transaction the pool takes with unlimited contract sizes (RPC bodies are 5 MiB). */
const UNLIMITED_CODE_MAX_TX_BYTES = 4 * 1024 * 1024

export interface ApiOptions {
  rpc: { host: string; port: number } & Omit<RpcServerOptions, 'logger' | 'pages'> & {
      /** Serve OpenLedger Studio at /studio/ (on in dev mode, `--studio` on other nodes). */
      studio?: StudioOptions | false
    }
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
  const { host, port, studio, ...rpcOptions } = opts.rpc
  const server = createRpcServer(backend, {
    ...rpcOptions,
    pages: studio ? studioHandler(studio, opts.log) : undefined,
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
  server.registerModule('ots', otsMethods(core.addressIndex))
  server.registerModule('erigon', erigonMethods)
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
