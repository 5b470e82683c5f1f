export { BloomFilterQuery, bloomAdd, bloomContains, logsBloom } from './bloom.ts'
export {
  type BatchDb,
  type ChainDb,
  type ChainDbOperation,
  ChainStore,
  STORE_SCHEMA_VERSION,
} from './chainStore.ts'
export { ChainStoreError, type ChainStoreErrorCode } from './errors.ts'
export type {
  ChainStoreOptions,
  CommittedTx,
  LogEntryLike,
  LogFilter,
  MinedTransaction,
  StoredLog,
  StoredReceipt,
  TxLocation,
} from './types.ts'
