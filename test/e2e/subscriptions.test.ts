/** eth_subscribe over WebSocket against a real node: newPendingTransactions announces a transaction
 * when it enters the pool (manual mining, so it stays there), newHeads when it is mined. */
import type { OpenLedgerNode } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { call, DEV_ADDRESSES, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
beforeAll(async () => {
  node = await startDevNode({ mining: { kind: 'manual' } })
})
afterAll(async () => {
  await node?.close()
})

/** A minimal JSON-RPC WebSocket client: requests by id, notifications by subscription id. */
async function connect(url: string) {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  let id = 0
  const replies = new Map<number, (msg: any) => void>()
  const notes: Array<{ subscription: string; result: any }> = []
  let onNote: (() => void) | undefined
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw))
    if (msg.method === 'eth_subscription') {
      notes.push(msg.params)
      onNote?.()
    } else replies.get(msg.id)?.(msg)
  })
  return {
    request: (method: string, params: unknown[] = []) =>
      new Promise<any>((resolve) => {
        const n = ++id
        replies.set(n, resolve)
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }))
      }),
    /** Resolves with the first notification of `sub` matching `pred` (bounded by the test timeout). */
    next: (sub: string, pred: (r: any) => boolean) =>
      new Promise<any>((resolve) => {
        const check = () => {
          const hit = notes.find((x) => x.subscription === sub && pred(x.result))
          if (hit) resolve(hit.result)
        }
        onNote = check
        check()
      }),
    close: () => ws.close(),
  }
}

describe('WebSocket subscriptions', () => {
  it('announces pending transactions, then the head that includes them; unsubscribe stops them', async () => {
    const c = await connect(node.rpcUrl.replace('http', 'ws'))
    try {
      const pendingSub = (await c.request('eth_subscribe', ['newPendingTransactions'])).result
      const headsSub = (await c.request('eth_subscribe', ['newHeads'])).result
      expect(pendingSub).toMatch(/^0x[0-9a-f]+$/)
      const hash = await call(node.rpcUrl, 'eth_sendTransaction', [
        { from: DEV_ADDRESSES[0], to: DEV_ADDRESSES[1], value: '0x1' },
      ])
      expect(await c.next(pendingSub, (r) => r === hash)).toBe(hash)
      await call(node.rpcUrl, 'evm_mine')
      const head = await c.next(headsSub, () => true)
      const receipt = await call(node.rpcUrl, 'eth_getTransactionReceipt', [hash])
      expect(head.hash).toBe(receipt.blockHash)
      expect(head.number).toBe(receipt.blockNumber)
      expect((await c.request('eth_unsubscribe', [pendingSub])).result).toBe(true)
      expect((await c.request('eth_unsubscribe', [pendingSub])).result).toBe(false)
    } finally {
      c.close()
    }
  })
})
