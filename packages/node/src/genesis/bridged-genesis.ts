/** Genesis of a chain settled on an L1 (`--l1-addresses`): the bridge predeploys and the L2 chain id. */
import { bridgePredeploys, type L1Addresses } from '@openledger/bridge'

/** A genesis JSON for a chain settled on L1: the deployment's chain id and the bridge predeploys. */
export function bridgedGenesis(
  json: Record<string, unknown>,
  a: L1Addresses,
  chainIdFlag?: number,
): Record<string, unknown> {
  if (chainIdFlag !== undefined && chainIdFlag !== a.l2ChainId)
    throw new Error(`--chain-id ${chainIdFlag} differs from the L2 chain id ${a.l2ChainId} of --l1-addresses`)
  return {
    ...json,
    chainId: a.l2ChainId,
    alloc: { ...(json.alloc as Record<string, unknown>), ...bridgePredeploys(a) },
  }
}
