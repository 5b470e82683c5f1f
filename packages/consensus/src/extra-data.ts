/**
 * QBFT header extraData, as Besu's QbftExtraDataCodec:
 *
 *   extraData = RLP([vanity(32 bytes), [validator(20 bytes)...], vote, round, [seal(65 bytes)...]])
 *   vote      = [] | [recipient(20 bytes), 0xff (add) | 0x80 (drop, empty string)]
 *   round     = int scalar (minimal big-endian; round 0 is the empty string 0x80)
 *
 * Hashes over a header (the header is the standard Ethereum header RLP list, see HeaderFields):
 * - `hashForCommitSeal`: keccak(RLP(header with extraData seals = [], round kept)). Commit seals
 *   sign it, and it is the QBFT proposal digest (Besu: BftBlockHashing.calculateDataHashForCommittedSeal).
 * - `onchainHash`: keccak(RLP(header with extraData seals = [] and round = 0)). Besu's block hash
 *   for QBFT chains (calculateHashOfBftBlockOnchain): the same block decided in different rounds,
 *   or sealed with a different subset of commit seals, has ONE hash. Nodes must use it as the
 *   block hash (parentHash of the child, RPC hashes), or they fork on seal subsets.
 */
import { bytesEqual, toHex } from './bytes.ts'
import { keccak256, recoverAddress } from './crypto.ts'
import { ExtraDataError, type ExtraDataErrorCode } from './errors.ts'
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
import { type Address, type Hash, MAX_ROUND, quorumSize, type RecoverFn, type Round } from './types.ts'

export const EXTRA_VANITY_LENGTH = 32

/** mixHash of every BFT header in Besu (ASCII "ctical byzantine fault tolerance"). */
export const QBFT_MIX_HASH = Uint8Array.from([
  0x63, 0x74, 0x69, 0x63, 0x61, 0x6c, 0x20, 0x62, 0x79, 0x7a, 0x61, 0x6e, 0x74, 0x69, 0x6e, 0x65, 0x20, 0x66,
  0x61, 0x75, 0x6c, 0x74, 0x20, 0x74, 0x6f, 0x6c, 0x65, 0x72, 0x61, 0x6e, 0x63, 0x65,
])

export interface Vote {
  readonly recipient: Address
  /** true: add the recipient as validator (0xff); false: drop it (encoded as empty string). */
  readonly add: boolean
}

export interface QbftExtraData {
  readonly vanity: Uint8Array
  readonly validators: readonly Address[]
  readonly vote?: Vote
  readonly round: Round
  readonly seals: readonly Uint8Array[]
}

/**
 * Header field order (the standard Ethereum header RLP list, EthereumJS `BlockHeader.raw()`):
 *  0 parentHash, 1 ommersHash, 2 coinbase, 3 stateRoot, 4 transactionsRoot, 5 receiptsRoot,
 *  6 logsBloom, 7 difficulty, 8 number, 9 gasLimit, 10 gasUsed, 11 timestamp, 12 extraData,
 *  13 mixHash, 14 nonce, then by fork: 15 baseFeePerGas (London), 16 withdrawalsRoot (Shanghai),
 *  17 blobGasUsed, 18 excessBlobGas, 19 parentBeaconBlockRoot (Cancun), 20 requestsHash (Prague).
 * QBFT: coinbase = proposer, difficulty = 1, mixHash = QBFT_MIX_HASH, nonce = 0, ommers empty.
 */
export type HeaderFields = readonly Uint8Array[]
export const HEADER_EXTRA_DATA_INDEX = 12
export const HEADER_COINBASE_INDEX = 2
export const HEADER_NUMBER_INDEX = 8

const fail =
  (code: ExtraDataErrorCode): Fail =>
  (what, malformed) => {
    throw new ExtraDataError(malformed === true ? 'MALFORMED_RLP' : code, what)
  }
const structural = fail('BAD_STRUCTURE')

