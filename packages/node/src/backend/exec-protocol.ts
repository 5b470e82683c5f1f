/**
 * Messages between ExecPool (main thread) and its workers (exec-worker.ts), and the runtime's
 * errors in a form that crosses the thread boundary (structured clone keeps neither classes nor
 * their fields): the pool rebuilds the same error classes, so callers cannot tell where a request ran.
 */
import {
  type CallParams,
  ExecutionAborted,
  ExecutionError,
  ExecutionFault,
  type ExecutionLimits,
  InvalidArgumentError,
  MissingStateError,
  type StateOverrides,
  type TraceOptions,
  TraceTooLargeError,
} from '@openledger/evm-runtime'
import type { RuntimeSpec } from '../chain/runtime-spec.ts'

export interface ExecWorkerData {
  dbPath: string
  spec: RuntimeSpec
  /** Int32Array[1]: the id of the job the main thread wants stopped. */
  cancel: SharedArrayBuffer
  /** Niceness the worker thread adds to its own (Linux; capped at 19). */
  nice: number
  cache: { accounts: number; storage: number; code: number; trieNodes: number }
}

/** Limits that cross to a worker: the cancel signal is the shared flag instead. */
export type JobLimits = Omit<ExecutionLimits, 'signal'>

export type ExecJob =
  | {
      id: number
      kind: 'call' | 'estimate' | 'accessList' | 'traceCall'
      params: CallParams
      /** RLP of the header whose block context the call runs in. */
      header: Uint8Array
      stateRoot: Uint8Array
      overrides?: StateOverrides
      /** traceCall only. */
      opts?: TraceOptions
      limits: JobLimits
    }
  | {
      id: number
      kind: 'trace'
      /** RLP of the block and of its parent's header. */
      block: Uint8Array
      parent: Uint8Array
      txIndex: number
      opts: TraceOptions
      limits: JobLimits
    }

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** A job before the pool numbers it; without its limits, as the backend describes it. */
export type JobSpec = DistributiveOmit<ExecJob, 'id'>
export type JobBody = DistributiveOmit<ExecJob, 'id' | 'limits'>

export type ToWorker = { type: 'job'; job: ExecJob }

export type ToMain =
  | { type: 'ready' }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError }

export interface SerializedError {
  name: string
  message: string
  revertData?: Uint8Array
  reverted?: boolean
  reason?: 'timeout' | 'cancelled'
  timeoutMs?: number
  maxBytes?: number
  stateRoot?: Uint8Array
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ExecutionError)
    return { name: e.name, message: e.message, revertData: e.revertData, reverted: e.reverted }
  if (e instanceof ExecutionAborted)
    return { name: e.name, message: e.message, reason: e.reason, timeoutMs: e.timeoutMs }
  if (e instanceof TraceTooLargeError) return { name: e.name, message: e.message, maxBytes: e.maxBytes }
  if (e instanceof MissingStateError) return { name: e.name, message: e.message, stateRoot: e.stateRoot }
  if (e instanceof InvalidArgumentError) return { name: e.name, message: e.message }
  // A fault keeps its cause's message; anything else unexpected becomes a fault of the worker.
  const cause = e instanceof ExecutionFault ? (e.cause as Error | undefined) : (e as Error | undefined)
  return { name: 'ExecutionFault', message: cause?.message ?? String(e) }
}

export function deserializeError(s: SerializedError): Error {
  switch (s.name) {
    case 'ExecutionError':
      return new ExecutionError(s.message, s.revertData, s.reverted)
    case 'ExecutionAborted':
      return new ExecutionAborted(s.reason ?? 'timeout', s.timeoutMs)
    case 'TraceTooLargeError':
      return new TraceTooLargeError(s.maxBytes ?? 0)
    case 'MissingStateError':
      return new MissingStateError(s.stateRoot ?? new Uint8Array(32))
    case 'InvalidArgumentError':
      return new InvalidArgumentError(s.message)
    default:
      return new ExecutionFault(new Error(s.message))
  }
}
