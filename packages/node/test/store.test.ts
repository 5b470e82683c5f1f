import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Block, createBlock } from '@ethereumjs/block'
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { createFeeMarket1559Tx, createLegacyTx, type TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type ChainDb,
  type ChainDbOperation,
  ChainStore,
  ChainStoreError,
  type CommittedTx,
  type LogEntryLike,
  logsBloom,
} from '../src/store/index.ts'

const common = createCustomCommon({ chainId: 4242 }, Mainnet, { hardfork: Hardfork.Prague })
const keys = [1, 2, 3].map((i) => new Uint8Array(32).fill(i))
const nonces = new Map<number, bigint>()

function bytes(len: number, fill: number): Uint8Array {
  return new Uint8Array(len).fill(fill)
}
const ADDR_A = bytes(20, 0xaa)
const ADDR_B = bytes(20, 0xbb)
const ADDR_C = bytes(20, 0xcc)
const T1 = bytes(32, 0x01)
const T2 = bytes(32, 0x02)
const T3 = bytes(32, 0x03)

function makeGenesis(extra = 0): Block {
  return createBlock(
    { header: { number: 0n, gasLimit: 30_000_000n, baseFeePerGas: 7n, timestamp: BigInt(extra) } },
    { common },
  )
}

function signedTx(keyIndex: number, legacy = false): TypedTransaction {
  const nonce = nonces.get(keyIndex) ?? 0n
  nonces.set(keyIndex, nonce + 1n)
  const base = { nonce, to: bytes(20, 0x42), gasLimit: 21_000n, value: 1n }
  return legacy
    ? createLegacyTx({ ...base, gasPrice: 10n }, { common }).sign(keys[keyIndex]!)
    : createFeeMarket1559Tx(
        { ...base, maxFeePerGas: 10n, maxPriorityFeePerGas: 2n, chainId: 4242n },
        { common },
      ).sign(keys[keyIndex]!)
}

/** A child block of `parent` whose txs emitted `logs[i]`, with a consistent header bloom. */
function makeBlock(parent: Block, logs: LogEntryLike[][]): { block: Block; executed: CommittedTx[] } {
  const txs = logs.map((_, i) => signedTx(i % keys.length, i % 2 === 1))
  const block = createBlock(
    {
      header: {
        number: parent.header.number + 1n,
        parentHash: parent.hash(),
        gasLimit: 30_000_000n,
        baseFeePerGas: 7n,
        timestamp: parent.header.timestamp + 1n,
        logsBloom: logsBloom(logs.flat()),
      },
      transactions: txs,
    },
    { common },
  )
  const executed = txs.map(
    (tx, i): CommittedTx => ({
      tx,
      hash: tx.hash(),
      sender: tx.getSenderAddress().bytes,
      status: i % 3 === 2 ? 0 : 1,
      gasUsed: 21_000n,
      cumulativeGasUsed: 21_000n * BigInt(i + 1),
      effectiveGasPrice: 9n,
      logs: logs[i]!,
      contractAddress: i === 0 ? bytes(20, 0xee) : undefined,
    }),
  )
  return { block, executed }
}

function log(address: Uint8Array, topics: Uint8Array[], data = bytes(3, 7)): LogEntryLike {
  return { address, topics, data }
}

let dir: string
let db: Level<Uint8Array, Uint8Array>

async function openDb(): Promise<Level<Uint8Array, Uint8Array>> {
  const l = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await l.open()
  return l
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-store-'))
  db = await openDb()
})

afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

/** Genesis + 3 blocks: 1 (A:T1, B:T2), 2 (no logs), 3 (C:T1,T3 and A:T2). */
async function seed(store: ChainStore, genesis: Block) {
  const b1 = makeBlock(genesis, [[log(ADDR_A, [T1])], [log(ADDR_B, [T2, T3]), log(ADDR_A, [T1, T2])]])
  await store.commitBlock(b1.block, b1.executed, bytes(65, 9))
  const b2 = makeBlock(b1.block, [[], []])
  await store.commitBlock(b2.block, b2.executed)
  const b3 = makeBlock(b2.block, [[log(ADDR_C, [T1, T3])], [], [log(ADDR_A, [T2])]])
  await store.commitBlock(b3.block, b3.executed)
  return [b1, b2, b3] as const
}

