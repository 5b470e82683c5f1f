/**
 * QBFT block identity and the consensus BlockCodec over EthereumJS blocks.
 *
 * A QBFT block's hash is Besu's on-chain hash: keccak(RLP(header)) with the extraData commit
 * seals and round left out (`onchainHash`). Nodes collect different subsets of seals and a block
 * may be decided in a later round, so a hash over the full header would fork the chain. EthereumJS
 * caches `header.hash()` on frozen headers; `withQbftHash` pre-fills that cache, so every
 * `block.hash()` (parentHash checks, the chain store, RPC) uses the on-chain hash.
 */
import { Block, type BlockOptions, createBlockFromBytesArray, createBlockFromRLP } from '@ethereumjs/block'
import { RLP } from '@ethereumjs/rlp'
import { createTxFromBlockBodyData, type TypedTransaction } from '@ethereumjs/tx'
import {
  type BlockCodec,
  type Block as ConsensusBlock,
  decodeExtraData,
  hashForCommitSeal,
  headerWithRound,
  onchainHash,
  type QbftExtraData,
  type Round,
} from '@openledger/consensus'
import { keccak256, rememberSerialized } from '@openledger/evm-runtime'
import { bytesEqual } from '../util/bytes.ts'

/** Commit-seal digests known without hashing again (round-0 blocks: the on-chain hash). */
const sealDigests = new WeakMap<object, Uint8Array>()

/** Decoded extraData by (frozen) header: decoding, hashing, seal checks and the epoch check of an
 * imported block all read it. */
const extraByHeader = new WeakMap<object, QbftExtraData>()

/** The header's extraData decoded (once per frozen header; callers must not modify the result).
 * Throws ExtraDataError. */
export function headerExtraData(header: Block['header']): QbftExtraData {
  let extra = extraByHeader.get(header)
  if (extra === undefined) {
    extra = decodeExtraData(header.extraData)
    if (Object.isFrozen(header)) extraByHeader.set(header, extra)
  }
  return extra
}

/** Make `block.hash()` return the QBFT on-chain hash. The header must be frozen (the default). */
export function withQbftHash(block: Block): Block {
  const header = block.header
  if (!Object.isFrozen(header)) throw new Error('QBFT block headers must be frozen')
  const extra = headerExtraData(header)
  const hash = onchainHash(header.raw(), extra)
  ;(header as unknown as { cache: { hash?: Uint8Array } }).cache.hash = hash
  // Both hashes drop the seals; they differ only in the round written into extraData (0 for the
  // on-chain hash, the decided round for seals), so a round-0 block's seals sign its hash.
  if (extra.round === 0) sealDigests.set(header, hash)
  return block
}

/** What the block's commit seals sign (`hashForCommitSeal`), reusing the on-chain hash when equal. */
export function commitSealDigest(block: Block): Uint8Array {
  return sealDigests.get(block.header) ?? hashForCommitSeal(block.header.raw())
}

export class BlockDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlockDecodeError'
  }
}

/** The bytes a peer's block was decoded from (see `rawTransactions`). */
const decodedFrom = new WeakMap<Block, Uint8Array>()

/**
 * The encoded transactions of a block as they arrived (typed: the EIP-2718 envelope; legacy: the
 * RLP list), in block order, for recovering senders off the main thread: the bytes the block's
 * transaction objects were decoded from, so no re-encoding. Blocks not decoded here are encoded.
 */
export function rawTransactions(block: Block): Uint8Array[] {
  const bytes = decodedFrom.get(block)
  const list = bytes === undefined ? undefined : (RLP.decode(bytes) as unknown[])[1]
  if (!Array.isArray(list) || list.length !== block.transactions.length)
    return block.transactions.map((tx) => tx.serialize())
  return list.map((t) => (t instanceof Uint8Array ? t : RLP.encode(t as Uint8Array[])))
}

/** A transaction this node already decoded (its pool), by hash; see `decodeQbftBlock`. */
export type KnownTx = (hash: Uint8Array) => TypedTransaction | undefined

/**
 * Decode a block received from a peer; the on-chain hash is applied. Throws BlockDecodeError.
 *
 * With `knownTx` (the pool's lookup), a transaction whose bytes this node already holds is not
 * decoded again: the block takes the pooled object, whose sender was recovered on admission and
 * whose hash and encoding are cached. A proposal's transactions reached every validator by gossip
 * first, so this skips EthereumJS's transaction constructor, a re-encoding for `hash()` and the
 * sender lookup for nearly all of them (the builder's block holds pooled objects the same way).
 * Identity is checked on the bytes themselves, not only the hash. The others are decoded as
 * EthereumJS's block decoder does, with their bytes and hash remembered.
 */
