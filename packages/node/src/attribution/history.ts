/**
 * The chain history the Attribution module reads (its re-run of a challenged receipt reads inline
 * contribution content from the Datanets module's logs): the logs of a canonical block, read
 * straight from the chain keyspace (canonical index → receipts), like
 * ChainStore.canonicalHashReader. It needs no open ChainStore, so the node's runtime (created
 * before the store) and the RPC execution workers (which open the database a second time) read
 * the same bytes the same way.
 *
 * Only blocks below the one being executed are read (the module refuses content of the current
 * block with a typed error), and those are committed on every node that executes this block.
 */

import { equalsBytes } from '@ethereumjs/util'
import type { ModuleHistory } from '@openledger/attribution'
import type { ChainDb } from '../store/chainStore.ts'
import { decodeReceipts } from '../store/codec.ts'
import { Bucket, key, u64 } from '../store/keys.ts'

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const

export function chainHistory(db: ChainDb): ModuleHistory {
  return {
    async logs(address, blockNumber, topics) {
      if (blockNumber < 0n || blockNumber >= 1n << 64n) return []
      const hash = await db.get(key(Bucket.canonical, u64(blockNumber)), VIEW)
      if (hash === undefined) return []
      const raw = await db.get(key(Bucket.receipts, hash), VIEW)
      if (raw === undefined) throw new Error(`receipts of canonical block ${blockNumber} are missing`)
      const out: { topics: Uint8Array[]; data: Uint8Array }[] = []
      for (const r of decodeReceipts(raw).records) {
        for (const l of r.logs) {
          if (!equalsBytes(l.address, address) || l.topics.length < topics.length) continue
          if (topics.every((t, i) => equalsBytes(l.topics[i]!, t)))
            out.push({ topics: l.topics, data: l.data })
        }
      }
      return out
    },
  }
}
