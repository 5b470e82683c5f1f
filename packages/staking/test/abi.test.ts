/** IStaking.sol / IGovernance.sol are the single source of the ABI, and the modules implement exactly them. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { GOVERNANCE_ADDRESS, STAKING_ADDRESS, toHex } from '@openledger/module-kit'
import { type Abi, toFunctionSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import { createGovernanceModule } from '../src/governance/module.ts'
import * as abis from '../src/sol/abi.ts'
import { compileInterfaces } from '../src/sol/generate-abi.ts'
import { createStakingModule } from '../src/staking/module.ts'

const solDir = join(import.meta.dirname, '../src/sol')

describe('Solidity interfaces', () => {
  it('the checked-in abi.ts equals a fresh solc compilation (run generate-abi.ts if this fails)', () => {
    const fresh = compileInterfaces()
    expect(JSON.parse(JSON.stringify(abis.stakingAbi))).toEqual(fresh.stakingAbi)
    expect(JSON.parse(JSON.stringify(abis.governanceAbi))).toEqual(fresh.governanceAbi)
  }, 30_000)

  it('declare the addresses the node uses', () => {
    for (const [file, address] of [
      ['IStaking.sol', STAKING_ADDRESS],
      ['IGovernance.sol', GOVERNANCE_ADDRESS],
    ] as const) {
      const m = /address constant \w+ = (0x[0-9a-fA-F]{40});/.exec(readFileSync(join(solDir, file), 'utf8'))
      expect(m?.[1]?.toLowerCase()).toBe(toHex(address))
    }
  })

  it('every function is implemented, and nothing else; no selector collides', () => {
    for (const [abi, module] of [
      [abis.stakingAbi as Abi, createStakingModule({ minBlockInterval: 1n })],
      [abis.governanceAbi as Abi, createGovernanceModule()],
    ] as const) {
      const fns = abi.filter((i) => i.type === 'function').map((i) => i.name)
      expect([...module.implemented].sort()).toEqual([...fns].sort())
      expect(new Set(abi.filter((i) => i.type === 'function').map((i) => toFunctionSelector(i))).size).toBe(
        fns.length,
      )
    }
  })
})