function encodeWith(e: QbftExtraData, round: Round, withSeals: boolean): Uint8Array {
  if (e.vanity.length !== EXTRA_VANITY_LENGTH)
    throw new ExtraDataError('BAD_STRUCTURE', `vanity must be ${EXTRA_VANITY_LENGTH} bytes`)
  for (const v of e.validators)
    if (v.length !== 20) throw new ExtraDataError('BAD_STRUCTURE', 'validator address must be 20 bytes')
  if (!Number.isInteger(round) || round < 0 || round > MAX_ROUND)
    throw new ExtraDataError('BAD_STRUCTURE', `round out of range: ${round}`)
  let vote: Uint8Array
  if (e.vote === undefined) vote = encodeListRaw([])
  else {
    if (e.vote.recipient.length !== 20)
      throw new ExtraDataError('BAD_STRUCTURE', 'vote recipient must be 20 bytes')
    vote = encodeListRaw([
      encodeBytes(e.vote.recipient),
      e.vote.add ? Uint8Array.of(0x81, 0xff) : Uint8Array.of(0x80),
    ])
  }
  const seals = withSeals ? e.seals : []
  for (const s of seals)
    if (s.length !== 65) throw new ExtraDataError('BAD_SEAL', 'commit seal must be 65 bytes')
  return encodeListRaw([
    encodeBytes(e.vanity),
    encodeListRaw(e.validators.map(encodeBytes)),
    vote,
    encodeScalar(round),
    encodeListRaw(seals.map(encodeBytes)),
  ])
}

export function encodeExtraData(e: QbftExtraData): Uint8Array {
  return encodeWith(e, e.round, true)
}

/** Genesis extraData: zero vanity, the validators, no vote, round 0, no seals. */
export function genesisExtraData(validators: readonly Address[]): Uint8Array {
  return encodeExtraData({ vanity: new Uint8Array(32), validators, round: 0, seals: [] })
}

/** Throws only ExtraDataError. */
export function decodeExtraData(bytes: Uint8Array): QbftExtraData {
  const root = decodeRlp(bytes, structural)
  const l = asList(root, 'extraData', structural, 5)
  const vanity = asBytes(l[0], 'extraData.vanity', structural, EXTRA_VANITY_LENGTH)
  const validators = asList(l[1], 'extraData.validators', structural).map((v) =>
    asBytes(v, 'extraData.validator', structural, 20),
  )
  const voteItem = asList(l[2], 'extraData.vote', structural)
  let vote: Vote | undefined
  if (voteItem.length !== 0) {
    if (voteItem.length !== 2) structural('extraData.vote: expected [] or [recipient, type]')
    const recipient = asBytes(voteItem[0], 'extraData.vote.recipient', structural, 20)
    const t = asBytes(voteItem[1], 'extraData.vote.type', structural)
    // Besu writes DROP as an empty string and reads a 0x00 byte as DROP too.
    if (t.length === 0 || (t.length === 1 && t[0] === 0x00)) vote = { recipient, add: false }
    else if (t.length === 1 && t[0] === 0xff) vote = { recipient, add: true }
    else structural('extraData.vote.type must be 0xff (add) or empty/0x00 (drop)')
  }
  const round = Number(asScalar(l[3], 'extraData.round', structural, 4))
  if (round > MAX_ROUND) structural('extraData.round out of range')
  const seals = asList(l[4], 'extraData.seals', structural).map((s) =>
    asBytes(s, 'extraData.seal', fail('BAD_SEAL'), 65),
  )
  return vote === undefined
    ? { vanity, validators, round, seals }
    : { vanity, validators, vote, round, seals }
}

function checkHeader(header: HeaderFields): void {
  if (!Array.isArray(header) || header.length < 15 || header.length > 21)
    throw new ExtraDataError(
      'BAD_HEADER',
      `header must have 15..21 fields, got ${Array.isArray(header) ? header.length : typeof header}`,
    )
  for (const f of header)
    if (!(f instanceof Uint8Array))
      throw new ExtraDataError('BAD_HEADER', 'header fields must be byte strings')
}

