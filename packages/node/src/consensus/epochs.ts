/**
 * The epoch hand-over in headers. The last block of an epoch carries, in its extraData vanity, the
 * keccak256 of the next epoch's validator list (the set its end-of-block hook elected), so a light
 * client following headers learns the hand-over one block ahead; every other block has a zero
 * vanity. The rest of the extraData stays Besu's (validators of this block, vote, round, seals).
 */
import { Block, type BlockOptions, createBlockHeaderFromBytesArray } from '@ethereumjs/block'
import { decodeExtraData, encodeExtraData, HEADER_EXTRA_DATA_INDEX } from '@openledger/consensus'
import type { StakingStore } from '@openledger/staking'
import { bytesEqual, hex } from '../util/bytes.ts'
import { headerExtraData, withQbftHash } from './block-codec.ts'

const ZERO = new Uint8Array(32)

/** The vanity block `number` must carry, from the state after it. */
export async function expectedVanity(post: StakingStore, number: bigint): Promise<Uint8Array> {
  const e = await post.epoch()
  if (e.startBlock !== number + 1n || number === 0n) return ZERO
  return (await post.epochAt(number + 1n))?.setHash ?? ZERO
}

/** Undefined when the block's vanity is right, else the reason. */
export async function checkVanity(block: Block, post: StakingStore): Promise<string | undefined> {
  const want = await expectedVanity(post, block.header.number)
  const got = headerExtraData(block.header).vanity
  if (bytesEqual(got, want)) return undefined
  return `extraData vanity ${hex(got)} is not the next epoch's set hash ${hex(want)}`
}

/** The same block with `vanity` written into its extraData (the state and roots do not change). */
export function withVanity(block: Block, vanity: Uint8Array, blockOptions: BlockOptions): Block {
  const raw = block.header.raw()
  const extra = decodeExtraData(raw[HEADER_EXTRA_DATA_INDEX] as Uint8Array)
  if (bytesEqual(extra.vanity, vanity)) return block
  raw[HEADER_EXTRA_DATA_INDEX] = encodeExtraData({ ...extra, vanity })
  const header = createBlockHeaderFromBytesArray(raw, blockOptions)
  return withQbftHash(new Block(header, block.transactions, [], [], blockOptions))
}
