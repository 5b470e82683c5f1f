/** Minimal JSON-RPC 2.0 client over keep-alive HTTP (node:http), the same for both nodes. */
import { Agent, request } from 'node:http'

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(`${method}: ${message} (code ${code})`)
  }
}

interface RpcResponse {
  id?: number
  result?: unknown
  error?: { code: number; message: string }
}

export class RpcClient {
  readonly #agent: Agent
  readonly #url: URL
  #id = 0

  constructor(
    url: string,
    readonly timeoutMs = 30_000,
  ) {
    this.#url = new URL(url)
    // Enough sockets for the 32 concurrent workers and the poller; keep-alive so no per-request handshake.
    this.#agent = new Agent({ keepAlive: true, maxSockets: 64 })
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const res = (await this.#post({ jsonrpc: '2.0', id: ++this.#id, method, params })) as RpcResponse
    if (res.error) throw new RpcError(method, res.error.code, res.error.message)
    return res.result as T
  }

  /** One batch request; results in request order. Errors are returned, not thrown, per entry. */
  async batch(calls: Array<{ method: string; params: unknown[] }>): Promise<Array<RpcResponse>> {
    const base = this.#id
    this.#id += calls.length
    const body = calls.map((c, i) => ({
      jsonrpc: '2.0',
      id: base + i + 1,
      method: c.method,
      params: c.params,
    }))
    const res = await this.#post(body)
    if (!Array.isArray(res))
      throw new Error(`batch: expected an array, got ${JSON.stringify(res).slice(0, 200)}`)
    const byId = new Map((res as RpcResponse[]).map((r) => [r.id, r]))
    return body.map((b) => byId.get(b.id) ?? { error: { code: -1, message: 'missing in batch response' } })
  }

  close(): void {
    this.#agent.destroy()
  }

  #post(payload: unknown): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(payload))
    return new Promise((resolve, reject) => {
      const req = request(
        this.#url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            try {
              resolve(JSON.parse(text))
            } catch {
              reject(new Error(`HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`))
            }
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)))
      req.on('error', reject)
      req.end(body)
    })
  }
}

/** Polls `fn` until it returns true, every `intervalMs`, failing after `timeoutMs`. */
export async function waitFor(
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await fn()) return
    } catch (err) {
      last = err
    }
    if (performance.now() > deadline) {
      throw new Error(
        `${what}: not ready after ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`,
      )
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
