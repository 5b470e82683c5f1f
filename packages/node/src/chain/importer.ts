/**
 * Every head change of a networked node goes through one queue here: blocks decided by this
 * node's QBFT engine, sealed blocks gossiped by peers and blocks fetched by range sync. One queue
 * means the runtime never executes two candidate heads at once and "already have it" checks are
 * exact.
 *
 * A sealed block from the network is trusted only after its commit seals prove a quorum of the
 * validator set (`verifySeals`), and is then re-executed: the state root, receipts root, bloom and
 * gas used in the header must match our own execution.
 */
import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import {
  type Address,
  checkSignatureShape,
  ExtraDataError,
  type Hash,
  type RecoverFn,
  verifyExtraSeals,
  verifySeals,
} from '@openledger/consensus'
import {
  adoptRecovery,
  BlockValidationError,
  type ExecutedTx,
  type ExecutionRuntime,
  type RawTxRecovery,
} from '@openledger/evm-runtime'
import { commitSealDigest, headerExtraData, rawTransactions } from '../consensus/block-codec.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { ChainStore } from '../store/index.ts'
import { bytesEqual, hex } from '../util/bytes.ts'
import type { Chain } from './chain.ts'
import { type KnownSenderKey, reuseKnownSenders } from './known-senders.ts'

export type ImportResult = 'imported' | 'known'

/** importRange lets other work (network I/O, the next range's decoding) run this often. */
const YIELD_EVERY_MS = 4

export class ImportError extends Error {
  constructor(
    readonly code: 'BAD_SEALS' | 'NOT_NEXT' | 'CONFLICT' | 'INVALID_BLOCK' | 'UNKNOWN_VALIDATORS',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ImportError'
  }
}

export interface ImporterOptions {
  chain: Chain
  store: ChainStore
  runtime: ExecutionRuntime
  /** Senders this node already recovered (its pool), reused by block execution. */
  knownSenders: KnownSenderKey
  metrics?: NodeMetrics
  /** The validator set that must have sealed block `height`; may throw for a height whose set is
   * not known yet (reported as UNKNOWN_VALIDATORS). */
  validators: (height: bigint) => readonly Address[]
  /**
   * Runs after a block was executed (any source), before anything depends on it: the next block's
   * seal check, commit, consensus on the next height. Checks that need the block's post-state
   * (the epoch vanity) throw here; the validator set of the next height is loaded here.
   */
  afterExecute?: (block: Block) => Promise<void>
  recover: RecoverFn
  log: Logger
  /** Recovers many commit seals at once off the main thread (sync); resolves undefined, or an
   * undefined entry, where `recover` must do it in-thread. */
  recoverSeals?: (
    items: ReadonlyArray<{ digest: Hash; seal: Uint8Array }>,
  ) => Promise<ReadonlyArray<Address | undefined> | undefined>
  /** Recovers the senders of many encoded transactions off the main thread (sync); resolves
   * undefined, or an undefined entry, where execution must recover in-thread. */
  recoverSenders?: (
    raws: readonly Uint8Array[],
  ) => Promise<ReadonlyArray<RawTxRecovery | undefined> | undefined>
}

/**
 * Work on a fetched range that runs off the main thread and can start before the range's turn to
 * be imported (range sync prepares the next range while importing this one): its commit seals
 * and its transactions' senders, recovered on the worker threads. Neither decides anything:
 * `importRange` still verifies every seal quorum and execution every signature's validity.
 */
export interface PreparedRange {
  seals: Promise<Prerecovered | undefined>
  /** Per block of the range: its senders recovered (block i can execute while i+1's recover). */
  senders: ReadonlyArray<Promise<unknown>>
}

/** Commit-seal digests of a range and the signers recovered for them ahead of verification. */
export interface Prerecovered {
  digests: Array<Hash | undefined>
  recover: RecoverFn
}

/**
 * Imported blocks are committed through the chain (source 'network' for peers' blocks,
 * 'consensus' for this node's decisions); what follows a new head (the engine's next height,
 * gossip, WAL pruning) is a chain observer, registered by the assembly (network-node.ts).
 */
export class BlockImporter {
  #queue: Promise<unknown> = Promise.resolve()
  private readonly chain: Chain

  constructor(private readonly opts: ImporterOptions) {
    this.chain = opts.chain
  }

  /** Runs `fn` after every import queued before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** The block at `number` is already canonical with this hash (or a different one: conflict). */
  private async known(block: Block): Promise<ImportResult | undefined> {
    const number = block.header.number
    if (number > this.chain.head.header.number) return undefined
    const canonical = await this.opts.store.getCanonicalHash(number)
    if (canonical && bytesEqual(canonical, block.hash())) return 'known'
    throw new ImportError(
      'CONFLICT',
      `block ${number} ${hex(block.hash())} conflicts with our canonical ${canonical ? hex(canonical) : 'none'}`,
    )
  }

