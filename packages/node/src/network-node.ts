/**
 * A node of a QBFT network (`openledger node`, and each process of `openledger devnet`):
 * the shared core (LevelDB, runtime, chain store, mempool), libp2p gossip and request/response,
 * range sync, and — with a validator key — the QBFT engine with its fsync'd WAL.
 *
 * Data flow: transactions enter by RPC or gossip into the pool; the round's proposer builds a
 * block, the others validate (execute) it; the decided block gets its seals and is imported
 * through the BlockImporter, then gossiped; followers import gossiped blocks or sync ranges,
 * verifying the seal quorum before execution.
 * Long file: the assembly of a network node, in start-up order; its parts live in their own folders.
 */
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import { decodeOutputSignature, encodeOutputSignature, type L1Addresses } from '@openledger/bridge'
import {
  type CodecContext,
  decodeExtraData,
  ExtraDataError,
  privateKeyToAddress,
  QbftEngine,
  sortValidators,
  useKeccak256,
} from '@openledger/consensus'
import { type ExecutedTx, type GenesisConfig, keccak256 } from '@openledger/evm-runtime'
import { readOnlyStakingStore } from '@openledger/staking'
import type { Hex } from 'viem'
import { defaultExecThreads } from './backend/exec-limits.ts'
import { NodeBackend } from './backend/node-backend.ts'
import { createRecoverPool } from './backend/recover-pool.ts'
import { L2Bridge } from './bridge/l2-bridge.ts'
import { OutputService } from './bridge/outputs.ts'
import type { Chain } from './chain/chain.ts'
import { BlockImporter } from './chain/importer.ts'
import { decodeQbftBlock, EthBlockCodec, withQbftHash } from './consensus/block-codec.ts'
import { nativeRecover, nativeSigner } from './consensus/crypto.ts'
import { CycleTimings } from './consensus/cycle-timings.ts'
import { checkVanity } from './consensus/epochs.ts'
import { EvidenceReporter } from './consensus/evidence.ts'
import { QbftNodeHost } from './consensus/qbft-host.ts'
import { ChainValidatorSet } from './consensus/validator-set.ts'
import { ConsensusWal, walHistory } from './consensus/wal.ts'
import { blockRule, consensusRule, txRule } from './gossip/rules.ts'
import { TxBatcher } from './gossip/tx-batch.ts'
import { TxIntake } from './intake/tx-intake.ts'
import { loadOrCreateKey } from './keys/node-key.ts'
import type { Logger } from './logger.ts'
import type { HealthState } from './metrics.ts'
import { type ApiOptions, openCore, serveApis } from './node.ts'
import { type GossipTopic, P2PNetwork, type Verdict } from './p2p/index.ts'
import { adminRpcMethods, isLoopback } from './rpc/admin.ts'
import { qbftRpcMethods } from './rpc/qbft.ts'
import { RangeSync } from './sync/range-sync.ts'
import type { TxPoolOptions } from './txpool/index.ts'
import { bytesEqual, hex } from './util/bytes.ts'
import { CLIENT_VERSION } from './version.ts'

export class NetworkConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NetworkConfigError'
  }
}

export interface NetworkNodeOptions extends ApiOptions {
  datadir: string
  genesis: GenesisConfig
  /** Validator private key (32 bytes); absent: a full node that follows and serves. */
  validatorKey?: Uint8Array
  p2p: { host: string; port: number; bootnodes: string[] }
  txpool?: Partial<Omit<TxPoolOptions, 'common' | 'getAccount' | 'blockGasLimit'>>
  log: Logger
  /** After each imported block (console lines). */
  onBlock?: (block: Block, executed: readonly ExecutedTx[]) => void
  /** Settle on an L1 (deposits, withdrawals): its RPC endpoint and the deployment's addresses file.
   * A validator signs output roots; with `proposerKey` the node also submits them to L1. */
  l1?: { rpc: string; addresses: L1Addresses; pollMs?: number; proposerKey?: Hex }
}

/** QBFT genesis sanity: validators listed and the same set encoded in extraData. */
export function checkQbftGenesis(genesis: GenesisConfig): void {
  if (genesis.consensus.type !== 'qbft')
    throw new NetworkConfigError(
      `genesis.consensus.type is "${genesis.consensus.type}": networked nodes need "qbft" (use \`openledger dev\` for a single-node dev chain)`,
    )
  if (genesis.validators.length === 0) throw new NetworkConfigError('genesis.validators: empty validator set')
  let extra: ReturnType<typeof decodeExtraData>
  try {
    extra = decodeExtraData(genesis.extraData)
  } catch (e) {
    if (!(e instanceof ExtraDataError)) throw e
    throw new NetworkConfigError(
      `genesis.extraData: not QBFT extraData (${e.message}); \`openledger genesis new\` writes it`,
    )
  }
  const sorted = sortValidators(genesis.validators)
  if (
    extra.validators.length !== sorted.length ||
    extra.validators.some((v, i) => !bytesEqual(v, sorted[i]!))
  )
    throw new NetworkConfigError('genesis.extraData: its validator list differs from genesis.validators')
}

