/**
 * Equivocation evidence as the Staking module receives it: two RLP SignedData of one QBFT message
 * type. Both signatures are recovered (chain id bound, as every QBFT message on this chain); they
 * must come from the same author for the same height and round and commit to different values
 * (block digest, or the signing hash for ROUND_CHANGE). Proposals carry their block: its QBFT digest
 * (hashForCommitSeal of the header) is what the proposer signed.
 */
import { decode as rlpDecode, encode as rlpEncode } from '@ethereumjs/rlp'
import { keccak_256 } from '@noble/hashes/sha3.js'
import {
  type Block,
  type CodecContext,
  decodeExtraData,
  decodeSigned,
  HEADER_EXTRA_DATA_INDEX,
  HEADER_NUMBER_INDEX,
  hashForCommitSeal,
  MessageCode,
  type MessageType,
  messageDigest,
  type RecoverFn,
} from '@openledger/consensus'
import { concat, keccak, u256 } from '@openledger/module-kit'
import native from 'secp256k1'
import { compareBytes } from '../core/bytes.ts'

/** Decodes just enough of a block to know its QBFT digest, height and round. */
const evidenceBlocks: CodecContext['blocks'] = {
  decode(bytes: Uint8Array): Block {
    const block = rlpDecode(bytes) as unknown
    if (!Array.isArray(block) || !Array.isArray(block[0])) throw new Error('not a block')
    const header = block[0] as Uint8Array[]
    if (header.length < 15 || header.some((f) => !(f instanceof Uint8Array))) throw new Error('bad header')
    const number = header[HEADER_NUMBER_INDEX] as Uint8Array
    let height = 0n
    for (const b of number) height = (height << 8n) | BigInt(b)
    return {
      height,
      round: decodeExtraData(header[HEADER_EXTRA_DATA_INDEX] as Uint8Array).round,
      digest: hashForCommitSeal(header),
      bytes: rlpEncode(block as never),
    }
  },
}

/** Native libsecp256k1 recovery (the default @noble one costs ~2 ms per signature). */
const recover: RecoverFn = (hash, sig) => {
  if (sig.length !== 65) throw new Error('signature must be 65 bytes')
  const pub = native.ecdsaRecover(sig.subarray(0, 64), sig[64] as number, hash, false)
  return keccak_256(pub.subarray(1)).subarray(12)
}

const TYPES = new Map<number, MessageType>(
  Object.entries(MessageCode).map(([name, code]) => [code, name as MessageType]),
)

export type EvidenceCheck =
  | { ok: true; author: Uint8Array; height: bigint; round: number; hash: Uint8Array }
  | { ok: false; reason: string }

export function checkEquivocation(
  code: number,
  first: Uint8Array,
  second: Uint8Array,
  chainId: bigint,
): EvidenceCheck {
  const type = TYPES.get(code)
  if (type === undefined) return { ok: false, reason: `unknown message code ${code}` }
  const ctx: CodecContext = { chainId, blocks: evidenceBlocks, recover }
  let a: ReturnType<typeof decodeSigned>
  let b: ReturnType<typeof decodeSigned>
  try {
    a = decodeSigned(type, first, ctx)
    b = decodeSigned(type, second, ctx)
  } catch (e) {
    return { ok: false, reason: `undecodable message: ${(e as Error).message}` }
  }
  if (compareBytes(a.author, b.author) !== 0) return { ok: false, reason: 'different signers' }
  if (a.payload.height !== b.payload.height || a.payload.round !== b.payload.round)
    return { ok: false, reason: 'different height or round' }
  const da = messageDigest(a)
  const db = messageDigest(b)
  if (compareBytes(da, db) === 0) return { ok: false, reason: 'same value signed twice' }
  // Order-independent and encoding-independent: the same equivocation resubmitted (swapped, or
  // re-encoded) has the same hash.
  const [lo, hi] = compareBytes(da, db) < 0 ? [da, db] : [db, da]
  const hash = keccak(
    concat(u256(BigInt(code)), u256(a.payload.height), u256(BigInt(a.payload.round)), a.author, lo, hi),
  )
  return { ok: true, author: a.author, height: a.payload.height, round: a.payload.round, hash }
}
