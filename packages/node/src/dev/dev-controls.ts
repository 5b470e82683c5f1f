/**
 * Dev-mode cheats (evm_*, hardhat_*, anvil_*), available only in single-node dev mode: they edit
 * state or time outside consensus, which a multi-validator network could never agree on.
 * Snapshot semantics follow Hardhat/EDR: reverting restores chain head, state, pool and clock
 * offsets, and deletes that snapshot and every later one.
 */
import { randomBytes } from 'node:crypto'
import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import { BlockHookError, type ExecutionRuntime } from '@openledger/evm-runtime'
import {
  type DevBackend,
  type DevMetadata,
  ErrorCode,
  invalidInput,
  type ResetOptions,
  RpcError,
} from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import type { Forking } from '../fork/forking.ts'
import type { Fork } from '../fork/open.ts'
import type { DevSealer, MiningMode } from '../miner/dev-sealer.ts'
import { SealerError } from '../miner/errors.ts'
import type { ChainStore } from '../store/index.ts'
import type { TxPool } from '../txpool/index.ts'
import { key } from '../util/bytes.ts'

interface Snapshot {
  id: bigint
  headNumber: bigint
  workingStateRoot: Uint8Array
  pool: Array<{ tx: TypedTransaction; sender: Uint8Array }>
  timeOffset: bigint
  nextTimestamp: bigint | undefined
  nextBaseFee: bigint | undefined
  nextPrevRandao: Uint8Array | undefined
  gasLimit: bigint | undefined
  coinbase: Uint8Array
}

export class DevControls implements DevBackend {
  private snapshots: Snapshot[] = []
  private nextId = 1n
  /** Mode to return to when automine is re-enabled or interval mining is switched off. */
  private intervalMs = 0
  private automine: boolean

  private readonly initialMode: MiningMode
  private readonly initialCoinbase: Uint8Array
  private instanceId = randomBytes(32)

  private readonly chain: Chain
  private readonly store: ChainStore
  private readonly runtime: ExecutionRuntime
  private readonly pool: TxPool
  private readonly sealer: DevSealer
  readonly impersonated: Set<string>
  private readonly clientVersion: string
  private readonly forking: Forking | undefined

  constructor(deps: {
    chain: Chain
    store: ChainStore
    runtime: ExecutionRuntime
    pool: TxPool
    sealer: DevSealer
    impersonated: Set<string>
    clientVersion: string
    /** The fork state of a dev chain that can fork (hardhat_reset with `forking`). */
    forking?: Forking
  }) {
    this.forking = deps.forking
    this.chain = deps.chain
    this.store = deps.store
    this.runtime = deps.runtime
    this.pool = deps.pool
    this.sealer = deps.sealer
    this.impersonated = deps.impersonated
    this.clientVersion = deps.clientVersion
    const sealer = deps.sealer
    this.initialMode = sealer.miningMode
    this.initialCoinbase = sealer.coinbase
    this.automine = false
    this.restoreMode(this.initialMode)
  }

  private restoreMode(m: MiningMode): void {
    this.automine = m.kind === 'auto'
    this.intervalMs = m.kind === 'interval' ? m.blockTimeMs : 0
  }

  snapshot(): Promise<bigint> {
    return this.sealer.exclusive(async () => {
      const id = this.nextId++
      this.snapshots.push({
        id,
        headNumber: this.chain.head.header.number,
        workingStateRoot: this.chain.workingStateRoot,
        pool: this.pool.all(),
        timeOffset: this.sealer.timeOffset,
        nextTimestamp: this.sealer.nextTimestamp,
        nextBaseFee: this.sealer.nextBaseFee,
        nextPrevRandao: this.sealer.nextPrevRandao,
        gasLimit: this.sealer.gasLimit,
        coinbase: this.sealer.coinbase,
      })
      return id
    })
  }

