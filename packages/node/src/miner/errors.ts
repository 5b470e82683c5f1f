/** Errors of the dev sealer; the dev RPC (dev/dev-controls.ts) maps them to JSON-RPC errors. */
export class SealerError extends Error {
  constructor(
    // PARENT_NOT_COMMITTED: an automine block built on one whose commit then failed.
    readonly code: 'TIMESTAMP_NOT_AFTER_PARENT' | 'PARENT_NOT_COMMITTED',
    message: string,
  ) {
    super(message)
    this.name = 'SealerError'
  }
}
