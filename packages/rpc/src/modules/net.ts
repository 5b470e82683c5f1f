/** net_* methods. */
import { quantity } from '../format.ts'
import type { RpcMethods } from '../registry.ts'
import { expectParams } from '../validation.ts'

export const netMethods: RpcMethods = {
  // net_version is the chain id in decimal, as geth answers for chains without a separate network id.
  net_version: (params, ctx) => {
    expectParams(params, 0, 0)
    return ctx.backend.chainId.toString(10)
  },
  net_listening: (params) => {
    expectParams(params, 0, 0)
    return true
  },
  net_peerCount: (params, ctx) => {
    expectParams(params, 0, 0)
    return quantity(ctx.backend.peerCount())
  },
}
