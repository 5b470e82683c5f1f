/**
 * The one-way commit path (src/chain/chain.ts): blocks are persisted, then every observer is
 * awaited in registration order; the pool follows the chain on its own (txpool/maintain.ts); RPC
 * events go out after the pool has dropped the mined transactions.
 */
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { parseGenesis } from '@openledger/evm-runtime'
import { Level } from 'level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeBackend } from '../src/backend/node-backend.ts'
import type { ChainObserver, CommitSource } from '../src/chain/chain.ts'
import { buildDevGenesis } from '../src/genesis/dev-genesis.ts'
import { TxIntake } from '../src/intake/tx-intake.ts'
import type { DevAccount } from '../src/keys/dev-accounts.ts'
import { silentLogger } from '../src/logger.ts'
import { type NodeCore, openCore } from '../src/node.ts'
import { hex } from '../src/util/bytes.ts'

const closers: Array<() => Promise<unknown>> = []
let core: NodeCore
let accounts: DevAccount[]

beforeAll(async () => {
  const dev = await buildDevGenesis({ accounts: 2 })
  accounts = dev.accounts
  core = await openCore({ genesis: parseGenesis(dev.json), log: silentLogger() }, closers)
})

afterAll(async () => {
  for (const close of closers) await close().catch(() => {})
})

function transfer(nonce: bigint, value = 1n) {
  return createFeeMarket1559Tx(
    {
      chainId: core.runtime.chainId,
      nonce,
      to: accounts[1]!.address,
      value,
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
    },
    { common: core.runtime.common },
  ).sign(accounts[0]!.privateKey)
}

async function buildOn(txs: ReturnType<typeof transfer>[]) {
  const parent = core.chain.head.header
  return core.runtime.buildBlock(parent, txs, {
    timestamp: parent.timestamp + 1n,
    coinbase: new Uint8Array(20),
    parentStateRoot: core.chain.workingStateRoot,
  })
}

describe('Chain: commit, then observers in order', () => {
  it('awaits each observer in registration order before commit resolves; a failing one does not stop the rest', async () => {
    const seen: string[] = []
    const slow: ChainObserver = {
      name: 'slow',
      async onCommit(blocks, source) {
        await new Promise((r) => setTimeout(r, 20))
        seen.push(`slow:${blocks[0]!.block.header.number}:${source}`)
      },
    }
    const failing: ChainObserver = {
      name: 'failing',
      onCommit() {
        seen.push('failing')
        throw new Error('observer bug')
      },
    }
    const last: ChainObserver = {
      name: 'last',
      onCommit(blocks) {
        // The block is persisted before anyone is told.
        expect(core.store.head().hash()).toEqual(blocks[0]!.block.hash())
        seen.push('last')
      },
    }
    const offs = [slow, failing, last].map((o) => core.chain.subscribe(o))
    const built = await buildOn([])
    await core.chain.commit(built, 'local' satisfies CommitSource)
    expect(seen).toEqual([`slow:${built.block.header.number}:local`, 'failing', 'last'])
    for (const off of offs) off()
    await core.chain.commit(await buildOn([]), 'local')
    expect(seen).toHaveLength(3)
  })

  it('the pool follows committed blocks; RPC events see the pool already updated', async () => {
    const backend = new NodeBackend({
      ...core,
      intake: new TxIntake(core),
      clientVersion: 'test',
      keys: new Map(),
    })
    try {
      const state = await core.runtime.getAccount(core.chain.workingStateRoot, accounts[0]!.address)
      const nonce = state?.nonce ?? 0n
      const [a, b, c] = [transfer(nonce), transfer(nonce + 1n), transfer(nonce + 2n)]
      const sender = accounts[0]!.address
      await core.pool.add(a, sender)
      await core.pool.add(c, sender) // gap: queued until b is mined
      expect(core.pool.status()).toEqual({ pending: 1, queued: 1 })
      const atEvent: Array<{ has: boolean; status: { pending: number; queued: number } }> = []
      backend.events.on('block', () =>
        atEvent.push({ has: core.pool.has(a.hash()), status: core.pool.status() }),
      )
      // b reaches the chain without passing through this pool (as from another validator).
      const built = await buildOn([a, b])
      expect(built.executed).toHaveLength(2)
      await core.chain.commit(built, 'network')
      // Nobody told the pool: it dropped a, and c (its gap filled by b) is now pending.
      expect(core.pool.has(a.hash())).toBe(false)
      expect(core.pool.status()).toEqual({ pending: 1, queued: 0 })
      expect(atEvent).toEqual([{ has: false, status: { pending: 1, queued: 0 } }])
    } finally {
      await backend.close()
    }
  })

  it('rollback: observers hear of it, and the pool re-reads its senders', async () => {
    const heads: bigint[] = []
    const off = core.chain.subscribe({
      name: 'rollback probe',
      onRollback: (head) => void heads.push(head.header.number),
    })
    const sender = accounts[0]!.address
    const nonce = (await core.runtime.getAccount(core.chain.workingStateRoot, sender))!.nonce
    const [c, d] = [transfer(nonce), transfer(nonce + 1n)]
    // c is the same transaction as the previous test's c, still pending there.
    if (!core.pool.has(c.hash())) await core.pool.add(c, sender)
    await core.pool.add(d, sender)
    expect(core.pool.status()).toEqual({ pending: 2, queued: 0 })
    const before = core.chain.head
    await core.chain.commit(await buildOn([c]), 'local')
    expect(core.pool.status()).toEqual({ pending: 1, queued: 0 })
    await core.chain.rollbackTo(before.header.number, before.header.stateRoot)
    off()
    expect(heads).toEqual([before.header.number])
    // The sender's nonce is back below d's: d waits for a gap again.
    expect(core.pool.status()).toEqual({ pending: 0, queued: 1 })
  })
  it('a range committed at once (sync) is indexed, empty blocks included, and unwinds', async () => {
    const sender = accounts[0]!.address
    const nonce = (await core.runtime.getAccount(core.chain.workingStateRoot, sender))!.nonce
    const range = []
    let parent = core.chain.head.header
    let root = core.chain.workingStateRoot
    for (const txs of [[], [transfer(nonce)], [], []]) {
      const built = await core.runtime.buildBlock(parent, txs, {
        timestamp: parent.timestamp + 1n,
        coinbase: new Uint8Array(20),
        parentStateRoot: root,
      })
      range.push(built)
      parent = built.block.header
      root = parent.stateRoot
    }
    const first = range[0]!.block.header.number
    await core.chain.commitMany(range, 'network')
    await core.addressIndex.settled()
    expect(core.addressIndex.head).toBe(first + 3n)
    const mined = range[1]!.executed[0]!.hash
    expect(hex((await core.addressIndex.bySenderAndNonce(sender, nonce)) ?? new Uint8Array())).toBe(
      hex(mined),
    )
    const page = await core.addressIndex.page(sender, 'after', first - 1n, 25)
    expect(page.txs.map((t) => t.blockNumber)).toEqual([first + 1n])
    // A rollback to the range's first (empty) block removes the transaction's entries.
    await core.chain.rollbackTo(first, range[0]!.block.header.stateRoot)
    expect(core.addressIndex.head).toBe(first)
    expect(await core.addressIndex.bySenderAndNonce(sender, nonce)).toBeUndefined()
    expect((await core.addressIndex.page(sender, 'after', first - 1n, 25)).txs).toEqual([])
  })
})

