/**
 * The node's side of the L1 bridge: its own L1 view, the deposit block hook the runtime runs in
 * every block, the L1 origin a block producer puts in the header, and the L1 metrics.
 *
 * Block producers never wait for the L1: a background poll keeps a deposit plan for the head's
 * consumed L1 block (`planNext`), and `proposalHeader` uses it only if it was made for the very
 * block being built on; otherwise the block consumes nothing new (its origin stays the parent's).
 * Validators and importers re-derive every block's deposits in the hook from their own L1 view.
 */
import {
  createDepositHook,
  type DepositPlan,
  L1_BLOCK_ADDRESS,
  L1_BLOCK_SLOTS,
  type L1Addresses,
  L1Block,
  type L1Cursor,
  L1View,
  L2ToL1MessagePasser,
  MESSAGE_PASSER_ADDRESS,
  slotKey,
  wordToBigInt,
} from '@openledger/bridge'
import type { BlockHook, ExecutionRuntime } from '@openledger/evm-runtime'
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'

export interface L2BridgeOptions {
  l1Rpc: string
  addresses: L1Addresses
  log: Logger
  /** How often the L1 head is polled (ms). */
  pollMs?: number
}

export class BridgeConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BridgeConfigError'
  }
}

const L1_BLOCK = hexToBytes(L1_BLOCK_ADDRESS)

export class L2Bridge {
  readonly view: L1View
  readonly hook: BlockHook
  readonly addresses: L1Addresses
  #plan: { cursor: Hex; plan: DepositPlan | undefined } | undefined
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined
  #stopped = false
  #metrics: NodeMetrics | undefined
  #lastError = ''

  constructor(private readonly opts: L2BridgeOptions) {
    this.addresses = opts.addresses
    this.view = new L1View({
      url: opts.l1Rpc,
      portal: opts.addresses.contracts.portal,
      confirmations: opts.addresses.params.confirmations,
    })
    this.hook = createDepositHook({
      view: this.view,
      gasBudget: opts.addresses.params.maxDepositGasPerBlock,
      onApplied: ({ deposits }) => {
        if (deposits.length > 0) this.#metrics?.bridgeDeposits.inc(deposits.length)
      },
    })
  }

  /**
   * Checks that this chain is the one the addresses file was made for: chain ids, the predeploys'
   * code, and the L1 block the genesis starts deriving from. Fails with a message naming the fix.
   */
  async attach(runtime: ExecutionRuntime, genesisStateRoot: Uint8Array, metrics: NodeMetrics): Promise<void> {
    this.#metrics = metrics
    this.#runtime = runtime
    const a = this.addresses
    if (BigInt(a.l2ChainId) !== runtime.chainId)
      throw new BridgeConfigError(
        `--l1-addresses is for L2 chain ${a.l2ChainId}, this chain is ${runtime.chainId}`,
      )
    const code = async (addr: Hex) => bytesToHex(await runtime.getCode(genesisStateRoot, hexToBytes(addr)))
    if ((await code(MESSAGE_PASSER_ADDRESS)) !== L2ToL1MessagePasser.deployedBytecode.toLowerCase())
      throw new BridgeConfigError(
        `genesis has no L2ToL1MessagePasser at ${MESSAGE_PASSER_ADDRESS}: make the genesis with --l1-addresses`,
      )
    if ((await code(L1_BLOCK_ADDRESS)) !== L1Block.deployedBytecode.toLowerCase())
      throw new BridgeConfigError(
        `genesis has no L1Block predeploy at ${L1_BLOCK_ADDRESS}: make the genesis with --l1-addresses`,
      )
    const start = await this.cursorAt(genesisStateRoot)
    if (start.hash !== a.startBlock.hash || start.number !== a.startBlock.number)
      throw new BridgeConfigError(
        `genesis starts deriving after L1 block ${start.number} (${start.hash}), the addresses file after ${a.startBlock.number} (${a.startBlock.hash}): they belong to different deployments`,
      )
    let l1ChainId: number
    try {
      l1ChainId = await this.view.client.getChainId()
    } catch (e) {
      throw new BridgeConfigError(`cannot reach the L1 at --l1-rpc: ${(e as Error).message.split('\n')[0]}`)
    }
    if (l1ChainId !== a.l1ChainId)
      throw new BridgeConfigError(
        `--l1-rpc serves chain ${l1ChainId}, the addresses file is for L1 chain ${a.l1ChainId}`,
      )
  }

