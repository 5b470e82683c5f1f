/**
 * createExecutionRuntime: the ExecutionRuntime of api.ts over one LevelDB (sub)database.
 *
 * Three views of the same state database:
 * - the block VM (writer): builds and re-executes blocks; every block's trie writes are buffered
 *   and land in ONE LevelDB batch only once the block is complete (and, when re-executing, valid);
 * - the call VM: eth_call/estimateGas, reverted after every call, writes never reach disk;
 * - a stateless trie reader for account/code/storage/proof queries at any persisted root.
 * Old roots are never pruned, so every persisted block's state stays queryable.
 * Long file: the three views of one state database share its caches and commit discipline.
 */
import { Block, type BlockHeader, type BlockOptions, createBlock, createBlockHeader } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { CacheType, type MerkleStateManager } from '@ethereumjs/statemanager'
import type { TypedTransaction } from '@ethereumjs/tx'
import {
  Account,
  Address,
  bigIntToUnpaddedBytes,
  createAccount,
  generateAddress,
  KECCAK256_RLP,
} from '@ethereumjs/util'
import { runTx, type VM } from '@ethereumjs/vm'
import { createAccessList, warmAddresses } from './access-list.ts'
import type {
  AccessListResult,
  AccountProof,
  AccountState,
  BuildBlockOptions,
  BuildBlockResult,
  CallParams,
  CallResult,
  ExecutedTx,
  ExecutionRuntime,
  Hash,
  TraceOptions,
} from './api.ts'
import { executeBlockBody } from './block/body.ts'
import {
  combineBlooms,
  MAX_RLP_BLOCK_SIZE,
  orderedTrieRoot,
  receiptsRootInputs,
  TX_GAS_LIMIT_CAP,
  TxInvalid,
  type TxLoopResult,
  YIELD_EVERY_MS,
} from './block/execute.ts'
import { checkEmptyPragueFields, PRAGUE_EMPTY_FIELDS } from './block/header.ts'
import { type BlockHook, beaconRootClaimed, checkBlockHooks } from './block/hooks.ts'
import { Budget, type ExecutionLimits, withBudget } from './budget.ts'
import { assertLength, equalBytes, toHex } from './bytes.ts'
import { CallEngine, type CallOptions } from './call.ts'
import { createBlockOptions, createChainCommon, nextBaseFee, setForkAt } from './config.ts'
import { initCrypto, recoverSender } from './crypto.ts'
import {
  BlockHookError,
  type BlockMismatch,
  BlockValidationError,
  ExecutionError,
  ExecutionFault,
  ForkError,
  InvalidArgumentError,
  isRequestStop,
  MissingStateError,
  RuntimeClosedError,
} from './errors.ts'
import { type GenesisConfig, type HardforkName, hardforkAt } from './genesis.ts'
import { resetTo, rollbackTo } from './isolation.ts'
import { Mutex } from './lock.ts'
import { checkModules, type HostEVM } from './precompiles/host.ts'
import type { SystemModule } from './precompiles/module-types.ts'
import { BlockStateManager } from './state/block-state.ts'
import { CallStateManager } from './state/call-state.ts'
import { installDirectFindPath } from './state/find-path.ts'
import { ForkLayer, type ForkPoint } from './state/fork.ts'
import { type LevelLike, LevelStateDB, type TakenStateWrites } from './state/level-db.ts'
import { installNodeCache } from './state/node-cache.ts'
import { StateReader } from './state/reader.ts'
import { CallTracer, StructLogger, traceCall } from './trace.ts'
import { installSerializeCache } from './tx-bytes.ts'
import { createChainVM, isForkAware, type Views } from './vm.ts'

export interface CreateExecutionRuntimeOptions {
  /** A `level` database or sublevel opened with `keyEncoding: 'view', valueEncoding: 'view'`. */
  db: LevelLike
  genesis: GenesisConfig
  modules?: SystemModule[]
  /** System work run in every block before and after its transactions (block/hooks.ts), in
   * this order. Every node of a chain must run the same hooks. */
  blockHooks?: BlockHook[]
  /**
   * A storage word of the parent block's state that bounds the EIP-1559 base fee from below (the
   * chain's governance-set minimum): a block's base fee is max(the formula, that word). Building
   * and validation read it alike. Absent: the formula alone.
   */
  baseFeeFloor?: { account: Uint8Array; slot: Uint8Array }
  /** Hash of canonical block `n` (BLOCKHASH serves the last 256); undefined reads as zero. */
  getBlockHash: (number: bigint) => Promise<Uint8Array | undefined>
  /** LRU sizes (entries) of the block VM's caches; the call VM uses a quarter of each. */
  cache?: { accounts?: number; storage?: number; code?: number; trieNodes?: number }
  /**
   * How often block execution lets other work run (ms, default 25). Dev nodes keep RPC snappy;
   * validators raise it so that a flood of incoming transactions cannot stretch a proposal's
   * execution past the consensus round timer.
   */
  yieldEveryMs?: number
  /**
   * Built and executed blocks' state stays in memory (readable like persisted state) until the
   * caller takes it with `takeStateWrites` and writes it in its own batch: the node writes a
   * block's state, its chain data and its head pointer as ONE LevelDB write. Whoever sets this
   * must take the writes before (or with) anything on disk that refers to that state.
   */
  deferStateWrites?: boolean
  /** Dev only (Hardhat's allowUnlimitedContractSize, anvil's --disable-code-size-limit): no
   * EIP-170 code size or EIP-3860 initcode size limit. Blocks built this way are not valid on a
   * chain whose other nodes keep the limits. */
  allowUnlimitedContractSize?: boolean
  /**
   * Fork a remote chain (dev only): the chain continues from `fork.block` instead of the genesis
   * block, on the remote's state read through `fork.source`; the genesis alloc (dev accounts) is
   * applied on top of it. See state/fork.ts.
   */
  fork?: ForkPoint
}

