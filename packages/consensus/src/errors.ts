/** Typed errors with stable codes: callers branch on `code`, never on message text. */

export type DecodeErrorCode =
  | 'MALFORMED_RLP' // bytes are not valid RLP
  | 'BAD_STRUCTURE' // valid RLP, wrong shape (list lengths, field sizes, non-canonical scalars)
  | 'UNKNOWN_CODE' // unknown QBFT message code
  | 'BAD_SIGNATURE' // signature malformed or not recoverable
  | 'BAD_COMMIT_SEAL' // commit seal not signed by the message author
  | 'BAD_BLOCK' // the embedded block could not be decoded by the block codec
  | 'INCONSISTENT' // fields contradict each other (e.g. prepared metadata without block)
  | 'TOO_LARGE' // more entries than the configured bound

/** Raised for any undecodable consensus message: a peer sent garbage. */
export class QbftDecodeError extends Error {
  override readonly name = 'QbftDecodeError'
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export type ExtraDataErrorCode =
  | 'MALFORMED_RLP'
  | 'BAD_STRUCTURE'
  | 'BAD_HEADER'
  | 'BAD_SEAL'
  | 'NO_QUORUM'
  | 'DUPLICATE_SEAL'
  | 'NOT_VALIDATOR'

/** Raised for invalid QBFT header extraData, or seals that do not prove finality. */
export class ExtraDataError extends Error {
  override readonly name = 'ExtraDataError'
  constructor(
    readonly code: ExtraDataErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** Raised when the state machine is misconfigured or driven with impossible inputs. */
export class QbftConfigError extends Error {
  override readonly name = 'QbftConfigError'
  constructor(message: string) {
    super(message)
  }
}
