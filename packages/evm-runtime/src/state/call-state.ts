/**
 * State manager of the eth_call VM. Every call runs inside a checkpoint that is reverted, and
 * EthereumJS's diff caches forget any entry first read inside a reverted checkpoint, so without
 * help every call would walk the trie again for every account, slot and code it touches.
 *
 * This subclass adds read-through maps of PERSISTED values underneath EthereumJS's caches (which
 * hold only the call's own writes and are consulted first):
 * - decoded accounts by address, valid for the current state root only (dropped on setStateRoot);
 * - storage by (storage root, slot) and code by code hash: content-addressed, valid forever.
 * They are filled only from the trie, never from a call's writes, so reverting a call needs no
 * bookkeeping here. Reads are not copied into EthereumJS's caches: that would RLP-encode every
 * account read and journal every entry, only for the revert to drop it again.
 *
 * Accounts are handed out as {@link ReadAccount} copies that remember their RLP: a call's
 * zero-value transfer puts caller and callee back unchanged, and the account cache would otherwise
 * re-encode both and decode them again at every later read.
 *
 * On a forked chain (state/fork.ts) what the trie lacks reads through to the remote; the maps keep
 * the trie's answers (a miss included), the fork source caches the remote's.
 */
import { RLP } from '@ethereumjs/rlp'
import { CODEHASH_PREFIX, MerkleStateManager } from '@ethereumjs/statemanager'
import { Account, type Address, createAccountFromRLP, unpadBytes } from '@ethereumjs/util'
import { hexOf, toHex } from '../bytes.ts'
import { BoundedMap } from './bounded-map.ts'
import { type ForkLayer, isAccountTombstone } from './fork.ts'

const EMPTY = new Uint8Array(0)
/** baseStorage's entry for a slot the trie does not hold (a stored zero is RLP 0x80). */
const ABSENT = new Uint8Array(0)

/** A copy of a stored account that serializes to the RLP it was read from while unchanged. */
class ReadAccount extends Account {
  constructor(
    private readonly base: Account,
    private readonly rlp: Uint8Array,
  ) {
    super(base.nonce, base.balance, base.storageRoot, base.codeHash)
  }

  override serialize(): Uint8Array {
    const b = this.base
    // Identity for the byte fields: EthereumJS replaces them, it never writes into them.
    return this.nonce === b.nonce &&
      this.balance === b.balance &&
      this.storageRoot === b.storageRoot &&
      this.codeHash === b.codeHash
      ? this.rlp
      : super.serialize()
  }
}

interface Stored {
  account: Account
  rlp: Uint8Array
}

export class CallStateManager extends MerkleStateManager {
  /** Set on a forked chain (state/fork.ts). */
  fork: ForkLayer | undefined
  private readonly baseAccounts = new BoundedMap<Stored | null>(200_000)
  /** Decoded form of RLP values in EthereumJS's account cache (immutable byte arrays). */
  private readonly decoded = new WeakMap<Uint8Array, Account>()
  private readonly baseStorage = new BoundedMap<Uint8Array>(200_000)
  private readonly baseCode = new BoundedMap<Uint8Array>(5_000)

  override async setStateRoot(stateRoot: Uint8Array, clearCache = true): Promise<void> {
    await super.setStateRoot(stateRoot, clearCache)
    this.baseAccounts.clear()
  }

  /** Forgets every read (a new fork: equal roots may now read through to another remote). */
  forgetReads(): void {
    this._caches?.clear()
    this.baseAccounts.clear()
  }

  /** The trie root this manager reads (unchanged by reverted calls). */
  currentRoot(): Uint8Array {
    return this._trie.root()
  }

  override async getAccount(address: Address): Promise<Account | undefined> {
    const elem = this._caches?.account?.get(address)
    if (elem !== undefined) {
      const rlp = elem.accountRLP
      if (rlp === undefined) return undefined
      let account = this.decoded.get(rlp)
      if (account === undefined) {
        account = createAccountFromRLP(rlp)
        this.decoded.set(rlp, account)
      }
      return new ReadAccount(account, rlp)
    }
    // Unprefixed, from Buffer's encoder: Address.toString() builds the string two characters at a time.
    const key = hexOf(address.bytes)
    let base = this.baseAccounts.get(key)
    if (base === undefined) {
      const rlp = await this._trie.get(address.bytes)
      if (rlp !== null && !(this.fork !== undefined && isAccountTombstone(rlp)))
        base = { account: createAccountFromRLP(rlp), rlp }
      else if (rlp === null && this.fork !== undefined) {
        const remote = await this.fork.remoteAccount(address.bytes)
        base = remote !== undefined ? { account: remote, rlp: remote.serialize() } : null
      } else base = null
      this.baseAccounts.set(key, base)
    }
    // A copy: the EVM mutates the accounts it reads before writing them back.
    return base !== null ? new ReadAccount(base.account, base.rlp) : undefined
  }

  override async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    const cached = this._caches?.storage?.get(address, key)
    if (cached !== undefined) return RLP.decode(cached) as Uint8Array
    const account = await this.getAccount(address)
    if (account === undefined) return EMPTY
    const k = hexOf(account.storageRoot) + hexOf(key)
    let value = this.baseStorage.get(k)
    if (value === undefined) {
      value = (await this._getStorageTrie(address, account).get(key)) ?? ABSENT
      this.baseStorage.set(k, value)
    }
    if (value !== ABSENT) return RLP.decode(value) as Uint8Array
    const fork = this.fork
    if (fork !== undefined && (await fork.continuesRemotely(this._getStorageTrie(address, account))))
      return unpadBytes(await fork.source.storage(address.bytes, key))
    return EMPTY
  }

  override async getCode(address: Address): Promise<Uint8Array> {
    const elem = this._caches?.code?.get(address)
    if (elem !== undefined) return elem.code ?? EMPTY
    const account = await this.getAccount(address)
    if (account === undefined || !account.isContract()) return EMPTY
    const k = toHex(account.codeHash)
    let code = this.baseCode.get(k)
    if (code === undefined) {
      const dbKey = this._prefixCodeHashes
        ? new Uint8Array([...CODEHASH_PREFIX, ...account.codeHash])
        : account.codeHash
      const stored = (await this._trie.database().get(dbKey)) as Uint8Array | undefined
      code = stored ?? (this.fork ? await this.fork.remoteCode(address.bytes, account.codeHash) : EMPTY)
      this.baseCode.set(k, code)
    }
    return code
  }
}
