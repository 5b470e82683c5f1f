/**
 * QBFT messages, RLP-encoded exactly as Besu's QBFT (qbft-core payload / messagewrappers):
 *
 *   PREPARE      (0x13)  SignedData<[height, round, digest]>
 *   COMMIT       (0x14)  SignedData<[height, round, digest, commitSeal]>
 *   ROUND_CHANGE (0x15)  [SignedData<[height, round, [] | [preparedRound, preparedDigest]]>,
 *                         preparedBlock | [], [SignedData<Prepare>...]]
 *   PROPOSAL     (0x12)  [SignedData<[height, round, block]>,
 *                         [[SignedData<RoundChangePayload>...], [SignedData<Prepare>...]]]
 *   SignedData<P> = [P, signature(65 bytes r‖s‖recId)]
 *
 * Heights are long scalars, rounds int scalars (minimal big-endian, 0 = empty string).
 *
 * Our one deliberate difference: the signed hash binds the chain id. Besu signs
 * keccak256(RLP([code, payload])); we sign keccak256(RLP([chainId, code, payload])), so a
 * message from one chain can never be replayed on another (the gossip topic carries the chain
 * id too). Commit seals stay Besu-compatible: they sign the block digest directly, so sealed
 * headers verify with existing QBFT tooling.
 *
 * On our gossip wire a message is `code(1 byte) ‖ messageData`, where messageData is the Besu
 * RLP above (devp2p carries the code out of band; gossipsub has no such field).
 * Long file: the four QBFT message codecs share SignedData framing and must match Besu's bytes together.
 */
import { bytesEqual } from './bytes.ts'
import { keccak256, recoverAddress } from './crypto.ts'
import { type DecodeErrorCode, QbftDecodeError } from './errors.ts'
import {
  asBytes,
  asList,
  asScalar,
  decodeRlp,
  encodeBytes,
  encodeItem,
  encodeListRaw,
  encodeScalar,
  type Fail,
  type Item,
} from './rlp.ts'
import type { Address, Block, BlockCodec, Hash, Height, RecoverFn, Round, Signer } from './types.ts'
import { MAX_ROUND } from './types.ts'

export const MessageCode = {
  PROPOSAL: 0x12,
  PREPARE: 0x13,
  COMMIT: 0x14,
  ROUND_CHANGE: 0x15,
} as const

export type MessageType = keyof typeof MessageCode

export interface PreparePayload {
  readonly type: 'PREPARE'
  readonly height: Height
  readonly round: Round
  readonly digest: Hash
}

export interface CommitPayload {
  readonly type: 'COMMIT'
  readonly height: Height
  readonly round: Round
  readonly digest: Hash
  /** Signature over `digest` (Besu: the header hash for commit seals), checked against the author. */
  readonly commitSeal: Uint8Array
}

export interface PreparedRound {
  readonly round: Round
  readonly digest: Hash
}

export interface RoundChangePayload {
  readonly type: 'ROUND_CHANGE'
  readonly height: Height
  /** The round the author wants to move to. */
  readonly round: Round
  /** Latest round in which the author saw a quorum of prepares, and for which digest. */
  readonly prepared?: PreparedRound
}

export interface ProposalPayload {
  readonly type: 'PROPOSAL'
  readonly height: Height
  readonly round: Round
  readonly block: Block
}

export type Payload = PreparePayload | CommitPayload | RoundChangePayload | ProposalPayload

/** A payload with its signature; `author` is recovered, so a decoded Signed is authentic. */
export interface Signed<P extends Payload> {
  readonly payload: P
  readonly signature: Uint8Array
  readonly author: Address
  /** keccak256(RLP([chainId, code, payload])): what `signature` signs. */
  readonly signingHash: Hash
  /** RLP of the payload list. */
  readonly payloadBytes: Uint8Array
  /** RLP of SignedData = [payload, signature]; self-contained evidence material. */
  readonly encoded: Uint8Array
}

export interface ProposalMessage {
  readonly type: 'PROPOSAL'
  readonly signed: Signed<ProposalPayload>
  /** Round > 0: a quorum of ROUND-CHANGE payloads for this round (justification). */
  readonly roundChanges: readonly Signed<RoundChangePayload>[]
  /** Prepares proving the highest prepared value among `roundChanges`, if any. */
  readonly prepares: readonly Signed<PreparePayload>[]
}

export interface PrepareMessage {
  readonly type: 'PREPARE'
  readonly signed: Signed<PreparePayload>
}

export interface CommitMessage {
  readonly type: 'COMMIT'
  readonly signed: Signed<CommitPayload>
}

