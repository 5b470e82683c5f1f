/** Errors of the dev sealer; the dev RPC (dev/dev-controls.ts) maps them to JSON-RPC errors. */
export class SealerError extends Error {
  constructor(
    readonly code: 'TIMESTAMP_NOT_AFTER_PARENT',
    message: string,
  ) {
    super(message)
    this.name = 'SealerError'
  }
}
