// Sender recovery from a raw transaction's bytes alone, for the RecoverPool worker (plain
// JavaScript: a worker thread does not inherit the main thread's TypeScript loader, and loading
// one costs it ~0.7 s of CPU at start). Dependencies are injected so the worker can take them from
// the execution runtime's own install (same secp256k1 binding, keccak and RLP as the node).

/** Positions in the signed RLP list, per type: `unsigned` fields precede (v/y-parity, r, s);
 * `ints` are integer fields, re-encoded without leading zeros as EthereumJS does (it keeps them as
 * bigints, and does not reject a zero-padded chainId on decode, so the padding must not reach the
 * signed message or the hash); other fields (to, data, access and authorization lists) are kept
 * as sent, as EthereumJS keeps them. */
const LEGACY = { unsigned: 6, ints: [0, 1, 2, 4] }
const TYPED = new Map([
  [1, { unsigned: 8, ints: [0, 1, 2, 3, 5] }],
  [2, { unsigned: 9, ints: [0, 1, 2, 3, 4, 6] }],
  [4, { unsigned: 10, ints: [0, 1, 2, 3, 4, 6] }],
])
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n
const EMPTY = new Uint8Array(0)

function stripZeros(b) {
  let i = 0
  while (i < b.length && b[i] === 0) i++
  return i === 0 ? b : b.subarray(i)
}

function scalar(item) {
  if (!(item instanceof Uint8Array)) throw new Error('expected a byte string, got a list')
  return item
}

function toBigInt(b) {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')}`)
}

function unpadded(v) {
  if (v === 0n) return EMPTY
  let hex = v.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

function prefixed(type, body) {
  const out = new Uint8Array(body.length + 1)
  out[0] = type
  out.set(body, 1)
  return out
}

/**
 * Returns `recover(raw) → { publicKey, hash }` for signed legacy (EIP-155 or 27/28), EIP-2930,
 * EIP-1559 and EIP-7702 transactions: the 64-byte sender key and the hash EthereumJS computes for
 * the decoded transaction (`getSenderPublicKey()`, `hash()`). High s, bad v/y-parity and
 * unrecoverable signatures throw, as do blob transactions (not taken over RPC here) and malformed
 * bytes. It does not validate the transaction: the caller decodes it with EthereumJS and only
 * uses this result for bytes that decoded.
 *
 * @param {{ RLP: { decode(b: Uint8Array): unknown, encode(x: unknown): Uint8Array },
 *   keccak256(b: Uint8Array): Uint8Array,
 *   ecdsaRecover(sig: Uint8Array, recid: number, msg: Uint8Array, compressed: false): Uint8Array }} deps
 */
export function createRawRecover({ RLP, keccak256, ecdsaRecover }) {
  return function recover(raw) {
    if (!(raw instanceof Uint8Array) || raw.length === 0) throw new Error('empty transaction')
    const first = raw[0]
    const typed = first <= 0x7f
    const layout = typed ? TYPED.get(first) : LEGACY
    if (layout === undefined) throw new Error(`unsupported transaction type ${first}`)
    const decoded = RLP.decode(typed ? raw.subarray(1) : raw)
    if (!Array.isArray(decoded) || decoded.length !== layout.unsigned + 3)
      throw new Error('transaction is not an RLP list of the expected length')
    const fields = decoded.slice(0, layout.unsigned)
    for (const i of layout.ints) fields[i] = stripZeros(scalar(fields[i]))
    const v = toBigInt(scalar(decoded[layout.unsigned]))
    const r = stripZeros(scalar(decoded[layout.unsigned + 1]))
    const s = stripZeros(scalar(decoded[layout.unsigned + 2]))
    if (r.length > 32 || s.length > 32) throw new Error('signature component longer than 32 bytes')
    if (toBigInt(s) > HALF_ORDER) throw new Error('s-values greater than secp256k1n/2 are invalid')
    const signed = [...fields, unpadded(v), r, s]
    let recovery
    let message
    let serialized
    if (typed) {
      if (v !== 0n && v !== 1n) throw new Error('y-parity must be 0 or 1')
      recovery = v
      message = prefixed(first, RLP.encode(fields))
      serialized = prefixed(first, RLP.encode(signed))
    } else {
      let unsigned = fields
      if (v === 27n || v === 28n) recovery = v - 27n
      else if (v >= 37n) {
        // EIP-155: v = chainId * 2 + 35 + parity; the signed message ends with chainId, 0, 0.
        const chainId = (v - 35n) / 2n
        recovery = v - (chainId * 2n + 35n)
        unsigned = [...fields, unpadded(chainId), EMPTY, EMPTY]
      } else throw new Error(`legacy v must be 27/28 or at least 37 (EIP-155), got ${v}`)
      message = RLP.encode(unsigned)
      serialized = RLP.encode(signed)
    }
    const sig = new Uint8Array(64)
    sig.set(r, 32 - r.length)
    sig.set(s, 64 - s.length)
    const pub = ecdsaRecover(sig, Number(recovery), keccak256(message), false)
    return { publicKey: pub.subarray(1), hash: keccak256(serialized) }
  }
}

/**
 * Loads the recovery dependencies from the package that `anchorUrl` belongs to (the execution
 * runtime: its native secp256k1 binding, WASM keccak and RLP), for a thread that cannot import
 * the runtime's TypeScript.
 *
 * @param {string} anchorUrl file URL of a module of that package
 */
export async function loadRawRecover(anchorUrl) {
  const { createRequire } = await import('node:module')
  const require = createRequire(anchorUrl)
  const secp256k1 = require('secp256k1')
  const { createKeccak } = require('hash-wasm')
  const { RLP } = require('@ethereumjs/rlp')
  const hasher = await createKeccak(256)
  const keccak256 = (data) => {
    // Synchronous init/update/digest: the hasher is never interleaved.
    hasher.init()
    hasher.update(data)
    return hasher.digest('binary')
  }
  const recover = createRawRecover({ RLP, keccak256, ecdsaRecover: secp256k1.ecdsaRecover })
  /** Address that signed a 32-byte digest with a 65-byte r ‖ s ‖ recId signature (commit seals). */
  recover.signer = (digest, sig) =>
    keccak256(secp256k1.ecdsaRecover(sig.subarray(0, 64), sig[64], digest, false).subarray(1)).subarray(12)
  return recover
}
