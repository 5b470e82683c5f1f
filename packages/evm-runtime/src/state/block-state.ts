/**
 * The state manager used to build and import blocks: EthereumJS's MerkleStateManager, except that
 * each storage trie and then the account trie are updated in one batch per flush
 * (BatchTrieUpdater) instead of one `put` per slot and per account — the dominant cost of
 * computing a block's state root. test/block-state.test.ts checks roots against the library's.
 */
import { RLP } from '@ethereumjs/rlp'
import { CODEHASH_PREFIX, MerkleStateManager } from '@ethereumjs/statemanager'
import {
  type Account,
  type Address,
  createAccountFromRLP,
  createAddressFromString,
  equalsBytes,
  hexToBytes,
  unpadBytes,
} from '@ethereumjs/util'
import { BatchTrieUpdater, type TrieUpdate } from './batch-trie.ts'
import { type ForkLayer, isAccountTombstone } from './fork.ts'

type Caches = NonNullable<MerkleStateManager['_caches']>
type StorageItems = ReturnType<NonNullable<Caches['storage']>['flush']>

export class BlockStateManager extends MerkleStateManager {
  /** Set on a forked chain: keys the local trie lacks read through to the remote (state/fork.ts). */
  fork: ForkLayer | undefined
  /** Let other work run this often (ms) while a flush updates the tries (a large block's). */
  yieldEveryMs: number | undefined
  /** Milliseconds flushes spent yielded (not this block's work), summed. */
  yieldedMs = 0

  override async getAccount(address: Address): Promise<Account | undefined> {
    const fork = this.fork
    if (fork === undefined) return super.getAccount(address)
    const elem = this._caches?.account?.get(address)
    if (elem !== undefined)
      return elem.accountRLP !== undefined ? createAccountFromRLP(elem.accountRLP) : undefined
    const rlp = await this._trie.get(address.bytes)
    let account: Account | undefined
    if (rlp === null) account = await fork.remoteAccount(address.bytes)
    else if (!isAccountTombstone(rlp)) account = createAccountFromRLP(rlp)
    // Cached like a read from the trie: the flush writes it, so a touched remote account joins
    // the local trie (and stays what it was read as).
    this._caches?.account?.put(address, account)
    return account
  }

  /**
   * Slot values as the library's getStorage last returned them, keyed by the raw address and slot
   * bytes: block hooks read the same slots every block, and the library's path (hex keys, LRU,
   * RLP decoding) costs several times this lookup. Exact because every way a slot's value can
   * change goes through the overrides below: a write drops its entry, a revert, a cleared or
   * deleted account's storage, a new state root or cleared caches drop them all.
   */
  #front = new Map<string, Uint8Array>()
  /** Bumped by every invalidation: a read that straddles one is not remembered. */
  #frontEpoch = 0

  #dropFront(): void {
    this.#frontEpoch++
    if (this.#front.size > 0) this.#front = new Map()
  }

  override async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    const fork = this.fork
    if (fork === undefined) {
      if (key.length !== 32) return super.getStorage(address, key)
      const k = slotKey(address.bytes, key)
      const hit = this.#front.get(k)
      // A copy, as the library's decoding gives: callers may keep or modify what they get.
      if (hit !== undefined) return hit.slice()
      const epoch = this.#frontEpoch
      const value = await super.getStorage(address, key)
      if (epoch === this.#frontEpoch) {
        if (this.#front.size >= FRONT_ENTRIES) this.#front = new Map()
        this.#front.set(k, value.slice())
      }
      return value
    }
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    const cached = this._caches?.storage?.get(address, key)
    if (cached !== undefined) return RLP.decode(cached) as Uint8Array
    const account = await this.getAccount(address)
    if (account === undefined) return new Uint8Array(0)
    const trie = this._getStorageTrie(address, account)
    let raw = await trie.get(key)
    if (raw === null && (await fork.continuesRemotely(trie))) {
      const remote = unpadBytes(await fork.source.storage(address.bytes, key))
      raw = RLP.encode(remote)
    }
    this._caches?.storage?.put(address, key, raw ?? SLOT_ZERO)
    return RLP.decode(raw ?? new Uint8Array(0)) as Uint8Array
  }

