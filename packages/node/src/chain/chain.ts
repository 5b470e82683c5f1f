/**
 * The committed chain as the rest of the node sees it: head block, the state root that "latest"
 * reads use, and the one commit path every block source goes through (dev sealer, QBFT, gossip,
 * sync): persist the blocks in one store batch — with the state their execution wrote, taken from
 * the runtime (`stateWrites`), so a block's state, chain data and head pointer are ONE LevelDB
 * write — then notify the observers.
 *
 * Observers are called in registration order and each is awaited before the next, so commit()
 * resolves only when all of them have seen the blocks: the pool has dropped the mined
 * transactions (txpool/maintain.ts, registered first by node.ts) before the RPC events go out,
 * and automine answers eth_sendRawTransaction after both. A failing observer is logged and does
 * not stop the others: the blocks are already persisted. QBFT blocks are final once committed, so
 * there is no separate "finalized" notification; the only way back is a dev rollback
 * (evm_revert), announced as `onRollback`.
 */
import type { Block } from '@ethereumjs/block'
import type { ExecutedTx } from '@openledger/evm-runtime'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { ChainDbOperation, ChainStore } from '../store/index.ts'
import { bytesEqual, key } from '../util/bytes.ts'

/** Who produced the committed blocks: this node's dev sealer, its QBFT engine, or peers. */
export type CommitSource = 'local' | 'consensus' | 'network'

export interface CommittedBlock {
  block: Block
  executed: readonly ExecutedTx[]
}

export interface ChainObserver {
  /** For logs when the observer fails. */
  readonly name: string
  /** Blocks just persisted, in chain order (more than one for a batch of synced blocks). */
  onCommit?(blocks: readonly CommittedBlock[], source: CommitSource): Promise<void> | void
  /** Blocks above `head` were removed (dev rollback); `head` is the new head. */
  onRollback?(head: Block): Promise<void> | void
  /** The chain started over from `first` (dev reset, possibly onto another chain's fork block);
   * without this, observers hear it as a rollback to `first`. */
  onRestart?(first: Block): Promise<void> | void
}

/** Writes of another keyspace that belong in the next block batch (the blocks' state), as
 * operations on the parent LevelDB (keys with their keyspace's prefix, see ChainStore's batchDb). */
export interface PendingWrites {
  readonly ops: readonly ChainDbOperation[]
  /** The batch is on disk. */
  landed(): void
  /** The batch failed: keep the writes for a later one. */
  failed(): void
}

export class Chain {
  readonly #observers: ChainObserver[] = []
  /** State root that "latest" reads and the next block build on. Equals head.stateRoot except in
   * dev mode after a state cheat (setBalance, setCode …), which edits state between blocks. */
  #working: Uint8Array

  constructor(
    private readonly store: ChainStore,
    private readonly opts: {
      log: Logger
      metrics?: NodeMetrics
      /** The state written since the last commit (the runtime's deferred state writes). */
      stateWrites?: () => PendingWrites | undefined
    },
  ) {
    this.#working = store.head().header.stateRoot
  }

  get head(): Block {
    return this.store.head()
  }

  get workingStateRoot(): Uint8Array {
    return this.#working
  }

  /** Dev mode: block hash → the state its reads see when cheats (setBalance …) edited it after
   * it became the head and a block was then built on the edited state — Hardhat's "irregular
   * state": `eth_getBalance(addr, n)` keeps answering the edited value once n is no longer the head. */
  readonly #edited = new Map<string, Uint8Array>()

  /** The state root reads at `block` use (its header's, unless dev cheats edited it). */
  stateRootOf(block: Block): Uint8Array {
    return (this.#edited.size > 0 && this.#edited.get(key(block.hash()))) || block.header.stateRoot
  }

  setWorkingStateRoot(root: Uint8Array): void {
    this.#working = root
  }

  /** Adds an observer after those already registered; returns its removal. */
  subscribe(observer: ChainObserver): () => void {
    this.#observers.push(observer)
    return () => {
      const i = this.#observers.indexOf(observer)
      if (i >= 0) this.#observers.splice(i, 1)
    }
  }

  /** Persist one block, then notify the observers. */
  commit(result: CommittedBlock, source: CommitSource): Promise<void> {
    return this.commitMany([result], source)
  }

  /** Persist consecutive blocks in one database batch (block sync), then notify the observers. */
  async commitMany(results: readonly CommittedBlock[], source: CommitSource): Promise<void> {
    if (results.length === 0) return
    const t0 = performance.now()
    const parent = this.store.head()
    if (!bytesEqual(this.#working, parent.header.stateRoot))
      this.#edited.set(key(parent.hash()), this.#working)
    const state = this.opts.stateWrites?.()
    try {
      await this.store.commitBlocks(results, state?.ops)
    } catch (e) {
      state?.failed()
      throw e
    }
    state?.landed()
    const last = results[results.length - 1]!.block
    this.#working = last.header.stateRoot
    const m = this.opts.metrics
    if (m) {
      m.phaseSeconds.inc({ phase: 'storage' }, (performance.now() - t0) / 1000)
      m.headBlock.set(Number(last.header.number))
      for (const { executed } of results) m.blockTxs.observe(executed.length)
    }
    const t1 = performance.now()
    let tObs = t1
    for (const o of this.#observers) {
      if (o.onCommit === undefined) continue
      try {
        await o.onCommit(results, source)
      } catch (err) {
        this.opts.log.error({ err, observer: o.name }, 'chain observer failed on commit')
      }
      // Each observer delays the next block's build or validation (the importer waits for all).
      const now = performance.now()
      m?.phaseSeconds.inc({ phase: `observer:${o.name}` }, (now - tObs) / 1000)
      tObs = now
    }
    m?.phaseSeconds.inc({ phase: 'observers' }, (performance.now() - t1) / 1000)
  }

  /** Dev rollback (evm_revert): drop blocks above `number` and return to their parent's state. */
  async rollbackTo(number: bigint, workingStateRoot: Uint8Array): Promise<void> {
    await this.store.truncateAfter(number)
    if (number === this.store.genesisNumber) this.#edited.clear()
    this.#working = workingStateRoot
    await this.#rolledBack()
  }

  /** Dev reset (hardhat_reset): the chain starts over from `genesis` (its own, or a fork block),
   * announced to the observers as a rollback to it. */
  async restart(genesis: Block, opts: { forkedGenesis?: boolean } = {}): Promise<void> {
    await this.store.restart(genesis, opts)
    this.#edited.clear()
    this.#working = genesis.header.stateRoot
    await this.#rolledBack(true)
  }

  async #rolledBack(restart = false): Promise<void> {
    const head = this.head
    for (const o of this.#observers) {
      try {
        if (restart && o.onRestart !== undefined) await o.onRestart(head)
        else await o.onRollback?.(head)
      } catch (err) {
        this.opts.log.error({ err, observer: o.name }, 'chain observer failed on rollback')
      }
    }
  }
}
