/**
 * JSON-RPC client of a fork's remote chain: viem's HTTP transport (requests of one tick go out as
 * one batch, retries with backoff on transient failures, a timeout per request, a bound on
 * response size), with every failure turned into a ForkError that says what went wrong in the
 * user's terms. URLs are shown as origin only: provider URLs carry API keys in their path.
 */
import { ForkError } from '@openledger/evm-runtime'
import type { http } from 'viem'

export interface RemoteOptions {
  url: string
  /** Per request, each attempt (ms). Default 30 s. */
  timeoutMs?: number
  /** Attempts after the first on transient failures (network, 429, 5xx). Default 3. */
  retries?: number
  /** Extra HTTP headers (authentication of private endpoints). */
  headers?: Record<string, string>
}

/** A JSON-RPC error the remote answered with (its code, message and data). */
export class RemoteRpcError extends ForkError {
  constructor(
    message: string,
    readonly rpcCode: number,
    readonly rpcMessage: string,
    readonly rpcData?: unknown,
  ) {
    super(message)
    this.name = 'RemoteRpcError'
  }
}

export const DEFAULT_FORK_TIMEOUT_MS = 30_000
/** eth_getLogs and full blocks of busy chains are large; larger answers are refused. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024
/** Remote errors that mean "no state at that block" (geth, erigon, nethermind, besu, providers). */
const NO_STATE =
  /missing trie node|header not found|state (is )?not available|historical state|pruned|state histories|not an archive|unknown block|old data not available|requires archive/i

/** The origin of a URL for messages (credentials and API keys in paths left out). */
export function displayUrl(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}

/** Parses a fork URL; only http(s) is supported. Throws ForkError. */
export function checkForkUrl(url: string): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ForkError(`fork URL is not a URL: ${JSON.stringify(url.slice(0, 200))}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ForkError(`fork URL must be http:// or https:// (got ${u.protocol}//)`)
  return u
}

export class RemoteChain {
  readonly url: string
  readonly display: string
  readonly timeoutMs: number
  private transport: Promise<ReturnType<ReturnType<typeof http>>> | undefined

  constructor(private readonly opts: RemoteOptions) {
    checkForkUrl(opts.url)
    this.url = opts.url
    this.display = displayUrl(opts.url)
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_FORK_TIMEOUT_MS
  }

  /** viem's HTTP transport (batching, retries, timeouts), loaded with the first request: a dev
   * chain that never forks does not load viem's client half at start-up. */
  private async createTransport(): Promise<ReturnType<ReturnType<typeof http>>> {
    const { http } = await import('viem')
    const opts = this.opts
    return http(opts.url, {
      batch: { batchSize: 100, wait: 0 },
      timeout: this.timeoutMs,
      retryCount: opts.retries ?? 3,
      retryDelay: 200,
      maxResponseBodySize: MAX_RESPONSE_BYTES,
      fetchOptions: opts.headers ? { headers: opts.headers } : undefined,
    })({ retryCount: opts.retries ?? 3 })
  }

  /** One request; `context` names what it was for in errors (e.g. "state at block 5"). */
  async request<T = unknown>(method: string, params: unknown[], context?: string): Promise<T> {
    try {
      this.transport ??= this.createTransport()
      return (await (await this.transport).request({ method, params } as never)) as T
    } catch (err) {
      throw this.explain(err, method, context)
    }
  }

  private explain(err: unknown, method: string, context?: string): ForkError {
    const what = `${method}${context ? ` (${context})` : ''}`
    const chain: Array<Record<string, unknown>> = []
    for (
      let e: unknown = err;
      e && typeof e === 'object' && chain.length < 8;
      e = (e as { cause?: unknown }).cause
    )
      chain.push(e as Record<string, unknown>)
    const named = (n: string) => chain.find((e) => e.name === n)
    if (named('TimeoutError'))
      return new ForkError(
        `the fork's remote ${this.display} did not answer ${what} within ${this.timeoutMs} ms (--fork-timeout)`,
        { cause: err },
      )
    const rpc = chain.find(
      (e) => typeof e.code === 'number' && e.code !== -1 && e.name !== 'HttpRequestError',
    )
    const httpErr = named('HttpRequestError')
    if (rpc !== undefined && (httpErr === undefined || httpErr.status === undefined)) {
      const message = String(rpc.details ?? rpc.shortMessage ?? rpc.message ?? 'error')
      const data = (chain.find((e) => 'data' in e && e.data !== undefined) as { data?: unknown } | undefined)
        ?.data
      const hint = NO_STATE.test(message)
        ? ': it has no state that old (not an archive node?) — fork a more recent block or use an archive node'
        : ''
      return new RemoteRpcError(
        `the fork's remote ${this.display} refused ${what}: ${message}${hint}`,
        rpc.code as number,
        message,
        data,
      )
    }
    if (httpErr?.status !== undefined)
      return new ForkError(`the fork's remote ${this.display} answered ${what} with HTTP ${httpErr.status}`, {
        cause: err,
      })
    const causeCode = chain.map((e) => e.code).find((c) => typeof c === 'string')
    const detail = causeCode ?? String(httpErr?.details ?? (err as Error)?.message ?? err).split('\n')[0]
    return new ForkError(`could not reach the fork's remote ${this.display} (${what}): ${detail}`, {
      cause: err,
    })
  }
}
