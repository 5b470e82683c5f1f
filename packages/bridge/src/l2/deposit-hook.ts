/**
 * Deposits on L2: a block hook that applies, at the start of a block, every deposit of the L1
 * blocks between the L1 block its parent consumed and the block's L1 origin.
 *
 * The origin is committed in the header's parentBeaconBlockRoot (this hook claims the field: there
 * is no beacon chain). The consumed L1 block lives in the L1Block predeploy's storage, so the
 * state root covers it. Equal origin and cursor: no deposits, no L1 access. Otherwise the hook
 * asks this node's own L1 view for the deposits of (cursor, origin] — checking that both are
 * canonical, that the origin is confirmed and the range bounded — and applies them in L1 order.
 * A proposer can therefore choose only how far to advance, never which deposits: inventing,
 * reordering or skipping one changes the state root, and a node whose L1 disagrees about the
 * origin rejects the block. Each deposit mints `mint` to its sender, then moves `value` from the
 * sender to `to` if the sender holds it, and records its source hash in L1Block.applied (a
 * deposit found applied there is an error: exactly once by construction, and checked).
 */
import type { BlockHook, BlockHookContext } from '@openledger/evm-runtime'
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import { L1_BLOCK_ADDRESS } from '../constants.ts'
import type { Deposit } from '../deposits.ts'
import { type L1Cursor, L1DerivationError, type L1View } from '../l1/view.ts'
import { L1_BLOCK_SLOTS, mappingSlot, slotKey, word, wordToBigInt } from './l1-block.ts'

const L1_BLOCK = hexToBytes(L1_BLOCK_ADDRESS)
const ZERO_ROOT: Hex = `0x${'00'.repeat(32)}`
const TRUE = word(1n)

export interface DepositHookOptions {
  view: L1View
  /** L2 gas all deposits applied by one L2 block may ask for (the Portal's per-L1-block limit). */
  gasBudget: bigint
  /** After each block's deposits (metrics, logs); called for building and import alike. */
  onApplied?: (info: { l2Block: bigint; origin: L1Cursor; deposits: readonly Deposit[] }) => void
}

/** Reads the consumed L1 block from the L1Block predeploy. */
export async function readCursor(state: BlockHookContext['state']): Promise<L1Cursor> {
  const n = wordToBigInt(await state.getStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.number)))
  const h = bytesToHex(await state.getStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.hash)))
  return { number: n, hash: h }
}

export function createDepositHook(opts: DepositHookOptions): BlockHook {
  return {
    name: 'l1-deposits',
    claimsParentBeaconBlockRoot: true,
    async beginBlock(ctx) {
      const origin = bytesToHex(ctx.block.parentBeaconBlockRoot)
      const cursor = await readCursor(ctx.state)
      if (origin === cursor.hash) return
      if (origin === ZERO_ROOT)
        throw new L1DerivationError(
          'block has no L1 origin (parentBeaconBlockRoot is zero on a bridged chain)',
        )
      const { origin: o, deposits } = await opts.view.depositsBetween(cursor, origin)
      let gas = 0n
      for (const d of deposits) gas += d.gasLimit
      if (gas > opts.gasBudget && o.number !== cursor.number + 1n)
        throw new L1DerivationError(
          `deposits of L1 blocks ${cursor.number + 1n}..${o.number} ask for ${gas} gas, above the per-block budget ${opts.gasBudget}`,
        )
      await applyDeposits(ctx, deposits)
      await ctx.state.putStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.number), word(o.number))
      await ctx.state.putStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.hash), hexToBytes(o.hash))
      await ctx.state.putStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.timestamp), word(o.timestamp))
      opts.onApplied?.({ l2Block: ctx.block.number, origin: { number: o.number, hash: o.hash }, deposits })
    },
  }
}

async function applyDeposits(ctx: BlockHookContext, deposits: readonly Deposit[]): Promise<void> {
  if (deposits.length === 0) return
  const state = ctx.state
  const count = wordToBigInt(await state.getStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.depositCount)))
  let minted = wordToBigInt(await state.getStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.totalMinted)))
  for (const d of deposits) {
    const appliedSlot = mappingSlot(d.sourceHash, L1_BLOCK_SLOTS.applied)
    if (wordToBigInt(await state.getStorage(L1_BLOCK, appliedSlot)) !== 0n)
      throw new L1DerivationError(`deposit ${d.sourceHash} was already applied`)
    const from = hexToBytes(d.from)
    await state.mint(from, d.mint)
    minted += d.mint
    if (d.value > 0n) {
      if ((await state.getBalance(from)) >= d.value) await state.transfer(from, hexToBytes(d.to), d.value)
      else
        await state.putStorage(L1_BLOCK, mappingSlot(d.sourceHash, L1_BLOCK_SLOTS.valueTransferFailed), TRUE)
    }
    await state.putStorage(L1_BLOCK, appliedSlot, word(ctx.block.number))
  }
  await state.putStorage(
    L1_BLOCK,
    slotKey(L1_BLOCK_SLOTS.depositCount),
    word(count + BigInt(deposits.length)),
  )
  await state.putStorage(L1_BLOCK, slotKey(L1_BLOCK_SLOTS.totalMinted), word(minted))
}
