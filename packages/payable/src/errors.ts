/** Errors shown to a CLI user as one clear line (no stack trace). */
import { BaseError, ContractFunctionRevertedError } from 'viem'

export class PayableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PayableError'
  }
}

function fmtArg(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return v
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
}

/** One-line description of a failed chain call: a module's custom error by name and arguments
 * (decoded with the interfaces' ABI), else viem's short message. */
export function describeChainError(err: unknown): string {
  if (err instanceof PayableError) return err.message
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) {
      if (reverted.data?.errorName) {
        return `reverted: ${reverted.data.errorName}(${(reverted.data.args ?? []).map(fmtArg).join(', ')})`
      }
      return `reverted: ${reverted.reason ?? reverted.shortMessage}`
    }
    // viem's short message of an RPC error is generic ("Missing or invalid parameters."); the
    // node's own message (nonce too low, fee below base fee …) is in `details`.
    const short = err.shortMessage.split('\n')[0] as string
    return err.details && !short.includes(err.details) ? `${short} ${err.details}` : err.shortMessage
  }
  return err instanceof Error ? err.message : String(err)
}