describe('Chain: one LevelDB batch per block', () => {
  /** Every batch the LevelDB binding writes meanwhile, as the sublevel prefixes of its keys. */
  async function batchesDuring(fn: () => Promise<void>): Promise<string[][]> {
    const proto = Level.prototype as unknown as {
      _batch(ops: Array<{ key: Uint8Array }>, o: unknown): Promise<void>
    }
    const original = proto._batch
    const seen: string[][] = []
    proto._batch = function (ops, o) {
      const spaces = new Set(ops.map((op) => /^!([a-z]+)!/.exec(Buffer.from(op.key).toString('latin1'))?.[1]))
      seen.push([...spaces].map(String).sort())
      return original.call(this, ops, o)
    }
    try {
      await fn()
    } finally {
      proto._batch = original
    }
    return seen
  }

  it("writes a block's state with its chain data and head pointer, and nothing of it before", async () => {
    // A second handle on the same LevelDB (as RPC's execution workers open it) sees the disk only.
    const disk = new Level<Uint8Array, Uint8Array>(core.dbPath, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    })
    await disk.open({ multithreading: true } as Parameters<typeof disk.open>[0])
    const view = { keyEncoding: 'view', valueEncoding: 'view' } as const
    const state = disk.sublevel<Uint8Array, Uint8Array>('state', view)
    try {
      const sender = accounts[0]!.address
      const nonce = (await core.runtime.getAccount(core.chain.workingStateRoot, sender))!.nonce
      let built: Awaited<ReturnType<typeof buildOn>> | undefined
      const duringBuild = await batchesDuring(async () => {
        built = await buildOn([transfer(nonce, 7n)]) // a state no earlier test wrote
      })
      const root = built!.block.header.stateRoot
      expect(duringBuild).toEqual([])
      expect(await state.get(root)).toBeUndefined()
      // In memory meanwhile: this thread reads the new state.
      expect((await core.runtime.getAccount(root, sender))!.nonce).toBe(nonce + 1n)

      // A commit the store refuses writes nothing and keeps the state for the next batch.
      await expect(core.chain.commit({ block: built!.block, executed: [] }, 'local')).rejects.toMatchObject({
        code: 'RECEIPTS_MISMATCH',
      })
      expect(await state.get(root)).toBeUndefined()
      expect((await core.runtime.getAccount(root, sender))!.nonce).toBe(nonce + 1n)

      const batches = await batchesDuring(() => core.chain.commit(built!, 'local'))
      // The address index writes later, in batches of its own (store/address-index.ts).
      expect(batches.filter((spaces) => !spaces.includes('ots'))).toEqual([['chain', 'state']])
      expect(await state.get(root)).toBeDefined()
      expect(core.store.head().hash()).toEqual(built!.block.hash())
    } finally {
      await disk.close()
    }
  })
})
