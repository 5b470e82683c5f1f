/** Genesis accounts of the bridge's L2 predeploys, for genesis files of bridged chains. */
import { numberToHex } from 'viem'
import { L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS } from '../constants.ts'
import { L1Block, L2ToL1MessagePasser } from '../generated/artifacts.ts'
import type { L1Addresses } from '../l1/addresses.ts'
import { L1_BLOCK_SLOTS } from './l1-block.ts'

export interface GenesisAccountJson {
  balance: string
  nonce?: string
  code?: string
  storage?: Record<string, string>
}

/**
 * The message passer and the L1Block predeploy, the latter starting at the L1 block the
 * deployment recorded (`startBlock`): the chain's first deposits come from the L1 blocks after it.
 */
export function bridgePredeploys(a: L1Addresses): Record<string, GenesisAccountJson> {
  const q = (v: bigint) => numberToHex(v, { size: 32 })
  return {
    [MESSAGE_PASSER_ADDRESS.toLowerCase()]: {
      balance: '0',
      nonce: '1',
      code: L2ToL1MessagePasser.deployedBytecode,
    },
    [L1_BLOCK_ADDRESS.toLowerCase()]: {
      balance: '0',
      nonce: '1',
      code: L1Block.deployedBytecode,
      storage: {
        [q(L1_BLOCK_SLOTS.number)]: q(a.startBlock.number),
        [q(L1_BLOCK_SLOTS.hash)]: a.startBlock.hash,
      },
    },
  }
}