/** What a reset starts the chain over from (dev: hardhat_reset). */
export interface ResetOptions {
  /** Continue from a remote chain's block; absent: from the genesis configuration. */
  fork?: ForkPoint
  /** Timestamp of the new genesis block (without `fork`); default the configured one. */
  timestamp?: bigint
}

/** Code given to system-module accounts so that extcodesize > 0 (0xfe: INVALID if ever run as code). */
export const MODULE_ACCOUNT_CODE = Uint8Array.of(0xfe)

interface AppliedBlock {
  loop: TxLoopResult
  stateRoot: Uint8Array
  transactionsTrie: Uint8Array
  receiptTrie: Uint8Array
  logsBloom: Uint8Array
  rootsMs: number
}

class Runtime implements ExecutionRuntime {
  readonly chainId: bigint
  genesisBlock!: Block
  private readonly lock = new Mutex()
  private blockRoot: Uint8Array | undefined
  private closed = false
  private readonly treasury: Uint8Array | undefined

  constructor(
    readonly common: Common,
    readonly blockOptions: BlockOptions,
    private genesis: GenesisConfig,
    private readonly views: Views,
    private readonly writer: LevelStateDB,
    private readonly blockVm: VM,
    private readonly calls: CallEngine,
    private readonly reader: StateReader,
  ) {
    this.chainId = common.chainId()
    this.treasury = genesis.feeRecipient.treasury
    this.allowUnlimitedContractSize = views.allowUnlimitedContractSize === true
  }

  readonly allowUnlimitedContractSize: boolean

  /** See CreateExecutionRuntimeOptions.yieldEveryMs. */
  yieldEveryMs: number | undefined

  private get sm(): MerkleStateManager {
    return this.blockVm.stateManager as MerkleStateManager
  }

  private open(): void {
    if (this.closed) throw new RuntimeClosedError()
  }

  /** The remote chain this one continues from (a forked dev chain), if any. */
  get fork(): ForkPoint | undefined {
    return this.views.fork?.point
  }

  /** Writes the genesis state (idempotent) and builds the genesis block. */
  async init(fork?: ForkPoint): Promise<void> {
    this.writer.beginBuffer()
    let stateRoot: Uint8Array
    try {
      this.useFork(fork === undefined ? undefined : await ForkLayer.create(fork, this.writer))
      stateRoot = await this.writeGenesisState()
      if (await this.reader.hasState(stateRoot)) this.writer.discardBuffer()
      else await this.writer.commitBuffer({ through: true })
    } catch (e) {
      // All or nothing: a genesis that fails leaves no state behind and no VM half-written.
      this.abort(KECCAK256_RLP)
      throw e
    }
    this.blockRoot = stateRoot
    this.genesisBlock =
      fork === undefined ? this.genesisFromConfig(stateRoot) : this.forkGenesis(fork, stateRoot)
  }

  /**
   * Every view reads through to `fork` from now on (undefined: no fork), and forgets what it read
   * before: equal roots of another fork read through to another remote. Under both locks.
   */
  private useFork(fork: ForkLayer | undefined): void {
    this.views.fork = fork
    for (const sm of [this.blockVm.stateManager, this.calls.stateManager]) if (isForkAware(sm)) sm.fork = fork
    this.calls.forgetReads()
    this.reader.useFork(fork)
  }

  /**
   * Starts the chain over (dev: hardhat_reset): from a remote chain's block with `fork`, else from
   * the genesis configuration at `timestamp`. Returns the new genesis block; the caller replaces
   * its chain with it. State written so far stays in the database (content-addressed, unreferenced).
   */
  reset(opts: ResetOptions = {}): Promise<Block> {
    this.open()
    return this.lock.run(() =>
      this.calls.exclusive(async () => {
        if (opts.timestamp !== undefined) this.genesis = { ...this.genesis, timestamp: opts.timestamp }
        this.abort(KECCAK256_RLP)
        await this.init(opts.fork)
        return this.genesisBlock
      }),
    )
  }

  private genesisFromConfig(stateRoot: Uint8Array): Block {
    return createBlock(
      {
        header: {
          number: 0n,
          parentHash: new Uint8Array(32),
          coinbase: new Uint8Array(20),
          stateRoot,
          transactionsTrie: KECCAK256_RLP,
          receiptTrie: KECCAK256_RLP,
          difficulty: 0n,
          gasLimit: this.genesis.gasLimit,
          gasUsed: 0n,
          timestamp: this.genesis.timestamp,
          extraData: this.genesis.extraData,
          mixHash: new Uint8Array(32),
          nonce: new Uint8Array(8),
          baseFeePerGas: this.genesis.baseFeePerGas,
          ...PRAGUE_EMPTY_FIELDS,
        },
        withdrawals: [],
      },
      this.blockOptions,
    )
  }

