/**
 * A direct replacement for MerklePatriciaTrie.prototype.findPath (EthereumJS 10.1.3).
 *
 * The library walks the path of a single key through its generic WalkController (a prioritised
 * task queue built for whole-trie walks), which costs more than the node lookups themselves: it
 * was ~15 % of the node's CPU when committing blocks. A key's path needs no queue: one lookup per
 * level. Results are identical (node, remaining nibbles, stack), including the library's answer
 * when a node is missing; test/find-path.test.ts checks it against the original on random tries.
 */
import {
  BranchMPTNode,
  ExtensionMPTNode,
  LeafMPTNode,
  MerklePatriciaTrie,
  type MPTNode,
  type Path,
} from '@ethereumjs/mpt'
import { equalsBytes } from '@ethereumjs/util'

type FindPath = MerklePatriciaTrie['findPath']
type NodeRef = Parameters<MerklePatriciaTrie['lookupNode']>[0]

export const originalFindPath: FindPath = MerklePatriciaTrie.prototype.findPath

export async function directFindPath(
  this: MerklePatriciaTrie,
  key: Uint8Array,
  throwIfMissing = false,
  partialPath: { stack: MPTNode[] } = { stack: [] },
): Promise<Path> {
  // Resuming from a partial path is rare (deletes restructuring the trie): keep the library's way.
  if (partialPath.stack.length > 0) return originalFindPath.call(this, key, throwIfMissing, partialPath)
  const target = bytesToNibbles(key)
  const rest = (from: number) => target.slice(from)
  const stack: MPTNode[] = []
  const root = this.root()
  if (equalsBytes(root, this.EMPTY_TRIE_ROOT)) return { node: null, remaining: [], stack }
  let ref: NodeRef = root
  let progress = 0
  try {
    for (;;) {
      const node = await this.lookupNode(ref)
      stack.push(node)
      if (node instanceof BranchMPTNode) {
        if (progress === target.length) return { node, remaining: [], stack }
        const child = node.getBranch(target[progress]!)
        if (!child) return { node: null, remaining: rest(progress), stack }
        progress++
        ref = child as NodeRef
      } else if (node instanceof LeafMPTNode) {
        const start = progress
        const k = node.key()
        if (target.length - progress > k.length) return { node: null, remaining: rest(start), stack }
        for (const nibble of k) {
          if (nibble !== target[progress]) return { node: null, remaining: rest(start), stack }
          progress++
        }
        return { node, remaining: [], stack }
      } else if (node instanceof ExtensionMPTNode) {
        const start = progress
        for (const nibble of node.key()) {
          if (nibble !== target[progress]) return { node: null, remaining: rest(start), stack }
          progress++
        }
        ref = node.value() as NodeRef
      } else {
        return { node: null, remaining: [], stack }
      }
    }
  } catch (err) {
    if ((err as Error).message !== 'Missing node in DB' || throwIfMissing) throw err
    return { node: null, remaining: [], stack }
  }
}

/** Key bytes → nibbles as a plain array (the trie mutates `remaining` with shift()), without the
 * hex-prefix terminator that the package's exported `bytesToNibbles` (util/encoding) appends. */
function bytesToNibbles(key: Uint8Array): number[] {
  const out = new Array<number>(key.length * 2)
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4
    out[2 * i + 1] = key[i]! & 0x0f
  }
  return out
}

let installed = false

/** Installs directFindPath on the EthereumJS trie prototype (idempotent). */
export function installDirectFindPath(): void {
  if (installed) return
  MerklePatriciaTrie.prototype.findPath = directFindPath as FindPath
  installed = true
}
