/**
 * Forked state: a local state trie laid over a remote chain's state at one block (openledger dev
 * --fork-url, hardhat_reset with `forking`).
 *
 * Everything in the runtime reads state by trie root, so the remote sits UNDER the trie rather than
 * beside it (EDR keeps removed-key sets next to its trie, anvil a cache database; neither is
 * keyed by root). The local trie holds what the local chain has touched; a key the local trie
 * lacks reads through to the remote:
 * - Accounts: no record in the local trie → the remote's account at the fork block. A deleted
 *   account whose remote counterpart exists is kept as an EMPTY account record (a tombstone), read
 *   back as "no account", so that the remote value stays hidden.
 * - Storage: each storage trie that continues on the remote carries one marker leaf at a raw path
 *   no hashed slot key can take. A slot missing from such a trie reads through to the remote; a
 *   trie without the marker (an account created or whose storage was cleared locally — CREATE,
 *   a `state` override) has no remote storage below it. A slot set to zero whose remote value is
 *   not zero is kept as an explicit zero leaf (RLP 0x80).
 * - Code: content-addressed like everything else; a code hash missing from the database is the
 *   remote's code of that account.
 * Remote accounts enter the trie with the marker trie as their storage root when a block touches
 * them (EthereumJS's caches flush what was read as well as what was written), so a post-fork block's
 * state root commits to every account and slot its execution touched: deterministic for a given
 * fork block and local history, and what eth_getProof proves against (docs/fork.md).
 */
import { createMPT, type MerklePatriciaTrie } from '@ethereumjs/mpt'
import { Account, KECCAK256_NULL, KECCAK256_RLP, ValueEncoding } from '@ethereumjs/util'
import { equalBytes, toHex } from '../bytes.ts'
import { keccak256 } from '../crypto.ts'
import { BoundedMap } from './bounded-map.ts'
import type { LevelStateDB } from './level-db.ts'

/** An account of the remote chain at the fork block. */
export interface RemoteAccount {
  nonce: bigint
  balance: bigint
  code: Uint8Array
}

/**
 * Reads of the remote chain at the fork block (packages/node implements it over JSON-RPC, with
 * batching, caching and timeouts). The values never change for a given fork block, so callers may
 * ask again at any time. Failures throw (a ForkError from the implementation).
 */
export interface ForkSource {
  /** The account at the fork block; undefined when it has no nonce, balance or code there. */
  account(address: Uint8Array): Promise<RemoteAccount | undefined>
  /** A storage slot at the fork block (32 bytes). */
  storage(address: Uint8Array, slot: Uint8Array): Promise<Uint8Array>
  /** Hash of remote block `n` (`n` at most the fork block): BLOCKHASH before the fork. */
  blockHash(n: bigint): Promise<Uint8Array | undefined>
}

/** The remote block a forked chain continues from, as its header describes it. */
export interface ForkBlock {
  number: bigint
  hash: Uint8Array
  parentHash: Uint8Array
  timestamp: bigint
  gasLimit: bigint
  gasUsed: bigint
  baseFeePerGas?: bigint
  coinbase: Uint8Array
  mixHash: Uint8Array
  extraData: Uint8Array
  /** The remote's state root at that block (reported by eth_getBlockByNumber; the local chain's
   * state there is the local trie laid over it). */
  stateRoot: Uint8Array
}

export interface ForkPoint {
  source: ForkSource
  block: ForkBlock
}

/** Raw trie path of the marker leaf: keccak of a string, so no 32-byte slot hashes to it. */
export const REMOTE_STORAGE_MARKER = keccak256(
  new TextEncoder().encode('openledger fork: this storage continues on the remote chain'),
)
const MARKER_VALUE = Uint8Array.of(0x01)
/** RLP of an empty account: what a deleted remote account is kept as. */
export const ACCOUNT_TOMBSTONE = new Account().serialize()
/** RLP of a zero storage value: what a slot zeroed over a non-zero remote value is kept as. */
export const SLOT_TOMBSTONE = Uint8Array.of(0x80)

export const isAccountTombstone = (rlp: Uint8Array): boolean => equalBytes(rlp, ACCOUNT_TOMBSTONE)

/**
 * The fork seen from the state layer: remote reads turned into what the local trie would hold.
 * One per fork point; the state managers and the reader of a runtime share it.
 */
export class ForkLayer {
  /** Storage roots (hex) known to carry the marker or not: a property of the trie's content. */
  private readonly marked = new BoundedMap<boolean>(100_000)

  private constructor(
    readonly point: ForkPoint,
    /** Root of a storage trie holding only the marker: storage of an untouched remote account. */
    readonly markerRoot: Uint8Array,
  ) {}

  /** Creates the layer and writes the marker trie's node through `db` (content-addressed). */
  static async create(point: ForkPoint, db: LevelStateDB): Promise<ForkLayer> {
    const trie = await createMPT({ db, useKeyHashing: false, valueEncoding: ValueEncoding.Bytes })
    await trie.put(REMOTE_STORAGE_MARKER, MARKER_VALUE)
    return new ForkLayer(point, trie.root())
  }

  get source(): ForkSource {
    return this.point.source
  }

  /** Does the storage trie `trie` (at its current root) continue on the remote? */
  async continuesRemotely(trie: MerklePatriciaTrie): Promise<boolean> {
    const root = trie.root()
    if (equalBytes(root, KECCAK256_RLP)) return false
    if (equalBytes(root, this.markerRoot)) return true
    const k = toHex(root)
    let hit = this.marked.get(k)
    if (hit === undefined) {
      const { node, remaining } = await trie.findPath(REMOTE_STORAGE_MARKER)
      hit = node !== null && remaining.length === 0
      this.marked.set(k, hit)
    }
    return hit
  }

  /** The account a remote account is read as before the local chain writes it. */
  async remoteAccount(address: Uint8Array): Promise<Account | undefined> {
    const r = await this.source.account(address)
    if (r === undefined) return undefined
    return new Account(
      r.nonce,
      r.balance,
      this.markerRoot,
      r.code.length > 0 ? keccak256(r.code) : KECCAK256_NULL,
    )
  }

  /** Code of `address` whose hash `codeHash` is not in the local database: the remote's. */
  async remoteCode(address: Uint8Array, codeHash: Uint8Array): Promise<Uint8Array> {
    const code = (await this.source.account(address))?.code ?? new Uint8Array(0)
    if (!equalBytes(code.length > 0 ? keccak256(code) : KECCAK256_NULL, codeHash)) {
      throw new Error(
        `code ${toHex(codeHash)} of ${toHex(address)} is neither in the database nor the remote's code of that account`,
      )
    }
    return code
  }

  /** What the trie must hold for an account deleted locally: a tombstone when the remote has one. */
  async deletedAccountValue(address: Uint8Array): Promise<Uint8Array | null> {
    return (await this.source.account(address)) === undefined ? null : ACCOUNT_TOMBSTONE
  }

  /** What a storage trie that continues remotely must hold for a slot set to zero. */
  async zeroSlotValue(address: Uint8Array, slot: Uint8Array): Promise<Uint8Array | null> {
    const remote = await this.source.storage(address, slot)
    return remote.every((b) => b === 0) ? null : SLOT_TOMBSTONE
  }
}