  /**
   * The remote's fork block as this chain keeps it: the remote's header fields and hash, with the
   * local state root (the alloc over the remote's state). Served to nobody (RPC answers blocks up
   * to the fork block from the remote); it is the parent the next block is built on.
   */
  private forkGenesis(fork: ForkPoint, stateRoot: Uint8Array): Block {
    const b = fork.block
    const block = createBlock(
      {
        header: {
          number: b.number,
          parentHash: b.parentHash,
          coinbase: b.coinbase,
          stateRoot,
          transactionsTrie: KECCAK256_RLP,
          receiptTrie: KECCAK256_RLP,
          difficulty: 0n,
          gasLimit: b.gasLimit,
          gasUsed: b.gasUsed,
          timestamp: b.timestamp,
          extraData: b.extraData,
          mixHash: b.mixHash,
          nonce: new Uint8Array(8),
          baseFeePerGas: b.baseFeePerGas ?? this.genesis.baseFeePerGas,
          ...PRAGUE_EMPTY_FIELDS,
        },
        withdrawals: [],
      },
      this.blockOptions,
    )
    return withForkHash(block, b.hash)
  }

  /**
   * The genesis alloc and one account per system module, into the block VM (buffered). On a fork
   * they are laid over the remote's accounts: an alloc entry sets the balance (and the nonce, code
   * and slots it gives), the rest stays the remote's — dev accounts keep their remote nonce.
   */
  private async writeGenesisState(): Promise<Uint8Array> {
    const sm = this.sm
    const forked = this.views.fork !== undefined
    const moduleAddrs = new Map(this.views.modules.map((m) => [toHex(m.address), m]))
    const written = new Set<string>()
    for (const a of this.genesis.alloc) {
      const hex = toHex(a.address)
      const isModule = moduleAddrs.has(hex)
      const address = new Address(a.address)
      const base = forked ? await sm.getAccount(address) : undefined
      const nonce = a.nonce > 0n || base === undefined ? a.nonce : base.nonce
      const account = base ?? new Account()
      account.nonce = isModule && nonce < 1n ? 1n : nonce
      account.balance = a.balance
      await sm.putAccount(address, account)
      const code =
        isModule && a.code.length === 0 && base?.isContract() !== true ? MODULE_ACCOUNT_CODE : a.code
      if (code.length > 0) await sm.putCode(address, code)
      for (const s of a.storage) await sm.putStorage(address, s.slot, s.value)
      written.add(hex)
    }
    for (const [hex, m] of moduleAddrs) {
      if (written.has(hex)) continue
      const address = new Address(m.address)
      // A fork of a chain with the same modules keeps their accounts and storage (the read puts
      // the remote account into the local trie).
      if (forked && (await sm.getAccount(address))?.isContract()) continue
      await sm.putAccount(address, createAccount({ nonce: 1n, balance: 0n }))
      await sm.putCode(address, MODULE_ACCOUNT_CODE)
    }
    return sm.getStateRoot()
  }

  private async useBlockRoot(root: Uint8Array): Promise<void> {
    if (this.blockRoot !== undefined && equalBytes(this.blockRoot, root)) return
    if (!(await this.reader.hasState(root))) throw new MissingStateError(root)
    await this.sm.setStateRoot(root)
    this.blockRoot = root
  }

  /**
   * Abandons the block VM's current work: drops everything written since beginBuffer and every
   * in-memory change (open checkpoints, caches), and puts the VM back on `root`, a persisted root.
   * Nothing is flushed, so nothing of the abandoned work can reach the trie or the database.
   */
  private abort(root: Uint8Array): void {
    resetTo(this.blockVm, root)
    this.blockRoot = root
    this.writer.discardBuffer()
  }

  private async applyBlock(
    parentRoot: Uint8Array,
    env: Block,
    txs: Iterable<TypedTransaction>,
    mode: 'build' | 'validate',
    deadline?: number,
    /** The transactions root when the caller already computed it from the same `txs`. */
    knownTxRoot?: Uint8Array,
  ): Promise<AppliedBlock> {
    await this.useBlockRoot(parentRoot)
    setForkAt(this.blockVm.common, this.genesis, env.header.number)
    const sm = this.sm
    this.writer.beginBuffer()
    await sm.checkpoint()
    try {
      const loop = await executeBlockBody(this.blockVm, env, txs, this.chainId, {
        mode,
        deadline,
        treasury: this.treasury,
        yieldEveryMs: this.yieldEveryMs,
        hooks: this.views.hooks,
      })
      // Roots time = flushing the block's writes into the trie + hashing + tx/receipt tries.
      const t0 = performance.now()
      // Each phase below runs synchronously for tens of ms on a full block: between them, let the
      // event loop serve RPC as the tx loop does (time spent there is not this block's).
      const yieldMs = this.yieldEveryMs ?? YIELD_EVERY_MS
      let lastYield = t0
      let yielded = 0
      const breathe = async () => {
        const now = performance.now()
        if (now - lastYield < yieldMs) return
        await new Promise<void>((resolve) => setImmediate(resolve))
        lastYield = performance.now()
        yielded += lastYield - now
      }
      // The trie updates of a large block yield too (state/batch-trie.ts).
      const flushing = sm instanceof BlockStateManager ? sm : undefined
      if (flushing !== undefined) {
        flushing.yieldEveryMs = yieldMs
        flushing.yieldedMs = 0
      }
      await sm.commit()
      const stateRoot = await sm.getStateRoot()
      yielded += flushing?.yieldedMs ?? 0
      this.blockRoot = stateRoot
      await breathe()
      const transactionsTrie =
        knownTxRoot ??
        (await orderedTrieRoot(
          this.common,
          loop.executed.map((e) => e.tx.serialize()),
        ))
      await breathe()
      const receiptTrie = await orderedTrieRoot(this.common, receiptsRootInputs(loop.executed, loop.receipts))
      const logsBloom = combineBlooms(loop.executed)
      const rootsMs = performance.now() - t0 - yielded
      return { loop, stateRoot, transactionsTrie, receiptTrie, logsBloom, rootsMs }
    } catch (e) {
      this.abort(parentRoot)
      throw e
    }
  }

