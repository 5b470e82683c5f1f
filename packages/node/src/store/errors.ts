/** Stable identifiers for chain-store failures (callers branch on `code`, never on the message). */
export type ChainStoreErrorCode =
  | 'GENESIS_MISMATCH'
  | 'SCHEMA_MISMATCH'
  | 'CORRUPT'
  | 'NOT_NEXT_BLOCK'
  | 'RECEIPTS_MISMATCH'
  | 'INVALID_RANGE'
  | 'INVALID_QUERY'
  | 'LOG_LIMIT'
  | 'INVALID_ARGUMENT'
  | 'CLOSED'

export class ChainStoreError extends Error {
  readonly code: ChainStoreErrorCode
  constructor(code: ChainStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ChainStoreError'
    this.code = code
  }
}
