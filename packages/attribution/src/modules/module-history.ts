/**
 * What a module may read of the chain's history, provided by the node: the logs a module emitted
 * in a past block. The Attribution module reads inline contribution content there when it re-runs
 * a challenged receipt (judge.ts); state keeps only content hashes. Every node that executed (or
 * imported) the chain has its receipts, so every node reads the same bytes; a node without them
 * cannot execute the block and stops (a host error, never a different result).
 */
export interface ModuleHistory {
  /** Logs emitted by `address` in canonical block `blockNumber` whose first topics are `topics`. */
  logs(
    address: Uint8Array,
    blockNumber: bigint,
    topics: readonly Uint8Array[],
  ): Promise<{ topics: Uint8Array[]; data: Uint8Array }[]>
}

/** What the modules may be given besides their parameters. */
export interface ModuleDeps {
  history?: ModuleHistory
}
