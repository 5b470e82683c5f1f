/**
 * The EthereumJS VM every part of the runtime executes on (block VM, call VM, traces, state tests):
 * HostEVM (native modules, fault marking, the fast paths installed on EVM's prototype) over a
 * Merkle state manager on a LevelStateDB. One constructor, so that nothing executes on a VM
 * configured differently from the one that builds and imports blocks.
 */
import { type Common, Hardfork } from '@ethereumjs/common'
import { createMPT } from '@ethereumjs/mpt'
import { Caches, CacheType, MerkleStateManager } from '@ethereumjs/statemanager'
import { Address, ValueEncoding } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import type { BlockHook } from './block/hooks.ts'
import { BLAKE2F_ADDRESS, blake2f } from './precompiles/blake2f.ts'
import { HostEVM, modulePrecompile } from './precompiles/host.ts'
import type { SystemModule } from './precompiles/module-types.ts'
import type { ForkLayer } from './state/fork.ts'
import type { LevelStateDB } from './state/level-db.ts'
import { installNodeCache } from './state/node-cache.ts'

export interface Views {
  common: Common
  modules: SystemModule[]
  hooks: readonly BlockHook[]
  /** Storage word bounding the base fee from below (CreateExecutionRuntimeOptions.baseFeeFloor). */
  baseFeeFloor?: { account: Uint8Array; slot: Uint8Array }
  /** Hash of canonical block `n` (BLOCKHASH serves the last 256); undefined reads as zero. */
  getBlockHash: (number: bigint) => Promise<Uint8Array | undefined>
  /** Dev option (anvil's --disable-code-size-limit): no EIP-170/3860 size limits. */
  allowUnlimitedContractSize?: boolean
  /** A forked chain's remote (state/fork.ts): state the trie lacks and BLOCKHASH before the fork
   * block read through to it. Replaced by a reset (Runtime.reset). */
  fork?: ForkLayer
}

/** A state manager that can read through to a fork (BlockStateManager, CallStateManager). */
export interface ForkAware {
  fork: ForkLayer | undefined
}

export const isForkAware = (sm: unknown): sm is ForkAware =>
  typeof sm === 'object' && sm !== null && 'fork' in sm

export async function createChainVM(
  db: LevelStateDB,
  views: Views,
  sizes: { accounts: number; storage: number; code: number; trieNodes: number },
  root?: Uint8Array,
  cacheType: CacheType = CacheType.LRU,
  StateManagerClass: typeof MerkleStateManager = MerkleStateManager,
): Promise<VM> {
  installNodeCache()
  // Each VM switches its own Common between forks (config.setForkAt): never the shared one that
  // transactions and blocks are decoded with.
  const common = views.common.copy()
  const trie = await createMPT({
    db,
    useKeyHashing: true,
    valueEncoding: ValueEncoding.Bytes,
    common,
    cacheSize: sizes.trieNodes,
    root,
  })
  const stateManager = new StateManagerClass({
    trie,
    common,
    caches: new Caches({
      account: { type: cacheType, size: sizes.accounts },
      storage: { type: cacheType, size: sizes.storage },
      code: { type: cacheType, size: sizes.code },
    }),
  })
  if (views.fork !== undefined && !isForkAware(stateManager))
    throw new Error(`${StateManagerClass.name} cannot read through to a fork`)
  if (isForkAware(stateManager)) stateManager.fork = views.fork
  // The part of the blockchain interface the EVM uses: BLOCKHASH → getBlock(n).hash().
  const blockchain = {
    async getBlock(n: number) {
      const number = BigInt(n)
      // Before the fork block the chain is the remote's (the fork block itself is stored here).
      const fork = views.fork
      const hash =
        fork !== undefined && number < fork.point.block.number
          ? await fork.source.blockHash(number)
          : await views.getBlockHash(number)
      return { hash: () => hash ?? new Uint8Array(32) }
    },
    async putBlock() {},
    shallowCopy() {
      return blockchain
    },
  }
  const chainId = common.chainId()
  const evm = new HostEVM({
    common,
    stateManager,
    blockchain,
    allowUnlimitedContractSize: views.allowUnlimitedContractSize === true,
    allowUnlimitedInitCodeSize: views.allowUnlimitedContractSize === true,
    customPrecompiles: [
      // BLAKE2F in WebAssembly in place of EthereumJS's JS one (precompiles/blake2f.ts). Custom
      // precompiles are active at every fork, so it is added only where 0x09 exists (Istanbul+):
      // chains start at Prague; a state test's VM keeps its fixture's fork.
      ...(common.gteHardfork(Hardfork.Istanbul) ? [{ address: BLAKE2F_ADDRESS, function: blake2f }] : []),
      ...views.modules.map((m) => ({
        address: new Address(m.address),
        function: modulePrecompile(m, chainId),
      })),
    ],
  })
  return createVM({ common, stateManager, blockchain, evm })
}
