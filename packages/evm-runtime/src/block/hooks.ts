/**
 * Block hooks: the one place where a block's system work runs — work that belongs to the block
 * but to none of its transactions (staking epochs, reward distribution, L1 deposits …).
 *
 * Inside every block, whoever executes it (building a proposal, importing or validating a
 * received block, tracing a transaction, a state test), executeBlockBody (block/body.ts) runs:
 *
 *   beginBlock of each hook, in registration order
 *   → the block's transactions
 *   → endBlock of each hook, in registration order
 *   → state root, transactions root, receipts root
 *
 * Hooks write to the same state as the transactions, inside the block's checkpoint: their changes
 * are covered by the state root and are kept or dropped with the block: a hook that throws makes an
 * imported block invalid; a builder leaves out the transaction that makes endBlock fail, or builds
 * no block (docs/evm-runtime.md, "Block hook faults"). Nothing of a failed block is persisted.
 * Hooks are trusted node code, not metered by gas; they must be deterministic functions of the
 * block env, the state and the executed transactions, because every node re-runs them to check the
 * state root.
 */
import type { ExecutedTx } from '../api.ts'
import { BlockHookError, InvalidArgumentError } from '../errors.ts'
import type { ModuleState } from '../precompiles/module-types.ts'

/** The parts of a block's header a hook may depend on: all fixed before execution and identical
 * when the block is built and re-executed (extraData and mixHash are not: QBFT seals differ). */
export interface BlockEnv {
  number: bigint
  timestamp: bigint
  coinbase: Uint8Array
  parentHash: Uint8Array
  gasLimit: bigint
  baseFeePerGas: bigint
  /** The header's parentBeaconBlockRoot: 32 zero bytes unless a hook claims the field (see
   * BlockHook.claimsParentBeaconBlockRoot), which then gives it a meaning and validates it. */
  parentBeaconBlockRoot: Uint8Array
}

/** ModuleState plus what only system work may do: create and destroy native OPEN. */
export interface SystemState extends ModuleState {
  /** Credits `amount` wei of new OPEN to `account` (creating it if absent): deposits, issuance. */
  mint(account: Uint8Array, amount: bigint): Promise<void>
  /** Destroys `amount` wei held by `account`; throws if it holds less. */
  burn(account: Uint8Array, amount: bigint): Promise<void>
}

export interface BlockHookContext {
  chainId: bigint
  block: BlockEnv
  state: SystemState
}

export interface EndBlockContext extends BlockHookContext {
  /** The block's transactions as executed (receipts, senders, gas, effective gas prices). */
  executed: readonly ExecutedTx[]
  gasUsed: bigint
}

export interface BlockHook {
  readonly name: string
  /**
   * This hook gives the header's parentBeaconBlockRoot a meaning (there is no beacon chain; the L1
   * bridge commits the L1 block it has consumed there) and checks it in beginBlock. At most one
   * hook may claim it; without one, the field must be 32 zero bytes.
   */
  readonly claimsParentBeaconBlockRoot?: boolean
  /** Before the block's first transaction. */
  beginBlock?(ctx: BlockHookContext): Promise<void>
  /** After the block's last transaction, before the state root is computed. */
  endBlock?(ctx: EndBlockContext): Promise<void>
}

/** Validates a hook list (named, each with at least one phase, names unique). */
export function checkBlockHooks(hooks: readonly BlockHook[]): void {
  const names = new Set<string>()
  for (const h of hooks) {
    if (typeof h !== 'object' || h === null || typeof h.name !== 'string' || h.name === '')
      throw new InvalidArgumentError('block hook: a name is required')
    if (names.has(h.name)) throw new InvalidArgumentError(`block hook ${h.name}: duplicate name`)
    names.add(h.name)
    const phases = [h.beginBlock, h.endBlock].filter((f) => f !== undefined)
    if (phases.length === 0 || phases.some((f) => typeof f !== 'function'))
      throw new InvalidArgumentError(`block hook ${h.name}: beginBlock and/or endBlock must be functions`)
  }
  if (hooks.filter((h) => h.claimsParentBeaconBlockRoot === true).length > 1)
    throw new InvalidArgumentError('block hooks: only one hook may claim parentBeaconBlockRoot')
}

/** True when a registered hook gives parentBeaconBlockRoot a meaning. */
export function beaconRootClaimed(hooks: readonly BlockHook[]): boolean {
  return hooks.some((h) => h.claimsParentBeaconBlockRoot === true)
}

export function blockEnv(header: {
  number: bigint
  timestamp: bigint
  coinbase: { bytes: Uint8Array }
  parentHash: Uint8Array
  gasLimit: bigint
  baseFeePerGas?: bigint
  parentBeaconBlockRoot?: Uint8Array
}): BlockEnv {
  return {
    number: header.number,
    timestamp: header.timestamp,
    coinbase: header.coinbase.bytes.slice(),
    parentHash: header.parentHash.slice(),
    gasLimit: header.gasLimit,
    baseFeePerGas: header.baseFeePerGas ?? 0n,
    parentBeaconBlockRoot: header.parentBeaconBlockRoot?.slice() ?? new Uint8Array(32),
  }
}

type HookCall = { phase: 'beginBlock'; ctx: BlockHookContext } | { phase: 'endBlock'; ctx: EndBlockContext }

/** Runs one phase of every hook in order; a failure names the hook and phase. */
export async function runBlockHooks(hooks: readonly BlockHook[], call: HookCall): Promise<void> {
  for (const h of hooks) {
    const fn = call.phase === 'beginBlock' ? h.beginBlock : h.endBlock
    if (fn === undefined) continue
    try {
      await fn.call(h, call.ctx as EndBlockContext)
    } catch (e) {
      throw new BlockHookError(h.name, call.phase, e)
    }
  }
}
