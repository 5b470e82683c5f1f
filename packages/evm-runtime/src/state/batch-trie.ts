/**
 * Applies a whole block's account updates to an EthereumJS Merkle-Patricia trie in one pass.
 *
 * `MerklePatriciaTrie.put` re-encodes and re-hashes every node on a key's path for each key, so a
 * block touching N accounts serialises the root branch (≈ 530 bytes of RLP) N times and writes N
 * versions of it. Here the touched paths are loaded once into a mutable in-memory tree, all
 * updates are applied, and each changed node is encoded and hashed exactly once. The nodes
 * written are the standard ones (same encoding, same keys), so the library reads and proves the
 * result as if it had written it; test/batch-trie.test.ts checks roots against `put`/`del`.
 */
import type { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { EthereumJSErrorWithoutCode, equalsBytes } from '@ethereumjs/util'
import { decodeStoredNode, type RawNode, readNode, rememberDecoded } from './node-cache.ts'

/** A child reference exactly as stored in a parent: a 32-byte hash or an inlined raw node. */
type StoredRef = Uint8Array | Uint8Array[]

type Node =
  | { kind: 'leaf'; key: number[]; value: Uint8Array }
  | { kind: 'ext'; key: number[]; child: Child }
  | { kind: 'branch'; children: Array<Child | null>; value: Uint8Array | null }

/** Either an untouched subtree (kept by reference) or a node loaded into memory. */
type Child = { stored: StoredRef } | Node

/** The protected members of MerklePatriciaTrie this module relies on (EthereumJS 10.1.3). */
interface TrieInternals {
  _db: {
    get(key: Uint8Array): Promise<Uint8Array | undefined>
    batch(ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>): Promise<void>
  }
  _opts: { keyPrefix?: Uint8Array; useNodePruning?: boolean }
  _lock: { acquire(): Promise<void>; release(): void }
  appliedKey(key: Uint8Array): Uint8Array
  hash(bytes: Uint8Array): Uint8Array
}

export interface TrieUpdate {
  /** The key as given to `trie.put` (hashed here when the trie uses key hashing). */
  key: Uint8Array
  /** New value; null (or empty) deletes the key. */
  value: Uint8Array | null
}

const isNode = (c: Child): c is Node => !('stored' in c)

function nibbles(key: Uint8Array): number[] {
  const out = new Array<number>(key.length * 2)
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4
    out[2 * i + 1] = key[i]! & 0x0f
  }
  return out
}

/** Length of the common prefix of `a` and `b` from `off` on. */
function commonPrefix(a: number[], b: number[], off = 0): number {
  let i = 0
  const n = b.length - off
  while (i < a.length && i < n && a[i] === b[off + i]) i++
  return i
}

/** Length of the RLP of byte string `b`. */
function stringLength(b: Uint8Array): number {
  const n = b.length
  if (n === 1 && b[0]! < 0x80) return 1
  if (n <= 55) return 1 + n
  return 1 + lengthOfLength(n) + n
}

function lengthOfLength(n: number): number {
  let k = 0
  while (n > 0) {
    k++
    n = Math.floor(n / 256)
  }
  return k
}

/** Writes an RLP length header (`short`: 0x80 for strings, 0xc0 for lists) at `o`; returns the
 * offset after it. */
function writeHeader(out: Uint8Array, o: number, n: number, short: number): number {
  if (n <= 55) {
    out[o] = short + n
    return o + 1
  }
  const k = lengthOfLength(n)
  out[o] = short + 55 + k
  for (let i = k; i > 0; i--) {
    out[o + i] = n & 0xff
    n = Math.floor(n / 256)
  }
  return o + 1 + k
}

/**
 * The RLP of a node's raw list in one allocation, byte for byte what `RLP.encode` gives (which
 * encodes every item into an array of its own and concatenates them: a 17-item branch made 19
 * arrays). Inlined child nodes (lists) are rare and go through RLP.encode.
 */
export function encodeNode(items: ReadonlyArray<Uint8Array | Uint8Array[]>): Uint8Array {
  let payload = 0
  let nested: Array<Uint8Array | undefined> | undefined
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (item instanceof Uint8Array) payload += stringLength(item)
    else {
      nested ??= []
      const e = RLP.encode(item)
      nested[i] = e
      payload += e.length
    }
  }
  const out = new Uint8Array((payload <= 55 ? 1 : 1 + lengthOfLength(payload)) + payload)
  let o = writeHeader(out, 0, payload, 0xc0)
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    const e = nested?.[i]
    if (e !== undefined) {
      out.set(e, o)
      o += e.length
    } else if (item instanceof Uint8Array) {
      if (!(item.length === 1 && item[0]! < 0x80)) o = writeHeader(out, o, item.length, 0x80)
      out.set(item, o)
      o += item.length
    }
  }
  return out
}

