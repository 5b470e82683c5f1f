/**
 * Chain configuration: the EthereumJS Common for this chain (Prague rules, our chain id, fast
 * crypto) and the block options every Block/Header of this chain must be created with.
 */
import { type BlockOptions, paramsBlock } from '@ethereumjs/block'
import { type Common, createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { paramsEVM } from '@ethereumjs/evm'
import { paramsTx } from '@ethereumjs/tx'
import { paramsVM } from '@ethereumjs/vm'
import { createCustomCrypto } from './crypto.ts'
import { type GenesisConfig, type HardforkName, hardforkAt } from './genesis.ts'

export function createChainCommon(genesis: GenesisConfig): Common {
  const common = createCustomCommon(
    {
      name: genesis.name,
      chainId: Number(genesis.chainId),
      // No beacon chain, DNS discovery or deposit contract on this chain.
      bootstrapNodes: [],
      dnsNetworks: [],
      depositContractAddress: undefined,
    },
    Mainnet,
    {
      hardfork: COMMON_HARDFORK[genesis.hardfork],
      customCrypto: createCustomCrypto(),
      params: blockParams(genesis),
    },
  )
  memoizeParamMerges(common)
  // Merged here, once: each VM runs on its own copy of this Common (to switch forks), and the
  // memoised merge would skip the EVM's and VM's own merges on a copy made before them.
  common.updateParams(paramsEVM)
  common.updateParams(paramsVM)
  return common
}

/** Our fork names → EthereumJS's. */
export const COMMON_HARDFORK: Record<HardforkName, Hardfork> = {
  prague: Hardfork.Prague,
  osaka: Hardfork.Osaka,
}

/**
 * Puts `common` (a VM's own copy) on the fork in force at block `number`; EthereumJS's EVM
 * re-derives its opcode table and precompiles on the change.
 */
export function setForkAt(
  common: Common,
  genesis: Pick<GenesisConfig, 'hardfork' | 'hardforks'>,
  number: bigint,
): void {
  const hf = COMMON_HARDFORK[hardforkAt(genesis, number)]
  if (common.hardfork() !== hf) common.setHardfork(hf)
}

/**
 * EthereumJS copies the Common and re-merges a constant params dictionary (a JSON deep copy plus a
 * cache rebuild) in the constructor of every transaction and header: ~5 % of the node's CPU when
 * admitting transactions. All copies share one `_params` object, so merging a dictionary a second
 * time changes nothing: skip it. Copies inherit this (Common.copy() copies own properties).
 */
function memoizeParamMerges(common: Common): void {
  const merged = new WeakSet<object>()
  const update = Object.getPrototypeOf(common).updateParams as Common['updateParams']
  common.updateParams = function (this: Common, params) {
    if (merged.has(params)) return
    update.call(this, params)
    merged.add(params)
  }
}

type ParamsDict = NonNullable<BlockOptions['params']>

function mergeParams(...dicts: ParamsDict[]): ParamsDict {
  const out: ParamsDict = {}
  for (const d of dicts)
    for (const [eip, values] of Object.entries(d)) out[eip] = { ...(out[eip] ?? {}), ...values }
  return out
}

/**
 * EthereumJS block + tx params with the genesis EIP-1559 parameters substituted. Tx params are
 * included because createBlock hands the same `params` option to every transaction it decodes.
 */
export function blockParams(genesis: GenesisConfig): ParamsDict {
  return mergeParams(paramsTx, paramsBlock, {
    1559: {
      elasticityMultiplier: Number(genesis.eip1559.elasticityMultiplier),
      baseFeeMaxChangeDenominator: Number(genesis.eip1559.baseFeeMaxChangeDenominator),
    },
  })
}

/**
 * Options to pass to createBlock / createBlockFromRLP / createBlockHeader for this chain:
 * - `params` keeps our EIP-1559 parameters (a header otherwise resets them to mainnet's);
 * - `skipConsensusFormatValidation` because Prague Commons are proof-of-stake for EthereumJS,
 *   which caps extraData at 32 bytes, while QBFT headers carry validators and seals there.
 */
export function createBlockOptions(common: Common, genesis: GenesisConfig): BlockOptions {
  return { common, params: blockParams(genesis), skipConsensusFormatValidation: true, setHardfork: false }
}

/** EIP-1559 base fee of the child of `parent` (integer arithmetic, as the yellow paper / geth). */
export function nextBaseFee(
  parent: { gasLimit: bigint; gasUsed: bigint; baseFeePerGas?: bigint },
  params: GenesisConfig['eip1559'],
): bigint {
  const parentBaseFee = parent.baseFeePerGas ?? 0n
  const target = parent.gasLimit / params.elasticityMultiplier
  if (target === 0n || parent.gasUsed === target) return parentBaseFee
  if (parent.gasUsed > target) {
    const delta = (parentBaseFee * (parent.gasUsed - target)) / target / params.baseFeeMaxChangeDenominator
    return parentBaseFee + (delta > 1n ? delta : 1n)
  }
  const delta = (parentBaseFee * (target - parent.gasUsed)) / target / params.baseFeeMaxChangeDenominator
  return parentBaseFee > delta ? parentBaseFee - delta : 0n
}
