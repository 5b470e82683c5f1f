/**
 * Decoded trie nodes, remembered by the stored bytes they came from.
 *
 * EthereumJS's `lookupNode` copies and RLP-decodes a node's bytes on every lookup, and a block
 * looks the same few nodes up many times: the root branch (~530 bytes, 17 items) and the second
 * level for every account the block, the txpool and RPC read or update. It was the largest single
 * item of a dev node's block commit (decodeMPTNode ~8 % of the main thread in automine).
 *
 * The cache is a WeakMap keyed by the value object the trie's database returns: the database
 * layers (CheckpointDB's LRU, LevelStateDB's caches and buffers) hand out the same Uint8Array for
 * a node as long as they keep it, and an entry dies with it. The lookup still goes to the
 * database, so a node missing from this trie's database is still missing ('Missing node in DB');
 * only the decoding is shared. Nodes written by BatchTrieUpdater are registered with the raw list
 * they were encoded from, so a new head's nodes are never decoded at all.
 *
 * A cached raw list is shared, never handed out: every lookup builds a fresh MPTNode from it
 * (`decodeRawMPTNode` copies the branch array and decodes leaf keys), so the library's in-place
 * node updates (`put`'s `_updateNode`) cannot reach the cache. The byte arrays inside are shared
 * as they already are through the database caches: nothing writes into them.
 */
import { decodeRawMPTNode, isRawMPTNode, MerklePatriciaTrie, type MPTNode } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { EthereumJSErrorWithoutCode } from '@ethereumjs/util'
import { LevelStateDB } from './level-db.ts'

/** A node's RLP list: 17 items (branch) or 2 (leaf, extension); inlined children are lists. */
export type RawNode = Array<Uint8Array | RawNode>

type LookupNode = MerklePatriciaTrie['lookupNode']
type NodeRef = Parameters<LookupNode>[0]

/** The protected members of MerklePatriciaTrie used here (EthereumJS 10.1.3). */
interface TrieInternals {
  _db: { get(key: Uint8Array): Promise<Uint8Array | undefined> }
  _getDbKey(key: Uint8Array): Uint8Array
}

const decoded = new WeakMap<Uint8Array, RawNode>()

/** The members of the trie's CheckpointDB (EthereumJS 10.1.3) that `readNode` looks at. */
interface CheckpointDbInternals {
  checkpoints: unknown[]
  db: unknown
  get(key: Uint8Array): Promise<Uint8Array | undefined>
}

/**
 * A stored node's bytes through the trie's database (its CheckpointDB). With no checkpoint open
 * that database only adds its LRU in front of the one below, at the price of a hex key built by a
 * JavaScript loop, an options object and an LRU probe per lookup (~6 % of a dev node's allocation
 * in automine); a LevelStateDB below holds every node the LRU could (its write buffer, held
 * writes and a cache of persisted nodes), and hands out the same value objects, so the node is
 * read from it directly. With a checkpoint open (execution), the checkpoint's diff comes first:
 * the CheckpointDB's own path.
 */
export function readNode(db: unknown, key: Uint8Array): Promise<Uint8Array | undefined> {
  const cp = db as CheckpointDbInternals
  const below = cp.db
  if (cp.checkpoints?.length === 0 && below instanceof LevelStateDB)
    return below.get(key) as Promise<Uint8Array | undefined>
  return cp.get(key)
}

export const originalLookupNode: LookupNode = MerklePatriciaTrie.prototype.lookupNode

/** Records that `encoded` is the RLP of `raw` (the writer knows it; nobody needs to decode). */
export function rememberDecoded(encoded: Uint8Array, raw: RawNode): void {
  decoded.set(encoded, raw)
}

/** The raw list of a stored node, decoded at most once per value object. */
export function decodeStoredNode(encoded: Uint8Array): RawNode {
  let raw = decoded.get(encoded)
  if (raw === undefined) {
    // As the library's decodeMPTNode: a Buffer's slices would be views, not copies.
    const list = RLP.decode(encoded.constructor === Uint8Array ? encoded : Uint8Array.from(encoded))
    if (!isRawMPTNode(list)) throw EthereumJSErrorWithoutCode('Invalid node')
    raw = list as RawNode
    decoded.set(encoded, raw)
  }
  return raw
}

export async function cachedLookupNode(this: MerklePatriciaTrie, node: NodeRef): Promise<MPTNode> {
  if (isRawMPTNode(node)) return decodeRawMPTNode(node)
  const trie = this as unknown as TrieInternals
  const value = await readNode(trie._db, trie._getDbKey(node as Uint8Array))
  // Same message as the library's: findPath and proof checks match on it.
  if (value === undefined || value === null) throw EthereumJSErrorWithoutCode('Missing node in DB')
  return decodeRawMPTNode(decodeStoredNode(value) as Uint8Array[])
}

let installed = false

/** Installs cachedLookupNode on the EthereumJS trie prototype (idempotent). */
export function installNodeCache(): void {
  if (installed) return
  MerklePatriciaTrie.prototype.lookupNode = cachedLookupNode as LookupNode
  installed = true
}
