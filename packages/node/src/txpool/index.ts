export { TxPoolError, type TxPoolErrorCode } from './errors.ts'
export { maintainPool } from './maintain.ts'
export {
  type DropReason,
  type GetAccount,
  type MinedTxRef,
  type PooledTx,
  TxPool,
  type TxPoolAccount,
  type TxPoolContent,
  type TxPoolEvents,
  type TxPoolOptions,
} from './txPool.ts'
