/**
 * `qbft_*`: the validator set as recorded in a block's extraData (Besu's qbft namespace), the
 * equivocation evidence this node has seen, and (ours) the block-cycle timings of a validator.
 */
import type { Block } from '@ethereumjs/block'
import { decodeExtraData, type Equivocation, ExtraDataError } from '@openledger/consensus'
import {
  expectParams,
  invalidParams,
  parseBlockRef,
  parseHash,
  parseQuantity,
  type RpcBackend,
  type RpcMethods,
  resourceNotFound,
} from '@openledger/rpc'
import type { CycleTimings } from '../consensus/cycle-timings.ts'
import { hex } from '../util/bytes.ts'

/** Heights one qbft_getCycleTimings call may span. */
export const MAX_TIMING_HEIGHTS = 4096n

export function qbftRpcMethods(deps: {
  backend: RpcBackend
  evidence: () => readonly Equivocation[]
  /** A validator's block-cycle timings; absent on a full node. */
  timings?: CycleTimings
}): RpcMethods {
  const validatorsOf = (block: Block | undefined): string[] => {
    if (!block) throw resourceNotFound('block not found')
    try {
      return decodeExtraData(block.header.extraData).validators.map(hex)
    } catch (e) {
      if (e instanceof ExtraDataError) throw resourceNotFound(`block has no QBFT extraData: ${e.message}`)
      throw e
    }
  }
  return {
    qbft_getValidatorsByBlockNumber: async (raw) => {
      const [b] = expectParams(raw, 1, 1)
      return validatorsOf(await deps.backend.getBlock(parseBlockRef(b, 'block')))
    },
    qbft_getValidatorsByBlockHash: async (raw) => {
      const [h] = expectParams(raw, 1, 1)
      return validatorsOf(await deps.backend.getBlock({ hash: parseHash(h, 'blockHash') }))
    },
    /** [from, to] block numbers (inclusive): wall-clock ms of each cycle step per height. */
    qbft_getCycleTimings: (raw) => {
      const [f, t] = expectParams(raw, 2, 2)
      const from = parseQuantity(f, 'from', 64)
      const to = parseQuantity(t, 'to', 64)
      if (to < from || to - from >= MAX_TIMING_HEIGHTS)
        throw invalidParams(`invalid params: need from <= to and at most ${MAX_TIMING_HEIGHTS} heights`)
      return (deps.timings?.range(from, to) ?? []).map((r) => ({
        height: `0x${r.height.toString(16)}`,
        round: r.round,
        txs: r.txs ?? null,
        at: r.at,
      }))
    },
    qbft_getEvidence: (raw) => {
      expectParams(raw, 0, 0)
      return deps.evidence().map((e) => ({
        kind: e.kind,
        height: `0x${e.height.toString(16)}`,
        round: `0x${e.round.toString(16)}`,
        author: hex(e.author),
        first: hex(e.first.encoded),
        second: hex(e.second.encoded),
      }))
    },
  }
}