  revert(id: bigint): Promise<boolean> {
    return this.sealer.exclusive(async () => {
      const idx = this.snapshots.findIndex((s) => s.id === id)
      if (idx < 0) return false
      const snap = this.snapshots[idx]!
      this.snapshots = this.snapshots.slice(0, idx)
      await this.chain.rollbackTo(snap.headNumber, snap.workingStateRoot)
      await this.pool.reset(snap.pool)
      const s = this.sealer
      s.timeOffset = snap.timeOffset
      s.nextTimestamp = snap.nextTimestamp
      s.nextBaseFee = snap.nextBaseFee
      s.nextPrevRandao = snap.nextPrevRandao
      s.gasLimit = snap.gasLimit
      s.coinbase = snap.coinbase
      return true
    })
  }

  async mine(blocks = 1n, interval = 1n, timestamp?: bigint, signal?: AbortSignal): Promise<void> {
    if (blocks < 1n) return
    let ts = timestamp
    // Every block is real (built, stored, indexed): a large count takes minutes, so a client that
    // leaves stops it between two blocks rather than leaving the node mining for nobody.
    for (let i = 0n; i < blocks && signal?.aborted !== true; i++) {
      const block = await this.sealer.mine(ts).catch(rpcError)
      // hardhat_mine: blocks after the first are spaced `interval` seconds apart, and the clock
      // moves with them (the sealer sets its offset from every block mined at a set time).
      ts = block.header.timestamp + (interval > 0n ? interval : 1n)
    }
  }

  increaseTime(seconds: bigint): bigint {
    this.sealer.timeOffset += seconds
    return this.sealer.timeOffset
  }

  setNextBlockTimestamp(timestamp: bigint): void {
    const parent = this.chain.head.header.timestamp
    if (timestamp <= parent) {
      throw invalidInput(
        `timestamp ${timestamp} is lower than or equal to the previous block's timestamp ${parent}`,
      )
    }
    this.sealer.nextTimestamp = timestamp
  }

  setAutomine(enabled: boolean): void {
    this.automine = enabled
    this.sealer.setMode(this.currentMode())
  }

  getAutomine(): boolean {
    return this.automine
  }

  setIntervalMining(ms: number): void {
    this.intervalMs = ms
    if (ms > 0) this.automine = false
    this.sealer.setMode(this.currentMode())
  }

  private currentMode(): MiningMode {
    if (this.automine) return { kind: 'auto' }
    if (this.intervalMs > 0) return { kind: 'interval', blockTimeMs: this.intervalMs }
    return { kind: 'manual' }
  }

  private edit(edit: Parameters<ExecutionRuntime['editState']>[1][number]): Promise<void> {
    return this.sealer.exclusive(async () => {
      const root = await this.runtime.editState(this.chain.workingStateRoot, [edit])
      this.chain.setWorkingStateRoot(root)
      // Pooled transactions of this account may have become payable, stale or unpayable.
      await this.pool.revalidate([edit.address])
    })
  }

  setBalance(address: Uint8Array, value: bigint): Promise<void> {
    return this.edit({ kind: 'balance', address, value })
  }

  setCode(address: Uint8Array, code: Uint8Array): Promise<void> {
    return this.edit({ kind: 'code', address, value: code })
  }

  setNonce(address: Uint8Array, nonce: bigint): Promise<void> {
    return this.edit({ kind: 'nonce', address, value: nonce })
  }

  setStorageAt(address: Uint8Array, slot: Uint8Array, value: Uint8Array): Promise<void> {
    return this.edit({ kind: 'storage', address, slot, value })
  }

  impersonate(address: Uint8Array): void {
    this.impersonated.add(key(address))
  }

  stopImpersonating(address: Uint8Array): void {
    this.impersonated.delete(key(address))
  }

  dropTransaction(hash: Uint8Array): boolean {
    return this.pool.remove(hash)
  }

  setNextBlockBaseFee(fee: bigint): void {
    this.sealer.nextBaseFee = fee
  }

