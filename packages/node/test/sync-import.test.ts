/**
 * Range import as block sync runs it: a chain of sealed QBFT blocks full of transfers, built by one
 * node, imported by a fresh one with its seals and senders recovered on the worker threads ahead
 * of execution (`prepareRange`), must end in the same state; and the workers' senders are what
 * in-thread recovery gives, so a forged signature fails the block either way.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Block,
  createBlock,
  createBlockHeaderFromBytesArray,
  genTransactionsTrieRoot,
} from '@ethereumjs/block'
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import {
  create1559FeeMarketTxFromBytesArray,
  createFeeMarket1559Tx,
  createTxFromRLP,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import { encodeExtraData, hashForCommitSeal, headerWithSeals, QBFT_MIX_HASH } from '@openledger/consensus'
import { type ExecutionRuntime, initCrypto, parseGenesis, recoverSender } from '@openledger/evm-runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecoverPool } from '../src/backend/recover-pool.ts'
import { BlockImporter, ImportError, prerecoverSenders } from '../src/chain/importer.ts'
import { decodeQbftBlock, rawTransactions, withQbftHash } from '../src/consensus/block-codec.ts'
import { nativeRecover, nativeSigner } from '../src/consensus/crypto.ts'
import { buildQbftGenesis } from '../src/genesis/qbft-genesis.ts'
import { silentLogger } from '../src/logger.ts'
import { type NodeCore, openCore } from '../src/node.ts'
import { bytesEqual, hex } from '../src/util/bytes.ts'

const CHAIN_ID = 4242n
const validatorKey = new Uint8Array(32).fill(9)
const validator = privateToAddress(validatorKey)
const senders = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(i + 1))
let genesis: ReturnType<typeof parseGenesis>

const closers: Array<() => Promise<unknown>> = []
let source: NodeCore
const pool = new RecoverPool({ threads: 1, startAtRate: 0 })

afterAll(async () => {
  await pool.close()
  for (const c of closers) await c().catch(() => {})
})

function transfer(runtime: ExecutionRuntime, sender: number, nonce: bigint): TypedTransaction {
  return createFeeMarket1559Tx(
    {
      chainId: CHAIN_ID,
      nonce,
      maxFeePerGas: 100_000_000_000n,
      maxPriorityFeePerGas: 1n,
      gasLimit: 21_000n,
      to: new Uint8Array(20).fill(0xee),
      value: 1000n + BigInt(sender),
    },
    { common: runtime.common },
  ).sign(senders[sender]!)
}

/** Seals a built block with the validator's commit seal (what QBFT would have decided). */
function seal(runtime: ExecutionRuntime, block: Block): Block {
  const opts = runtime.blockOptions!
  const raw = block.header.raw()
  const sealed = headerWithSeals(raw, [nativeSigner(validatorKey, validator).sign(hashForCommitSeal(raw))])
  return withQbftHash(
    new Block(createBlockHeaderFromBytesArray(sealed, opts), block.transactions, [], [], opts),
  )
}

const extraData = encodeExtraData({
  vanity: new Uint8Array(32),
  validators: [validator],
  round: 0,
  seals: [],
})

/** Builds and commits `txsPerBlock` transfers per block on the source chain. */
async function buildOnSource(blocks: number, txsPerBlock: number): Promise<void> {
  const { chain, runtime } = source
  for (let b = 0; b < blocks; b++) {
    const parent = chain.head
    const txs = Array.from({ length: txsPerBlock }, (_, k) =>
      transfer(
        runtime,
        k % senders.length,
        parent.header.number * BigInt(txsPerBlock / senders.length) + BigInt(Math.floor(k / senders.length)),
      ),
    )
    const built = await runtime.buildBlock(parent.header, txs, {
      timestamp: parent.header.timestamp + 1n,
      coinbase: validator,
      extraData,
      mixHash: QBFT_MIX_HASH,
    })
    expect(built.executed).toHaveLength(txsPerBlock)
    await chain.commit({ block: seal(runtime, built.block), executed: built.executed }, 'consensus')
  }
}

async function freshImporter(recoverSenders = true, datadir?: string, closeWith = closers) {
  const core = await openCore(
    { datadir, genesis, log: silentLogger(), decorateBlock: withQbftHash },
    closeWith,
  )
  const importer = new BlockImporter({
    chain: core.chain,
    store: core.store,
    runtime: core.runtime,
    knownSenders: () => undefined,
    validators: () => [validator],
    recover: nativeRecover,
    log: silentLogger(),
    recoverSeals: async (items) => ((await pool.whenReady()) ? pool.recoverSeals(items) : undefined),
    recoverSenders: recoverSenders ? (raws) => pool.recoverMany(raws) : undefined,
  })
  return { core, importer }
}

/** The source's blocks from `from` as a peer sends them, decoded as sync decodes them. */
async function fetched(from: bigint, count: number, core: NodeCore): Promise<Block[]> {
  const raw = await source.store.getRawBlocks(from, count)
  return raw.map((b) => decodeQbftBlock(b, core.runtime.blockOptions!))
}

