/**
 * Deposits as the L2 sees them: decoded strictly from the Portal's TransactionDeposited logs.
 * A deposit's identity is its OP Stack source hash, keccak256(0 ‖ keccak256(l1BlockHash ‖
 * logIndex)): it names one log of one L1 block, so a deposit re-included by an L1 reorg in another
 * block is another deposit — which is why only confirmed L1 blocks are ever consumed.
 */
import { type Address, getAddress, type Hex, keccak256, toHex } from 'viem'
import { getSourceHash } from 'viem/op-stack'

/** keccak256("TransactionDeposited(address,address,uint256,bytes)") */
export const TRANSACTION_DEPOSITED_TOPIC: Hex = keccak256(
  toHex('TransactionDeposited(address,address,uint256,bytes)'),
)

export interface Deposit {
  sourceHash: Hex
  l1BlockNumber: bigint
  l1BlockHash: Hex
  logIndex: number
  from: Address
  to: Address
  mint: bigint
  value: bigint
  gasLimit: bigint
  isCreation: boolean
  data: Hex
}

export interface RawLog {
  address: Hex
  topics: readonly Hex[]
  data: Hex
  blockHash: Hex | null
  blockNumber: bigint | null
  logIndex: number | null
  removed?: boolean
}

export class DepositLogError extends Error {
  readonly code = 'BAD_DEPOSIT_LOG'
  constructor(message: string) {
    super(message)
    this.name = 'DepositLogError'
  }
}

function word(hex: string, i: number): bigint {
  return BigInt(`0x${hex.slice(i * 64, (i + 1) * 64)}`)
}

function topicAddress(t: Hex, what: string): Address {
  if (!/^0x0{24}[0-9a-fA-F]{40}$/.test(t)) throw new DepositLogError(`${what} topic is not an address: ${t}`)
  return getAddress(`0x${t.slice(26)}`)
}

/** Decodes a TransactionDeposited log (version 0). Throws DepositLogError on anything else. */
export function decodeDepositLog(log: RawLog): Deposit {
  if (log.removed === true) throw new DepositLogError('log was removed by a reorg')
  if (log.blockHash === null || log.blockNumber === null || log.logIndex === null)
    throw new DepositLogError('pending log (no block)')
  if (log.topics.length !== 4 || log.topics[0]?.toLowerCase() !== TRANSACTION_DEPOSITED_TOPIC)
    throw new DepositLogError('not a TransactionDeposited log')
  const from = topicAddress(log.topics[1]!, 'from')
  const to = topicAddress(log.topics[2]!, 'to')
  if (BigInt(log.topics[3]!) !== 0n)
    throw new DepositLogError(`unsupported deposit version ${BigInt(log.topics[3]!)}`)
  // data = abi.encode(bytes opaqueData): offset 32, length, padded payload.
  const hex = log.data.slice(2)
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 64 !== 0 || hex.length < 128)
    throw new DepositLogError('data is not an ABI-encoded bytes value')
  if (word(hex, 0) !== 32n) throw new DepositLogError('data offset is not 32')
  const len = word(hex, 1)
  if (len < 73n || len > BigInt(hex.length / 2 - 64))
    throw new DepositLogError(`opaqueData length ${len} out of range`)
  const opaque = hex.slice(128, 128 + Number(len) * 2)
  const mint = BigInt(`0x${opaque.slice(0, 64)}`)
  const value = BigInt(`0x${opaque.slice(64, 128)}`)
  const gasLimit = BigInt(`0x${opaque.slice(128, 144)}`)
  const creationByte = opaque.slice(144, 146)
  if (creationByte !== '00' && creationByte !== '01')
    throw new DepositLogError(`isCreation byte ${creationByte}`)
  return {
    sourceHash: getSourceHash({
      domain: 'userDeposit',
      l1BlockHash: log.blockHash,
      l1LogIndex: log.logIndex,
    }),
    l1BlockNumber: log.blockNumber,
    l1BlockHash: log.blockHash.toLowerCase() as Hex,
    logIndex: log.logIndex,
    from,
    to,
    mint,
    value,
    gasLimit,
    isCreation: creationByte === '01',
    data: `0x${opaque.slice(146)}`,
  }
}

/** Canonical order: L1 block, then log index. */
export function compareDeposits(a: Deposit, b: Deposit): number {
  if (a.l1BlockNumber !== b.l1BlockNumber) return a.l1BlockNumber < b.l1BlockNumber ? -1 : 1
  return a.logIndex - b.logIndex
}
