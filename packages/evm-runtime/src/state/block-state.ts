/**
 * The state manager used to build and import blocks: EthereumJS's MerkleStateManager, except that
 * the account trie is updated in one batch per flush (BatchTrieUpdater) instead of one `put` per
 * account — the dominant cost of computing a block's state root.
 */
import { MerkleStateManager } from '@ethereumjs/statemanager'
import { hexToBytes } from '@ethereumjs/util'
import { BatchTrieUpdater } from './batch-trie.ts'

type AccountCacheItems = ReturnType<
  NonNullable<NonNullable<MerkleStateManager['_caches']>['account']>['flush']
>

export class BlockStateManager extends MerkleStateManager {
  override async flush(): Promise<void> {
    const cache = this._caches?.account
    if (cache === undefined) return super.flush()
    // Let the library flush code and storage (which update accounts' codeHash / storageRoot in the
    // account cache), but take the account writes out of its last step and apply them here.
    let accounts: AccountCacheItems = []
    const flushAccounts = cache.flush
    cache.flush = () => {
      accounts = flushAccounts.call(cache)
      return []
    }
    try {
      await super.flush()
    } finally {
      cache.flush = flushAccounts
    }
    await new BatchTrieUpdater(this._trie).apply(
      accounts.map(([addressHex, elem]) => ({
        key: hexToBytes(`0x${addressHex}`),
        value: elem.accountRLP ?? null,
      })),
    )
  }
}
