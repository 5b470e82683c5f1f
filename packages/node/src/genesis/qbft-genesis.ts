/** `openledger genesis new`: a QBFT genesis for a set of validators, from genesis/devnet.json. */
import { genesisExtraData, sortValidators } from '@openledger/consensus'
import { parseGenesis } from '@openledger/evm-runtime'
import { deriveDevAccounts } from '../keys/dev-accounts.ts'
import { hex } from '../util/bytes.ts'
import { DEVNET_GENESIS_URL, loadJson } from './dev-genesis.ts'

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
}

export async function buildQbftGenesis(opts: QbftGenesisOptions): Promise<Record<string, unknown>> {
  const json = (await loadJson(DEVNET_GENESIS_URL)) as Record<string, unknown>
  const validators = sortValidators(opts.validators)
  json.name = opts.name ?? 'openledger-network'
  if (opts.chainId !== undefined) json.chainId = opts.chainId
  if (opts.hardfork !== undefined) json.hardfork = opts.hardfork
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
  parseGenesis(json) // fail here, not at node start, if anything is off
  return json
}
