/** JSON-RPC to the node that serves the page (same origin: POST / and WebSocket on the same port). */
let nextId = 1

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
  }
}

export async function rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch('/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
  })
  if (!res.ok && res.status !== 200) throw new Error(`${method}: HTTP ${res.status}`)
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string; data?: unknown } }
  if (body.error) throw new RpcError(body.error.code, body.error.message, body.error.data)
  return body.result as T
}

/** rpc() that answers undefined when the node does not serve the method (-32601). */
export async function optional<T>(method: string, params: unknown[] = []): Promise<T | undefined> {
  try {
    return await rpc<T>(method, params)
  } catch (e) {
    if (e instanceof RpcError && e.code === -32601) return undefined
    throw e
  }
}

/**
 * New heads over the node's WebSocket (eth_subscribe newHeads); reconnects with back-off. Returns
 * the function that stops it.
 */
export function onNewHead(listener: (head: { number: string; hash: string }) => void): () => void {
  let ws: WebSocket | undefined
  let stopped = false
  let delay = 500
  const connect = () => {
    if (stopped) return
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`)
    ws.onopen = () => {
      delay = 500
      ws?.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
    }
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as {
        method?: string
        params?: { result: { number: string; hash: string } }
      }
      if (msg.method === 'eth_subscription' && msg.params) listener(msg.params.result)
    }
    ws.onclose = () => {
      if (stopped) return
      setTimeout(connect, delay)
      delay = Math.min(delay * 2, 10_000)
    }
  }
  connect()
  return () => {
    stopped = true
    ws?.close()
  }
}

/** Waits for a transaction's receipt (bounded: polls for up to `timeoutMs`). */
export async function waitForReceipt(hash: string, timeoutMs = 60_000): Promise<Receipt> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const r = await rpc<Receipt | null>('eth_getTransactionReceipt', [hash])
    if (r) return r
    if (Date.now() > end) throw new Error(`transaction ${hash} not mined within ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export interface Log {
  address: string
  topics: string[]
  data: string
  logIndex: string
  transactionHash: string
  blockNumber: string
}

export interface Receipt {
  transactionHash: string
  blockNumber: string
  from: string
  to: string | null
  status: string
  gasUsed: string
  effectiveGasPrice: string
  contractAddress: string | null
  logs: Log[]
}

export interface Tx {
  hash: string
  from: string
  to: string | null
  value: string
  input: string
  nonce: string
  gas: string
  gasPrice?: string
  blockNumber: string | null
  transactionIndex: string | null
  type: string
}

export interface BlockJson {
  number: string
  hash: string
  parentHash: string
  timestamp: string
  miner: string
  gasUsed: string
  gasLimit: string
  baseFeePerGas?: string
  extraData: string
  transactions: Array<string | Tx>
  transactionCount?: number
}