export interface RoundChangeMessage {
  readonly type: 'ROUND_CHANGE'
  readonly signed: Signed<RoundChangePayload>
  /** The prepared block (as prepared, digest = prepared.digest) when `prepared` is set. */
  readonly preparedBlock?: Block
  /** The prepared certificate: a quorum of prepares for (height, prepared.round, prepared.digest). */
  readonly prepares: readonly Signed<PreparePayload>[]
}

export type QbftMessage = ProposalMessage | PrepareMessage | CommitMessage | RoundChangeMessage

export function messageHeight(m: QbftMessage): Height {
  return m.signed.payload.height
}
export function messageRound(m: QbftMessage): Round {
  return m.signed.payload.round
}
export function messageAuthor(m: QbftMessage): Address {
  return m.signed.author
}

/**
 * The value a message commits its author to, used for equivocation detection: the block digest
 * for PROPOSAL / PREPARE / COMMIT, and the signing hash for ROUND_CHANGE (two different round
 * changes for the same round from one author are contradictory too).
 */
export function messageDigest(m: QbftMessage | Signed<Payload>): Hash {
  const s = 'signed' in m ? m.signed : m
  const p = s.payload
  switch (p.type) {
    case 'PROPOSAL':
      return p.block.digest
    case 'PREPARE':
    case 'COMMIT':
      return p.digest
    case 'ROUND_CHANGE':
      return s.signingHash
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** RLP of a payload list (Besu layout). */
export function encodePayload(p: Payload): Uint8Array {
  const head = [encodeScalar(p.height), encodeScalar(p.round)]
  switch (p.type) {
    case 'PREPARE':
      return encodeListRaw([...head, encodeBytes(p.digest)])
    case 'COMMIT':
      return encodeListRaw([...head, encodeBytes(p.digest), encodeBytes(p.commitSeal)])
    case 'ROUND_CHANGE':
      return encodeListRaw([
        ...head,
        p.prepared === undefined
          ? encodeListRaw([])
          : encodeListRaw([encodeScalar(p.prepared.round), encodeBytes(p.prepared.digest)]),
      ])
    case 'PROPOSAL':
      return encodeListRaw([...head, p.block.bytes])
  }
}

/** keccak256(RLP([chainId, code, payload])) — the chain-bound hash a validator signs. */
export function signingHash(chainId: bigint, type: MessageType, payloadBytes: Uint8Array): Hash {
  return keccak256(encodeListRaw([encodeScalar(chainId), encodeScalar(MessageCode[type]), payloadBytes]))
}

function checkRoundId(height: Height, round: Round): void {
  if (height < 0n || height >= 1n << 63n) throw new RangeError(`height out of range: ${height}`)
  if (!Number.isInteger(round) || round < 0 || round > MAX_ROUND)
    throw new RangeError(`round out of range: ${round}`)
}

/** Sign a payload. Pure apart from `signer.sign`; the state machine persists before releasing. */
export function signPayload<P extends Payload>(payload: P, signer: Signer, chainId: bigint): Signed<P> {
  checkRoundId(payload.height, payload.round)
  const payloadBytes = encodePayload(payload)
  const hash = signingHash(chainId, payload.type, payloadBytes)
  const signature = signer.sign(hash)
  return {
    payload,
    signature,
    author: signer.address,
    signingHash: hash,
    payloadBytes,
    encoded: encodeListRaw([payloadBytes, encodeBytes(signature)]),
  }
}

export function createPrepare(
  signer: Signer,
  chainId: bigint,
  height: Height,
  round: Round,
  digest: Hash,
): PrepareMessage {
  return { type: 'PREPARE', signed: signPayload({ type: 'PREPARE', height, round, digest }, signer, chainId) }
}

/** The commit seal signs the digest itself (Besu-compatible), the message the chain-bound hash. */
export function createCommit(
  signer: Signer,
  chainId: bigint,
  height: Height,
  round: Round,
  digest: Hash,
): CommitMessage {
  const commitSeal = signer.sign(digest)
  return {
    type: 'COMMIT',
    signed: signPayload({ type: 'COMMIT', height, round, digest, commitSeal }, signer, chainId),
  }
}

export interface PreparedCertificate {
  readonly round: Round
  readonly block: Block
  readonly prepares: readonly Signed<PreparePayload>[]
}

export function createRoundChange(
  signer: Signer,
  chainId: bigint,
  height: Height,
  round: Round,
  prepared?: PreparedCertificate,
): RoundChangeMessage {
  const payload: RoundChangePayload =
    prepared === undefined
      ? { type: 'ROUND_CHANGE', height, round }
      : {
          type: 'ROUND_CHANGE',
          height,
          round,
          prepared: { round: prepared.round, digest: prepared.block.digest },
        }
  const signed = signPayload(payload, signer, chainId)
  return prepared === undefined
    ? { type: 'ROUND_CHANGE', signed, prepares: [] }
    : { type: 'ROUND_CHANGE', signed, preparedBlock: prepared.block, prepares: [...prepared.prepares] }
}

export function createProposal(
  signer: Signer,
  chainId: bigint,
  block: Block,
  round: Round,
  roundChanges: readonly Signed<RoundChangePayload>[] = [],
  prepares: readonly Signed<PreparePayload>[] = [],
): ProposalMessage {
  const signed = signPayload({ type: 'PROPOSAL', height: block.height, round, block }, signer, chainId)
  return { type: 'PROPOSAL', signed, roundChanges: [...roundChanges], prepares: [...prepares] }
}

/** Besu's message data (without the code). */
export function encodeMessageData(m: QbftMessage): Uint8Array {
  switch (m.type) {
    case 'PREPARE':
    case 'COMMIT':
      return m.signed.encoded
    case 'ROUND_CHANGE':
      return encodeListRaw([
        m.signed.encoded,
        m.preparedBlock === undefined ? encodeListRaw([]) : m.preparedBlock.bytes,
        encodeListRaw(m.prepares.map((p) => p.encoded)),
      ])
    case 'PROPOSAL':
      return encodeListRaw([
        m.signed.encoded,
        encodeListRaw([
          encodeListRaw(m.roundChanges.map((r) => r.encoded)),
          encodeListRaw(m.prepares.map((p) => p.encoded)),
        ]),
      ])
  }
}

/** Gossip wire form: code byte ‖ Besu message data. */
export function encodeMessage(m: QbftMessage): Uint8Array {
  const data = encodeMessageData(m)
  const out = new Uint8Array(data.length + 1)
  out[0] = MessageCode[m.type]
  out.set(data, 1)
  return out
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface CodecContext {
  readonly chainId: bigint
  readonly blocks: Pick<BlockCodec, 'decode'>
  /** Signature recovery; defaults to @noble (pure JS). Inject a native binding for speed. */
  readonly recover?: RecoverFn
  /** Bound on round changes / prepares carried in one message (default 256). */
  readonly maxJustifications?: number
}

const failWith =
  (code: DecodeErrorCode): Fail =>
  (what, malformed) => {
    throw new QbftDecodeError(malformed === true ? 'MALFORMED_RLP' : code, what)
  }
const structural = failWith('BAD_STRUCTURE')

function inconsistent(what: string): never {
  throw new QbftDecodeError('INCONSISTENT', what)
}

function decodeBlockItem(item: Item, ctx: CodecContext, what: string): Block {
  if (!Array.isArray(item) || item.length === 0) structural(`${what}: expected a block (non-empty list)`)
  const bytes = encodeItem(item)
  let block: Block
  try {
    block = ctx.blocks.decode(bytes)
  } catch (e) {
    throw new QbftDecodeError('BAD_BLOCK', `${what}: ${(e as Error)?.message ?? String(e)}`)
  }
  return block
}

function decodeHeightRound(items: Item[], what: string): { height: Height; round: Round } {
  const height = asScalar(items[0], `${what}.height`, structural, 8)
  if (height >= 1n << 63n) structural(`${what}.height out of range`)
  const round = Number(asScalar(items[1], `${what}.round`, structural, 4))
  if (round > MAX_ROUND) structural(`${what}.round out of range`)
  return { height, round }
}

function decodePayload(type: MessageType, item: Item, ctx: CodecContext): Payload {
  const what = type
  switch (type) {
    case 'PREPARE': {
      const l = asList(item, what, structural, 3)
      return { type, ...decodeHeightRound(l, what), digest: asBytes(l[2], `${what}.digest`, structural, 32) }
    }
    case 'COMMIT': {
      const l = asList(item, what, structural, 4)
      return {
        type,
        ...decodeHeightRound(l, what),
        digest: asBytes(l[2], `${what}.digest`, structural, 32),
        commitSeal: asBytes(l[3], `${what}.commitSeal`, structural, 65),
      }
    }
    case 'ROUND_CHANGE': {
      const l = asList(item, what, structural, 3)
      const hr = decodeHeightRound(l, what)
      const pm = asList(l[2], `${what}.prepared`, structural)
      if (pm.length === 0) return { type, ...hr }
      if (pm.length !== 2) structural(`${what}.prepared: expected [] or [round, digest]`)
      const pr = Number(asScalar(pm[0], `${what}.prepared.round`, structural, 4))
      if (pr > MAX_ROUND) structural(`${what}.prepared.round out of range`)
      const digest = asBytes(pm[1], `${what}.prepared.digest`, structural, 32)
      if (pr >= hr.round) inconsistent(`${what}: prepared round ${pr} is not below round ${hr.round}`)
      return { type, ...hr, prepared: { round: pr, digest } }
    }
    case 'PROPOSAL': {
      const l = asList(item, what, structural, 3)
      const hr = decodeHeightRound(l, what)
      const block = decodeBlockItem(l[2] as Item, ctx, `${what}.block`)
      if (block.height !== hr.height)
        inconsistent(`${what}: block height ${block.height} differs from ${hr.height}`)
      return { type, ...hr, block }
    }
  }
}

function decodeSignedItem<P extends Payload>(
  type: MessageType,
  item: Item | undefined,
  ctx: CodecContext,
): Signed<P> {
  const l = asList(item, `${type} SignedData`, structural, 2)
  const payloadItem = l[0] as Item
  if (!Array.isArray(payloadItem)) structural(`${type} SignedData: payload must be a list`)
  const signature = asBytes(l[1], `${type} signature`, structural)
  const payload = decodePayload(type, payloadItem, ctx) as P
  const payloadBytes = encodeItem(payloadItem)
  const hash = signingHash(ctx.chainId, type, payloadBytes)
  const author = recoverChecked(ctx, hash, signature, 'BAD_SIGNATURE', type)
  if (payload.type === 'COMMIT') {
    const sealer = recoverChecked(ctx, payload.digest, payload.commitSeal, 'BAD_COMMIT_SEAL', 'commit seal')
    if (!bytesEqual(sealer, author))
      throw new QbftDecodeError('BAD_COMMIT_SEAL', 'commit seal is not signed by the message author')
  }
  return {
    payload,
    signature,
    author,
    signingHash: hash,
    payloadBytes,
    encoded: encodeListRaw([payloadBytes, encodeBytes(signature)]),
  }
}

function recoverChecked(
  ctx: CodecContext,
  hash: Hash,
  sig: Uint8Array,
  code: DecodeErrorCode,
  what: string,
): Address {
  if (sig.length !== 65) throw new QbftDecodeError(code, `${what}: signature must be 65 bytes`)
  let a: Address
  try {
    a = (ctx.recover ?? recoverAddress)(hash, sig)
  } catch (e) {
    throw new QbftDecodeError(code, `${what}: ${(e as Error)?.message ?? String(e)}`)
  }
  if (!(a instanceof Uint8Array) || a.length !== 20)
    throw new QbftDecodeError(code, `${what}: recovery returned no address`)
  return a
}

function decodeSignedList<P extends Payload>(
  type: MessageType,
  item: Item | undefined,
  ctx: CodecContext,
  what: string,
): Signed<P>[] {
  const l = asList(item, what, structural)
  const max = ctx.maxJustifications ?? 256
  if (l.length > max)
    throw new QbftDecodeError('TOO_LARGE', `${what}: ${l.length} entries exceed the bound ${max}`)
  return l.map((it) => decodeSignedItem<P>(type, it, ctx))
}

function decodeData(type: MessageType, root: Item, ctx: CodecContext): QbftMessage {
  switch (type) {
    case 'PREPARE':
      return { type, signed: decodeSignedItem<PreparePayload>(type, root, ctx) }
    case 'COMMIT':
      return { type, signed: decodeSignedItem<CommitPayload>(type, root, ctx) }
    case 'ROUND_CHANGE': {
      const l = asList(root, 'ROUND_CHANGE message', structural, 3)
      const signed = decodeSignedItem<RoundChangePayload>(type, l[0], ctx)
      const blockItem = l[1] as Item
      const hasBlock = !(Array.isArray(blockItem) && blockItem.length === 0)
      const prepares = decodeSignedList<PreparePayload>('PREPARE', l[2], ctx, 'ROUND_CHANGE prepares')
      const p = signed.payload
      if (p.prepared === undefined) {
        if (hasBlock || prepares.length > 0)
          inconsistent('ROUND_CHANGE carries a block or prepares without prepared metadata')
        return { type, signed, prepares }
      }
      if (!hasBlock) inconsistent('ROUND_CHANGE has prepared metadata but no block')
      const preparedBlock = decodeBlockItem(blockItem, ctx, 'ROUND_CHANGE.preparedBlock')
      if (
        !bytesEqual(preparedBlock.digest, p.prepared.digest) ||
        preparedBlock.height !== p.height ||
        preparedBlock.round !== p.prepared.round
      )
        inconsistent('ROUND_CHANGE prepared block does not match its prepared metadata')
      for (const pr of prepares) {
        const q = pr.payload
        if (q.height !== p.height || q.round !== p.prepared.round || !bytesEqual(q.digest, p.prepared.digest))
          inconsistent('ROUND_CHANGE prepare does not match the prepared round/digest')
      }
      return { type, signed, preparedBlock, prepares }
    }
    case 'PROPOSAL': {
      const l = asList(root, 'PROPOSAL message', structural, 2)
      const signed = decodeSignedItem<ProposalPayload>(type, l[0], ctx)
      const just = asList(l[1], 'PROPOSAL justification', structural, 2)
      const roundChanges = decodeSignedList<RoundChangePayload>(
        'ROUND_CHANGE',
        just[0],
        ctx,
        'PROPOSAL round changes',
      )
      const prepares = decodeSignedList<PreparePayload>('PREPARE', just[1], ctx, 'PROPOSAL prepares')
      const p = signed.payload
      for (const rc of roundChanges)
        if (rc.payload.height !== p.height || rc.payload.round !== p.round)
          inconsistent('PROPOSAL round change is for another height/round')
      for (const pr of prepares)
        if (pr.payload.height !== p.height) inconsistent('PROPOSAL prepare is for another height')
      return { type, signed, roundChanges, prepares }
    }
  }
}

const CODE_TO_TYPE = new Map<number, MessageType>(
  Object.entries(MessageCode).map(([k, v]) => [v, k as MessageType]),
)

/** Decode Besu message data for a known code. Throws only QbftDecodeError. */
export function decodeMessageData(code: number, data: Uint8Array, ctx: CodecContext): QbftMessage {
  const type = CODE_TO_TYPE.get(code)
  if (type === undefined)
    throw new QbftDecodeError('UNKNOWN_CODE', `unknown QBFT message code 0x${code.toString(16)}`)
  const root = decodeRlp(data, structural)
  try {
    return decodeData(type, root, ctx)
  } catch (e) {
    if (e instanceof QbftDecodeError) throw e
    // Defensive: never let an untyped error escape on hostile input.
    throw new QbftDecodeError('BAD_STRUCTURE', `undecodable ${type}: ${(e as Error)?.message ?? String(e)}`)
  }
}

/** Decode the gossip wire form (code byte ‖ message data). Throws only QbftDecodeError. */
export function decodeMessage(bytes: Uint8Array, ctx: CodecContext): QbftMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2)
    throw new QbftDecodeError('MALFORMED_RLP', 'message too short')
  return decodeMessageData(bytes[0] as number, bytes.subarray(1), ctx)
}

/** Decode one SignedData (e.g. from evidence) of the given type. Throws only QbftDecodeError. */
export function decodeSigned(type: MessageType, bytes: Uint8Array, ctx: CodecContext): Signed<Payload> {
  const root = decodeRlp(bytes, structural)
  try {
    return decodeSignedItem(type, root, ctx)
  } catch (e) {
    if (e instanceof QbftDecodeError) throw e
    throw new QbftDecodeError('BAD_STRUCTURE', `undecodable ${type}: ${(e as Error)?.message ?? String(e)}`)
  }
}

/** Prepared certificate persisted by the WAL: RLP([block, [SignedData<Prepare>...]]). */
export function encodePreparedCertificate(c: PreparedCertificate): Uint8Array {
  return encodeListRaw([
    encodeScalar(c.round),
    c.block.bytes,
    encodeListRaw(c.prepares.map((p) => p.encoded)),
  ])
}

export function decodePreparedCertificate(bytes: Uint8Array, ctx: CodecContext): PreparedCertificate {
  const root = decodeRlp(bytes, structural)
  try {
    const l = asList(root, 'prepared certificate', structural, 3)
    const round = Number(asScalar(l[0], 'certificate.round', structural, 4))
    const block = decodeBlockItem(l[1] as Item, ctx, 'certificate.block')
    const prepares = decodeSignedList<PreparePayload>('PREPARE', l[2], ctx, 'certificate.prepares')
    if (block.round !== round) inconsistent('certificate block round differs from its round')
    for (const p of prepares)
      if (
        p.payload.height !== block.height ||
        p.payload.round !== round ||
        !bytesEqual(p.payload.digest, block.digest)
      )
        inconsistent('certificate prepare does not match the block')
    return { round, block, prepares }
  } catch (e) {
    if (e instanceof QbftDecodeError) throw e
    throw new QbftDecodeError(
      'BAD_STRUCTURE',
      `undecodable certificate: ${(e as Error)?.message ?? String(e)}`,
    )
  }
}
