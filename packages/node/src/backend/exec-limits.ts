/**
 * How the node bounds execution requested over RPC: the limits it hands the runtime per request
 * (gas cap, wall-clock limit, cancellation, time slices, trace memory), the parsing of geth's
 * per-trace options (`timeout`, `limit`), and the JSON-RPC errors the bounds produce.
 */
import { availableParallelism } from 'node:os'
import {
  ExecutionAborted,
  ExecutionError,
  ExecutionFault,
  type ExecutionLimits,
  InvalidArgumentError,
  type TraceOptions,
  TraceTooLargeError,
} from '@openledger/evm-runtime'
import { ErrorCode, type ExecOptions, invalidInput, RpcError } from '@openledger/rpc'

export interface ExecutionConfig {
  /** geth's --rpc.gascap: gas of eth_call / eth_estimateGas / traces above it is lowered to it; 0n: none. */
  gasCap: bigint
  /** geth's --rpc.evmtimeout: wall-clock limit of one request's execution (ms); 0: none. */
  timeoutMs: number
  /** In-thread execution yields to the event loop after this many ms (block production, consensus
   * messages and cheap requests run in between). */
  sliceMs: number
  /** Memory budget of one trace result (bytes of JSON). */
  traceMaxBytes: number
  /** Worker threads executing RPC requests (exec-pool.ts); 0: in-thread, time-sliced. */
  threads: number
}

export const DEFAULT_EXECUTION: Readonly<ExecutionConfig> = Object.freeze({
  gasCap: 50_000_000n,
  timeoutMs: 5_000,
  sliceMs: 5,
  traceMaxBytes: 64 * 1024 * 1024,
  threads: 0,
})

/**
 * The wall-clock limit of `openledger dev` (network nodes keep geth's 5 s). A dev node serves one
 * developer whose tests make heavy view calls; Hardhat and anvil have no eth_call time limit at all
 * (the block gas limit bounds the call). Here the 50M gas cap is what ends a runaway call (an endless
 * JUMP loop runs out of gas in about a second), and this limit backs it up where gas does not bound
 * time (a forked chain's remote reads, slow precompiles): 50M gas of P256VERIFY took 30 s on two
 * cores at load 20, so the limit sits above that and above Hardhat's own 40 s client timeout.
 */
export const DEV_EVM_TIMEOUT_MS = 60_000

/**
 * Execution workers of a network node: one fewer than the cores (the main thread keeps one for
 * consensus and block import), at most 4; 0 on a single core. Dev nodes execute in-thread.
 */
export function defaultExecThreads(): number {
  return Math.max(0, Math.min(4, availableParallelism() - 1))
}

/** The runtime limits of one request; `timeoutMs` may lower (never raise) the node's limit. */
export function requestLimits(
  config: ExecutionConfig,
  exec: ExecOptions | undefined,
  timeoutMs?: number,
): ExecutionLimits {
  let timeout = config.timeoutMs
  if (timeoutMs !== undefined && (timeout === 0 || timeoutMs < timeout)) timeout = timeoutMs
  return { gasCap: config.gasCap, timeoutMs: timeout, signal: exec?.signal, sliceMs: config.sliceMs }
}

/** Go's time.ParseDuration for the forms tracers use ("5s", "500ms", "1m30s", "1.5s"). */
export function parseGoDuration(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value))
    throw new RpcError(
      ErrorCode.INVALID_PARAMS,
      `invalid ${name}: expected a duration such as "5s" or "500ms"`,
    )
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const
  let ms = 0
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit]
  return Math.round(ms)
}

/** geth's trace config (struct logger fields, tracer, tracerConfig, timeout, limit) as TraceOptions. */
export function traceOptions(
  options: Record<string, unknown>,
  config: ExecutionConfig,
): { opts: TraceOptions; timeoutMs?: number } {
  const tracer = options.tracer
  if (tracer !== undefined && tracer !== 'callTracer')
    throw new RpcError(
      ErrorCode.INVALID_PARAMS,
      `tracer ${String(tracer)} is not supported (use callTracer or the default struct logger)`,
    )
  const limit = options.limit
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0))
    throw new RpcError(ErrorCode.INVALID_PARAMS, 'invalid limit: expected a non-negative integer (bytes)')
  const cfg = (options.tracerConfig ?? {}) as Record<string, unknown>
  return {
    opts: {
      tracer: tracer === 'callTracer' ? 'callTracer' : 'structLogger',
      disableStorage: options.disableStorage === true,
      disableStack: options.disableStack === true,
      enableMemory: options.enableMemory === true,
      enableReturnData: options.enableReturnData === true,
      onlyTopCall: cfg.onlyTopCall === true,
      withLog: cfg.withLog === true,
      limit: limit as number | undefined,
      maxBytes: config.traceMaxBytes,
    },
    timeoutMs: options.timeout === undefined ? undefined : parseGoDuration(options.timeout, 'timeout'),
  }
}

/**
 * Execution that did not complete answers a JSON-RPC error: stopped by its bounds, -32000 with
 * geth's message ("execution aborted (timeout = 5s)"); a trace over the memory budget, -32005; a
 * fault (a precompile, a native module or the node threw; the runtime rolled it back), -32603
 * with the cause. Anything else is rethrown.
 */
export function executionErrorAsRpc(err: unknown): never {
  if (err instanceof ExecutionAborted) throw new RpcError(ErrorCode.INVALID_INPUT, err.message)
  if (err instanceof TraceTooLargeError) throw new RpcError(ErrorCode.LIMIT_EXCEEDED, err.message)
  if (err instanceof ExecutionFault) throw new RpcError(ErrorCode.INTERNAL_ERROR, err.message)
  throw err
}

/** eth_call, eth_createAccessList, debug_traceCall: geth's -32000 for what stops a call before or
 * outside the EVM (funds, intrinsic gas, bad arguments); then as executionErrorAsRpc. */
export function callErrorAsRpc(err: unknown): never {
  if (err instanceof ExecutionError || err instanceof InvalidArgumentError) throw invalidInput(err.message)
  return executionErrorAsRpc(err)
}