beforeAll(async () => {
  await initCrypto()
  // A QBFT chain of this repository's modules (staking's block hooks run in every block).
  const json = await buildQbftGenesis({ validators: [validator] })
  json.chainId = Number(CHAIN_ID)
  json.alloc = {
    ...(json.alloc as object),
    ...Object.fromEntries(
      senders.map((k) => [hex(privateToAddress(k)), { balance: '10000000000000000000' }]),
    ),
  }
  genesis = parseGenesis(json)
  source = await openCore({ genesis, log: silentLogger(), decorateBlock: withQbftHash }, closers)
  await buildOnSource(4, 64)
  await buildOnSource(20, 0)
})

describe('range import with off-thread seal and sender recovery', () => {
  it('imports a range of full blocks to the same state, the senders recovered by the workers', async () => {
    const { core, importer } = await freshImporter()
    const blocks = await fetched(1n, 4, core)
    const before = pool.offloaded
    const prepared = importer.prepareRange(blocks)
    expect(await importer.importRange(blocks, prepared)).toBe(4)
    // Every transaction's sender came from a worker (execution found it cached).
    expect(pool.offloaded - before).toBe(4 * 64)
    const four = await source.store.getBlockByNumber(4n)
    expect(bytesEqual(core.chain.head.hash(), four!.hash())).toBe(true)
    expect(bytesEqual(core.chain.head.header.stateRoot, four!.header.stateRoot)).toBe(true)
    const receipts = await core.store.getReceipts(core.chain.head.hash())
    expect(receipts?.length).toBe(64)
  })

  it('puts every block of a range on disk with its state (held in memory, one write per run)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openledger-sync-import-'))
    const mine: Array<() => Promise<unknown>> = []
    try {
      const { core, importer } = await freshImporter(true, dir, mine)
      // 4 blocks of transfers, then 20 empty ones (staking's hooks change the state in each).
      const blocks = await fetched(1n, 24, core)
      expect(await importer.importRange(blocks)).toBe(24)
      for (const c of mine.splice(0)) await c()
      const reopened = await openCore(
        { datadir: dir, genesis, log: silentLogger(), decorateBlock: withQbftHash },
        mine,
      )
      expect(reopened.chain.head.header.number).toBe(24n)
      const roots = new Set<string>()
      for (let n = 1n; n <= 24n; n++) {
        const block = await reopened.store.getBlockByNumber(n)
        roots.add(hex(block!.header.stateRoot))
        // Every block's state is readable after the restart: nothing stayed held.
        expect(await reopened.runtime.getAccount(block!.header.stateRoot, validator)).toBeDefined()
      }
      expect(roots.size).toBe(24)
    } finally {
      for (const c of mine) await c().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('gives the bytes each transaction was decoded from', async () => {
    const { core } = await freshImporter()
    const [block] = await fetched(2n, 1, core)
    expect(rawTransactions(block!).map((r) => Buffer.from(r).toString('hex'))).toEqual(
      block!.transactions.map((t) => Buffer.from(t.serialize()).toString('hex')),
    )
  })

  it('refuses a block with a forged signature as in-thread recovery does; the valid prefix stays', async () => {
    const { core, importer } = await freshImporter()
    const good = await fetched(1n, 1, core)
    // Block 2 again, its first transaction's r changed: it recovers to another (unfunded) account.
    const [two] = await fetched(2n, 1, core)
    const txs = two!.transactions.map((t, i) => {
      if (i !== 0) return t
      const raw = t.raw() as Uint8Array[]
      raw[10] = Uint8Array.from(raw[10]!)
      raw[10][31]! ^= 1
      return create1559FeeMarketTxFromBytesArray(raw as never, { common: core.runtime.common })
    })
    const opts = core.runtime.blockOptions!
    const txRoot = await genTransactionsTrieRoot(txs)
    const header = { ...two!.header.toJSON(), transactionsTrie: txRoot, extraData }
    const unsealed = createBlock({ header, transactions: txs }, opts)
    const bad = seal(core.runtime, unsealed)
    // The workers' senders are exactly what EthereumJS alone recovers from the same bytes.
    const forged = decodeQbftBlock(bad.serialize(), opts)
    expect(await prerecoverSenders(forged, (r) => pool.recoverMany(r))).toBe(64)
    const plainCommon = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, {
      hardfork: Hardfork.Prague,
    })
    for (const tx of forged.transactions)
      expect(hex(recoverSender(tx))).toBe(
        createTxFromRLP(tx.serialize(), { common: plainCommon }).getSenderAddress().toString(),
      )
    const blocks = [...good, decodeQbftBlock(bad.serialize(), opts)]
    const err = await importer.importRange(blocks, importer.prepareRange(blocks)).catch((e) => e)
    expect(err).toBeInstanceOf(ImportError)
    expect((err as ImportError).code).toBe('INVALID_BLOCK')
    expect(core.chain.head.header.number).toBe(1n)
    // The same with in-thread recovery only.
    const plain = await freshImporter(false)
    const again = [...(await fetched(1n, 1, plain.core)), decodeQbftBlock(bad.serialize(), opts)]
    const err2 = await plain.importer.importRange(again).catch((e) => e)
    expect((err2 as ImportError).code).toBe('INVALID_BLOCK')
    expect(plain.core.chain.head.header.number).toBe(1n)
  })
})