  /** EIP-1559 base fee of the child of `parent` (state `root`), with the governance floor;
   * `locked`: the caller holds the lock. */
  private async baseFeeAfter(parent: BlockHeader, root: Uint8Array, locked: boolean): Promise<bigint> {
    const fee = nextBaseFee(parent, this.genesis.eip1559)
    const floor = this.views.baseFeeFloor
    if (floor === undefined) return fee
    const word = locked
      ? await this.storageAt(root, floor.account, floor.slot)
      : await this.getStorage(root, floor.account, floor.slot)
    let min = 0n
    for (const b of word) min = (min << 8n) | BigInt(b)
    return min > fee ? min : fee
  }

  nextBaseFee(parent: BlockHeader): Promise<bigint> {
    this.open()
    return this.baseFeeAfter(parent, parent.stateRoot, false)
  }

  /**
   * Build-mode execution that never yields a block its own import would refuse (docs/evm-runtime.md,
   * "Block hook faults"). When endBlock fails after transactions, the block is built with the
   * longest prefix of them it accepts: the next transaction is dropped as a fault, the rest wait
   * for the next block. A failure no choice of transactions avoids (beginBlock, or endBlock of
   * the empty block) is thrown: this parent and environment have no block.
   */
  private async applyForBuild(
    parentRoot: Uint8Array,
    env: Block,
    txs: Iterable<TypedTransaction>,
    deadline: number | undefined,
  ): Promise<{ applied: AppliedBlock; dropped: BuildBlockResult['rejected'] }> {
    try {
      return { applied: await this.applyBlock(parentRoot, env, txs, 'build', deadline), dropped: [] }
    } catch (e) {
      const executed = e instanceof BlockHookError && e.phase === 'endBlock' ? e.executed : undefined
      if (executed === undefined || executed.length === 0) throw e
      let failure = e as BlockHookError
      // Each probe runs the prefix and its hooks for real, then is abandoned (applyBlock aborts
      // a failed one itself); log2(n) + 2 executions of a block that already cost one.
      const fails = async (k: number): Promise<boolean> => {
        try {
          await this.applyBlock(parentRoot, env, executed.slice(0, k), 'build')
        } catch (x) {
          if (!(x instanceof BlockHookError) || x.phase !== 'endBlock') throw x
          if (k > 0) failure = x
          return true
        }
        this.abort(parentRoot)
        return false
      }
      if (await fails(0)) throw e
      let ok = 0
      let bad = executed.length
      while (bad - ok > 1) {
        const mid = (ok + bad) >> 1
        if (await fails(mid)) bad = mid
        else ok = mid
      }
      const applied = await this.applyBlock(parentRoot, env, executed.slice(0, ok), 'build')
      const reason = 'left for the next block: a block hook failed on an earlier transaction'
      return {
        applied,
        dropped: [
          { tx: executed[ok]!, reason: failure.message, retry: false, fault: failure },
          ...executed.slice(ok + 1).map((tx) => ({ tx, reason, retry: true })),
        ],
      }
    }
  }

