/**
 * Bounds on execution requested over RPC (eth_call, eth_estimateGas, traces): a wall-clock limit
 * (geth's --rpc.evmtimeout), cancellation (the client went away) and time slices (in-thread
 * execution lets the event loop run every few milliseconds, so block production, consensus
 * messages and cheap requests are never stalled behind it).
 *
 * A Budget is attached to an EVM for the duration of one request (`withBudget`); the interpreter
 * loops (our fast loop in evm-fastpath.ts and the library's, through `runStep`), precompile and
 * native-module calls and the block loop of a trace's prefix replay call `tick()` every
 * CHECK_EVERY steps. Block building and import never carry a budget: their execution must not
 * depend on the wall clock (determinism).
 */
import type { ExecutionLimits } from './api.ts'
import { ExecutionAborted } from './errors.ts'

export type { ExecutionLimits }

/** Interpreter steps between two checks (~0.05-0.5 ms of execution). */
export const CHECK_EVERY = 1024

export class Budget {
  /** Decremented by the interpreter per step; `tick()` is due at zero. */
  countdown = CHECK_EVERY
  private readonly deadline: number
  private sliceStart: number

  constructor(
    private readonly limits: ExecutionLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    const t = now()
    this.deadline = limits.timeoutMs !== undefined && limits.timeoutMs > 0 ? t + limits.timeoutMs : Infinity
    this.sliceStart = t
  }

  /** Throws ExecutionAborted when the request is over its time or was cancelled. */
  check(): void {
    if (this.limits.signal?.aborted) throw new ExecutionAborted('cancelled')
    if (this.deadline !== Infinity && this.now() > this.deadline)
      throw new ExecutionAborted('timeout', this.limits.timeoutMs)
  }

  /**
   * The periodic check: throws when over, and returns a promise (resolve it before going on)
   * when the current time slice is used up, else undefined.
   */
  tick(): Promise<void> | undefined {
    this.countdown = CHECK_EVERY
    if (this.limits.signal?.aborted) throw new ExecutionAborted('cancelled')
    const t = this.now()
    if (t > this.deadline) throw new ExecutionAborted('timeout', this.limits.timeoutMs)
    const slice = this.limits.sliceMs
    if (slice === undefined || t - this.sliceStart < slice) return undefined
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.sliceStart = this.now()
        resolve()
      }),
    )
  }
}

/** Where the interpreter finds the budget of the request running on an EVM. */
export interface Budgeted {
  _olBudget?: Budget
}

/** Runs `fn` with `budget` attached to `evm`; the budget is detached however `fn` ends. */
export async function withBudget<T>(
  evm: object,
  budget: Budget | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (budget === undefined) return fn()
  const target = evm as Budgeted
  const previous = target._olBudget
  target._olBudget = budget
  try {
    budget.check()
    return await fn()
  } finally {
    target._olBudget = previous
  }
}