function headerExtra(header: HeaderFields): QbftExtraData {
  checkHeader(header)
  return decodeExtraData(header[HEADER_EXTRA_DATA_INDEX] as Uint8Array)
}

function replaceExtra(header: HeaderFields, extra: Uint8Array): Uint8Array[] {
  const out = [...header]
  out[HEADER_EXTRA_DATA_INDEX] = extra
  return out
}

function hashHeader(fields: readonly Uint8Array[]): Hash {
  return keccak256(encodeItem(fields as Item[]))
}

/** keccak(RLP(header with extraData seals removed, round kept)): what commit seals sign. */
export function hashForCommitSeal(header: HeaderFields): Hash {
  const e = headerExtra(header)
  return hashHeader(replaceExtra(header, encodeWith(e, e.round, false)))
}

/** Besu's on-chain block hash: extraData without seals and with round 0. `extra`: the header's
 * extraData already decoded (decodeExtraData of this header's field). */
export function onchainHash(header: HeaderFields, extra?: QbftExtraData): Hash {
  let e = extra
  if (e === undefined) e = headerExtra(header)
  else checkHeader(header)
  return hashHeader(replaceExtra(header, encodeWith(e, 0, false)))
}

/** The header with the extraData round replaced (re-proposal in a later round) and seals cleared. */
export function headerWithRound(header: HeaderFields, round: Round): Uint8Array[] {
  const e = headerExtra(header)
  return replaceExtra(header, encodeWith({ ...e, round, seals: [] }, round, true))
}

/** The header with commit seals written into extraData (after a decision). */
export function headerWithSeals(header: HeaderFields, seals: readonly Uint8Array[]): Uint8Array[] {
  const e = headerExtra(header)
  return replaceExtra(header, encodeWith({ ...e, seals }, e.round, true))
}

/**
 * Verify a sealed header proves finality: every seal recovers (over hashForCommitSeal) to a
 * distinct member of `validators`, and there are at least quorum(|validators|) of them.
 * Returns the signers in seal order. Throws only ExtraDataError.
 */
export function verifySeals(
  header: HeaderFields,
  validators: readonly Address[],
  recover: RecoverFn = recoverAddress,
  /** hashForCommitSeal(header), when the caller computed it already. */
  digest?: Hash,
): Address[] {
  if (validators.length === 0) throw new ExtraDataError('NOT_VALIDATOR', 'empty validator set')
  const e = headerExtra(header)
  const hash = digest ?? hashHeader(replaceExtra(header, encodeWith(e, e.round, false)))
  return verifyExtraSeals(e, hash, validators, recover)
}

/**
 * `verifySeals` for a header whose extraData is already decoded (`extra`) and whose commit-seal
 * digest (`hashForCommitSeal`) is known. Throws only ExtraDataError.
 */
export function verifyExtraSeals(
  extra: QbftExtraData,
  digest: Hash,
  validators: readonly Address[],
  recover: RecoverFn = recoverAddress,
): Address[] {
  if (validators.length === 0) throw new ExtraDataError('NOT_VALIDATOR', 'empty validator set')
  const e = extra
  const hash = digest
  const signers: Address[] = []
  for (const seal of e.seals) {
    let a: Address
    try {
      a = recover(hash, seal)
    } catch (err) {
      throw new ExtraDataError(
        'BAD_SEAL',
        `commit seal does not recover: ${(err as Error)?.message ?? String(err)}`,
      )
    }
    if (!validators.some((v) => bytesEqual(v, a)))
      throw new ExtraDataError('NOT_VALIDATOR', `commit seal by non-validator ${toHex(a)}`)
    if (signers.some((s) => bytesEqual(s, a)))
      throw new ExtraDataError('DUPLICATE_SEAL', `duplicate commit seal by ${toHex(a)}`)
    signers.push(a)
  }
  const q = quorumSize(validators.length)
  if (signers.length < q)
    throw new ExtraDataError(
      'NO_QUORUM',
      `${signers.length} commit seals, quorum is ${q} of ${validators.length}`,
    )
  return signers
}
