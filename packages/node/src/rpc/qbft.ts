/**
 * `qbft_*`: the validator set as recorded in a block's extraData (Besu's qbft namespace), and the
 * equivocation evidence this node has seen.
 */
import type { Block } from '@ethereumjs/block'
import { decodeExtraData, type Equivocation, ExtraDataError } from '@openledger/consensus'
import {
  expectParams,
  parseBlockRef,
  parseHash,
  type RpcBackend,
  type RpcMethods,
  resourceNotFound,
} from '@openledger/rpc'
import { hex } from '../util/bytes.ts'

export function qbftRpcMethods(deps: {
  backend: RpcBackend
  evidence: () => readonly Equivocation[]
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
