/**
 * `openledger genesis new`: a QBFT genesis for a set of validators, from genesis/devnet.json. Each
 * validator's key address is the operator and the QBFT signer of a validator bonded at genesis with
 * a self-delegation of `stake` from its allocation (docs/staking.md).
 */
import { genesisExtraData, sortValidators } from '@openledger/consensus'
import { parseGenesis } from '@openledger/evm-runtime'
import { deriveDevAccounts } from '../keys/dev-accounts.ts'
import { hex } from '../util/bytes.ts'
import { DEVNET_GENESIS_URL, loadJson } from './dev-genesis.ts'
import { nativeModules } from './native-modules.ts'

export interface QbftGenesisOptions {
  validators: Uint8Array[]
  chainId?: number
  blockPeriodSeconds?: number
  requestTimeoutSeconds?: number
  /** Fund this many accounts of the dev mnemonic (default: the template's 20). */
  devAccounts?: number
  balance?: bigint
  name?: string
  /** EVM rules from genesis on (default: genesis/devnet.json's, osaka). */
  hardfork?: string
  /** Self-delegation of each validator (wei; default 1,000 OPEN). 0: an unstaked bootstrap set. */
  stake?: bigint
  /** OPEN each validator account keeps besides its stake, for gas (evidence, votes); default 100. */
  validatorBalance?: bigint
  /** genesis.modules.staking.params overrides (epochLength, unbondingTime, …). */
  stakingParams?: Record<string, number | string>
  /** genesis.modules.governance overrides. */
  governance?: Record<string, number | string>
}

const OPEN = 10n ** 18n
/** A network's block gas limit. genesis/devnet.json has the dev chain's (100 M, for bursts of test
 * traffic on one machine); validators re-execute every block within the block period, so a network
 * keeps a limit its slowest validator executes well inside one period. */
export const NETWORK_GAS_LIMIT = 30_000_000n

export async function buildQbftGenesis(opts: QbftGenesisOptions): Promise<Record<string, unknown>> {
  const json = (await loadJson(DEVNET_GENESIS_URL)) as Record<string, unknown>
  const validators = sortValidators(opts.validators)
  json.name = opts.name ?? 'openledger-network'
  if (opts.chainId !== undefined) json.chainId = opts.chainId
  if (opts.hardfork !== undefined) json.hardfork = opts.hardfork
  json.gasLimit = NETWORK_GAS_LIMIT.toString()
  json.validators = validators.map(hex)
  json.extraData = hex(genesisExtraData(validators))
  const period = opts.blockPeriodSeconds ?? 1
  json.consensus = {
    type: 'qbft',
    blockPeriodSeconds: period,
    // Round 0 must outlast the period plus building, validating and a gossip round trip, with
    // headroom for a loaded machine (Besu's default is 4 s for 2 s blocks).
    requestTimeoutSeconds: opts.requestTimeoutSeconds ?? period * 2 + 2,
  }
  if (opts.devAccounts !== undefined || opts.balance !== undefined) {
    const balance = (opts.balance ?? 10_000n * 10n ** 18n).toString()
    json.alloc = Object.fromEntries(
      deriveDevAccounts(opts.devAccounts ?? 20).map((a) => [hex(a.address), { balance }]),
    )
  }
  const stake = opts.stake ?? 1_000n * OPEN
  const alloc = (json.alloc ?? {}) as Record<string, { balance: string }>
  const modules = (json.modules ?? {}) as Record<string, unknown>
  if (stake > 0n) {
    const extra = opts.validatorBalance ?? 100n * OPEN
    for (const v of validators) {
      const prior = BigInt(alloc[hex(v)]?.balance ?? 0)
      alloc[hex(v)] = { balance: String(prior + stake + extra) }
    }
  }
  modules.staking = {
    ...(opts.stakingParams && { params: opts.stakingParams }),
    ...(stake > 0n && {
      validators: validators.map((v, i) => ({
        operator: hex(v),
        stake: String(stake),
        moniker: `validator-${i}`,
      })),
    }),
  }
  if (opts.governance) modules.governance = opts.governance
  json.alloc = alloc
  json.modules = modules
  const parsed = parseGenesis(json) // fail here, not at node start, if anything is off
  await nativeModules(parsed)
  return json
}
