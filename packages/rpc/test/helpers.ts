/** Test clients for the real HTTP and WebSocket listeners. */
import WebSocket from 'ws'

/** Decoded JSON message; tests check its shape with assertions. */
export type Msg = any

export interface Rpc {
  url: string
  post(
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string; json: unknown; headers: Headers }>
  call(
    method: string,
    params?: unknown[],
  ): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>
}

export function httpClient(port: number): Rpc {
  const url = `http://127.0.0.1:${port}/`
  let id = 0
  const post: Rpc['post'] = async (body, headers = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
  return {
    url,
    post,
    async call(method, params = []) {
      const { json } = await post({ jsonrpc: '2.0', id: ++id, method, params })
      return json as { result?: unknown; error?: { code: number; message: string } }
    },
  }
}

/** A WebSocket client that buffers messages so tests can await the next matching one. */
export class WsClient {
  readonly ws: WebSocket
  private readonly inbox: unknown[] = []
  private waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = []
  private id = 0
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString())
      const i = this.waiters.findIndex((w) => w.match(msg))
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg)
      else this.inbox.push(msg)
    })
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
  }

  static open(port: number, headers?: Record<string, string>): Promise<WsClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers })
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsClient(ws)))
      ws.once('error', reject)
    })
  }

  next(match: (m: unknown) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
    const i = this.inbox.findIndex(match)
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0])
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: unknown) => {
          clearTimeout(timer)
          resolve(m)
        },
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error('timed out waiting for a WebSocket message'))
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  async call(method: string, params: unknown[] = []): Promise<Msg> {
    const id = ++this.id
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    return this.next((m) => (m as { id?: unknown }).id === id)
  }

  notification(subscription: string): Promise<Msg> {
    return this.next(
      (m) => (m as { params?: { subscription?: string } }).params?.subscription === subscription,
    )
  }

  close(): void {
    this.ws.close()
  }
}

/** Polls `check` until it returns true (bounded), for state that changes asynchronously. */
export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}
