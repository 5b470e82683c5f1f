/**
 * The Staking module's end-of-block work (evm-runtime block hooks): sweeps the stakers' part of the
 * inference fees that Attribution credited to the Staking account, mints the block reward, then runs
 * the ledger's endBlock (distribution, liveness, maturities, epoch election) and destroys what was
 * burned. Unmetered (trusted node code), deterministic in the block env and the state.
 */
import { takeAccrued } from '@openledger/attribution'
import { ATTRIBUTION_ADDRESS, type BlockHook, Exec, STAKING_ADDRESS } from '@openledger/module-kit'
import { endBlock } from '../ledger/block.ts'
import { StorageStakingStore } from './storage-store.ts'

/** Gas is not charged in block hooks; the overlay only needs a bound it never reaches. */
const UNMETERED = 1n << 62n

export const STAKING_HOOK_NAME = 'staking'

export function createStakingHook(): BlockHook {
  return {
    name: STAKING_HOOK_NAME,
    async endBlock(ctx) {
      const x = new Exec(ctx.state, UNMETERED)
      const store = new StorageStakingStore(x, (to, amount) => x.pay(STAKING_ADDRESS, to, amount), {
        keepParams: true,
      })
      const params = await store.params()
      // Fees: Attribution keeps the stakers' part as a claimable balance of the Staking account
      // (whole wei; its sub-wei remainder stays there until it adds up).
      const swept = await takeAccrued(x, STAKING_ADDRESS)
      if (swept > 0n) x.pay(ATTRIBUTION_ADDRESS, STAKING_ADDRESS, swept)
      if (params.blockReward > 0n) await ctx.state.mint(STAKING_ADDRESS, params.blockReward)
      const r = await endBlock(
        store,
        { height: ctx.block.number, time: ctx.block.timestamp, coinbase: ctx.block.coinbase },
        swept + params.blockReward,
        params.blockReward,
      )
      await x.commit()
      if (r.burn > 0n) await ctx.state.burn(STAKING_ADDRESS, r.burn)
    },
  }
}
