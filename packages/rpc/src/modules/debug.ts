/** debug_* methods. Tracer options are passed to the backend unchanged after a shape check. */
import { resourceNotFound } from '../errors.ts'
import { data } from '../format.ts'
import type { RpcMethods } from '../registry.ts'
import { expectParams, parseHash, parseOptionsObject } from '../validation.ts'

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
}
