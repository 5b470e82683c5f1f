/**
 * All-or-nothing execution on EthereumJS VMs.
 *
 * EthereumJS restores its state only on the paths it expects: `EVM.runCall` takes a journal (and
 * transient-storage) checkpoint per message and reverts or commits it when the message returns,
 * but has no try/finally, so anything that THROWS inside a frame — a precompile, a native module,
 * a state read, our own fast paths — leaves every checkpoint of the frames it crossed open. Before
 * this module, a call to an unconfigured KZG precompile left the call VM one checkpoint deep for
 * good (its original-storage cache was then never cleared: every later gas estimate priced SSTOREs
 * against stale values), and a transaction doing the same in a block left the block VM's
 * checkpoint open, so the block's state was never flushed and the node lost its head state.
 *
 * So the entry points never rely on the library to unwind: they note the checkpoint depth before a
 * unit of work and, when it throws, revert everything above that depth and reset the per-execution
 * scratch that lives outside checkpoints (warm sets and touched accounts of the journal, transient
 * storage, original-storage cache, the host's frame stack). `resetTo` is the last resort when even
 * that fails, or when a whole block is abandoned: it drops all in-memory state and points the VM at
 * a persisted root, which is exactly the state of a node that never saw the work.
 */
import type { VM } from '@ethereumjs/vm'

/** The fields of MerkleStateManager (protected in its typings) that hold in-memory state. */
interface StateInternals {
  _checkpointCount: number
  _caches?: { clear(): void }
  clearCaches(): void
  _storageTries: Record<string, unknown>
  _trie: {
    root(value?: Uint8Array): Uint8Array
    flushCheckpoints(): void
    /** The trie's mutex: `put`/`del`/`commit`/`revert` release it only when they do not throw. */
    _lock: { permits: number; promiseResolverQueue: unknown[] }
  }
  originalStorageCache: { clear(): void }
  revert(): Promise<void>
}

interface EvmInternals {
  journal: { cleanJournal(): void }
  transientStorage: { clear(): void; _indices?: number[] }
  /** HostEVM's message stack (precompiles/host.ts). */
  frames?: unknown[]
}

const stateOf = (vm: VM) => vm.stateManager as unknown as StateInternals
const evmOf = (vm: VM) => vm.evm as unknown as EvmInternals

/** Number of open state checkpoints: take it before a unit of work, roll back to it after a throw. */
export function checkpointDepth(vm: VM): number {
  return stateOf(vm)._checkpointCount
}

/** Per-execution scratch outside the checkpoints: empty between transactions and calls. */
function clearScratch(vm: VM): void {
  const evm = evmOf(vm)
  evm.journal.cleanJournal()
  evm.transientStorage.clear()
  if (evm.transientStorage._indices !== undefined) evm.transientStorage._indices.length = 0
  if (evm.frames !== undefined) evm.frames.length = 0
  stateOf(vm).originalStorageCache.clear()
}

/**
 * Undoes every state change made above checkpoint `depth` (reverting the checkpoints a throw left
 * open, innermost first) and clears the per-execution scratch. Throws only if a revert itself
 * fails; the caller must then `resetTo` a persisted root.
 */
export async function rollbackTo(vm: VM, depth: number): Promise<void> {
  const sm = stateOf(vm)
  while (sm._checkpointCount > depth) await sm.revert()
  clearScratch(vm)
}

/**
 * Drops everything the VM holds in memory (checkpoints, caches, storage tries, scratch) and points
 * it at `root`, which must be persisted: no flush, so nothing of the abandoned work can reach the
 * trie or the database.
 */
export function resetTo(vm: VM, root: Uint8Array): void {
  const sm = stateOf(vm)
  sm._trie.flushCheckpoints()
  // Work is serialised above this (runtime lock), so nobody can be queued on a lock held here.
  const lock = sm._trie._lock
  if (lock.promiseResolverQueue.length === 0) lock.permits = 1
  sm._checkpointCount = 0
  // clearCaches: a state manager's own caches in front of the library's go too (block-state.ts).
  sm.clearCaches()
  sm._storageTries = {}
  sm._trie.root(root)
  clearScratch(vm)
}
