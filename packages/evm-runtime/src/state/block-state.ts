/**
 * The state manager used to build and import blocks: EthereumJS's MerkleStateManager, except that
 * each storage trie and then the account trie are updated in one batch per flush
 * (BatchTrieUpdater) instead of one `put` per slot and per account — the dominant cost of
 * computing a block's state root. test/block-state.test.ts checks roots against the library's.
 */
import { RLP } from '@ethereumjs/rlp'
import { MerkleStateManager } from '@ethereumjs/statemanager'
import { type Address, createAddressFromString, hexToBytes, unpadBytes } from '@ethereumjs/util'
import { BatchTrieUpdater, type TrieUpdate } from './batch-trie.ts'

type Caches = NonNullable<MerkleStateManager['_caches']>
type StorageItems = ReturnType<NonNullable<Caches['storage']>['flush']>

export class BlockStateManager extends MerkleStateManager {
  /**
   * The library writes every SSTORE into the cache AND straight into the storage trie
   * (`cache.put(...) ?? write` — `put` returns undefined), so each slot costs a trie update now and
   * again at flush. Keep writes in the cache only; `flush` below applies them in one batch.
   */
  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    const cache = this._caches?.storage
    if (cache === undefined) return super.putStorage(address, key, value)
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    if (value.length > 32) throw new Error('Storage value cannot be longer than 32 bytes')
    if ((await this.getAccount(address)) === undefined)
      throw new Error('putStorage() called on non-existing account')
    cache.put(address, key, RLP.encode(unpadBytes(value)))
  }

  override async flush(): Promise<void> {
    const accountCache = this._caches?.account
    const storageCache = this._caches?.storage
    if (accountCache === undefined || storageCache === undefined) return super.flush()
    // Let the library flush code (which sets codeHash in the account cache); take the storage
    // writes out of its loop, and leave the dirty accounts in the cache until storage roots are set.
    let storage: StorageItems = []
    const flushStorage = storageCache.flush
    const flushAccounts = accountCache.flush
    storageCache.flush = () => {
      storage = flushStorage.call(storageCache)
      return []
    }
    accountCache.flush = () => []
    try {
      await super.flush()
    } finally {
      storageCache.flush = flushStorage
      accountCache.flush = flushAccounts
    }

    const byAccount = new Map<string, TrieUpdate[]>()
    for (const [addressHex, keyHex, value] of storage) {
      const decoded = RLP.decode(value ?? new Uint8Array(0)) as Uint8Array
      let updates = byAccount.get(addressHex)
      if (updates === undefined) {
        updates = []
        byAccount.set(addressHex, updates)
      }
      // As the library stores it: the RLP of the unpadded value; an empty value deletes the slot.
      updates.push({ key: hexToBytes(`0x${keyHex}`), value: decoded.length > 0 ? RLP.encode(decoded) : null })
    }
    for (const [addressHex, updates] of byAccount) {
      const address = createAddressFromString(`0x${addressHex}`)
      const account = await this.getAccount(address)
      if (account === undefined) continue // storage of an account deleted in this block goes with it
      const trie = this._getStorageTrie(address, account)
      await new BatchTrieUpdater(trie).apply(updates)
      account.storageRoot = trie.root()
      await this.putAccount(address, account)
    }

    const accounts = accountCache.flush()
    await new BatchTrieUpdater(this._trie).apply(
      accounts.map(([addressHex, elem]) => ({
        key: hexToBytes(`0x${addressHex}`),
        value: elem.accountRLP ?? null,
      })),
    )
  }
}
