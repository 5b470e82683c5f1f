/**
 * The native-module interface, owned by the host: what a system module (packages/attribution, and
 * any other module package) implements so that this runtime can serve it as a precompile
 * (precompiles/host.ts). Module packages import these types (through @openledger/module-kit);
 * the runtime imports no module package. Kept free of EthereumJS types so that modules can be
 * unit-tested against any state implementation and evm-runtime stays the only place that knows
 * the EVM internals.
 */

/** World-state access for a module call. Every write is journaled in the calling frame: it is
 * reverted if the frame reverts, and committed with the transaction otherwise. */
export interface ModuleState {
  /** 32-byte slot of `account`'s storage; an unset slot reads as 32 zero bytes. */
  getStorage(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array>
  /** Writes a 32-byte value (all zeros deletes the slot). */
  putStorage(account: Uint8Array, slot: Uint8Array, value: Uint8Array): Promise<void>
  getBalance(account: Uint8Array): Promise<bigint>
  /** Moves native OPEN (wei) between accounts. Throws if `from` lacks the balance. */
  transfer(from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void>
}

/** Everything a module may know about the message that reached it. */
export interface ModuleCallContext {
  /** This module's address (20 bytes). */
  address: Uint8Array
  /** msg.sender: the immediate caller. */
  caller: Uint8Array
  /** tx.origin. */
  origin: Uint8Array
  /** msg.value in wei; already credited to the module account by the EVM before the call. */
  value: bigint
  /** True under STATICCALL (or any frame below one): mutating calls must be refused. */
  isStatic: boolean
  /** True when reached through DELEGATECALL or CALLCODE: mutating calls must be refused. */
  isDelegateCall: boolean
  /** Calldata: 4-byte selector + ABI arguments. */
  data: Uint8Array
  /** Gas available to this call. */
  gasLimit: bigint
  chainId: bigint
  block: { number: bigint; timestamp: bigint; coinbase: Uint8Array }
  state: ModuleState
  /**
   * A message call made by this module (msg.sender = `address`, `value` from its balance), run
   * inside the current frame: its state changes and logs are kept only if this module call
   * succeeds. The module charges the returned `gasUsed` and must not pass more gas than it has
   * left. Absent in hosts without an EVM (unit-test harnesses).
   */
  call?(to: Uint8Array, value: bigint, data: Uint8Array, gasLimit: bigint): Promise<ModuleSubcallResult>
}

export interface ModuleSubcallResult {
  success: boolean
  /** Return data, or revert data when it failed. */
  returnData: Uint8Array
  gasUsed: bigint
}

export interface ModuleLog {
  topics: Uint8Array[]
  data: Uint8Array
}

/** Outcome of a module call. `gasUsed` must not exceed `gasLimit`. On `status: 'revert'` the host
 * discards logs and state writes and returns `returnData` as revert data; on 'outOfGas' all gas
 * is consumed and nothing is kept. */
export interface ModuleResult {
  status: 'success' | 'revert' | 'outOfGas'
  gasUsed: bigint
  returnData: Uint8Array
  logs: ModuleLog[]
}

export interface SystemModule {
  readonly name: string
  readonly address: Uint8Array
  call(ctx: ModuleCallContext): Promise<ModuleResult>
}
