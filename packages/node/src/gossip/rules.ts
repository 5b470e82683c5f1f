/**
 * What each gossip topic accepts. The p2p layer routes every message through one validator per
 * topic (its choke point); these functions are those validators. 'reject' lowers the relaying
 * peer's gossipsub score, 'ignore' drops without blame (late, duplicate, not yet usable).
 */
import type { Block } from '@ethereumjs/block'
import { RLP } from '@ethereumjs/rlp'
import type { TypedTransaction } from '@ethereumjs/tx'
import {
  type CodecContext,
  decodeMessage,
  type Engine,
  isValidator,
  messageAuthor,
  messageHeight,
  QbftDecodeError,
} from '@openledger/consensus'
import type { RawTxRecovery } from '@openledger/evm-runtime'
import type { Chain } from '../chain/chain.ts'
import { type BlockImporter, ImportError } from '../chain/importer.ts'
import { BlockDecodeError } from '../consensus/block-codec.ts'
import { IntakeError, type TxIntake } from '../intake/tx-intake.ts'
import type { Logger } from '../logger.ts'
import type { Verdict } from '../p2p/index.ts'
import type { TxPool } from '../txpool/index.ts'
import { decodeTxBatch, TxBatchError } from './tx-batch.ts'

/**
 * Transaction batches, through the node's one intake (intake/tx-intake.ts): every entry
 * well-formed, replay-protected and signed (else the sender is penalised); accepted (relayed) when
 * the pool admitted at least one of them, ignored when all were known, stale or underpriced —
 * normal churn, not misbehaviour.
 */
export function txRule(deps: {
  intake: TxIntake
  pool: TxPool
  /** Worker-thread sender recovery (the RPC path's RecoverPool.submit); undefined: in-thread. */
  recovery?: { submit(raw: Uint8Array): Promise<RawTxRecovery | undefined> | undefined }
}): (data: Uint8Array) => Promise<Verdict> {
  const { intake, pool, recovery } = deps
  return async (data) => {
    let raws: Uint8Array[]
    try {
      raws = decodeTxBatch(data)
    } catch (e) {
      if (e instanceof TxBatchError) return 'reject'
      throw e
    }
    const txs: Array<{ tx: TypedTransaction; sender: Uint8Array }> = []
    try {
      // Decode all first; new ones go to the workers together while this thread decodes the rest
      // (each sender is recovered once per node: known transactions are skipped before that).
      const fresh: Array<{ tx: TypedTransaction; offloaded?: Promise<RawTxRecovery | undefined> }> = []
      for (const raw of raws) {
        const tx = intake.decode(raw)
        // A zero r or s decodes as unsigned (no hash): recovery below refuses it.
        if (tx.isSigned() && pool.has(tx.hash())) continue
        fresh.push({ tx, offloaded: recovery?.submit(raw) })
      }
      for (const { tx, offloaded } of fresh)
        txs.push({ tx, sender: intake.recover(tx, offloaded && (await offloaded)) })
    } catch (e) {
      if (e instanceof IntakeError) return 'reject'
      throw e
    }
    let added = 0
    for (const { tx, sender } of txs) {
      try {
        await intake.admit(tx, sender)
        added++
      } catch (e) {
        if (!(e instanceof IntakeError)) throw e
      }
    }
    return added > 0 ? 'accept' : 'ignore'
  }
}

/**
 * Consensus messages. A validator feeds them to its engine (which rejects non-validator authors,
 * bad justifications and wrong proposers). A full node only checks signature and author, so it
 * still relays consensus traffic between validators it connects.
 */
export function consensusRule(
  engine: Engine | undefined,
  ctx: CodecContext,
  validators: (height: bigint) => readonly Uint8Array[],
): (data: Uint8Array) => Verdict {
  return (data) => {
    if (engine) return engine.onConsensusMessage(data)
    try {
      const msg = decodeMessage(data, ctx)
      let set: readonly Uint8Array[]
      try {
        set = validators(messageHeight(msg))
      } catch {
        return 'ignore' // that height's set is not known here: cannot judge
      }
      return isValidator(set, messageAuthor(msg)) ? 'accept' : 'reject'
    } catch (e) {
      if (e instanceof QbftDecodeError) return 'reject'
      throw e
    }
  }
}

/**
 * Sealed blocks, published by validators after each decision. The next block is imported here
 * (seals, then execution); a block further ahead triggers sync; an old one is ignored.
 */
export function blockRule(opts: {
  chain: Chain
  importer: BlockImporter
  decode: (bytes: Uint8Array) => Block
  onAhead: (from: string, number: bigint) => void
  log: Logger
}): (data: Uint8Array, from: string) => Promise<Verdict> {
  const { chain, importer } = opts
  return async (data, from) => {
    // Most sealed blocks arrive after we committed them ourselves: look at the number before
    // paying for a full decode of hundreds of transactions.
    const peeked = peekBlockNumber(data)
    if (peeked === undefined) return 'reject'
    if (peeked <= chain.head.header.number) return 'ignore'
    let block: Block
    try {
      block = opts.decode(data)
    } catch (e) {
      if (e instanceof BlockDecodeError) return 'reject'
      throw e
    }
    const n = block.header.number
    if (n <= chain.head.header.number) return 'ignore'
    try {
      importer.verifySeals(block)
    } catch (e) {
      // A block of an epoch whose set we have not reached yet cannot be checked: not relayed,
      // not held against the peer (sync follows the peer's status instead).
      if (e instanceof ImportError && e.code === 'UNKNOWN_VALIDATORS') return 'ignore'
      if (e instanceof ImportError) return 'reject'
      throw e
    }
    if (n > chain.head.header.number + 1n) {
      opts.onAhead(from, n)
      return 'ignore'
    }
    try {
      await importer.importSealed(block)
      return 'accept'
    } catch (e) {
      if (!(e instanceof ImportError)) throw e
      if (e.code === 'INVALID_BLOCK') {
        opts.log.warn({ peer: from, err: e.message }, 'gossiped block fails execution')
        return 'reject'
      }
      return 'ignore'
    }
  }
}

/** The header's number (field 8) of an RLP block, reading only the header; undefined if malformed. */
export function peekBlockNumber(data: Uint8Array): bigint | undefined {
  const b0 = data[0]
  if (b0 === undefined || b0 < 0xc0) return undefined
  let offset = 1
  if (b0 > 0xf7) {
    const lenOfLen = b0 - 0xf7
    if (lenOfLen > 4 || data.length < 1 + lenOfLen) return undefined
    offset = 1 + lenOfLen
  }
  try {
    const { data: header } = RLP.decode(data.subarray(offset), true)
    if (!Array.isArray(header) || header.length < 15) return undefined
    const num = header[8]
    if (!(num instanceof Uint8Array) || num.length > 8) return undefined
    let n = 0n
    for (const x of num) n = (n << 8n) | BigInt(x)
    return n
  } catch {
    return undefined
  }
}