export function decodeQbftBlock(bytes: Uint8Array, blockOptions: BlockOptions, knownTx?: KnownTx): Block {
  let block: Block
  try {
    block = knownTx ? decodeReusing(bytes, blockOptions, knownTx) : createBlockFromRLP(bytes, blockOptions)
  } catch (cause) {
    throw new BlockDecodeError(`undecodable block: ${(cause as Error)?.message ?? cause}`, { cause })
  }
  try {
    headerExtraData(block.header)
  } catch (cause) {
    throw new BlockDecodeError(`block extraData is not QBFT: ${(cause as Error)?.message}`, { cause })
  }
  if (block.transactions.length > 0) decodedFrom.set(block, bytes)
  return withQbftHash(block)
}

/** `createBlockFromRLP`, taking already-decoded transactions from `knownTx`. */
function decodeReusing(bytes: Uint8Array, opts: BlockOptions, knownTx: KnownTx): Block {
  const common = opts.common
  if (common?.isActivatedEIP(7934) === true && bytes.length > Number(common.param('maxRlpBlockSize')))
    throw new Error(`Block size exceeds limit: ${bytes.length} > ${common.param('maxRlpBlockSize')}`)
  const values = RLP.decode(bytes) as unknown[]
  if (!Array.isArray(values)) throw new Error('Invalid serialized block input. Must be array')
  const txsData = values[1]
  if (txsData !== undefined && !Array.isArray(txsData)) throw new Error('block transactions must be a list')
  // The header, uncles and withdrawals exactly as the library decodes them.
  const shell = createBlockFromBytesArray(
    [values[0], [], ...values.slice(2)] as unknown as Parameters<typeof createBlockFromBytesArray>[0],
    opts,
  )
  const txOpts = { ...opts, common: shell.header.common }
  const txs = (txsData ?? []).map((item: Uint8Array | Uint8Array[]) => {
    // Typed: the EIP-2718 envelope as a byte string; legacy: the RLP list (canonical, so
    // re-encoding gives the received bytes). Either way keccak of these bytes is the hash.
    const raw = item instanceof Uint8Array ? item : RLP.encode(item)
    const hash = keccak256(raw)
    const known = knownTx(hash)
    if (known !== undefined && bytesEqual(known.serialize(), raw)) return known
    const tx = createTxFromBlockBodyData(item, txOpts)
    if (rememberSerialized(tx, raw)) (tx.cache as { hash?: Uint8Array }).hash = hash
    return tx
  })
  return new Block(shell.header, txs, shell.uncleHeaders, shell.withdrawals, opts)
}

/**
 * BlockCodec for the state machine. Decoded EthereumJS blocks are kept by digest (bounded) so the
 * host does not decode the same proposal twice, until their height is committed (`forgetThrough`):
 * a full block holds hundreds of transaction objects the pool has already let go of.
 */
export class EthBlockCodec implements BlockCodec {
  readonly #byDigest = new Map<string, Block>()
  readonly #max: number

  constructor(
    private readonly blockOptions: BlockOptions,
    max = 64,
    /** The pool's transactions, reused by proposals (see `decodeQbftBlock`). */
    private readonly knownTx?: KnownTx,
  ) {
    this.#max = max
  }

  decode(bytes: Uint8Array): ConsensusBlock {
    const block = decodeQbftBlock(bytes, this.blockOptions, this.knownTx)
    return this.remember(block, bytes)
  }

  /** Register an EthereumJS block (e.g. one this node built) and return its consensus view. */
  remember(block: Block, bytes: Uint8Array = block.serialize()): ConsensusBlock {
    const raw = block.header.raw()
    const extra = decodeExtraData(block.header.extraData)
    const digest = hashForCommitSeal(raw)
    const k = Buffer.from(digest).toString('hex')
    if (!this.#byDigest.has(k)) {
      this.#byDigest.set(k, block)
      if (this.#byDigest.size > this.#max) {
        const oldest = this.#byDigest.keys().next().value as string
        this.#byDigest.delete(oldest)
      }
    }
    return { height: block.header.number, round: extra.round, digest, bytes }
  }

  /** Drops the blocks of heights up to `height` (committed: the host never asks for them again,
   * and `ethBlock` would decode one again if it did). */
  forgetThrough(height: bigint): void {
    for (const [k, b] of this.#byDigest) if (b.header.number <= height) this.#byDigest.delete(k)
  }

  /** The EthereumJS block behind a consensus block (decoding it again if it was evicted). */
  ethBlock(block: ConsensusBlock): Block {
    const hit = this.#byDigest.get(Buffer.from(block.digest).toString('hex'))
    if (hit) return hit
    this.decode(block.bytes)
    return this.#byDigest.get(Buffer.from(block.digest).toString('hex')) as Block
  }

  withRound(block: ConsensusBlock, round: Round): ConsensusBlock {
    const decoded = RLP.decode(block.bytes) as unknown[]
    decoded[0] = headerWithRound(decoded[0] as Uint8Array[], round)
    return this.decode(RLP.encode(decoded as Uint8Array[]))
  }
}
