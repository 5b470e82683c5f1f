/**
 * Pool rejections. `code` is a stable identifier; `message` starts with geth's exact error text
 * (clients such as ethers and viem match on it), followed by geth-style detail where geth has it.
 */
export type TxPoolErrorCode =
  | 'ALREADY_KNOWN'
  | 'TX_TYPE_NOT_SUPPORTED'
  | 'OVERSIZED_DATA'
  | 'INVALID_CHAIN_ID'
  | 'INVALID_SENDER'
  | 'GAS_LIMIT'
  | 'TIP_ABOVE_FEE_CAP'
  | 'INTRINSIC_GAS'
  | 'FLOOR_DATA_GAS'
  | 'UNDERPRICED'
  | 'NONCE_TOO_LOW'
  | 'INSUFFICIENT_FUNDS'
  | 'REPLACE_UNDERPRICED'
  | 'ACCOUNT_LIMIT'
  | 'TXPOOL_FULL'

export class TxPoolError extends Error {
  readonly code: TxPoolErrorCode
  constructor(code: TxPoolErrorCode, message: string) {
    super(message)
    this.name = 'TxPoolError'
    this.code = code
  }
}