  buildBlock(
    parent: BlockHeader,
    txs: Iterable<TypedTransaction>,
    opts: BuildBlockOptions,
  ): Promise<BuildBlockResult> {
    this.open()
    const t0 = performance.now()
    assertLength('coinbase', opts.coinbase, 20)
    if (opts.mixHash !== undefined) assertLength('mixHash', opts.mixHash, 32)
    if (opts.parentBeaconBlockRoot !== undefined) {
      assertLength('parentBeaconBlockRoot', opts.parentBeaconBlockRoot, 32)
      if (!beaconRootClaimed(this.views.hooks))
        throw new InvalidArgumentError('parentBeaconBlockRoot is set by no block hook of this chain')
    }
    if (opts.timestamp <= parent.timestamp) {
      throw new InvalidArgumentError(
        `timestamp ${opts.timestamp} must be greater than the parent's ${parent.timestamp}`,
      )
    }
    const gasLimit = opts.gasLimit ?? parent.gasLimit
    if (gasLimit < 5000n) throw new InvalidArgumentError('gasLimit must be at least 5000')
    if (opts.baseFeePerGas !== undefined && opts.baseFeePerGas < 0n)
      throw new InvalidArgumentError('baseFeePerGas must not be negative')
    const parentRoot = opts.parentStateRoot ?? parent.stateRoot
    return this.lock.run(async () => {
      const headerData = {
        parentHash: parent.hash(),
        number: parent.number + 1n,
        coinbase: opts.coinbase,
        timestamp: opts.timestamp,
        gasLimit,
        extraData: opts.extraData ?? new Uint8Array(0),
        mixHash: opts.mixHash ?? new Uint8Array(32),
        baseFeePerGas: opts.baseFeePerGas ?? (await this.baseFeeAfter(parent, parentRoot, true)),
        difficulty: 0n,
        nonce: new Uint8Array(8),
        ...PRAGUE_EMPTY_FIELDS,
        parentBeaconBlockRoot: opts.parentBeaconBlockRoot ?? PRAGUE_EMPTY_FIELDS.parentBeaconBlockRoot,
      }
      const env = createBlock({ header: headerData, withdrawals: [] }, this.blockOptions)
      const deadline = opts.deadlineMs !== undefined ? t0 + opts.deadlineMs : undefined
      const { applied, dropped } = await this.applyForBuild(parentRoot, env, txs, deadline)
      let block: Block
      try {
        const header = createBlockHeader(
          {
            ...headerData,
            stateRoot: applied.stateRoot,
            transactionsTrie: applied.transactionsTrie,
            receiptTrie: applied.receiptTrie,
            logsBloom: applied.logsBloom,
            gasUsed: applied.loop.gasUsed,
          },
          this.blockOptions,
        )
        // new Block keeps the executed tx objects (createBlock would re-create every tx, which
        // rebuilds EthereumJS's params cache per tx and drops the recovered-sender cache).
        block = new Block(
          header,
          applied.loop.executed.map((e) => e.tx),
          [],
          [],
          this.blockOptions,
        )
        const tf = performance.now()
        await this.writer.commitBuffer({ through: opts.writeStateNow === true })
        applied.rootsMs += performance.now() - tf
      } catch (e) {
        this.abort(parentRoot)
        throw e
      }
      const { loop } = applied
      return {
        block,
        executed: loop.executed,
        rejected: dropped.length === 0 ? loop.rejected : [...loop.rejected, ...dropped],
        timings: {
          execution: loop.executionMs,
          senderRecovery: loop.senderMs,
          hooks: loop.hooksMs,
          roots: applied.rootsMs,
          total: performance.now() - t0,
        },
      }
    })
  }

  executeBlock(block: Block, parent: BlockHeader): Promise<ExecutedTx[]> {
    this.open()
    return this.lock.run(async () => {
      const h = block.header
      if (h.number !== parent.number + 1n)
        throw new BlockValidationError('number', `expected ${parent.number + 1n}, got ${h.number}`)
      if (!equalBytes(h.parentHash, parent.hash())) {
        throw new BlockValidationError(
          'parentHash',
          `expected ${toHex(parent.hash())}, got ${toHex(h.parentHash)}`,
        )
      }
      if (h.timestamp <= parent.timestamp)
        throw new BlockValidationError(
          'timestamp',
          `${h.timestamp} is not after the parent's ${parent.timestamp}`,
        )
      if (h.gasLimit < 5000n)
        throw new BlockValidationError('gasLimit', `${h.gasLimit} is below the minimum 5000`)
      if (h.gasUsed > h.gasLimit)
        throw new BlockValidationError('gasUsed', `${h.gasUsed} exceeds the gas limit ${h.gasLimit}`)
      const expectedBaseFee = await this.baseFeeAfter(parent, parent.stateRoot, true)
      if (h.baseFeePerGas !== expectedBaseFee)
        throw new BlockValidationError('baseFee', `expected ${expectedBaseFee}, got ${h.baseFeePerGas}`)
      checkEmptyPragueFields(h, beaconRootClaimed(this.views.hooks))
      if (this.hardforkAt(h.number) === 'osaka' && block.transactions.length > 0) {
        const size = block.serialize().length
        if (size > MAX_RLP_BLOCK_SIZE)
          throw new BlockValidationError(
            'header',
            `block of ${size} bytes exceeds the EIP-7934 limit ${MAX_RLP_BLOCK_SIZE}`,
          )
      }
      if ((block.withdrawals?.length ?? 0) > 0)
        throw new BlockValidationError('header', 'blocks of this chain carry no withdrawals')
      if (block.uncleHeaders.length > 0)
        throw new BlockValidationError('header', 'blocks of this chain carry no uncles')
      // Without block hooks nothing changes state outside transactions (no block rewards or
      // withdrawals), so an empty block's post-state is its parent's: check the header without
      // running the VM (block sync of idle chains is mostly empty blocks). Hooks may change state
      // in any block: then every block is executed.
      if (block.transactions.length === 0 && this.views.hooks.length === 0) {
        const expect = (field: BlockMismatch, ok: boolean, got: string) => {
          if (!ok) throw new BlockValidationError(field, `an empty block must have ${got}`)
        }
        expect(
          'transactionsRoot',
          equalBytes(h.transactionsTrie, KECCAK256_RLP),
          'the empty transactions root',
        )
        expect('receiptsRoot', equalBytes(h.receiptTrie, KECCAK256_RLP), 'the empty receipts root')
        expect('gasUsed', h.gasUsed === 0n, 'gasUsed 0')
        expect(
          'logsBloom',
          h.logsBloom.every((b) => b === 0),
          'an empty logs bloom',
        )
        expect('stateRoot', equalBytes(h.stateRoot, parent.stateRoot), "its parent's state root")
        return []
      }
      const txRoot = await orderedTrieRoot(
        this.common,
        block.transactions.map((t) => t.serialize()),
      )
      if (!equalBytes(txRoot, h.transactionsTrie)) {
        throw new BlockValidationError(
          'transactionsRoot',
          `computed ${toHex(txRoot)}, header has ${toHex(h.transactionsTrie)}`,
        )
      }
      let applied: AppliedBlock
      try {
        // Validation executes every transaction or fails: the root just checked is the block's.
        applied = await this.applyBlock(
          parent.stateRoot,
          block,
          block.transactions,
          'validate',
          undefined,
          txRoot,
        )
      } catch (e) {
        if (e instanceof TxInvalid) throw new BlockValidationError('txs', e.message)
        // A builder never produces a block its hooks refuse (applyForBuild): such a block is invalid.
        if (e instanceof BlockHookError) throw new BlockValidationError('hooks', e.message)
        throw e
      }
      const fail = async (
        field: 'gasUsed' | 'receiptsRoot' | 'logsBloom' | 'stateRoot',
        got: string,
        want: string,
      ) => {
        this.abort(parent.stateRoot)
        throw new BlockValidationError(field, `execution gives ${got}, header has ${want}`)
      }
      if (applied.loop.gasUsed !== h.gasUsed)
        await fail('gasUsed', String(applied.loop.gasUsed), String(h.gasUsed))
      if (!equalBytes(applied.receiptTrie, h.receiptTrie))
        await fail('receiptsRoot', toHex(applied.receiptTrie), toHex(h.receiptTrie))
      if (!equalBytes(applied.logsBloom, h.logsBloom))
        await fail('logsBloom', toHex(applied.logsBloom), toHex(h.logsBloom))
      if (!equalBytes(applied.stateRoot, h.stateRoot))
        await fail('stateRoot', toHex(applied.stateRoot), toHex(h.stateRoot))
      try {
        await this.writer.commitBuffer()
      } catch (e) {
        this.abort(parent.stateRoot)
        throw e
      }
      return applied.loop.executed
    })
  }

