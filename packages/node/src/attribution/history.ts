/**
 * The chain history the Attribution module reads (its re-run of a challenged receipt reads inline
 * contribution content from the Datanets module's logs): the canonical blocks' logs in the chain
 * store. The runtime, which creates the modules, exists before the store, so the store is bound
 * once it is open.
 */
import type { ModuleHistory } from '@openledger/attribution'
import type { ChainStore } from '../store/chainStore.ts'

/** More content logs than a block can hold: a lookup over this is a bug, not data. */
const MAX_LOGS = 100_000

export class ChainHistory implements ModuleHistory {
  #store: ChainStore | undefined

  bind(store: ChainStore): void {
    this.#store = store
  }

  async logs(address: Uint8Array, blockNumber: bigint, topics: readonly Uint8Array[]) {
    const store = this.#store
    if (store === undefined) throw new Error('chain history read before the chain store was opened')
    const logs = await store.getLogs({
      fromBlock: blockNumber,
      toBlock: blockNumber,
      addresses: [address],
      topics: topics.map((t) => [t]),
      limit: MAX_LOGS,
    })
    return logs.map((l) => ({ topics: l.topics, data: l.data }))
  }
}
