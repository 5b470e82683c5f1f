/** txpool_* methods in geth's formats (sender keys checksummed, nonce keys decimal). */
import type { TypedTransaction } from '@ethereumjs/tx'
import { getAddress } from 'viem/utils'
import { formatTransaction, type JsonObject, quantity } from '../format.ts'
import type { RpcMethods } from '../registry.ts'
import { expectParams, parseAddress } from '../validation.ts'

type Bucket = Map<string, TypedTransaction[]>

function senderBytes(sender: string): Uint8Array {
  return new Uint8Array(Buffer.from(sender.replace(/^0x/i, ''), 'hex'))
}

function count(bucket: Bucket): number {
  let n = 0
  for (const txs of bucket.values()) n += txs.length
  return n
}

function dump(
  bucket: Bucket,
  entry: (tx: TypedTransaction, sender: string) => unknown,
  only?: string,
): JsonObject {
  const out: JsonObject = {}
  for (const [sender, txs] of bucket) {
    const key = getAddress(sender)
    if (only !== undefined && key !== only) continue
    const byNonce: JsonObject = {}
    for (const tx of txs) byNonce[tx.nonce.toString(10)] = entry(tx, sender) as JsonObject
    out[key] = byNonce
  }
  return out
}

const full = (tx: TypedTransaction, sender: string): JsonObject =>
  formatTransaction(tx, { sender: senderBytes(sender) })

// geth's inspect line: "<to>: <value> wei + <gas> gas × <price> wei" (price = fee cap for 1559 types).
function summary(tx: TypedTransaction): string {
  const price = 'maxFeePerGas' in tx ? tx.maxFeePerGas : (tx as { gasPrice: bigint }).gasPrice
  const to = tx.to ? getAddress(tx.to.toString()) : 'contract creation'
  return `${to}: ${tx.value} wei + ${tx.gasLimit} gas × ${price} wei`
}

export const txpoolMethods: RpcMethods = {
  txpool_status: (params, ctx) => {
    expectParams(params, 0, 0)
    const pool = ctx.backend.txpool()
    return { pending: quantity(count(pool.pending)), queued: quantity(count(pool.queued)) }
  },
  txpool_content: (params, ctx) => {
    expectParams(params, 0, 0)
    const pool = ctx.backend.txpool()
    return { pending: dump(pool.pending, full), queued: dump(pool.queued, full) }
  },
  txpool_contentFrom: (params, ctx) => {
    const [addr] = expectParams(params, 1, 1)
    const only = getAddress(`0x${Buffer.from(parseAddress(addr, 'address')).toString('hex')}`)
    const pool = ctx.backend.txpool()
    const pick = (b: Bucket): JsonObject => (dump(b, full, only)[only] as JsonObject | undefined) ?? {}
    return { pending: pick(pool.pending), queued: pick(pool.queued) }
  },
  txpool_inspect: (params, ctx) => {
    expectParams(params, 0, 0)
    const pool = ctx.backend.txpool()
    return { pending: dump(pool.pending, summary), queued: dump(pool.queued, summary) }
  },
}