  setCoinbase(address: Uint8Array): void {
    this.sealer.coinbase = address
  }

  setMinGasPrice(price: bigint): void {
    this.pool.setMinGasPrice(price)
  }

  setBlockGasLimit(gasLimit: bigint): void {
    if (gasLimit < MIN_GAS_LIMIT) throw invalidInput(`block gas limit must be at least ${MIN_GAS_LIMIT}`)
    this.sealer.gasLimit = gasLimit
  }

  setPrevRandao(value: Uint8Array): void {
    this.sealer.nextPrevRandao = value
  }

  /**
   * hardhat_reset / anvil_reset: without `forking`, back to the genesis block as a freshly started
   * node (a forked chain becomes an unforked one, as Hardhat's); with it, a new fork of its URL
   * (default the current fork's) at its block (default the remote's latest). The remote is asked
   * before anything changes: a bad URL or block leaves the chain as it was.
   */
  async reset(opts: ResetOptions): Promise<void> {
    if (opts.forking) {
      const forking = this.forking
      if (forking === undefined || this.runtime.reset === undefined)
        throw invalidInput('this node cannot fork: hardhat_reset with forking is a dev-chain feature')
      const fork = await forking.open(opts.forking).catch((err: Error) => {
        throw new RpcError(ErrorCode.INVALID_INPUT, `hardhat_reset: ${err.message}`)
      })
      return this.restart(async () => {
        const genesis = await this.runtime.reset!({ fork: fork.point })
        await this.chain.restart(genesis, { forkedGenesis: true })
        forking.current = fork
      })
    }
    if (this.forking?.current !== undefined) {
      const forking = this.forking
      return this.restart(async () => {
        const genesis = await this.runtime.reset!({})
        await this.chain.restart(genesis)
        forking.current = undefined
      })
    }
    return this.restart(async () => {
      const genesis: Block | undefined = await this.store.getBlockByNumber(this.store.genesisNumber)
      if (!genesis) throw new Error('genesis block missing from the chain store')
      await this.chain.rollbackTo(genesis.header.number, genesis.header.stateRoot)
    })
  }

  /** Starts the chain over with `start`, then clears everything a fresh node would not have. */
  private restart(start: () => Promise<void>): Promise<void> {
    return this.sealer.exclusive(async () => {
      await start()
      await this.pool.reset([])
      this.snapshots = []
      this.impersonated.clear()
      const s = this.sealer
      s.timeOffset = 0n
      s.nextTimestamp = undefined
      s.nextBaseFee = undefined
      s.nextPrevRandao = undefined
      s.gasLimit = undefined
      s.coinbase = this.initialCoinbase
      this.restoreMode(this.initialMode)
      s.setMode(this.initialMode)
      this.instanceId = randomBytes(32)
    })
  }

  async metadata(): Promise<DevMetadata> {
    const head = this.chain.head
    const fork = this.forking?.current
    return {
      clientVersion: this.clientVersion,
      chainId: this.runtime.chainId,
      instanceId: this.instanceId,
      latestBlockNumber: head.header.number,
      latestBlockHash: head.hash(),
      ...(fork && { forkedNetwork: forkedNetwork(fork) }),
    }
  }
}

const MIN_GAS_LIMIT = 5000n

const forkedNetwork = (f: Fork) => ({
  chainId: f.chainId,
  forkBlockNumber: f.point.block.number,
  forkBlockHash: f.point.block.hash,
})

/** The sealer's own errors as the JSON-RPC errors Hardhat and anvil answer with. */
function rpcError(err: unknown): never {
  if (err instanceof SealerError) throw invalidInput(err.message)
  // System work failed whatever the block holds (docs/evm-runtime.md): a fault of the node, named.
  if (err instanceof BlockHookError)
    throw new RpcError(ErrorCode.INTERNAL_ERROR, `no block mined: ${err.message}`)
  throw err
}