  /** Verify the seal quorum of a network block without importing it (gossip pre-check). */
  verifySeals(block: Block, digest?: Hash, recover: RecoverFn = this.opts.recover): Address[] {
    let validators: readonly Address[]
    try {
      validators = this.opts.validators(block.header.number)
    } catch (e) {
      throw new ImportError('UNKNOWN_VALIDATORS', (e as Error).message, { cause: e })
    }
    try {
      // The digest known (range sync): the header's cached extraData, no re-encoding of the header.
      if (digest !== undefined)
        return verifyExtraSeals(headerExtraData(block.header), digest, validators, recover)
      return verifySeals(block.header.raw(), validators, recover, commitSealDigest(block))
    } catch (e) {
      if (e instanceof ExtraDataError) throw new ImportError('BAD_SEALS', e.message, { cause: e })
      throw e
    }
  }

  /** The afterExecute hook; its failure makes the block invalid. */
  private async afterExecute(block: Block): Promise<void> {
    if (this.opts.afterExecute === undefined) return
    try {
      await this.opts.afterExecute(block)
    } catch (e) {
      if (e instanceof ImportError) throw e
      throw new ImportError('INVALID_BLOCK', `block ${block.header.number}: ${(e as Error).message}`, {
        cause: e,
      })
    }
  }

  /** A sealed block from a peer (gossip or sync): seals, then execution, then commit. */
  importSealed(block: Block): Promise<ImportResult> {
    return this.exclusive(async () => {
      const known = await this.known(block)
      if (known) return known
      const head = this.chain.head
      if (
        block.header.number !== head.header.number + 1n ||
        !bytesEqual(block.header.parentHash, head.hash())
      )
        throw new ImportError(
          'NOT_NEXT',
          `block ${block.header.number} does not extend our head ${head.header.number} ${hex(head.hash())}`,
        )
      this.verifySeals(block)
      const started = performance.now()
      let executed: ExecutedTx[]
      reuseKnownSenders(block, this.opts.knownSenders)
      try {
        executed = await this.opts.runtime.executeBlock(block, head.header)
      } catch (e) {
        if (e instanceof BlockValidationError)
          throw new ImportError('INVALID_BLOCK', `block ${block.header.number}: ${e.message}`, { cause: e })
        throw e
      }
      await this.afterExecute(block)
      await this.chain.commit({ block, executed }, 'network')
      this.opts.metrics?.blockImport.observe((performance.now() - started) / 1000)
      return 'imported'
    })
  }

  /**
   * A run of consecutive sealed blocks from sync. Runs of empty blocks are committed in one
   * database batch; a block with transactions is committed on its own first, because its
   * execution may read ancestors' hashes (BLOCKHASH) from the store. On an invalid block the valid
   * prefix stays imported and the error is thrown. Returns how many blocks were new.
   */
  importRange(
    blocks: readonly Block[],
    prepared: PreparedRange = this.prepareRange(blocks),
  ): Promise<number> {
    return this.exclusive(async () => {
      const m = this.opts.metrics
      const phase = (name: string, t0: number) =>
        m?.phaseSeconds.inc({ phase: name }, (performance.now() - t0) / 1000)
      let t = performance.now()
      const pre = await prepared.seals
      phase('import_seals', t)

      let tip = this.chain.head
      let lastYield = performance.now()
      let pending: Array<{ block: Block; executed: ExecutedTx[] }> = []
      let imported = 0
      const runtime = this.opts.runtime
      const flush = async () => {
        if (pending.length === 0) return
        const batch = pending
        pending = []
        // The blocks' state first (one batch for the run): a head never points at missing state.
        await runtime.flushStateWrites()
        await this.chain.commitMany(batch, 'network')
        imported += batch.length
      }
      runtime.holdStateWrites()
      try {
        for (const [i, block] of blocks.entries()) {
          if (pending.length === 0 && (await this.known(block))) {
            tip = this.chain.head
            continue
          }
          if (
            block.header.number !== tip.header.number + 1n ||
            !bytesEqual(block.header.parentHash, tip.hash())
          )
            throw new ImportError(
              'NOT_NEXT',
              `block ${block.header.number} does not extend ${tip.header.number}`,
            )
          t = performance.now()
          this.verifySeals(block, pre?.digests[i], pre?.recover)
          phase('import_seals', t)
          const hasTxs = block.transactions.length > 0
          if (hasTxs) {
            t = performance.now()
            await prepared.senders[i]
            phase('import_senders', t)
            await flush()
          }
          let executed: ExecutedTx[]
          t = performance.now()
          try {
            executed = await this.opts.runtime.executeBlock(block, tip.header)
          } catch (e) {
            if (e instanceof BlockValidationError)
              throw new ImportError('INVALID_BLOCK', `block ${block.header.number}: ${e.message}`, {
                cause: e,
              })
            throw e
          }
          phase('import_execution', t)
          t = performance.now()
          await this.afterExecute(block)
          phase('import_after_execute', t)
          pending.push({ block, executed })
          tip = block
          if (hasTxs) await flush()
          // A run of empty blocks resolves its reads as microtasks, holding the event loop for the
          // whole range: let I/O in now and then, so that the next range (being fetched) is
          // received, decoded and its seals sent to the worker while this one imports.
          if (performance.now() - lastYield >= YIELD_EVERY_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve))
            lastYield = performance.now()
          }
        }
        await flush()
      } catch (e) {
        await flush()
        throw e
      } finally {
        // Whatever else was held (a failed block's state is discarded, not held) goes to disk.
        await runtime.flushStateWrites(true)
      }
      return imported
    })
  }

  /** Starts the off-thread work of a range (see PreparedRange); never rejects. */
  prepareRange(blocks: readonly Block[]): PreparedRange {
    const seals = this.opts.recoverSeals
    const senders = this.opts.recoverSenders
    return {
      seals:
        seals === undefined || blocks.length < 2
          ? Promise.resolve(undefined)
          : prerecoverSeals(blocks, seals, this.opts.recover).catch(() => undefined),
      senders: blocks.map((b) =>
        senders === undefined || b.transactions.length === 0
          ? Promise.resolve()
          : prerecoverSenders(b, senders).catch(() => 0),
      ),
    }
  }

  /**
   * A block this node's QBFT engine decided, with its seals written in. `execute` returns the
   * execution results (already computed when the block was built or validated).
   */
  commitDecided(block: Block, execute: () => Promise<ExecutedTx[]>): Promise<ImportResult> {
    return this.exclusive(async () => {
      const known = await this.known(block)
      if (known) return known
      const started = performance.now()
      const executed = await execute()
      await this.afterExecute(block)
      await this.chain.commit({ block, executed }, 'consensus')
      this.opts.metrics?.blockImport.observe((performance.now() - started) / 1000)
      return 'imported'
    })
  }
}