describe('ChainStore', () => {
  it('writes genesis on first open and answers for it', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    expect(store.head().hash()).toEqual(genesis.hash())
    expect(store.headNumber()).toBe(0n)
    expect((await store.getBlockByNumber(0n))?.hash()).toEqual(genesis.hash())
    expect(await store.getCanonicalHash(0n)).toEqual(genesis.hash())
    expect(await store.getCanonicalHash(1n)).toBeUndefined()
    expect(await store.getReceipts(genesis.hash())).toEqual([])
    expect(await store.getBlockByNumber(1n)).toBeUndefined()
    expect(await store.getBlockByHash(bytes(32, 5))).toBeUndefined()
    expect(await store.getBlockByHash(bytes(3, 5))).toBeUndefined()
  })

  it('round-trips blocks, receipts, tx lookups and seals', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const [b1, b2, b3] = await seed(store, genesis)
    expect(store.headNumber()).toBe(3n)
    expect((await store.getBlockByNumber(2n))?.hash()).toEqual(b2.block.hash())
    expect((await store.getBlockByHash(b1.block.hash()))?.serialize()).toEqual(b1.block.serialize())
    expect(await store.getSeals(b1.block.hash())).toEqual(bytes(65, 9))
    expect(await store.getSeals(b2.block.hash())).toBeUndefined()
    // Ranges as served to syncing peers: stored encodings, clipped at the head.
    const all = [genesis, b1.block, b2.block, b3.block].map((b) => b.serialize())
    expect(await store.getRawBlocks(0n, 4)).toEqual(all)
    expect(await store.getRawBlocks(1n, 2)).toEqual(all.slice(1, 3))
    expect(await store.getRawBlocks(2n, 128)).toEqual(all.slice(2))
    expect(await store.getRawBlocks(3n, 1)).toEqual(all.slice(3))
    expect(await store.getRawBlocks(4n, 10)).toEqual([])
    expect(await store.getRawBlocks(-1n, 10)).toEqual([])
    expect(await store.getRawBlocks(0n, 0)).toEqual([])

    const receipts = (await store.getReceipts(b1.block.hash()))!
    expect(receipts).toHaveLength(2)
    const [r0, r1] = receipts
    expect(r0!.transactionHash).toEqual(b1.executed[0]!.hash)
    expect(r0!.from).toEqual(b1.executed[0]!.sender)
    expect(r0!.sender).toEqual(b1.executed[0]!.sender)
    expect(r0!.to).toEqual(bytes(20, 0x42))
    expect(r0!.type).toBe(2)
    expect(r1!.type).toBe(0)
    expect(r0!.status).toBe(1)
    expect(r0!.contractAddress).toEqual(bytes(20, 0xee))
    expect(r1!.contractAddress).toBeNull()
    expect(r1!.cumulativeGasUsed).toBe(42_000n)
    expect(r1!.gasUsed).toBe(21_000n)
    expect(r1!.effectiveGasPrice).toBe(9n)
    expect(r1!.blockNumber).toBe(1n)
    expect(r1!.blockHash).toEqual(b1.block.hash())
    // logIndex runs across the whole block.
    expect(r1!.logs.map((l) => l.logIndex)).toEqual([1, 2])
    expect(r1!.logs[0]!.topics).toEqual([T2, T3])
    expect(r1!.logsBloom).toEqual(logsBloom(b1.executed[1]!.logs))
    expect((await store.getReceipts(b3.block.hash()))![2]!.status).toBe(0)

    const tx = b3.executed[2]!
    expect(await store.getTxLocation(tx.hash)).toEqual({
      blockHash: b3.block.hash(),
      blockNumber: 3n,
      index: 2,
    })
    const mined = (await store.getTransaction(tx.hash))!
    expect(mined.tx.hash()).toEqual(tx.hash)
    expect(mined.sender).toEqual(tx.sender)
    expect(mined.block).toEqual({ hash: b3.block.hash(), number: 3n, index: 2, baseFeePerGas: 7n })
    expect((await store.getReceipt(tx.hash))!.logs[0]!.logIndex).toBe(1)
    expect(await store.getTxLocation(bytes(32, 0x77))).toBeUndefined()
    expect(await store.getReceipt(bytes(32, 0x77))).toBeUndefined()
  })

  it('resumes at the head after a restart with receipts, logs and lookups intact', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const [b1, , b3] = await seed(store, genesis)
    await store.close()
    await db.close()
    db = await openDb()
    const reopened = await ChainStore.open(db, { genesisBlock: genesis })
    expect(reopened.headNumber()).toBe(3n)
    expect(reopened.head().hash()).toEqual(b3.block.hash())
    expect((await reopened.getReceipts(b1.block.hash()))![1]!.logs).toHaveLength(2)
    expect((await reopened.getTxLocation(b1.executed[1]!.hash))?.blockNumber).toBe(1n)
    const logs = await reopened.getLogs({ fromBlock: 0n, toBlock: 3n, addresses: [], topics: [], limit: 100 })
    expect(logs).toHaveLength(5)
    // The store keeps extending after a restart.
    const b4 = makeBlock(b3.block, [[log(ADDR_B, [T1])]])
    await reopened.commitBlock(b4.block, b4.executed)
    expect(reopened.headNumber()).toBe(4n)
  })

  it('filters logs by address, topics (wildcards, OR) and range', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const [b1, , b3] = await seed(store, genesis)
    const q = (f: Partial<Parameters<ChainStore['getLogs']>[0]>) =>
      store.getLogs({ fromBlock: 0n, toBlock: 100n, addresses: [], topics: [], limit: 1000, ...f })
    const where = (logs: Awaited<ReturnType<typeof q>>) => logs.map((l) => `${l.blockNumber}:${l.logIndex}`)

    expect(where(await q({}))).toEqual(['1:0', '1:1', '1:2', '3:0', '3:1'])
    expect(where(await q({ addresses: [ADDR_A] }))).toEqual(['1:0', '1:2', '3:1'])
    expect(where(await q({ addresses: [ADDR_A, ADDR_C] }))).toEqual(['1:0', '1:2', '3:0', '3:1'])
    expect(where(await q({ topics: [[T1]] }))).toEqual(['1:0', '1:2', '3:0'])
    expect(where(await q({ topics: [null, [T3]] }))).toEqual(['1:1', '3:0'])
    expect(
      where(
        await q({
          topics: [
            [T1, T2],
            [T2, T3],
          ],
        }),
      ),
    ).toEqual(['1:1', '1:2', '3:0'])
    expect(where(await q({ addresses: [ADDR_A], topics: [[T2]] }))).toEqual(['3:1'])
    expect(where(await q({ addresses: [ADDR_B], topics: [[T1]] }))).toEqual([])
    // A topic at a position the log does not have does not match.
    expect(where(await q({ topics: [null, null, [T1]] }))).toEqual([])
    expect(where(await q({ topics: [[], null] }))).toEqual(['1:0', '1:1', '1:2', '3:0', '3:1'])
    expect(where(await q({ fromBlock: 2n, toBlock: 3n }))).toEqual(['3:0', '3:1'])
    expect(where(await q({ fromBlock: 2n, toBlock: 2n }))).toEqual([])
    expect(where(await q({ fromBlock: 4n, toBlock: 9n }))).toEqual([])

    const [first] = await q({ addresses: [ADDR_B] })
    expect(first).toEqual({
      address: ADDR_B,
      topics: [T2, T3],
      data: bytes(3, 7),
      blockNumber: 1n,
      blockHash: b1.block.hash(),
      transactionHash: b1.executed[1]!.hash,
      transactionIndex: 1,
      logIndex: 1,
      removed: false,
    })
    expect((await q({ addresses: [ADDR_C] }))[0]!.transactionHash).toEqual(b3.executed[0]!.hash)

    await expect(q({ limit: 4 })).rejects.toMatchObject({
      code: 'LOG_LIMIT',
      message: 'query returned more than 4 results',
    })
    expect(await q({ limit: 5 })).toHaveLength(5)
    await expect(q({ fromBlock: 3n, toBlock: 2n })).rejects.toMatchObject({
      code: 'INVALID_RANGE',
      message: 'invalid block range params',
    })
    await expect(q({ topics: [null, null, null, null, null] })).rejects.toMatchObject({
      code: 'INVALID_QUERY',
    })
    await expect(q({ addresses: [bytes(19, 1)] })).rejects.toMatchObject({ code: 'INVALID_QUERY' })
    await expect(q({ topics: [[bytes(31, 1)]] })).rejects.toMatchObject({ code: 'INVALID_QUERY' })
  })

  it('skips blocks whose bloom cannot match without reading their receipts', async () => {
    const genesis = makeGenesis()
    const store0 = await ChainStore.open(db, { genesisBlock: genesis })
    let parent = genesis
    for (let i = 0; i < 20; i++) {
      // Only block 7 has a log from ADDR_C with T3; every block has one from ADDR_A.
      const logs = i === 6 ? [[log(ADDR_A, [T1]), log(ADDR_C, [T3])]] : [[log(ADDR_A, [T1])]]
      const b = makeBlock(parent, logs)
      await store0.commitBlock(b.block, b.executed)
      parent = b.block
    }
    // Count receipt reads through a wrapper; caches off so every read reaches the database.
    let receiptReads = 0
    const counting: ChainDb = {
      get status() {
        return db.status
      },
      open: () => db.open(),
      get: (k, o) => {
        if (k[0] === 0x03) receiptReads++
        return db.get(k, o)
      },
      getMany: (k, o) => db.getMany(k, o),
      batch: (ops, o) => db.batch(ops, o),
      iterator: (o) => db.iterator(o),
    }
    const store = await ChainStore.open(counting, { genesisBlock: genesis, receiptCacheSize: 0 })
    const byTopic = await store.getLogs({
      fromBlock: 0n,
      toBlock: 20n,
      addresses: [],
      topics: [[T3]],
      limit: 10,
    })
    expect(byTopic.map((l) => l.blockNumber)).toEqual([7n])
    expect(receiptReads).toBe(1)
    receiptReads = 0
    const byAddress = await store.getLogs({
      fromBlock: 0n,
      toBlock: 20n,
      addresses: [ADDR_C],
      topics: [],
      limit: 10,
    })
    expect(byAddress.map((l) => `${l.blockNumber}:${l.logIndex}`)).toEqual(['7:1'])
    expect(receiptReads).toBe(1)
    receiptReads = 0
    const both = await store.getLogs({
      fromBlock: 0n,
      toBlock: 20n,
      addresses: [ADDR_A],
      topics: [[T3]],
      limit: 10,
    })
    expect(both).toEqual([])
    // Block 7 passes the bloom (ADDR_A and T3 are both in it), the other 19 are skipped.
    expect(receiptReads).toBe(1)
  })

  it('refuses a data directory created for another genesis', async () => {
    const store = await ChainStore.open(db, { genesisBlock: makeGenesis() })
    await store.close()
    const other = makeGenesis(1)
    const err = await ChainStore.open(db, { genesisBlock: other }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ChainStoreError)
    expect(err).toMatchObject({ code: 'GENESIS_MISMATCH' })
    expect((err as Error).message).toContain(bytesToHex(other.hash()))
    expect((err as Error).message).toContain(bytesToHex(makeGenesis().hash()))
  })

  it('refuses blocks that do not extend the head or whose results do not match', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const b1 = makeBlock(genesis, [[]])
    const b2 = makeBlock(b1.block, [[]])
    await expect(store.commitBlock(b2.block, b2.executed)).rejects.toMatchObject({ code: 'NOT_NEXT_BLOCK' })
    await expect(store.commitBlock(b1.block, [])).rejects.toMatchObject({ code: 'RECEIPTS_MISMATCH' })
    await expect(store.commitBlock(b1.block, b2.executed)).rejects.toMatchObject({
      code: 'RECEIPTS_MISMATCH',
    })
    await store.commitBlock(b1.block, b1.executed)
    await expect(store.commitBlock(b1.block, b1.executed)).rejects.toMatchObject({ code: 'NOT_NEXT_BLOCK' })
    expect(store.headNumber()).toBe(1n)
    const nonGenesis = makeBlock(genesis, [])
    await expect(ChainStore.open(db, { genesisBlock: nonGenesis.block })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  it('serialises concurrent commits in call order', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const b1 = makeBlock(genesis, [[log(ADDR_A, [T1])]])
    const b2 = makeBlock(b1.block, [[log(ADDR_B, [T2])]])
    const b3 = makeBlock(b2.block, [])
    await Promise.all([
      store.commitBlock(b1.block, b1.executed),
      store.commitBlock(b2.block, b2.executed),
      store.commitBlock(b3.block, b3.executed),
    ])
    expect(store.headNumber()).toBe(3n)
  })

  it('commits a run of blocks in one batch, or none of it', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const b1 = makeBlock(genesis, [[log(ADDR_A, [T1])]])
    const b2 = makeBlock(b1.block, [])
    const b3 = makeBlock(b2.block, [[]])
    const stray = makeBlock(b1.block, [[log(ADDR_B, [T2])]])
    // The third does not extend the second: nothing of the run is written.
    await expect(store.commitBlocks([b1, b2, stray])).rejects.toMatchObject({ code: 'NOT_NEXT_BLOCK' })
    expect(store.headNumber()).toBe(0n)
    expect(await store.getBlockByNumber(1n)).toBeUndefined()
    await store.commitBlocks([b1, b2, b3])
    expect(store.headNumber()).toBe(3n)
    await store.close()
    await db.close()
    db = await openDb()
    const reopened = await ChainStore.open(db, { genesisBlock: genesis })
    expect(reopened.headNumber()).toBe(3n)
    expect(bytesToHex((await reopened.getBlockByNumber(2n))!.hash())).toBe(bytesToHex(b2.block.hash()))
    expect((await reopened.getReceipt(b1.executed[0]!.hash))?.logs).toHaveLength(1)
  })

  it('truncates the chain atomically (evm_revert) and can grow again', async () => {
    const genesis = makeGenesis()
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const [b1, b2, b3] = await seed(store, genesis)
    await store.truncateAfter(1n)
    expect(store.headNumber()).toBe(1n)
    expect(store.head().hash()).toEqual(b1.block.hash())
    expect(await store.getBlockByNumber(2n)).toBeUndefined()
    expect(await store.getBlockByHash(b3.block.hash())).toBeUndefined()
    expect(await store.getReceipts(b2.block.hash())).toBeUndefined()
    expect(await store.getTxLocation(b3.executed[0]!.hash)).toBeUndefined()
    expect(await store.getTxLocation(b1.executed[0]!.hash)).toBeDefined()
    const all = await store.getLogs({ fromBlock: 0n, toBlock: 10n, addresses: [], topics: [], limit: 100 })
    expect(all.map((l) => l.blockNumber)).toEqual([1n, 1n, 1n])
    expect(
      await store.getLogs({ fromBlock: 0n, toBlock: 10n, addresses: [ADDR_C], topics: [], limit: 9 }),
    ).toEqual([])
    await store.truncateAfter(5n) // no-op above the head
    await expect(store.truncateAfter(-1n)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })

    const again = makeBlock(b1.block, [[log(ADDR_C, [T2])]])
    await store.commitBlock(again.block, again.executed)
    await store.close()
    await db.close()
    db = await openDb()
    const reopened = await ChainStore.open(db, { genesisBlock: genesis })
    expect(reopened.head().hash()).toEqual(again.block.hash())
    const logs = await reopened.getLogs({
      fromBlock: 0n,
      toBlock: 10n,
      addresses: [ADDR_C],
      topics: [],
      limit: 9,
    })
    expect(logs.map((l) => l.transactionHash)).toEqual([again.executed[0]!.hash])
    await expect(reopened.close().then(() => reopened.truncateAfter(0n))).rejects.toMatchObject({
      code: 'CLOSED',
    })
  })

  it('works over a sublevel sharing the database with other keyspaces', async () => {
    const chainDb = db.sublevel<Uint8Array, Uint8Array>('chain', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    })
    const other = db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' })
    await other.put(bytes(9, 2), bytes(1, 1))
    const genesis = makeGenesis()
    const store = await ChainStore.open(chainDb, { genesisBlock: genesis })
    const [b1] = await seed(store, genesis)
    expect(
      (await store.getLogs({ fromBlock: 0n, toBlock: 9n, addresses: [], topics: [], limit: 10 })).length,
    ).toBe(5)
    expect((await store.getReceipt(b1.executed[0]!.hash))?.blockNumber).toBe(1n)
    expect(Uint8Array.from((await other.get(bytes(9, 2)))!)).toEqual(bytes(1, 1))
  })

  it("writes another keyspace's operations in the block's batch through the parent database", async () => {
    const view = { keyEncoding: 'view', valueEncoding: 'view' } as const
    const chainDb = db.sublevel<Uint8Array, Uint8Array>('chain', view)
    const state = db.sublevel<Uint8Array, Uint8Array>('state', view)
    const genesis = makeGenesis()
    let batches = 0
    const batchDb = {
      batch: (ops: ChainDbOperation[], o: typeof view) => {
        batches++
        return db.batch(ops, o)
      },
    }
    const store = await ChainStore.open(chainDb, { genesisBlock: genesis, batchDb })
    const b1 = makeBlock(genesis, [[]])
    const extra = [
      { type: 'put' as const, key: state.prefixKey(bytes(32, 9), 'view', false), value: bytes(3, 1) },
    ]
    await store.commitBlocks([b1], extra)
    expect(batches).toBe(1)
    expect(Uint8Array.from((await state.get(bytes(32, 9)))!)).toEqual(bytes(3, 1))
    expect(store.head().hash()).toEqual(b1.block.hash())
    expect((await store.getReceipt(b1.executed[0]!.hash))?.blockNumber).toBe(1n)
    // Reopened from the disk: the chain keyspace is where it belongs.
    const reopened = await ChainStore.open(chainDb, { genesisBlock: genesis })
    expect(reopened.head().hash()).toEqual(b1.block.hash())
    // A store without batchDb refuses them (it could not write them with the block).
    const plain = await ChainStore.open(db.sublevel<Uint8Array, Uint8Array>('other', view), {
      genesisBlock: genesis,
    })
    await expect(plain.commitBlocks([makeBlock(genesis, [])], extra)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})
