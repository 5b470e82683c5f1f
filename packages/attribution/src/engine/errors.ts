/** Stable error codes of the attribution engine, so callers (CLI, provider, RPC) can map them. */
export type AttributionErrorCode =
  | 'INVALID_TEXT'
  | 'INVALID_RECORD'
  | 'DUPLICATE_RECORD'
  | 'INVALID_PARAMS'
  | 'INVALID_CHUNK'
  | 'INVALID_SCORE'
  | 'CORPUS_TOO_LARGE'
  | 'INVALID_INDEX_BYTES'
  | 'NO_DATANETS'

export class AttributionError extends Error {
  readonly code: AttributionErrorCode
  constructor(code: AttributionErrorCode, message: string) {
    super(message)
    this.name = 'AttributionError'
    this.code = code
  }
}