/**
 * Recovers every well-formed commit seal of a range in one batch (off the main thread), keyed by
 * (digest, seal): `verifySeals` then finds its answers in the returned `recover` and still does
 * every check itself, falling back to `fallback` for anything the batch did not answer. Seals that
 * fail the shape check (high s, bad recovery id) are never sent, so `fallback` rejects them.
 */
export async function prerecoverSeals(
  blocks: readonly Block[],
  batch: NonNullable<ImporterOptions['recoverSeals']>,
  fallback: RecoverFn,
): Promise<Prerecovered> {
  const digests: Array<Hash | undefined> = []
  const items: Array<{ digest: Hash; seal: Uint8Array }> = []
  for (const block of blocks) {
    let digest: Hash | undefined
    try {
      digest = commitSealDigest(block)
      for (const seal of headerExtraData(block.header).seals) {
        try {
          checkSignatureShape(seal)
          items.push({ digest, seal })
        } catch {}
      }
    } catch {
      digest = undefined // malformed extraData: verifySeals reports it
    }
    digests.push(digest)
  }
  const signers = await batch(items)
  if (signers === undefined) return { digests, recover: fallback }
  const known = new Map<string, Address>()
  items.forEach((it, i) => {
    const a = signers[i]
    if (a !== undefined) known.set(hex(it.digest) + hex(it.seal), a)
  })
  return { digests, recover: (hash, seal) => known.get(hex(hash) + hex(seal)) ?? fallback(hash, seal) }
}

/**
 * Recovers the senders of a block's transactions in one batch (off the main thread) from the bytes
 * they were decoded from, and caches each on its transaction object (as eth_sendRawTransaction's
 * intake does): execution then skips ecrecover for them. The workers apply the same signature
 * rules (low s, valid recovery id, chain id); a transaction they do not answer is recovered, and
 * rejected if invalid, in-thread by execution. Returns how many senders were adopted.
 */
export async function prerecoverSenders(
  block: Block,
  batch: NonNullable<ImporterOptions['recoverSenders']>,
): Promise<number> {
  const txs: TypedTransaction[] = []
  const raws: Uint8Array[] = []
  const raw = rawTransactions(block)
  block.transactions.forEach((tx, i) => {
    if (!Object.isFrozen(tx) || (tx.cache as { senderPubKey?: Uint8Array }).senderPubKey) return
    txs.push(tx)
    raws.push(raw[i]!)
  })
  if (raws.length === 0) return 0
  const recovered = await batch(raws)
  if (recovered === undefined) return 0
  let adopted = 0
  recovered.forEach((rec, i) => {
    if (rec !== undefined && adoptRecovery(txs[i]!, rec)) adopted++
  })
  return adopted
}