  call(params: CallParams, header: BlockHeader, opts?: CallOptions): Promise<CallResult> {
    this.open()
    return this.calls.call(params, header, opts)
  }

  estimateGas(params: CallParams, header: BlockHeader, opts?: CallOptions): Promise<bigint> {
    this.open()
    return this.calls.estimateGas(params, header, opts)
  }

  async createAccessList(
    params: CallParams,
    header: BlockHeader,
    opts: CallOptions = {},
  ): Promise<AccessListResult> {
    this.open()
    const from = params.from ?? new Uint8Array(20)
    assertLength('from', from, 20)
    const root = opts.stateRoot ?? header.stateRoot
    const override = opts.overrides?.get(toHex(from).toLowerCase())
    const account = await this.reader.getAccount(root, from)
    // Fees are zeroed (as geth), but the value must be affordable, as geth's balance check wants.
    const balance = override?.balance ?? account?.balance ?? 0n
    const value = params.value ?? 0n
    if (value > balance)
      throw new ExecutionError(
        `insufficient funds for gas * price + value: address ${toHex(from)} have ${balance} want ${value}`,
      )
    // A creation deploys to the address of the sender's current nonce (state override included).
    const target =
      params.to ?? generateAddress(from, bigIntToUnpaddedBytes(override?.nonce ?? account?.nonce ?? 0n))
    return createAccessList(this.calls, params, header, opts, warmAddresses(this.calls, from, target))
  }

  traceCall(
    params: CallParams,
    header: BlockHeader,
    opts: CallOptions,
    traceOpts: TraceOptions,
  ): Promise<unknown> {
    this.open()
    return traceCall(this.calls, params, header, opts, traceOpts)
  }

  hardforkAt(blockNumber: bigint): HardforkName {
    return hardforkAt(this.genesis, blockNumber)
  }

  txGasCapAt(blockNumber: bigint): bigint | undefined {
    return this.hardforkAt(blockNumber) === 'osaka' ? TX_GAS_LIMIT_CAP : undefined
  }

  hasState(stateRoot: Hash): Promise<boolean> {
    this.open()
    return this.reader.hasState(stateRoot)
  }

  getAccount(stateRoot: Hash, address: Uint8Array): Promise<AccountState | undefined> {
    this.open()
    return this.reader.getAccount(stateRoot, address)
  }

  getCode(stateRoot: Hash, address: Uint8Array): Promise<Uint8Array> {
    this.open()
    return this.reader.getCode(stateRoot, address)
  }

  getStorage(stateRoot: Hash, address: Uint8Array, slot: Hash): Promise<Hash> {
    this.open()
    if (this.atBlockRoot(stateRoot)) return this.lock.run(() => this.storageAt(stateRoot, address, slot))
    return this.reader.getStorage(stateRoot, address, slot)
  }

  /** A storage word at `root`, for a caller holding the lock: from the block VM when it sits on
   * `root` (see atBlockRoot), else from the reader. */
  private async storageAt(root: Hash, address: Uint8Array, slot: Hash): Promise<Hash> {
    if (!this.atBlockRoot(root, true)) return this.reader.getStorage(root, address, slot)
    assertLength('address', address, 20)
    assertLength('slot', slot, 32)
    const v = await this.sm.getStorage(new Address(address), slot)
    const out = new Uint8Array(32)
    out.set(v, 32 - v.length)
    return out
  }

