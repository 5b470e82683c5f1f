/**
 * Typed errors of the execution runtime. Each carries a stable `code` so callers (RPC, consensus,
 * logs) can branch without parsing messages.
 */
import type { TypedTransaction } from '@ethereumjs/tx'

/** The genesis document is malformed. `path` names the offending field, e.g. `genesis.alloc["0xab…"].balance`. */
export class GenesisError extends Error {
  readonly code = 'GENESIS_INVALID'
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`)
    this.name = 'GenesisError'
  }
}

/** Which consensus-covered value of a received block did not match its re-execution. */
export type BlockMismatch =
  | 'parentHash'
  | 'number'
  | 'stateRoot'
  | 'receiptsRoot'
  | 'transactionsRoot'
  | 'logsBloom'
  | 'gasUsed'
  | 'gasLimit'
  | 'baseFee'
  | 'timestamp'
  | 'header'
  | 'txs'
  | 'hooks'

/** A received block does not re-execute to the header it claims. Nothing was persisted. */
export class BlockValidationError extends Error {
  readonly code = 'BLOCK_INVALID'
  constructor(
    readonly field: BlockMismatch,
    detail: string,
  ) {
    super(`invalid block: ${field} mismatch: ${detail}`)
    this.name = 'BlockValidationError'
  }
}

/** eth_call/eth_estimateGas failure. `revertData` is the REVERT payload (empty for other halts). */
export class ExecutionError extends Error {
  readonly code = 'EXECUTION_FAILED'
  constructor(
    message: string,
    readonly revertData: Uint8Array = new Uint8Array(0),
    readonly reverted = false,
  ) {
    super(message)
    this.name = 'ExecutionError'
  }
}

/**
 * Execution threw instead of returning an EVM result: a precompile, a native module, a state read
 * or the runtime's own code failed (not the EVM rejecting or reverting the work, which is a normal
 * result). The work was rolled back completely; `cause` is the original error.
 */
export class ExecutionFault extends Error {
  readonly code = 'EXECUTION_FAULT'
  constructor(cause: unknown) {
    super(`execution failed internally: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    })
    this.name = 'ExecutionFault'
  }

  /** `e` itself when it is already a fault, else a fault wrapping it. */
  static of(e: unknown): ExecutionFault {
    return e instanceof ExecutionFault ? e : new ExecutionFault(e)
  }
}

/**
 * RPC-requested execution stopped before its end: over its wall-clock limit (geth's
 * --rpc.evmtimeout; same message as geth) or cancelled because the client went away. Nothing it
 * did persists.
 */
export class ExecutionAborted extends Error {
  readonly code = 'EXECUTION_ABORTED'
  constructor(
    readonly reason: 'timeout' | 'cancelled',
    readonly timeoutMs?: number,
  ) {
    super(
      reason === 'timeout'
        ? `execution aborted (timeout = ${formatMs(timeoutMs ?? 0)})`
        : 'execution aborted (request cancelled)',
    )
    this.name = 'ExecutionAborted'
  }
}

/** A trace result would exceed the node's memory budget (TraceOptions.maxBytes). */
export class TraceTooLargeError extends Error {
  readonly code = 'TRACE_TOO_LARGE'
  constructor(readonly maxBytes: number) {
    super(
      `trace result exceeds the node's limit of ${maxBytes} bytes: pass a smaller "limit", or disableStack / disableStorage, or use callTracer`,
    )
    this.name = 'TraceTooLargeError'
  }
}

/**
 * The request that asked for the execution ended it (its time ran out, its client left, its trace
 * grew past the budget): the entry points pass these through untouched, they are neither a fault
 * nor an answer about the transaction.
 */
export function isRequestStop(e: unknown): e is ExecutionAborted | TraceTooLargeError {
  return e instanceof ExecutionAborted || e instanceof TraceTooLargeError
}

/** Go's time.Duration format for whole and fractional seconds (5s, 1.5s, 250ms). */
function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

/** A request names a state root this database does not hold (pruned, never written, or bogus). */
export class MissingStateError extends Error {
  readonly code = 'STATE_MISSING'
  constructor(readonly stateRoot: Uint8Array) {
    super(`state root 0x${Buffer.from(stateRoot).toString('hex')} is not available`)
    this.name = 'MissingStateError'
  }
}

/** Bad argument at the API boundary (wrong byte length, negative amount, …). */
export class InvalidArgumentError extends Error {
  readonly code = 'INVALID_ARGUMENT'
  constructor(message: string) {
    super(message)
    this.name = 'InvalidArgumentError'
  }
}

/** The runtime was used after close(). */
export class RuntimeClosedError extends Error {
  readonly code = 'RUNTIME_CLOSED'
  constructor() {
    super('execution runtime is closed')
    this.name = 'RuntimeClosedError'
  }
}

/** A block hook (block/hooks.ts) threw: the block is not built or imported, nothing is persisted. */
export class BlockHookError extends Error {
  readonly code = 'BLOCK_HOOK_FAILED'
  /** endBlock only: the transactions the block had executed when the hook failed (the builder
   * searches them for the one that makes the hook fail). */
  executed?: TypedTransaction[]
  constructor(
    readonly hook: string,
    readonly phase: 'beginBlock' | 'endBlock',
    cause: unknown,
  ) {
    super(`block hook ${hook} failed in ${phase}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'BlockHookError'
  }
}

/**
 * The remote chain a forked state reads through to failed: unreachable, too slow, refused the
 * request or has no state at the fork block. Thrown by ForkSource implementations (state/fork.ts)
 * and passed through untouched by every entry point, so the caller hears the remote's problem
 * rather than a fault of the node.
 */
export class ForkError extends Error {
  readonly code = 'FORK_REMOTE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ForkError'
  }
}

/**
 * eth_getProof on a forked chain for an account or slot the local chain has not touched since the
 * fork: the block's state root does not commit to it (its value is the remote's at the fork block),
 * so there is no proof to give. Proofs at the fork block or earlier come from the remote.
 */
export class NotInLocalStateError extends Error {
  readonly code = 'NOT_IN_LOCAL_STATE'
  constructor(
    readonly address: Uint8Array,
    readonly slot?: Uint8Array,
  ) {
    const what = slot
      ? `slot 0x${Buffer.from(slot).toString('hex')} of 0x${Buffer.from(address).toString('hex')}`
      : `account 0x${Buffer.from(address).toString('hex')}`
    super(
      `${what} has not been touched since the fork, so this block's state root does not commit to it: ask for a proof at the fork block or earlier (answered by the remote)`,
    )
    this.name = 'NotInLocalStateError'
  }
}
