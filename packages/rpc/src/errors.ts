/**
 * JSON-RPC error type with stable codes (JSON-RPC 2.0 + EIP-1474 + execution-apis), and the
 * helpers the backend uses to raise geth-compatible errors (reverts, limits, bad input).
 */
import { data as hex } from './format.ts'

export const ErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Invalid input / generic transaction and execution errors (geth uses -32000 for these). */
  INVALID_INPUT: -32000,
  RESOURCE_NOT_FOUND: -32001,
  RESOURCE_UNAVAILABLE: -32002,
  TRANSACTION_REJECTED: -32003,
  METHOD_NOT_SUPPORTED: -32004,
  LIMIT_EXCEEDED: -32005,
  /** execution-apis: eth_call / eth_estimateGas reverted; `data` carries the revert bytes. */
  EXECUTION_REVERTED: 3,
} as const

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

export class RpcError extends Error {
  readonly code: number
  readonly data?: unknown

  constructor(code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'RpcError'
    this.code = code
    if (data !== undefined) this.data = data
  }

  toJSON(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data }
  }
}

export const invalidParams = (message: string): RpcError => new RpcError(ErrorCode.INVALID_PARAMS, message)
export const invalidInput = (message: string): RpcError => new RpcError(ErrorCode.INVALID_INPUT, message)
export const limitExceeded = (message: string): RpcError => new RpcError(ErrorCode.LIMIT_EXCEEDED, message)
export const resourceNotFound = (message: string): RpcError =>
  new RpcError(ErrorCode.RESOURCE_NOT_FOUND, message)
export const methodNotFound = (method: string): RpcError =>
  new RpcError(ErrorCode.METHOD_NOT_FOUND, `the method ${method} does not exist/is not available`)

// Solidity Panic(uint256) codes, phrased as geth does in its revert messages.
const PANIC_REASONS: Record<number, string> = {
  0: 'generic panic',
  1: 'assert(false)',
  17: 'arithmetic underflow or overflow',
  18: 'division or modulo by zero',
  33: 'enum overflow',
  34: 'invalid encoded storage byte array accessed',
  49: 'out-of-bounds array access; popping on an empty array',
  50: 'out-of-bounds access of an array or bytesN',
  65: 'out of memory',
  81: 'uninitialized function',
}

const ERROR_SELECTOR = '0x08c379a0' // Error(string)
const PANIC_SELECTOR = '0x4e487b71' // Panic(uint256)

/**
 * Decodes the human reason of a revert payload: the string of `Error(string)` or the meaning of
 * `Panic(uint256)`; undefined for custom errors or malformed data (callers then show only the bytes).
 */
export function decodeRevertReason(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined
  const selector = hex(data.subarray(0, 4))
  const body = data.subarray(4)
  if (selector === PANIC_SELECTOR && body.length === 32) {
    const code = BigInt(hex(body))
    const reason = code <= 0xffn ? PANIC_REASONS[Number(code)] : undefined
    return reason ?? `unknown panic code: 0x${code.toString(16)}`
  }
  if (selector !== ERROR_SELECTOR || body.length < 64) return undefined
  const offset = BigInt(hex(body.subarray(0, 32)))
  if (offset + 32n > BigInt(body.length)) return undefined
  const start = Number(offset)
  const length = BigInt(hex(body.subarray(start, start + 32)))
  if (BigInt(start) + 32n + length > BigInt(body.length)) return undefined
  const bytes = body.subarray(start + 32, start + 32 + Number(length))
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** The execution-apis revert error: code 3, message with the decoded reason, data = revert bytes. */
export function revertError(data: Uint8Array): RpcError {
  const reason = decodeRevertReason(data)
  return new RpcError(
    ErrorCode.EXECUTION_REVERTED,
    reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`,
    hex(data),
  )
}

// Hardhat's wording of Panic(uint256) codes (hardhat-core), used in its transaction errors.
const HARDHAT_PANIC_REASONS: Record<number, string> = {
  1: 'Assertion error',
  17: 'Arithmetic operation overflowed outside of an unchecked block',
  18: 'Division or modulo division by zero',
  33: 'Tried to convert a value into an enum, but the value was too big or negative',
  34: 'Incorrectly encoded storage byte array',
  49: '.pop() was called on an empty array',
  50: 'Array accessed at an out-of-bounds or negative index',
  65: 'Too much memory was allocated, or an array was created that is too large',
  81: 'Called a zero-initialized variable of internal function type',
}

/**
 * The error Hardhat's node answers to eth_sendTransaction / eth_sendRawTransaction when the
 * automined transaction failed (its `throwOnTransactionFailures`): the transaction is mined all
 * the same, and `data` carries its hash and revert bytes, which hardhat-chai-matchers decode.
 * Messages and codes are Hardhat 2.29's (checked against `hardhat node` over HTTP).
 */
export function transactionFailedError(
  txHash: Uint8Array,
  failure: { message: string; returnData: Uint8Array },
): RpcError {
  const ret = failure.returnData
  const retHex = hex(ret)
  let code: number = ErrorCode.INTERNAL_ERROR
  let message: string
  const vmError = (what: string) => `Error: VM Exception while processing transaction: ${what}`
  if (failure.message === 'revert') {
    const selector = ret.length >= 4 ? hex(ret.subarray(0, 4)) : ''
    const reason = decodeRevertReason(ret)
    if (ret.length === 0) message = 'Error: Transaction reverted without a reason string'
    else if (selector === ERROR_SELECTOR && reason !== undefined)
      message = vmError(`reverted with reason string '${reason}'`)
    else if (selector === PANIC_SELECTOR && ret.length === 36) {
      const panic = BigInt(hex(ret.subarray(4)))
      const why = panic <= 0xffn ? HARDHAT_PANIC_REASONS[Number(panic)] : undefined
      message = vmError(`reverted with panic code 0x${panic.toString(16)} (${why ?? 'Unknown panic code'})`)
    } else message = vmError(`reverted with an unrecognized custom error (return data: ${retHex})`)
  } else if (failure.message === 'out of gas') {
    code = ErrorCode.INVALID_INPUT
    message = 'Transaction ran out of gas'
  } else message = vmError(failure.message)
  return new RpcError(code, message, { message, txHash: hex(txHash), data: retHex })
}
