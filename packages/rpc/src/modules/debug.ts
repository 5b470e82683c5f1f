/** debug_* methods. Tracer options are passed to the backend unchanged after a shape check. */
import { invalidParams, resourceNotFound } from '../errors.ts'
import { data } from '../format.ts'
import type { RpcMethods } from '../registry.ts'
import {
  expectParams,
  parseBlockRef,
  parseCallRequest,
  parseHash,
  parseOptionsObject,
  parseStateOverride,
} from '../validation.ts'

export const debugMethods: RpcMethods = {
  debug_traceTransaction: async (params, ctx) => {
    const [h, opts] = expectParams(params, 1, 2)
    const hash = parseHash(h, 'txHash')
    const options = parseOptionsObject(opts, 'config')
    const result = await ctx.execute(() =>
      ctx.backend.traceTransaction(hash, options, { signal: ctx.signal }),
    )
    if (result === undefined) throw resourceNotFound(`transaction ${data(hash)} not found`)
    return result
  },

  // geth's TraceCallConfig: the trace config plus `stateOverrides` (and `blockOverrides`, refused
  // as in eth_call). Runs as eth_call does: same gas cap, time limit, queue and rollback.
  debug_traceCall: async (params, ctx) => {
    const [callArg, block, opts] = expectParams(params, 1, 3)
    const req = parseCallRequest(callArg, 'args')
    const ref = parseBlockRef(block, 'block')
    const { stateOverrides, blockOverrides, ...options } = parseOptionsObject(opts, 'config')
    if (blockOverrides !== undefined) throw invalidParams('block overrides are not supported')
    const overrides = parseStateOverride(stateOverrides, 'config.stateOverrides')
    return ctx.execute(() => ctx.backend.traceCall(req, ref, options, overrides, { signal: ctx.signal }))
  },
}
