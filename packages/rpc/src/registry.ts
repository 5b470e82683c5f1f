/**
 * Method registry shared by the built-in modules and the ones packages/node adds later
 * (ol_*, qbft_*, admin_*). A handler receives the raw `params` value and validates it itself
 * with the parsers in validation.ts.
 */
import type { RpcBackend } from './backend.ts'
import type { FilterManager } from './filters.ts'
import type { RpcLimits, RpcLogger } from './options.ts'
import type { Subscriptions } from './subscriptions.ts'

export type { RpcLimits, RpcLogger } from './options.ts'
export { silentLogger } from './options.ts'

export interface RequestContext {
  readonly backend: RpcBackend
  readonly limits: RpcLimits
  readonly filters: FilterManager
  readonly logger: RpcLogger
  readonly transport: 'http' | 'ws' | 'direct'
  /** Present on WebSocket requests: the connection's subscriptions. */
  readonly subscriptions?: Subscriptions
  /** Who sent the request, for per-client limits: the remote IP ('local' without a transport). */
  readonly client: string
  /** Fires when the client goes away (HTTP connection closed, WebSocket closed). */
  readonly signal?: AbortSignal
  /**
   * Runs EVM execution through the server's bounded, per-client-fair execution queue. Every
   * handler that executes code (calls, estimates, traces, simulations) must go through it;
   * throws -32005 when the queue is full.
   */
  execute<T>(task: () => Promise<T>): Promise<T>
}

export type RpcHandler = (params: unknown, ctx: RequestContext) => unknown

export type RpcMethods = Record<string, RpcHandler>

export class MethodRegistry {
  private readonly methods = new Map<string, RpcHandler>()

  /**
   * Adds a namespace. Keys are full method names and must start with `<name>_`, so a method's
   * name in code is the one on the wire. Registering a name twice is a programming error.
   */
  registerModule(name: string, methods: RpcMethods): void {
    if (!/^[a-z][a-z0-9]*$/i.test(name)) throw new Error(`invalid RPC namespace "${name}"`)
    const prefix = `${name}_`
    for (const method of Object.keys(methods)) {
      if (!method.startsWith(prefix) || method.length === prefix.length) {
        throw new Error(`method "${method}" does not belong to namespace "${name}"`)
      }
      if (this.methods.has(method)) throw new Error(`RPC method "${method}" is already registered`)
    }
    for (const [method, handler] of Object.entries(methods)) this.methods.set(method, handler)
  }

  get(method: string): RpcHandler | undefined {
    return this.methods.get(method)
  }

  has(method: string): boolean {
    return this.methods.has(method)
  }

  names(): string[] {
    return [...this.methods.keys()].sort()
  }
}