  /** The L1 block whose deposits the state at `stateRoot` has applied. */
  async cursorAt(stateRoot: Uint8Array, runtime?: ExecutionRuntime): Promise<L1Cursor> {
    const rt = runtime ?? this.#runtime
    if (!rt) throw new Error('L2Bridge: not started')
    const n = wordToBigInt(await rt.getStorage(stateRoot, L1_BLOCK, slotKey(L1_BLOCK_SLOTS.number)))
    const h = bytesToHex(await rt.getStorage(stateRoot, L1_BLOCK, slotKey(L1_BLOCK_SLOTS.hash)))
    return { number: n, hash: h }
  }

  #runtime: ExecutionRuntime | undefined
  #headRoot: (() => Uint8Array) | undefined
  #onReady: (() => Promise<unknown>) | undefined

  /**
   * The header field of a block built on `parentStateRoot`: the origin of the current plan if it
   * was made for that state's consumed L1 block, else that block itself (nothing new consumed).
   */
  async proposalHeader(parentStateRoot: Uint8Array): Promise<{ parentBeaconBlockRoot: Uint8Array }> {
    const cursor = await this.cursorAt(parentStateRoot)
    const p = this.#plan
    const origin = p && p.cursor === cursor.hash && p.plan ? p.plan.origin.hash : cursor.hash
    return { parentBeaconBlockRoot: hexToBytes(origin) }
  }

  /**
   * Polls the L1: keeps the plan for the head's consumed block fresh, updates the L1 metrics, and
   * calls `onReady` when confirmed deposits wait for a block (dev automine mines one).
   */
  start(runtime: ExecutionRuntime, headRoot: () => Uint8Array, onReady?: () => Promise<unknown>): void {
    this.#runtime = runtime
    this.#headRoot = headRoot
    this.#onReady = onReady
    const tick = () => {
      if (this.#stopped) return
      this.#polling = this.#poll().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.opts.pollMs ?? 1000)
      })
    }
    tick()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#polling
  }

  /** Plans for the current head now (tests and the dev `mine` path call this to skip a poll). */
  async refresh(): Promise<DepositPlan | undefined> {
    const root = this.#headRoot?.()
    if (!root) return undefined
    const cursor = await this.cursorAt(root)
    const plan = await this.view.planNext(cursor, this.addresses.params.maxDepositGasPerBlock)
    this.#plan = { cursor: cursor.hash, plan }
    const m = this.#metrics
    if (m) {
      const head = this.view.head?.number
      if (head !== undefined) {
        m.l1Head.set(Number(head))
        m.l1LagBlocks.set(Number(head - cursor.number))
      }
      m.l1Origin.set(Number(cursor.number))
      const ts = wordToBigInt(
        await this.#runtime!.getStorage(root, L1_BLOCK, slotKey(L1_BLOCK_SLOTS.timestamp)),
      )
      if (ts > 0n) m.l1LagSeconds.set(Math.max(0, Date.now() / 1000 - Number(ts)))
    }
    return plan
  }

  async #poll(): Promise<void> {
    try {
      const plan = await this.refresh()
      if (this.#lastError) {
        this.opts.log.info('L1 reachable again')
        this.#lastError = ''
      }
      if (plan && plan.deposits.length > 0) await this.#onReady?.()
    } catch (e) {
      const msg = (e as Error).message
      // Say it once per distinct problem, not once per poll.
      if (msg !== this.#lastError)
        this.opts.log.warn({ err: msg }, 'L1 poll failed; blocks consume no new deposits until it recovers')
      this.#lastError = msg
    }
  }
}
