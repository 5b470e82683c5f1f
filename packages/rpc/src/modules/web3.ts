/** web3_* methods. */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { data } from '../format.ts'
import type { RpcMethods } from '../registry.ts'
import { expectParams, parseData } from '../validation.ts'

export const web3Methods: RpcMethods = {
  web3_clientVersion: (params, ctx) => {
    expectParams(params, 0, 0)
    return ctx.backend.clientVersion
  },
  web3_sha3: (params) => {
    const [input] = expectParams(params, 1, 1)
    return data(keccak_256(parseData(input, 'input')))
  },
}
