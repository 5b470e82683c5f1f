/**
 * The staking state of a genesis: each initial validator created with its self-delegation (the
 * caller moved that OPEN from the validator's allocation to the Staking account), all of them bonded,
 * forming epoch 0's set.
 */

import { compareBytes } from '../core/bytes.ts'
import { validatorSetHash } from '../core/election.ts'
import { fail } from '../core/errors.ts'
import type { StakingParams } from '../core/params.ts'
import { BondStatus, type Description } from '../core/records.ts'
import type { StakingStore } from '../core/store.ts'
import { createValidator } from './validators.ts'

export interface GenesisValidator {
  operator: Uint8Array
  consensus: Uint8Array
  stake: bigint
  commissionBps: number
  maxCommissionBps: number
  maxCommissionChangeBps: number
  minSelfDelegation: bigint
  description: Description
}

export async function initGenesis(
  store: StakingStore,
  params: StakingParams,
  validators: readonly GenesisValidator[],
  time: bigint,
): Promise<Uint8Array[]> {
  await store.setParams(params)
  const env = { height: 0n, time }
  await store.setEpoch({
    number: 0n,
    startBlock: 0n,
    nextStartBlock: params.epochLength,
    lastCoinbase: new Uint8Array(20),
  })
  for (const g of validators) {
    await createValidator(store, env, g.operator, g.stake, {
      description: g.description,
      commissionBps: g.commissionBps,
      maxCommissionBps: g.maxCommissionBps,
      maxCommissionChangeBps: g.maxCommissionChangeBps,
      minSelfDelegation: g.minSelfDelegation,
      consensus: g.consensus,
    })
  }
  if (validators.length > params.maxValidators)
    fail(
      'InvalidParams',
      'validators',
      `more genesis validators than maxValidators (${params.maxValidators})`,
    )
  let bonded = 0n
  for (const g of validators) {
    const v = await store.validator(g.operator)
    if (v === undefined) throw new Error('genesis validator vanished')
    v.status = BondStatus.Bonded
    bonded += v.tokens
    await store.setValidator(v)
  }
  const r = await store.rewards()
  r.bondedTokens = bonded
  await store.setRewards(r)
  await store.checkpoint({ kind: 'totalBonded' }, 0n, bonded)
  const set = validators.map((g) => g.consensus).sort(compareBytes)
  await store.setActiveSet(set)
  await store.pushEpoch({ number: 0n, startBlock: 0n, setHash: validatorSetHash(set), members: set })
  return set
}