/** Hex-prefix encoding (yellow paper, appendix C). */
function hexPrefix(key: number[], leaf: boolean): Uint8Array {
  const odd = key.length % 2 === 1
  const flag = (leaf ? 2 : 0) + (odd ? 1 : 0)
  const out = new Uint8Array(Math.floor(key.length / 2) + 1)
  let i = 0
  if (odd) out[0] = (flag << 4) | key[i++]!
  else out[0] = flag << 4
  for (let j = 1; i < key.length; j++, i += 2) out[j] = (key[i]! << 4) | key[i + 1]!
  return out
}

/** The in-memory node of a raw list (17 items: branch; 2: leaf or extension by hex prefix). */
function fromRaw(raw: RawNode): Node {
  if (raw.length === 17) {
    const children: Array<Child | null> = new Array(16)
    for (let i = 0; i < 16; i++) {
      const ref = raw[i]! as StoredRef
      children[i] = ref.length === 0 ? null : { stored: ref }
    }
    const value = raw[16] as Uint8Array
    return { kind: 'branch', children, value: value.length === 0 ? null : value }
  }
  if (raw.length !== 2 || !(raw[0] instanceof Uint8Array) || raw[0].length === 0)
    throw EthereumJSErrorWithoutCode('Invalid node')
  const hp = raw[0]
  const flag = hp[0]! >> 4
  const key: number[] = []
  if (flag & 1) key.push(hp[0]! & 0x0f)
  for (let i = 1; i < hp.length; i++) key.push(hp[i]! >> 4, hp[i]! & 0x0f)
  return flag >= 2
    ? { kind: 'leaf', key, value: raw[1] as Uint8Array }
    : { kind: 'ext', key, child: { stored: raw[1] as StoredRef } }
}

export class BatchTrieUpdater {
  private readonly internals: TrieInternals

  constructor(private readonly trie: MerklePatriciaTrie) {
    this.internals = trie as unknown as TrieInternals
    if (this.internals._opts.keyPrefix !== undefined || this.internals._opts.useNodePruning) {
      throw new Error('BatchTrieUpdater supports tries without key prefix or node pruning')
    }
  }

  /** Applies all updates (later ones win for a repeated key) and sets the trie's new root.
   * `yieldEveryMs`: let other work run this often; returns the ms spent yielded. */
  async apply(updates: readonly TrieUpdate[], opts: { yieldEveryMs?: number } = {}): Promise<number> {
    if (updates.length === 0) return 0
    let yielded = 0
    const lock = this.internals._lock
    await lock.acquire()
    try {
      const rootHash = this.trie.root()
      let root: Child | null = equalsBytes(rootHash, this.trie.EMPTY_TRIE_ROOT) ? null : { stored: rootHash }
      // Node reads resolve from caches as microtasks, so without a macrotask yield a large
      // block's updates hold the event loop for their whole duration (RPC waits: eth_call p99).
      const every = opts.yieldEveryMs
      let last = every === undefined ? 0 : performance.now()
      for (const u of updates) {
        const path = nibbles(this.internals.appliedKey(u.key))
        root =
          u.value === null || u.value.length === 0
            ? await this.remove(root, path, 0)
            : await this.insert(root, path, 0, u.value)
        if (every !== undefined && performance.now() - last >= every) {
          const t = performance.now()
          await new Promise<void>((resolve) => setImmediate(resolve))
          last = performance.now()
          yielded += last - t
        }
      }
      const writes: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
      let newRoot: Uint8Array
      if (root === null) newRoot = this.trie.EMPTY_TRIE_ROOT
      else if (!isNode(root)) newRoot = root.stored as Uint8Array
      else {
        // The root is always stored by hash, even when its encoding is shorter than 32 bytes.
        const raw = this.raw(root, writes)
        const encoded = encodeNode(raw as Uint8Array[])
        rememberDecoded(encoded, raw as RawNode)
        newRoot = this.internals.hash(encoded)
        writes.push({ type: 'put', key: newRoot, value: encoded })
      }
      await this.internals._db.batch(writes)
      this.trie.root(newRoot)
    } finally {
      lock.release()
    }
    await this.trie.persistRoot()
    return yielded
  }

