/** Block gas limits: the dev chain's default (genesis/devnet.json), --gas-limit, and a network's. */
import { describe, expect, it } from 'vitest'
import { buildDevGenesis } from '../src/genesis/dev-genesis.ts'
import { buildQbftGenesis, NETWORK_GAS_LIMIT } from '../src/genesis/qbft-genesis.ts'

describe('block gas limit defaults', () => {
  it("dev chain: 100 M by default (above Hardhat 2.29's 60 M), replaced by --gas-limit", async () => {
    expect((await buildDevGenesis({})).json.gasLimit).toBe('100000000')
    expect((await buildDevGenesis({ gasLimit: 45_000_000n })).json.gasLimit).toBe('45000000')
  })

  it('a network keeps 30 M: validators re-execute every block within the period', async () => {
    const json = await buildQbftGenesis({ validators: [new Uint8Array(20).fill(7)] })
    expect(NETWORK_GAS_LIMIT).toBe(30_000_000n)
    expect(json.gasLimit).toBe('30000000')
  })
})