export class NetworkNode {
  readonly #abort = new AbortController()
  #closing: Promise<void> | undefined

  private constructor(
    readonly chain: Chain,
    readonly backend: NodeBackend,
    readonly p2p: P2PNetwork,
    readonly sync: RangeSync,
    readonly engine: QbftEngine | undefined,
    readonly validator: Uint8Array | undefined,
    readonly rpcUrl: string,
    readonly metricsUrl: string | undefined,
    private readonly closers: Array<() => Promise<unknown>>,
    private readonly log: Logger,
    abort: AbortController,
    /** The L1 bridge, on a chain started with `l1`. */
    readonly bridge?: L2Bridge,
  ) {
    this.#abort = abort
  }

  get peerId(): string {
    return this.p2p.peerId
  }

  static async start(opts: NetworkNodeOptions): Promise<NetworkNode> {
    checkQbftGenesis(opts.genesis)
    const { genesis, log } = opts
    const abort = new AbortController()
    const closers: Array<() => Promise<unknown>> = []
    try {
      // Consensus work first: a proposal executes in one go rather than interleaved with the
      // transaction gossip and RPC that arrive meanwhile.
      const bridge = opts.l1
        ? new L2Bridge({ l1Rpc: opts.l1.rpc, addresses: opts.l1.addresses, log, pollMs: opts.l1.pollMs })
        : undefined
      const core = await openCore(
        {
          ...opts,
          decorateBlock: withQbftHash,
          yieldEveryMs: 500,
          blockHooks: bridge ? [bridge.hook] : undefined,
        },
        closers,
      )
      const { chain, runtime, store, pool, metrics } = core
      if (bridge) {
        await bridge.attach(runtime, runtime.genesisBlock.header.stateRoot, metrics)
        bridge.start(runtime, () => chain.head.header.stateRoot)
        closers.unshift(() => bridge.stop())
      }
      // Block digests, on-chain hashes and message signing hashes: WASM keccak (runtime-initialised).
      useKeccak256(keccak256)
      const blockOptions = runtime.blockOptions!
      // Proposals and gossiped blocks take the transactions this node already pooled as they are.
      const knownTx = (hash: Uint8Array) => pool.get(hash)?.tx
      const codec = new EthBlockCodec(blockOptions, undefined, knownTx)
      // The Staking module's storage at any state root: the validator set and epoch vanities.
      const stakingAt = (root: Uint8Array) =>
        readOnlyStakingStore((account, slot) => runtime.getStorage(root, account, slot))
      const validators = await ChainValidatorSet.open(stakingAt, chain.head)
      chain.subscribe({
        name: 'validator set',
        onCommit: (blocks) => {
          for (const { block } of blocks) validators.onBlock(block)
        },
      })
      const decode = (bytes: Uint8Array) => decodeQbftBlock(bytes, blockOptions, knownTx)
      const nodeKey = opts.validatorKey ?? (await loadOrCreateKey(join(opts.datadir, 'node.key')))
      const address = opts.validatorKey ? privateKeyToAddress(opts.validatorKey) : undefined
      if (
        address &&
        !validators.validators(chain.head.header.number + 1n).some((v) => bytesEqual(v, address))
      )
        log.warn(
          { address: hex(address) },
          'the validator key is not in the current validator set: following until an epoch elects it',
        )

      // Sender recovery for RPC and seal recovery for sync share the worker threads.
      const recovery = createRecoverPool({ signal: abort.signal })
      closers.unshift(async () => recovery?.close())
      // Worth waiting for a worker to start (~0.2 s) only for a large batch; a few seals or
      // transactions (a small gap) are recovered in-thread at once.
      const offThread = async (n: number) =>
        recovery !== undefined && (recovery.ready || (n >= 64 && (await recovery.whenReady())))
      const importer = new BlockImporter({
        chain,
        store,
        runtime,
        knownSenders: (hash) => pool.senderPublicKey(hash),
        metrics,
        validators: (h) => validators.validators(h),
        afterExecute: async (block) => {
          const wrong = await checkVanity(block, stakingAt(block.header.stateRoot))
          if (wrong) throw new Error(wrong)
          await validators.prepare(block)
        },
        recover: nativeRecover,
        // Sync verifies a quorum of seals per block: recovered in batches on the worker threads.
        recoverSeals: async (items) =>
          (await offThread(items.length)) ? recovery!.recoverSeals(items) : undefined,
        // ... and the senders of a range's transactions.
        recoverSenders: async (raws) =>
          (await offThread(raws.length)) ? recovery!.recoverMany(raws) : undefined,
        log,
      })
      // Closed after the network (closers run in reverse): let an import in flight finish.
      closers.unshift(() => importer.exclusive(async () => {}))

      const head = chain.head
      const net = await P2PNetwork.create({
        nodeKey,
        host: opts.p2p.host,
        port: opts.p2p.port,
        bootnodes: opts.p2p.bootnodes,
        chainId: runtime.chainId,
        genesisHash: store.genesisHash,
        status: () => ({
          chainId: runtime.chainId,
          genesisHash: store.genesisHash,
          headNumber: chain.head.header.number,
          headHash: chain.head.hash(),
        }),
        log,
      })
      closers.unshift(() => net.close())

      const sync = new RangeSync({
        chain,
        metrics,
        importer,
        network: net,
        decode,
        log,
        signal: abort.signal,
      })
      net.events.on('peer:status', (peer, status) => sync.onPeerHead(peer, status.headNumber))
      net.events.on('peer:connect', () => metrics.peers.set(net.peerCount()))
      net.events.on('peer:disconnect', (peer) => {
        sync.onPeerGone(peer)
        metrics.peers.set(net.peerCount())
      })
      net.onBlocksByRange((from, count) => store.getRawBlocks(from, count))

      let reporter: EvidenceReporter | undefined
      // With a validator key: the WAL, the consensus host and the QBFT engine.
      const validator =
        address === undefined
          ? undefined
          : await (async () => {
              const opened = await ConsensusWal.open(join(opts.datadir, 'consensus.wal'))
              const wal = opened.wal
              closers.unshift(() => wal.close())
              const timings = new CycleTimings()
              if (opened.recovered.truncatedBytes > 0)
                log.warn(opened.recovered, 'consensus WAL had a torn tail (an unacknowledged write): cut off')
              const host = new QbftNodeHost({
                chain,
                runtime,
                pool,
                metrics,
                importer,
                codec,
                validators,
                stakingAt,
                blockOptions,
                address,
                blockPeriodSeconds: genesis.consensus.blockPeriodSeconds,
                wal,
                // Bound once the RPC backend exists (evidence only arrives once consensus runs).
                reportEvidence: (ev) => reporter?.report(ev),
                broadcast: (bytes) => {
                  net
                    .publish('consensus', bytes)
                    .catch((err) => log.debug({ err }, 'consensus gossip failed'))
                },
                log,
                signal: abort.signal,
                proposalHeader: bridge ? (root) => bridge.proposalHeader(root) : undefined,
                timings,
              })
              const engine = new QbftEngine(
                {
                  chainId: runtime.chainId,
                  signer: nativeSigner(opts.validatorKey!, address),
                  validators,
                  blocks: codec,
                  recover: nativeRecover,
                  timeouts: { baseMs: genesis.consensus.requestTimeoutSeconds * 1000 },
                  history: walHistory(opened.records, chain.head.header.number),
                },
                host,
              )
              closers.unshift(() => engine.stop())
              return { host, engine, wal, timings }
            })()
      const engine = validator?.engine
      // What follows a new head, after the pool and before the RPC events: the engine's next
      // height, evidence held for that height, the proposer's announcement of its sealed block, WAL
      // pruning, console lines.
      chain.subscribe({
        name: 'consensus',
        onCommit: (blocks, source) => {
          const last = blocks[blocks.length - 1]!.block
          const n = last.header.number
          engine?.onNewHead(n)
          reporter?.onHead(n)
          // The proposer announces the sealed block to full nodes. Every validator holds a
          // different seal subset, so all of them publishing would gossip n distinct copies.
          if (source === 'consensus' && address && bytesEqual(last.header.coinbase.bytes, address))
            net.publish('block', last.serialize()).catch((err) => log.debug({ err }, 'block gossip failed'))
          validator?.wal.prune(n).catch((err) => log.warn({ err }, 'WAL prune failed'))
          for (const { block, executed } of blocks) opts.onBlock?.(block, executed)
        },
      })

      const ctx: CodecContext = { chainId: runtime.chainId, blocks: codec, recover: nativeRecover }
      const count = (topic: GossipTopic, v: Verdict): Verdict => {
        metrics.gossipMessages.inc({ topic, verdict: v })
        return v
      }
      // One intake for transactions from gossip and from RPC.
      const intake = new TxIntake(core)
      const tx = txRule({ intake, pool, recovery })
      net.setValidator('tx', async (data) => count('tx', await tx(data)))
      const cons = consensusRule(engine, ctx, (h) => validators.validators(h))
      net.setValidator('consensus', (data) => count('consensus', cons(data)))
      const blk = blockRule({
        chain,
        importer,
        decode,
        log,
        onAhead: (peer, n) => sync.onPeerHead(peer, n),
      })
      net.setValidator('block', async (data, from) => count('block', await blk(data, from)))

      let outputs: OutputService | undefined
      if (bridge && opts.l1 && (address || opts.l1.proposerKey)) {
        const o = new OutputService({
          chain,
          store,
          runtime,
          addresses: opts.l1.addresses,
          l1Rpc: opts.l1.rpc,
          signerKey: opts.validatorKey ? (hex(opts.validatorKey) as Hex) : undefined,
          proposerKey: opts.l1.proposerKey,
          validatorsAfter: (n) => validators.validators(n + 1n),
          publish: (s) => {
            net
              .publish('output', encodeOutputSignature(s))
              .catch((err) => log.debug({ err }, 'output gossip failed'))
          },
          metrics,
          log,
          pollMs: opts.l1.pollMs,
        })
        outputs = o
        closers.unshift(() => o.stop())
      }
      net.setValidator('output', async (data) => {
        if (!outputs) return count('output', 'ignore')
        let sig: ReturnType<typeof decodeOutputSignature>
        try {
          sig = decodeOutputSignature(data)
        } catch {
          return count('output', 'reject')
        }
        return count('output', await outputs.onSignature(sig))
      })

      const txBatcher = new TxBatcher((data) => {
        net.publish('tx', data).catch((err) => log.debug({ err }, 'tx gossip failed'))
      })
      closers.unshift(async () => txBatcher.close())
      const backend = new NodeBackend({
        chain,
        intake,
        store,
        runtime,
        pool,
        metrics,
        recovery,
        clientVersion: CLIENT_VERSION,
        keys: new Map(),
        afterAdmit: async (hash) => {
          const pooled = pool.get(hash)
          if (pooled) txBatcher.add(pooled.tx.serialize())
        },
        peerCount: () => net.peerCount(),
        syncing: () => sync.status(),
        execution: { threads: defaultExecThreads(), ...opts.execution },
        execWorkers: { dbPath: core.dbPath, spec: core.runtimeSpec },
      })
      closers.unshift(() => backend.close())
      // Observed equivocations go to the Staking module as transactions signed by this validator.
      if (address && opts.validatorKey)
        reporter = new EvidenceReporter({
          common: runtime.common,
          privateKey: opts.validatorKey,
          address,
          head: () => chain.head.header.number,
          nonce: () => backend.getNonce(address, { tag: 'pending' }),
          baseFee: () => runtime.nextBaseFee(chain.head.header),
          send: (raw) => backend.sendRawTransaction(raw),
          log,
        })
      const multiValidator = genesis.validators.length > 1
      const health = (): HealthState =>
        sync.syncing ? 'syncing' : multiValidator && net.peerCount() === 0 ? 'not-ready' : 'ready'
      const extra: Parameters<typeof serveApis>[5] = {
        qbft: qbftRpcMethods({
          backend,
          evidence: () => validator?.host.evidence ?? [],
          timings: validator?.timings,
        }),
      }
      if (isLoopback(opts.rpc.host))
        extra.admin = adminRpcMethods({
          p2p: net,
          chain,
          chainId: runtime.chainId,
          genesisHash: store.genesisHash,
          clientVersion: CLIENT_VERSION,
          validator: address,
        })
      // Traces re-execute blocks: debug_* only when asked for (--rpc.debug).
      const apis = { ...opts, rpc: { debug: false, ...opts.rpc } }
      const { rpcUrl, metricsUrl } = await serveApis(core, backend, apis, closers, health, extra)
      closers.unshift(async () => abort.abort())

      engine?.start(head.header.number)
      outputs?.start()
      const node = new NetworkNode(
        chain,
        backend,
        net,
        sync,
        engine,
        address,
        rpcUrl,
        metricsUrl,
        closers,
        log,
        abort,
        bridge,
      )
      log.info(
        {
          head: String(chain.head.header.number),
          rpc: rpcUrl,
          peerId: net.peerId,
          p2p: net.multiaddrs(),
          validator: address ? hex(address) : null,
        },
        'node started',
      )
      return node
    } catch (err) {
      abort.abort()
      for (const close of closers) await close().catch(() => {})
      throw err
    }
  }

  /** Stops consensus, RPC and networking, then flushes and closes the databases. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort()
      for (const close of this.closers) {
        await close().catch((err: unknown) => this.log.warn({ err }, 'error while closing'))
      }
      this.log.info('node stopped')
    })()
    return this.#closing
  }
}