  /** A stored node as a mutable in-memory node, straight from its raw list (no library node
   * objects in between; the list is decoded once per stored value, state/node-cache.ts). */
  private async load(child: Child): Promise<Node> {
    if (isNode(child)) return child
    const ref = child.stored
    let raw: RawNode
    if (ref instanceof Uint8Array) {
      const value = await readNode(this.internals._db, ref)
      // The library's message: callers match on it.
      if (value === undefined || value === null) throw EthereumJSErrorWithoutCode('Missing node in DB')
      raw = decodeStoredNode(value)
    } else raw = ref as RawNode
    return fromRaw(raw)
  }

  /** Inserts the key whose nibbles are `path` from `off` on (the path is never copied on the way
   * down, only where a node keeps part of it). */
  private async insert(at: Child | null, path: number[], off: number, value: Uint8Array): Promise<Node> {
    const left = path.length - off
    if (at === null) return { kind: 'leaf', key: path.slice(off), value }
    const node = await this.load(at)
    if (node.kind === 'branch') {
      if (left === 0) node.value = value
      else
        node.children[path[off]!] = await this.insert(node.children[path[off]!] ?? null, path, off + 1, value)
      return node
    }
    const c = commonPrefix(node.key, path, off)
    if (node.kind === 'leaf' && c === node.key.length && c === left) {
      node.value = value
      return node
    }
    if (node.kind === 'ext' && c === node.key.length) {
      node.child = await this.insert(node.child, path, off + c, value)
      return node
    }
    // Split at the first differing nibble: a branch holding the old node's rest and the new key.
    const branch: Node = { kind: 'branch', children: new Array(16).fill(null), value: null }
    if (node.kind === 'leaf') {
      if (node.key.length === c) branch.value = node.value
      else branch.children[node.key[c]!] = { kind: 'leaf', key: node.key.slice(c + 1), value: node.value }
    } else {
      const rest = node.key.slice(c + 1)
      branch.children[node.key[c]!] =
        rest.length === 0 ? node.child : { kind: 'ext', key: rest, child: node.child }
    }
    if (left === c) branch.value = value
    else branch.children[path[off + c]!] = { kind: 'leaf', key: path.slice(off + c + 1), value }
    return c === 0 ? branch : { kind: 'ext', key: path.slice(off, off + c), child: branch }
  }

  private async remove(at: Child | null, path: number[], off: number): Promise<Child | null> {
    if (at === null) return null
    const left = path.length - off
    const node = await this.load(at)
    if (node.kind === 'leaf') {
      return node.key.length === left && commonPrefix(node.key, path, off) === left ? null : node
    }
    if (node.kind === 'ext') {
      if (commonPrefix(node.key, path, off) < node.key.length) return node
      const child = await this.remove(node.child, path, off + node.key.length)
      return child === null ? null : this.prefixed(node.key, child)
    }
    if (left === 0) node.value = null
    else node.children[path[off]!] = await this.remove(node.children[path[off]!] ?? null, path, off + 1)
    // A branch left with a single entry collapses into its parent path, as the trie requires.
    const used = node.children.flatMap((c, i) => (c === null ? [] : [i]))
    if (used.length === 0) return node.value === null ? null : { kind: 'leaf', key: [], value: node.value }
    if (used.length === 1 && node.value === null) return this.prefixed([used[0]!], node.children[used[0]!]!)
    return node
  }

  /** `key` followed by `child`: merged into the child when it is a leaf or an extension. */
  private async prefixed(key: number[], child: Child): Promise<Node> {
    const c = await this.load(child)
    if (c.kind === 'leaf') return { kind: 'leaf', key: [...key, ...c.key], value: c.value }
    if (c.kind === 'ext') return { kind: 'ext', key: [...key, ...c.key], child: c.child }
    return { kind: 'ext', key, child: c }
  }

  /** The node's raw RLP list, encoding (and scheduling the write of) changed children. */
  private raw(
    node: Node,
    writes: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>,
  ): StoredRef[] | Uint8Array[] {
    if (node.kind === 'leaf') return [hexPrefix(node.key, true), node.value]
    if (node.kind === 'ext') return [hexPrefix(node.key, false), this.ref(node.child, writes) as Uint8Array]
    const out: StoredRef[] = node.children.map((c) => (c === null ? new Uint8Array(0) : this.ref(c, writes)))
    out.push(node.value ?? new Uint8Array(0))
    return out
  }

  /** How a parent refers to `child`: its hash, or the raw node itself when encoded under 32 bytes. */
  private ref(child: Child, writes: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>): StoredRef {
    if (!isNode(child)) return child.stored
    const raw = this.raw(child, writes)
    const encoded = encodeNode(raw as Uint8Array[])
    if (encoded.length < 32) return raw as Uint8Array[]
    rememberDecoded(encoded, raw as RawNode)
    const hash = this.internals.hash(encoded)
    writes.push({ type: 'put', key: hash, value: encoded })
    return hash
  }
}
