/**
 * Stateless reads of any persisted state root straight from the trie (no state manager, no
 * caches to invalidate): account, code, storage and EIP-1186 proofs. Safe to run concurrently
 * with block execution because persisted trie nodes are immutable (content-addressed). On a
 * forked chain, what the trie lacks reads through to the remote (state/fork.ts).
 */
import type { Common } from '@ethereumjs/common'
import { createMerkleProof, createMPT, type MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { CODEHASH_PREFIX } from '@ethereumjs/statemanager'
import {
  type Account,
  createAccountFromRLP,
  KECCAK256_NULL,
  KECCAK256_RLP,
  ValueEncoding,
} from '@ethereumjs/util'
import type { AccountProof, AccountState } from '../api.ts'
import { assertLength, bytesToBigint, equalBytes, toHex } from '../bytes.ts'
import { MissingStateError, NotInLocalStateError } from '../errors.ts'
import { BoundedMap } from './bounded-map.ts'
import { type ForkLayer, isAccountTombstone } from './fork.ts'
import type { LevelStateDB } from './level-db.ts'

export class StateReader {
  /** State at a persisted root never changes, so reads keyed by (root, address) can be cached
   * without invalidation; the txpool reads sender accounts at the head for every transaction. */
  private readonly accounts = new BoundedMap<AccountState | null>(100_000)
  private readonly knownRoots = new BoundedMap<true>(10_000)
  /** Trie objects by root (state and storage tries share the options): building one costs more
   * than a cached account read, and every read of a root would otherwise build its own. */
  private readonly tries = new BoundedMap<MerklePatriciaTrie>(256)
  private template: MerklePatriciaTrie | undefined
  /** Set on a forked chain (state/fork.ts); see {@link useFork}. */
  private fork: ForkLayer | undefined

  constructor(
    private readonly db: LevelStateDB,
    private readonly common: Common,
  ) {}

  /** Reads through to `fork` from now on; earlier reads are forgotten (equal roots of another
   * fork read through to another remote). */
  useFork(fork: ForkLayer | undefined): void {
    this.fork = fork
    this.accounts.clear()
  }

  /** True when the root node is on disk (the empty root always exists). */
  async hasState(stateRoot: Uint8Array): Promise<boolean> {
    assertLength('stateRoot', stateRoot, 32)
    if (equalBytes(stateRoot, KECCAK256_RLP)) return true
    const k = toHex(stateRoot)
    if (this.knownRoots.has(k)) return true
    const found = (await this.db.getPersisted(stateRoot)) !== undefined
    if (found) this.knownRoots.set(k, true)
    return found
  }

  private async trie(root: Uint8Array): Promise<MerklePatriciaTrie> {
    if (!(await this.hasState(root))) throw new MissingStateError(root)
    return this.trieAt(root)
  }

  /** A read-only trie object at `root` (never written through, so sharing it is safe). Built
   * as a child of one template trie with its own root: constructing a MerklePatriciaTrie (debug
   * loggers, a CheckpointDB, option merging) cost ~0.15 ms, once per new head in automine. */
  private async trieAt(root: Uint8Array): Promise<MerklePatriciaTrie> {
    const key = toHex(root)
    let trie = this.tries.get(key)
    if (trie === undefined) {
      this.template ??= await createMPT({
        db: this.db,
        useKeyHashing: true,
        valueEncoding: ValueEncoding.Bytes,
        common: this.common,
      })
      trie = Object.create(this.template) as MerklePatriciaTrie
      trie.root(root)
      this.tries.set(key, trie)
    }
    return trie
  }

  /** The account at the trie's root; on a fork, read through to the remote when the trie lacks it
   * (`local: false`). */
  private async account(
    trie: MerklePatriciaTrie,
    address: Uint8Array,
  ): Promise<{ account: Account | undefined; local: boolean }> {
    const rlp = await trie.get(address)
    const fork = this.fork
    if (fork === undefined)
      return { account: rlp === null ? undefined : createAccountFromRLP(rlp), local: true }
    if (rlp === null) return { account: await fork.remoteAccount(address), local: false }
    return { account: isAccountTombstone(rlp) ? undefined : createAccountFromRLP(rlp), local: true }
  }

  async getAccount(stateRoot: Uint8Array, address: Uint8Array): Promise<AccountState | undefined> {
    assertLength('address', address, 20)
    const key = toHex(stateRoot) + toHex(address)
    const cached = this.accounts.get(key)
    if (cached !== undefined) return cached ?? undefined
    const { account: a } = await this.account(await this.trie(stateRoot), address)
    const state =
      a === undefined
        ? undefined
        : { nonce: a.nonce, balance: a.balance, codeHash: a.codeHash, storageRoot: a.storageRoot }
    this.accounts.set(key, state ?? null)
    return state
  }

  async getCode(stateRoot: Uint8Array, address: Uint8Array): Promise<Uint8Array> {
    assertLength('address', address, 20)
    const { account: a } = await this.account(await this.trie(stateRoot), address)
    if (a === undefined || equalBytes(a.codeHash, KECCAK256_NULL)) return new Uint8Array(0)
    const key = new Uint8Array(CODEHASH_PREFIX.length + 32)
    key.set(CODEHASH_PREFIX, 0)
    key.set(a.codeHash, CODEHASH_PREFIX.length)
    const code = await this.db.getPersisted(key)
    if (code === undefined && this.fork !== undefined) return this.fork.remoteCode(address, a.codeHash)
    if (code === undefined)
      throw new Error(`code for hash of ${Buffer.from(address).toString('hex')} is missing from the database`)
    return code
  }

  private storageTrie(root: Uint8Array): Promise<MerklePatriciaTrie> {
    return this.trieAt(root)
  }

  async getStorage(stateRoot: Uint8Array, address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    assertLength('address', address, 20)
    assertLength('slot', slot, 32)
    const trie = await this.trie(stateRoot)
    const { account: a } = await this.account(trie, address)
    const out = new Uint8Array(32)
    if (a === undefined || equalBytes(a.storageRoot, KECCAK256_RLP)) return out
    const storage = await this.storageTrie(a.storageRoot)
    const raw = await storage.get(slot)
    if (raw === null && this.fork !== undefined && (await this.fork.continuesRemotely(storage)))
      return this.fork.source.storage(address, slot)
    if (raw === null) return out
    const v = RLP.decode(raw) as Uint8Array
    out.set(v, 32 - v.length)
    return out
  }

  async getProof(stateRoot: Uint8Array, address: Uint8Array, slots: Uint8Array[]): Promise<AccountProof> {
    assertLength('address', address, 20)
    for (const [i, s] of slots.entries()) assertLength(`slots[${i}]`, s, 32)
    const trie = await this.trie(stateRoot)
    const accountProof = await createMerkleProof(trie, address)
    const { account: a, local } = await this.account(trie, address)
    // On a fork the root commits only to what the local chain touched: nothing to prove otherwise.
    if (!local) throw new NotInLocalStateError(address)
    const storageHash = a?.storageRoot ?? KECCAK256_RLP
    const storageTrie =
      a !== undefined && !equalBytes(storageHash, KECCAK256_RLP)
        ? await this.storageTrie(storageHash)
        : undefined
    const storageProof: AccountProof['storageProof'] = []
    for (const key of slots) {
      if (storageTrie === undefined) {
        storageProof.push({ key, value: 0n, proof: [] })
        continue
      }
      const proof = await createMerkleProof(storageTrie, key)
      const raw = await storageTrie.get(key)
      if (raw === null && this.fork !== undefined && (await this.fork.continuesRemotely(storageTrie)))
        throw new NotInLocalStateError(address, key)
      storageProof.push({
        key,
        value: raw === null ? 0n : bytesToBigint(RLP.decode(raw) as Uint8Array),
        proof,
      })
    }
    return {
      address,
      accountProof,
      balance: a?.balance ?? 0n,
      codeHash: a?.codeHash ?? KECCAK256_NULL,
      nonce: a?.nonce ?? 0n,
      storageHash,
      storageProof,
    }
  }
}
