/** viem chain definitions wired to a deployment, for viem's `op-stack` actions. */
import { type Chain, defineChain } from 'viem'
import { chainConfig } from 'viem/op-stack'
import type { L1Addresses } from './l1/addresses.ts'
import { l1Chain } from './l1/deploy.ts'

/** The L1 as viem sees it (with the Multicall3 the op-stack actions batch through). */
export function l1ChainOf(a: L1Addresses, l1RpcUrl: string): Chain {
  return l1Chain(a.l1ChainId, l1RpcUrl, a.contracts.multicall3)
}

/**
 * The L2 as a viem OP Stack chain: `sourceId` is the L1 and `contracts.portal` /
 * `contracts.l2OutputOracle` point at this deployment, so `getWithdrawalStatus`,
 * `buildProveWithdrawal`, `proveWithdrawal` and `finalizeWithdrawal` work with `targetChain: l2`.
 */
export function l2ChainOf(a: L1Addresses, l2RpcUrl: string): Chain {
  return defineChain({
    ...chainConfig,
    id: a.l2ChainId,
    name: `OpenLedger ${a.l2ChainId}`,
    nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
    rpcUrls: { default: { http: [l2RpcUrl] } },
    sourceId: a.l1ChainId,
    contracts: {
      ...chainConfig.contracts,
      portal: { [a.l1ChainId]: { address: a.contracts.portal } },
      l2OutputOracle: { [a.l1ChainId]: { address: a.contracts.l2OutputOracle } },
    },
  })
}