  /**
   * Whether reads at `root` can be served by the block VM's caches: it sits on that committed root
   * (the block just executed or built, its writes no longer buffered) and nothing runs on it (or,
   * `locked`, the caller holds the lock). Right after importing a block, the node reads a few
   * slots of its post-state (the epoch vanity, the next validator set); the VM has them cached,
   * where the stateless reader walks two tries per slot. Not on a fork (remote reads stay in the
   * reader's hands).
   */
  private atBlockRoot(root: Hash, locked = false): boolean {
    return (
      (locked || this.lock.idle) &&
      this.blockRoot !== undefined &&
      !this.writer.buffering &&
      this.views.fork === undefined &&
      root.length === 32 &&
      equalBytes(this.blockRoot, root)
    )
  }

  getProof(stateRoot: Hash, address: Uint8Array, slots: Hash[]): Promise<AccountProof> {
    this.open()
    return this.reader.getProof(stateRoot, address, slots)
  }

  async traceTransaction(
    block: Block,
    parent: BlockHeader,
    txIndex: number,
    opts: TraceOptions,
    limits?: ExecutionLimits,
  ): Promise<unknown> {
    this.open()
    if (!Number.isInteger(txIndex) || txIndex < 0 || txIndex >= block.transactions.length) {
      throw new InvalidArgumentError(
        `txIndex ${txIndex} out of range (block has ${block.transactions.length} txs)`,
      )
    }
    if (opts.tracer !== undefined && opts.tracer !== 'callTracer' && opts.tracer !== 'structLogger') {
      throw new InvalidArgumentError(`unsupported tracer ${String(opts.tracer)}`)
    }
    if (!(await this.reader.hasState(parent.stateRoot))) throw new MissingStateError(parent.stateRoot)
    // A throwaway VM: tracing attaches listeners and must never disturb or persist state.
    const db = this.writer.reader()
    db.beginBuffer()
    const small = { accounts: 10_000, storage: 10_000, code: 1_000, trieNodes: 0 }
    // A fork's remote is read through by the block VM's state manager: replay on the same one.
    const vm = await createChainVM(
      db,
      this.views,
      small,
      parent.stateRoot,
      undefined,
      this.views.fork ? BlockStateManager : undefined,
    )
    setForkAt(vm.common, this.genesis, block.header.number)
    const sm = vm.stateManager as MerkleStateManager
    // The replayed prefix and the traced transaction share the request's budget.
    const budget = limits ? new Budget(limits) : undefined
    await sm.checkpoint()
    try {
      return await withBudget(vm.evm, budget, async () => {
        const prefix = await executeBlockBody(vm, block, block.transactions.slice(0, txIndex), this.chainId, {
          mode: 'validate',
          treasury: this.treasury,
          hooks: this.views.hooks,
          skipEndBlock: true,
          budget,
        })
        const tx = block.transactions[txIndex]
        recoverSender(tx)
        const run = () => runTx(vm, { tx, block, skipHardForkValidation: true, blockGasUsed: prefix.gasUsed })
        if (opts.tracer === 'callTracer') {
          const tracer = new CallTracer(vm.evm as HostEVM, opts)
          try {
            const r = await run()
            return tracer.result(tx.gasLimit, r.totalGasSpent)
          } finally {
            tracer.detach()
          }
        }
        const logger = new StructLogger(vm.evm as HostEVM, opts)
        try {
          const r = await run()
          return logger.result(
            r.totalGasSpent,
            r.execResult.exceptionError !== undefined,
            r.execResult.returnValue,
          )
        } finally {
          logger.detach()
        }
      })
    } catch (e) {
      // The replay throwing (a block hook in beginBlock, a module, the node's own code) is a fault
      // named by its cause, as for calls; the request's own stops and a fork's remote pass as they are.
      if (
        e instanceof InvalidArgumentError ||
        e instanceof MissingStateError ||
        e instanceof ForkError ||
        e instanceof RuntimeClosedError ||
        isRequestStop(e)
      )
        throw e
      throw ExecutionFault.of(e)
    } finally {
      // A throwaway VM, but rolled back all the same: nothing it did may reach the shared reader.
      await rollbackTo(vm, 0).catch(() => undefined)
      db.discardBuffer()
    }
  }

  editState(stateRoot: Hash, edits: Parameters<ExecutionRuntime['editState']>[1]): Promise<Hash> {
    this.open()
    for (const e of edits) {
      assertLength('edit address', e.address, 20)
      if (e.kind === 'storage') {
        assertLength('edit slot', e.slot, 32)
        assertLength('edit value', e.value, 32)
      }
      if ((e.kind === 'balance' || e.kind === 'nonce') && e.value < 0n)
        throw new InvalidArgumentError(`${e.kind} must not be negative`)
      if (e.kind === 'nonce' && e.value >= 1n << 64n)
        throw new InvalidArgumentError('nonce must be below 2^64')
      if (e.kind === 'balance' && e.value >= 1n << 256n)
        throw new InvalidArgumentError('balance must be below 2^256')
    }
    return this.lock.run(async () => {
      await this.useBlockRoot(stateRoot)
      const sm = this.sm
      this.writer.beginBuffer()
      try {
        for (const e of edits) {
          const address = new Address(e.address)
          const existing = await sm.getAccount(address)
          const acct = existing ?? new Account()
          if (e.kind === 'balance') acct.balance = e.value
          if (e.kind === 'nonce') acct.nonce = e.value
          // Code and storage need the account to exist (putStorage refuses otherwise).
          if (e.kind === 'balance' || e.kind === 'nonce' || existing === undefined)
            await sm.putAccount(address, acct)
          if (e.kind === 'code') await sm.putCode(address, e.value)
          if (e.kind === 'storage') await sm.putStorage(address, e.slot, e.value)
        }
        const root = await sm.getStateRoot()
        // On disk at once: RPC (its workers read the disk) serves the edited state before any block.
        await this.writer.commitBuffer({ through: true })
        this.blockRoot = root
        return root
      } catch (e) {
        this.abort(stateRoot)
        throw e
      }
    })
  }

