/**
 * Downtime measured on proposer slots. Commit seals cannot serve: on this chain every node keeps its
 * own subset of a block's seals and the block hash excludes them (docs/consensus.md), so "who sealed
 * block h" is not part of consensus. The proposer of each block is: QBFT's proposer rule
 * (packages/consensus `selectProposer`) makes V[base + r] the proposer of round r, where base follows
 * from the previous block's proposer, and the header's coinbase is the proposer of the deciding round.
 * So every node derives the same facts from two coinbases: the validators at base … base+r−1 were due
 * to propose this block and did not (their round timed out), and the coinbase did. Each validator is
 * due about once per |V| blocks; its last `signedBlocksWindow` slots are kept as a bitmap. (BSC's
 * slash indicator measures liveness the same way, on missed in-turn blocks.)
 */
import { compareBytes, equalBytes } from './bytes.ts'
import { BPS } from './math.ts'

export interface ProposerSlots {
  /** Validators whose turn it was before the coinbase's (in round order). */
  missed: Uint8Array[]
  proposer: Uint8Array
}

/**
 * The slots of a block proposed by `coinbase` with the sorted set `set`, after a block proposed by
 * `previous`; undefined when the coinbase is not in the set (a dev chain, or genesis-only set).
 * Rounds beyond |V| wrap around: a validator that missed twice in one height is counted once.
 */
export function proposerSlots(
  set: readonly Uint8Array[],
  previous: Uint8Array,
  coinbase: Uint8Array,
): ProposerSlots | undefined {
  const n = set.length
  const at = set.findIndex((v) => equalBytes(v, coinbase))
  if (at < 0) return undefined
  const prevIdx = set.findIndex((v) => equalBytes(v, previous))
  let base: number
  if (prevIdx >= 0) base = (prevIdx + 1) % n
  else {
    base = set.findIndex((v) => compareBytes(v, previous) > 0)
    if (base < 0) base = 0
  }
  const rounds = (at - base + n) % n
  const missed: Uint8Array[] = []
  for (let r = 0; r < rounds; r++) missed.push(set[(base + r) % n] as Uint8Array)
  return { missed, proposer: coinbase }
}

export interface SigningInfo {
  /** Slots recorded since the window was last reset. */
  slots: bigint
  /** Missed slots among the last min(slots, window). */
  missed: number
  /** Bitmap generation: a reset starts a fresh bitmap instead of clearing the old words. */
  generation: number
}

/** Word index and bit of the slot recorded next. */
export function slotPosition(info: SigningInfo, window: number): { word: number; bit: number } {
  const i = Number(info.slots % BigInt(window))
  return { word: i >> 8, bit: i & 255 }
}

/** Records one slot in `word` (the 256-bit word at slotPosition). */
export function recordSlot(
  info: SigningInfo,
  word: bigint,
  bit: number,
  missed: boolean,
): { info: SigningInfo; word: bigint } {
  const mask = 1n << BigInt(bit)
  const wasMissed = (word & mask) !== 0n
  let count = info.missed
  if (wasMissed && !missed) count--
  if (!wasMissed && missed) count++
  return {
    info: { ...info, slots: info.slots + 1n, missed: count },
    word: missed ? word | mask : word & ~mask,
  }
}

/** More than window − ⌊window·minSigned⌋ of a full window missed. */
export function isDown(info: SigningInfo, window: number, minSignedPerWindowBps: number): boolean {
  if (info.slots < BigInt(window)) return false
  const minSigned = (BigInt(window) * BigInt(minSignedPerWindowBps)) / BPS
  return BigInt(info.missed) > BigInt(window) - minSigned
}

export function resetSigningInfo(info: SigningInfo): SigningInfo {
  return { slots: 0n, missed: 0, generation: info.generation + 1 }
}
