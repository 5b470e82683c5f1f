/** Addresses and constants both sides of the bridge agree on. */
import type { Address, Hex } from 'viem'

/** L2 predeploy: withdrawals (OP Stack address; `sentMessages` at slot 0). */
export const MESSAGE_PASSER_ADDRESS: Address = '0x4200000000000000000000000000000000000016'
/** L2 predeploy: the L1 origin and deposit bookkeeping written by the deposit step. */
export const L1_BLOCK_ADDRESS: Address = '0x4200000000000000000000000000000000000015'

/** Output root version this chain commits to (`keccak256(abi.encode(version, …))`). */
export const OUTPUT_VERSION_V0: Hex = '0x0000000000000000000000000000000000000000000000000000000000000000'

/** OP Stack L1→L2 address alias offset, applied to deposits sent by L1 contracts. */
export const ALIAS_OFFSET = 0x1111000000000000000000000000000000001111n

/** Version of the TransactionDeposited encoding (`opaqueData` = mint ‖ value ‖ gas ‖ isCreation ‖ data). */
export const DEPOSIT_EVENT_VERSION = 0n
