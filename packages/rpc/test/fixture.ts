/**
 * In-memory RpcBackend for protocol tests: a list of EthereumJS blocks with receipts, a pool and
 * signing keys. It only has to be faithful enough to exercise framing, validation and formatting.
 */
import { EventEmitter } from 'node:events'
import { type Block, createBlock } from '@ethereumjs/block'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { hexToBytes } from '@ethereumjs/util'
import type {
  AccessListOutcome,
  Address,
  BackendEvents,
  BlockRef,
  CallOutcome,
  CallRequest,
  DevBackend,
  DevMetadata,
  ExecOptions,
  FeeHistory,
  Hash,
  LogQuery,
  ProofResult,
  ResetOptions,
  RpcBackend,
  RpcLog,
  RpcReceipt,
  SyncStatus,
  TxLocation,
  TxPoolSnapshot,
} from '../src/backend.ts'
import { limitExceeded } from '../src/errors.ts'

export const KEY0 = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
export const ADDR0 = hexToBytes('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
export const TOKEN = hexToBytes(`0x${'aa'.repeat(20)}`)
export const TOPIC_A = hexToBytes(`0x${'01'.repeat(32)}`)
export const TOPIC_B = hexToBytes(`0x${'02'.repeat(32)}`)

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`
const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

export function signedTransfer(nonce: bigint): TypedTransaction {
  return createTx({
    type: 2,
    nonce,
    maxFeePerGas: 10n ** 9n,
    maxPriorityFeePerGas: 1n,
    gasLimit: 21000n,
    to: `0x${'11'.repeat(20)}`,
    value: 1n,
  }).sign(KEY0)
}

export class FixtureEvents extends EventEmitter {}

export class FixtureBackend implements RpcBackend {
  readonly chainId = 1n
  readonly clientVersion = 'OpenLedger/fixture'
  readonly emitter = new FixtureEvents()
  readonly events = this.emitter as unknown as BackendEvents
  dev?: DevBackend
  blocks: Block[] = []
  receipts = new Map<string, RpcReceipt[]>()
  pool: TxPoolSnapshot = { pending: new Map(), queued: new Map() }
  callOutcome: CallOutcome = { returnData: new Uint8Array([1, 2]), gasUsed: 21000n }
  /** Set to make the next call throw an arbitrary (non-RPC) error. */
  explode = false
  lastLogQuery?: LogQuery
  lastTraceOptions?: Record<string, unknown>

  constructor() {
    this.addBlock([], [])
  }

  /** Appends a block with the given transactions; `logs[i]` are the logs of transaction i. */
  addBlock(
    txs: TypedTransaction[],
    logs: Array<Array<{ address: Address; topics: Hash[]; data: Uint8Array }>>,
  ): Block {
    const parent = this.blocks.at(-1)
    const number = parent ? parent.header.number + 1n : 0n
    const common = txs[0]?.common ?? signedTransfer(0n).common
    const block = createBlock(
      {
        header: {
          number,
          parentHash: parent?.hash(),
          gasLimit: 30_000_000n,
          timestamp: 1_700_000_000n + number,
          baseFeePerGas: 7n,
        },
        transactions: txs,
      },
      { common },
    )
    const hash = block.hash()
    let logIndex = 0
    const receipts: RpcReceipt[] = txs.map((tx, i) => {
      const rlogs: RpcLog[] = (logs[i] ?? []).map((l) => ({
        ...l,
        blockNumber: number,
        blockHash: hash,
        transactionHash: tx.hash(),
        transactionIndex: i,
        logIndex: logIndex++,
        removed: false,
      }))
      return {
        transactionHash: tx.hash(),
        transactionIndex: i,
        blockHash: hash,
        blockNumber: number,
        from: tx.getSenderAddress().bytes,
        to: tx.to?.bytes ?? null,
        cumulativeGasUsed: 21000n * BigInt(i + 1),
        gasUsed: 21000n,
        effectiveGasPrice: 8n,
        contractAddress: null,
        logs: rlogs,
        logsBloom: new Uint8Array(256),
        type: tx.type,
        status: 1,
      }
    })
    this.blocks.push(block)
    this.receipts.set(hex(hash), receipts)
    this.emitter.emit(
      'block',
      block,
      receipts.flatMap((r) => r.logs),
    )
    return block
  }

  headNumber(): bigint {
    return this.blocks.at(-1)!.header.number
  }

  async getBlock(ref: BlockRef): Promise<Block | undefined> {
    if ('hash' in ref) return this.blocks.find((b) => eq(b.hash(), ref.hash))
    if ('number' in ref) return this.blocks[Number(ref.number)]
    return ref.tag === 'earliest' ? this.blocks[0] : this.blocks.at(-1)
  }

  async getReceipts(blockHash: Hash): Promise<RpcReceipt[] | undefined> {
    return this.receipts.get(hex(blockHash))
  }

  async getTransaction(hash: Hash): Promise<TxLocation | undefined> {
    for (const block of this.blocks) {
      const index = block.transactions.findIndex((t) => eq(t.hash(), hash))
      if (index >= 0) {
        const tx = block.transactions[index]!
        return {
          tx,
          sender: tx.getSenderAddress().bytes,
          block: {
            hash: block.hash(),
            number: block.header.number,
            index,
            baseFeePerGas: block.header.baseFeePerGas,
          },
        }
      }
    }
    for (const txs of this.pool.pending.values()) {
      const tx = txs.find((t) => eq(t.hash(), hash))
      if (tx) return { tx, sender: tx.getSenderAddress().bytes }
    }
    return undefined
  }

  async getReceipt(hash: Hash): Promise<RpcReceipt | undefined> {
    for (const rs of this.receipts.values()) {
      const r = rs.find((x) => eq(x.transactionHash, hash))
      if (r) return r
    }
    return undefined
  }

  async getLogs(query: LogQuery): Promise<RpcLog[]> {
    this.lastLogQuery = query
    const out: RpcLog[] = []
    for (const block of this.blocks) {
      const n = block.header.number
      if (n < query.fromBlock || n > query.toBlock) continue
      for (const r of this.receipts.get(hex(block.hash())) ?? []) {
        for (const log of r.logs) {
          if (query.addresses.length > 0 && !query.addresses.some((a) => eq(a, log.address))) continue
          const topicsOk = query.topics.every(
            (alts, i) =>
              alts === null || (log.topics[i] !== undefined && alts.some((t) => eq(t, log.topics[i]!))),
          )
          if (!topicsOk) continue
          out.push(log)
          if (out.length > query.limit) throw limitExceeded(`query returned more than ${query.limit} results`)
        }
      }
    }
    return out
  }

  async getBalance(): Promise<bigint> {
    return 10n ** 18n
  }
  async getNonce(): Promise<bigint> {
    return 3n
  }
  async getCode(): Promise<Uint8Array> {
    return new Uint8Array([0x60, 0x00])
  }
  async getStorageAt(_a: Address, slot: Hash): Promise<Hash> {
    return slot
  }
  async getProof(address: Address, slots: Hash[]): Promise<ProofResult> {
    return {
      address,
      accountProof: [new Uint8Array([0xf8])],
      balance: 5n,
      codeHash: new Uint8Array(32),
      nonce: 1n,
      storageHash: new Uint8Array(32),
      storageProof: slots.map((key) => ({ key, value: 0n, proof: [] })),
    }
  }
  /** Test hook run by eth_call before it answers (slow calls, cancellation). */
  onCall: ((exec: ExecOptions | undefined) => Promise<void>) | undefined
  async call(
    _req: CallRequest,
    _ref?: BlockRef,
    _overrides?: unknown,
    exec?: ExecOptions,
  ): Promise<CallOutcome> {
    if (this.explode) throw new Error('database exploded: secret detail')
    await this.onCall?.(exec)
    return this.callOutcome
  }
  async estimateGas(): Promise<bigint> {
    return 21000n
  }
  async createAccessList(): Promise<AccessListOutcome> {
    return { accessList: [{ address: ADDR0, storageKeys: [new Uint8Array(32)] }], gasUsed: 23_400n }
  }
  async gasPrice(): Promise<bigint> {
    return 8n
  }
  async maxPriorityFeePerGas(): Promise<bigint> {
    return 1n
  }
  async feeHistory(blockCount: number, _newest: BlockRef, percentiles: number[]): Promise<FeeHistory> {
    return {
      oldestBlock: 0n,
      baseFeePerGas: Array.from({ length: blockCount + 1 }, () => 7n),
      gasUsedRatio: Array.from({ length: blockCount }, () => 0.5),
      reward:
        percentiles.length > 0
          ? Array.from({ length: blockCount }, () => percentiles.map(() => 1n))
          : undefined,
    }
  }
  async sendRawTransaction(): Promise<Hash> {
    return new Uint8Array(32).fill(9)
  }
  async sendTransaction(): Promise<Hash> {
    return new Uint8Array(32).fill(8)
  }
  accounts(): Address[] {
    return [ADDR0]
  }
  signingKey(address: Address): Uint8Array | undefined {
    return eq(address, ADDR0) ? KEY0 : undefined
  }
  txpool(): TxPoolSnapshot {
    return this.pool
  }
  syncing(): SyncStatus | false {
    return false
  }
  peerCount(): number {
    return 2
  }
  async traceTransaction(_hash: Hash, options: Record<string, unknown>): Promise<unknown> {
    this.lastTraceOptions = options
    return { gas: 21000, failed: false, returnValue: '', structLogs: [] }
  }
  async traceCall(_req: CallRequest, _ref: BlockRef, options: Record<string, unknown>): Promise<unknown> {
    this.lastTraceOptions = options
    return { gas: 21000, failed: false, returnValue: '', structLogs: [] }
  }
}

/** Records dev calls; enough to check routing and parameter parsing. */
export class FixtureDev implements DevBackend {
  calls: Array<[string, ...unknown[]]> = []
  automine = true
  private snapshots = 0n
  async snapshot(): Promise<bigint> {
    this.snapshots += 1n
    return this.snapshots
  }
  async revert(id: bigint): Promise<boolean> {
    this.calls.push(['revert', id])
    return id <= this.snapshots
  }
  async mine(blocks?: bigint, interval?: bigint, timestamp?: bigint): Promise<void> {
    this.calls.push(['mine', blocks, interval, timestamp])
  }
  increaseTime(seconds: bigint): bigint {
    this.calls.push(['increaseTime', seconds])
    return seconds
  }
  setNextBlockTimestamp(timestamp: bigint): void {
    this.calls.push(['setNextBlockTimestamp', timestamp])
  }
  setAutomine(enabled: boolean): void {
    this.automine = enabled
  }
  getAutomine(): boolean {
    return this.automine
  }
  setIntervalMining(ms: number): void {
    this.calls.push(['setIntervalMining', ms])
  }
  async setBalance(address: Address, value: bigint): Promise<void> {
    this.calls.push(['setBalance', hex(address), value])
  }
  async setCode(address: Address, code: Uint8Array): Promise<void> {
    this.calls.push(['setCode', hex(address), hex(code)])
  }
  async setNonce(address: Address, nonce: bigint): Promise<void> {
    this.calls.push(['setNonce', hex(address), nonce])
  }
  async setStorageAt(address: Address, slot: Hash, value: Hash): Promise<void> {
    this.calls.push(['setStorageAt', hex(address), hex(slot), hex(value)])
  }
  impersonate(address: Address): void {
    this.calls.push(['impersonate', hex(address)])
  }
  stopImpersonating(address: Address): void {
    this.calls.push(['stopImpersonating', hex(address)])
  }
  dropTransaction(hash: Hash): boolean {
    this.calls.push(['dropTransaction', hex(hash)])
    return true
  }
  setNextBlockBaseFee(fee: bigint): void {
    this.calls.push(['setNextBlockBaseFee', fee])
  }
  setCoinbase(address: Address): void {
    this.calls.push(['setCoinbase', hex(address)])
  }
  setMinGasPrice(price: bigint): void {
    this.calls.push(['setMinGasPrice', price])
  }
  setBlockGasLimit(gasLimit: bigint): void {
    this.calls.push(['setBlockGasLimit', gasLimit])
  }
  setPrevRandao(value: Uint8Array): void {
    this.calls.push(['setPrevRandao', hex(value)])
  }
  async reset(opts: ResetOptions): Promise<void> {
    this.calls.push(['reset', opts])
  }
  async metadata(): Promise<DevMetadata> {
    return {
      clientVersion: 'HardhatNetwork/test',
      chainId: 31337n,
      instanceId: new Uint8Array(32).fill(7),
      latestBlockNumber: 5n,
      latestBlockHash: new Uint8Array(32).fill(1),
    }
  }
}
