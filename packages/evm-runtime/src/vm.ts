/**
 * The EthereumJS VM every part of the runtime executes on (block VM, call VM, traces, state tests):
 * HostEVM (native modules, fault marking, the fast paths installed on EVM's prototype) over a
 * Merkle state manager on a LevelStateDB. One constructor, so that nothing executes on a VM
 * configured differently from the one that builds and imports blocks.
 */
import type { Common } from '@ethereumjs/common'
import { createMPT } from '@ethereumjs/mpt'
import { Caches, CacheType, MerkleStateManager } from '@ethereumjs/statemanager'
import { Address, ValueEncoding } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import type { BlockHook } from './block/hooks.ts'
import { HostEVM, modulePrecompile } from './precompiles/host.ts'
import type { SystemModule } from './precompiles/module-types.ts'
import type { LevelStateDB } from './state/level-db.ts'

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
}

export async function createChainVM(
  db: LevelStateDB,
  views: Views,
  sizes: { accounts: number; storage: number; code: number; trieNodes: number },
  root?: Uint8Array,
  cacheType: CacheType = CacheType.LRU,
  StateManagerClass: typeof MerkleStateManager = MerkleStateManager,
): Promise<VM> {
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
  // The part of the blockchain interface the EVM uses: BLOCKHASH → getBlock(n).hash().
  const blockchain = {
    async getBlock(n: number) {
      const hash = await views.getBlockHash(BigInt(n))
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
    customPrecompiles: views.modules.map((m) => ({
      address: new Address(m.address),
      function: modulePrecompile(m, chainId),
    })),
  })
  return createVM({ common, stateManager, blockchain, evm })
}