  override async getCode(address: Address): Promise<Uint8Array> {
    const fork = this.fork
    if (fork === undefined) return super.getCode(address)
    const elem = this._caches?.code?.get(address)
    if (elem !== undefined) return elem.code ?? new Uint8Array(0)
    const account = await this.getAccount(address)
    if (account === undefined || !account.isContract()) return new Uint8Array(0)
    const key = this._prefixCodeHashes ? codeKey(account.codeHash) : account.codeHash
    const stored = (await this._trie.database().get(key)) as Uint8Array | undefined
    const code = stored ?? (await fork.remoteCode(address.bytes, account.codeHash))
    this._caches?.code?.put(address, code)
    return code
  }

  /**
   * The library writes every SSTORE into the cache AND straight into the storage trie
   * (`cache.put(...) ?? write` — `put` returns undefined), so each slot costs a trie update now and
   * again at flush. Keep writes in the cache only; `flush` below applies them in one batch.
   */
  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (key.length === 32) {
      const k = slotKey(address.bytes, key)
      // The slot's current value, non-zero (so the account exists): writing it again changes
      // nothing, neither now nor at a revert or flush (block hooks rewrite unchanged records).
      const hit = this.#front.get(k)
      if (hit !== undefined && hit.length > 0 && value.length <= 32 && equalsBytes(hit, unpadBytes(value)))
        return
      this.#frontEpoch++
      this.#front.delete(k)
    } else {
      this.#frontEpoch++
      this.#dropFront()
    }
    const cache = this._caches?.storage
    if (cache === undefined) return super.putStorage(address, key, value)
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    if (value.length > 32) throw new Error('Storage value cannot be longer than 32 bytes')
    if ((await this.getAccount(address)) === undefined)
      throw new Error('putStorage() called on non-existing account')
    cache.put(address, key, RLP.encode(unpadBytes(value)))
  }

  override async clearStorage(address: Address): Promise<void> {
    this.#dropFront()
    await super.clearStorage(address)
    this.#dropFront()
  }

  override async putAccount(address: Address, account: Account | undefined): Promise<void> {
    // Removing an account this way leaves the library's storage cache as it is; start afresh.
    if (account === undefined) this.#dropFront()
    await super.putAccount(address, account)
  }

  override async deleteAccount(address: Address): Promise<void> {
    this.#dropFront()
    await super.deleteAccount(address)
  }

  override async revert(): Promise<void> {
    this.#dropFront()
    await super.revert()
    this.#dropFront()
  }

  override async setStateRoot(stateRoot: Uint8Array, clearCache = true): Promise<void> {
    this.#dropFront()
    await super.setStateRoot(stateRoot, clearCache)
    this.#dropFront()
  }

  override clearCaches(): void {
    this.#dropFront()
    super.clearCaches()
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
      // Over the remote's storage a zeroed slot must hide a non-zero remote value.
      if (this.fork !== undefined && (await this.fork.continuesRemotely(trie)))
        for (const u of updates)
          if (u.value === null) u.value = await this.fork.zeroSlotValue(address.bytes, u.key)
      this.yieldedMs += await new BatchTrieUpdater(trie).apply(updates, { yieldEveryMs: this.yieldEveryMs })
      account.storageRoot = trie.root()
      await this.putAccount(address, account)
    }

    const accounts = accountCache.flush()
    const updates: TrieUpdate[] = accounts.map(([addressHex, elem]) => ({
      key: hexToBytes(`0x${addressHex}`),
      value: elem.accountRLP ?? null,
    }))
    // A deleted account must hide the remote's (a tombstone); see state/fork.ts.
    if (this.fork !== undefined)
      for (const u of updates) if (u.value === null) u.value = await this.fork.deletedAccountValue(u.key)
    this.yieldedMs += await new BatchTrieUpdater(this._trie).apply(updates, {
      yieldEveryMs: this.yieldEveryMs,
    })
  }
}

const SLOT_ZERO = Uint8Array.of(0x80)

/** Front-cache bound: a block touching more distinct slots starts it afresh. */
const FRONT_ENTRIES = 65_536

/** latin1 maps each byte to one character: the cheapest exact string key for a Map. */
function slotKey(address: Uint8Array, slot: Uint8Array): string {
  return (
    Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1') +
    Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength).toString('latin1')
  )
}

function codeKey(codeHash: Uint8Array): Uint8Array {
  const key = new Uint8Array(CODEHASH_PREFIX.length + codeHash.length)
  key.set(CODEHASH_PREFIX, 0)
  key.set(codeHash, CODEHASH_PREFIX.length)
  return key
}