  holdStateWrites(): void {
    this.open()
    this.writer.holdCommits()
  }

  async flushStateWrites(release = false): Promise<void> {
    // Under the lock: no block's commit lands in the held set while it is written.
    await this.lock.run(() => this.writer.flushHeld(release))
  }

  takeStateWrites(): TakenStateWrites | undefined {
    return this.writer.takeHeld()
  }

  async close(): Promise<void> {
    if (this.closed) return
    // Let in-flight block work finish; the LevelDB handle belongs to the caller.
    await this.lock.run(async () => undefined)
    this.closed = true
  }
}

export async function createExecutionRuntime(
  opts: CreateExecutionRuntimeOptions,
): Promise<ExecutionRuntime & { blockOptions: BlockOptions }> {
  await initCrypto()
  installDirectFindPath()
  installNodeCache()
  installSerializeCache()
  const modules = opts.modules ?? []
  checkModules(modules)
  const hooks = [...(opts.blockHooks ?? [])]
  checkBlockHooks(hooks)
  if (typeof opts.getBlockHash !== 'function')
    throw new InvalidArgumentError('getBlockHash callback is required')
  if (opts.db === null || typeof opts.db !== 'object' || typeof opts.db.batch !== 'function') {
    throw new InvalidArgumentError(
      'db must be a level database or sublevel (keyEncoding and valueEncoding "view")',
    )
  }
  if (opts.db.status !== undefined && opts.db.status !== 'open') await opts.db.open?.()
  const common = createChainCommon(opts.genesis)
  const blockOptions = createBlockOptions(common, opts.genesis)
  if (opts.baseFeeFloor !== undefined) {
    assertLength('baseFeeFloor.account', opts.baseFeeFloor.account, 20)
    assertLength('baseFeeFloor.slot', opts.baseFeeFloor.slot, 32)
  }
  const views: Views = {
    common,
    modules,
    hooks,
    baseFeeFloor: opts.baseFeeFloor,
    getBlockHash: opts.getBlockHash,
    allowUnlimitedContractSize: opts.allowUnlimitedContractSize === true,
  }
  const sizes = {
    accounts: opts.cache?.accounts ?? 100_000,
    storage: opts.cache?.storage ?? 100_000,
    code: opts.cache?.code ?? 5_000,
    trieNodes: opts.cache?.trieNodes ?? 100_000,
  }
  const quarter = (n: number) => Math.max(1, Math.floor(n / 4))
  // The writer keeps what it read and wrote: the next block's trie updates start from the nodes
  // the previous block touched.
  const writer = new LevelStateDB(opts.db, { cacheEntries: 100_000 })
  const reader = new StateReader(writer.reader({ cacheEntries: 100_000 }), common)
  const blockVm = await createChainVM(writer, views, sizes, undefined, CacheType.LRU, BlockStateManager)
  const callDb = writer.reader()
  // The call VM reverts every call, and EthereumJS's caches drop entries first read inside a
  // reverted checkpoint, so they only serve within one call (CallStateManager keeps persisted
  // reads across calls). ORDERED_MAP caches: lru-cache's delete of the last entry clears the
  // whole preallocated LRU (O(max)), which cost ~0.5 ms per call.
  const callVm = await createChainVM(
    callDb,
    views,
    {
      accounts: quarter(sizes.accounts),
      storage: quarter(sizes.storage),
      code: quarter(sizes.code),
      trieNodes: sizes.trieNodes,
    },
    undefined,
    CacheType.ORDERED_MAP,
    CallStateManager,
  )
  const calls = new CallEngine(
    callVm,
    callDb,
    blockOptions,
    (root) => reader.hasState(root),
    (common, n) => setForkAt(common, opts.genesis, n),
  )
  const runtime = new Runtime(common, blockOptions, opts.genesis, views, writer, blockVm, calls, reader)
  runtime.yieldEveryMs = opts.yieldEveryMs
  if (opts.deferStateWrites === true) writer.deferCommits()
  await runtime.init(opts.fork)
  return runtime
}

/** Gives a block the hash its chain knows it by (a fork block: the remote's, whatever its header
 * format), through EthereumJS's cache of the frozen header's hash. */
export function withForkHash(block: Block, hash: Uint8Array): Block {
  const header = block.header
  if (!Object.isFrozen(header)) throw new Error('fork block headers must be frozen')
  ;(header as unknown as { cache: { hash?: Uint8Array } }).cache.hash = hash
  return block
}
