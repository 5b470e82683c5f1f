/**
 * Block hooks (src/block/hooks.ts): system work before and after a block's transactions, run by
 * building, importing and tracing alike, covered by the state root, all-or-nothing with the block.
 */
import type { BlockHeader } from '@ethereumjs/block'
import { afterAll, describe, expect, test } from 'vitest'
import {
  type BlockHook,
  type BlockHookContext,
  BlockHookError,
  BlockValidationError,
  type EndBlockContext,
  ExecutionFault,
  type ExecutionRuntime,
  InvalidArgumentError,
  parseGenesis,
} from '../src/index.ts'
import { ADDRS, bytes, cleanupDirs, ETH, genesisJson, hex, KEYS, openRuntime, transfer } from './helpers.ts'

const COINBASE = bytes('0x00000000000000000000000000000000000c0ffe')
/** A system account whose storage the end-block hook writes (exists from genesis, like a module's). */
const SYSTEM = bytes('0x4f50454e00000000000000000000000000000042')
const BENEFICIARY = bytes('0x00000000000000000000000000000000000be4e5')
const REWARD = 1000n
const SLOT0 = new Uint8Array(32)

function word(n: bigint): Uint8Array {
  return bytes(n.toString(16).padStart(64, '0'))
}

// ADDRS[2] holds nothing at genesis: only the hook's mint lets it pay for a transaction.
const genesis = parseGenesis(
  genesisJson({
    alloc: {
      [hex(ADDRS[0])]: { balance: (1000n * ETH).toString() },
      [hex(SYSTEM)]: { balance: '0', nonce: '1', code: '0xfe' },
    },
  }),
)

/** beginBlock mints REWARD to the beneficiary and 1 OPEN to ADDRS[2]; endBlock stores
 * (block number << 128 | gas used << 8 | tx count) in SYSTEM's slot 0. */
function rewardHook(log?: { begin: BlockHookContext[]; end: EndBlockContext[] }): BlockHook {
  return {
    name: 'reward',
    async beginBlock(ctx) {
      log?.begin.push({ ...ctx, block: { ...ctx.block } })
      await ctx.state.mint(BENEFICIARY, REWARD)
      await ctx.state.mint(ADDRS[2], ETH)
    },
    async endBlock(ctx) {
      log?.end.push(ctx)
      const v = (ctx.block.number << 128n) | (ctx.gasUsed << 8n) | BigInt(ctx.executed.length)
      await ctx.state.putStorage(SYSTEM, SLOT0, word(v))
    },
  }
}

const opened: Array<{ runtime: ExecutionRuntime; db: { level: { close(): Promise<void> } } }> = []
async function open(blockHooks?: BlockHook[]) {
  const r = await openRuntime(genesis, { blockHooks })
  opened.push(r)
  return r.runtime
}

afterAll(async () => {
  for (const r of opened) {
    await r.runtime.close()
    await r.db.level.close()
  }
  cleanupDirs()
})

const build = (
  rt: ExecutionRuntime,
  parent: BlockHeader,
  txs: Parameters<ExecutionRuntime['buildBlock']>[1] = [],
) => rt.buildBlock(parent, txs, { timestamp: parent.timestamp + 1n, coinbase: COINBASE })

describe('block hooks', () => {
  test('an empty block with a state-changing hook gets a new state root, and import re-runs the hook', async () => {
    const a = await open([rewardHook()])
    const g = a.genesisBlock.header
    const { block } = await build(a, g)
    expect(block.transactions).toHaveLength(0)
    expect(hex(block.header.stateRoot)).not.toBe(hex(g.stateRoot))
    expect((await a.getAccount(block.header.stateRoot, BENEFICIARY))?.balance).toBe(REWARD)
    expect(hex(await a.getStorage(block.header.stateRoot, SYSTEM, SLOT0))).toBe(hex(word(1n << 128n)))

    // A node with the same hooks accepts it: the empty block is executed, not short-cut.
    const b = await open([rewardHook()])
    await expect(b.executeBlock(block, b.genesisBlock.header)).resolves.toEqual([])
    expect((await b.getAccount(block.header.stateRoot, BENEFICIARY))?.balance).toBe(REWARD)

    // A node without the hook rejects it (its empty-block shortcut expects the parent's root) …
    const c = await open()
    const err = await c.executeBlock(block, c.genesisBlock.header).catch((e) => e)
    expect(err).toBeInstanceOf(BlockValidationError)
    expect((err as BlockValidationError).field).toBe('stateRoot')
    // … and a node with the hook rejects an empty block built without it.
    const { block: plain } = await build(c, c.genesisBlock.header)
    expect(hex(plain.header.stateRoot)).toBe(hex(g.stateRoot))
    const err2 = await b.executeBlock(plain, b.genesisBlock.header).catch((e) => e)
    expect(err2).toBeInstanceOf(BlockValidationError)
    expect((err2 as BlockValidationError).field).toBe('stateRoot')
  })

  test('hooks see the block env; beginBlock runs before the transactions and endBlock after', async () => {
    const log = { begin: [] as BlockHookContext[], end: [] as EndBlockContext[] }
    const a = await open([rewardHook(log)])
    const g = a.genesisBlock.header
    // ADDRS[2] can only pay for its transfer with what beginBlock minted in this same block.
    const txs = [transfer(a.common, KEYS[0], 0n, ADDRS[1], 5n), transfer(a.common, KEYS[2], 0n, ADDRS[1], 7n)]
    const built = await build(a, g, txs)
    expect(built.rejected).toEqual([])
    expect(built.executed).toHaveLength(2)
    const [begin] = log.begin
    expect(begin?.chainId).toBe(a.chainId)
    expect(begin?.block).toEqual({
      number: 1n,
      timestamp: g.timestamp + 1n,
      coinbase: COINBASE,
      parentHash: g.hash(),
      gasLimit: g.gasLimit,
      baseFeePerGas: built.block.header.baseFeePerGas,
      parentBeaconBlockRoot: new Uint8Array(32),
    })
    expect(log.end[0]?.executed.map((e) => hex(e.hash))).toEqual(txs.map((t) => hex(t.hash())))
    expect(log.end[0]?.gasUsed).toBe(42_000n)
    const root = built.block.header.stateRoot
    expect(hex(await a.getStorage(root, SYSTEM, SLOT0))).toBe(hex(word((1n << 128n) | (42_000n << 8n) | 2n)))

    // Import runs the same hooks with the same env.
    const b = await open([rewardHook(log)])
    const executed = await b.executeBlock(built.block, b.genesisBlock.header)
    expect(executed.map((e) => e.status)).toEqual([1, 1])
    expect(log.begin[1]?.block).toEqual(begin?.block)
  })

  test('tracing replays beginBlock before the traced transaction', async () => {
    const a = await open([rewardHook()])
    const g = a.genesisBlock.header
    const built = await build(a, g, [transfer(a.common, KEYS[2], 0n, ADDRS[1], 7n)])
    expect(built.executed).toHaveLength(1)
    const trace = (await a.traceTransaction(built.block, g, 0, { tracer: 'callTracer' })) as Record<
      string,
      unknown
    >
    expect(trace.error).toBeUndefined()
    expect(trace.gasUsed).toBe('0x5208')
    expect(trace.from).toBe(hex(ADDRS[2]))

    // A replayed beginBlock that throws makes the trace a named fault (JSON-RPC -32603 with the cause).
    const failing = await open([
      {
        name: 'broken',
        async beginBlock() {
          throw new Error('no L1 today')
        },
      },
    ])
    const err = (await failing.traceTransaction(built.block, g, 0, {}).catch((e) => e)) as ExecutionFault
    expect(err).toBeInstanceOf(ExecutionFault)
    expect(err.cause).toBeInstanceOf(BlockHookError)
    expect(err.message).toBe(
      'execution failed internally: block hook broken failed in beginBlock: no L1 today',
    )
  })

  test('a hook that fails whatever the block holds fails the block and persists nothing', async () => {
    let failAt: bigint | undefined = 2n
    const flaky: BlockHook = {
      name: 'flaky',
      async endBlock(ctx) {
        await ctx.state.mint(BENEFICIARY, 1n)
        if (ctx.block.number === failAt) throw new Error('boom')
      },
    }
    const a = await open([rewardHook(), flaky])
    const { block: b1 } = await build(a, a.genesisBlock.header)
    const tx = transfer(a.common, KEYS[0], 0n, ADDRS[1], 5n)
    const err = await build(a, b1.header, [tx]).catch((e) => e)
    expect(err).toBeInstanceOf(BlockHookError)
    expect(err).toMatchObject({ hook: 'flaky', phase: 'endBlock' })
    // The parent's state is intact and the next attempt starts from it: same tx, same nonce.
    expect((await a.getAccount(b1.header.stateRoot, BENEFICIARY))?.balance).toBe(REWARD + 1n)
    failAt = undefined
    const ok = await build(a, b1.header, [tx])
    expect(ok.executed).toHaveLength(1)
    expect((await a.getAccount(ok.block.header.stateRoot, BENEFICIARY))?.balance).toBe(2n * (REWARD + 1n))

    // Import: a failing hook rejects the block and leaves the importer on its parent.
    failAt = 2n
    const b = await open([rewardHook(), flaky])
    await b.executeBlock(b1, b.genesisBlock.header)
    const refused = await b.executeBlock(ok.block, b1.header).catch((e) => e)
    expect(refused).toBeInstanceOf(BlockValidationError)
    expect(refused).toMatchObject({ field: 'hooks', message: /block hook flaky failed in endBlock: boom/ })
    expect(await b.hasState(ok.block.header.stateRoot)).toBe(false)
    failAt = undefined
    await expect(b.executeBlock(ok.block, b1.header)).resolves.toHaveLength(1)
    expect(await b.hasState(ok.block.header.stateRoot)).toBe(true)
  })

  test('endBlock failing on one transaction: the builder leaves it out, and its block imports', async () => {
    // Writes state, then refuses any block holding a transfer to POISON (the state stays clean).
    const POISON = bytes('0x00000000000000000000000000000000000000ba')
    const picky: BlockHook = {
      name: 'picky',
      async endBlock(ctx) {
        await ctx.state.putStorage(SYSTEM, word(1n), word(BigInt(ctx.executed.length)))
        await ctx.state.mint(BENEFICIARY, 7n)
        if (ctx.executed.some((e) => e.tx.to !== undefined && hex(e.tx.to.bytes) === hex(POISON)))
          throw new Error('poisoned block')
      },
    }
    const a = await open([rewardHook(), picky])
    const b = await open([rewardHook(), picky])
    const g = a.genesisBlock.header
    const txs = [
      transfer(a.common, KEYS[0], 0n, ADDRS[1], 1n),
      transfer(a.common, KEYS[0], 1n, ADDRS[1], 2n),
      transfer(a.common, KEYS[0], 2n, POISON, 3n),
      transfer(a.common, KEYS[0], 3n, ADDRS[1], 4n),
    ]
    const built = await build(a, g, txs)
    expect(built.executed.map((e) => e.tx.nonce)).toEqual([0n, 1n])
    const poisoned = built.rejected.find((r) => r.tx.nonce === 2n)!
    expect(poisoned).toMatchObject({ retry: false, reason: /block hook picky failed in endBlock: poisoned/ })
    expect(poisoned.fault).toBeInstanceOf(BlockHookError)
    expect(built.rejected.find((r) => r.tx.nonce === 3n)).toMatchObject({ retry: true })
    // The block is one the builder's peers accept: re-executed, same roots.
    await expect(b.executeBlock(built.block, g)).resolves.toHaveLength(2)
    expect(await a.getStorage(built.block.header.stateRoot, SYSTEM, word(1n))).toEqual(word(2n))
    // A poisoned block from someone else is refused and leaves the importer on its parent.
    const c = await open([rewardHook()])
    const { block: bad } = await build(c, g, txs.slice(0, 3))
    const err = await b.executeBlock(bad, g).catch((e) => e)
    expect(err).toBeInstanceOf(BlockValidationError)
    expect(err).toMatchObject({ field: 'hooks' })
    expect(await b.hasState(bad.header.stateRoot)).toBe(false)
  })

  test('a hook that claims parentBeaconBlockRoot receives it; without a claim it must be zero', async () => {
    const seen: Uint8Array[] = []
    const claiming: BlockHook = {
      name: 'origin',
      claimsParentBeaconBlockRoot: true,
      async beginBlock(ctx) {
        seen.push(ctx.block.parentBeaconBlockRoot)
        if (ctx.block.parentBeaconBlockRoot[0] === 0xff) throw new Error('unknown origin')
      },
    }
    const root = bytes(`0x${'ab'.repeat(32)}`)
    const a = await open([claiming])
    const g = a.genesisBlock.header
    const { block } = await a.buildBlock(g, [], {
      timestamp: g.timestamp + 1n,
      coinbase: COINBASE,
      parentBeaconBlockRoot: root,
    })
    expect(hex(block.header.parentBeaconBlockRoot!)).toBe(hex(root))
    const b = await open([claiming])
    await b.executeBlock(block, b.genesisBlock.header)
    expect(seen.map(hex)).toEqual([hex(root), hex(root)])
    // The claiming hook is the judge of the value.
    const bad = await a
      .buildBlock(g, [], {
        timestamp: g.timestamp + 1n,
        coinbase: COINBASE,
        parentBeaconBlockRoot: bytes(`0x${'ff'.repeat(32)}`),
      })
      .catch((e) => e)
    expect(bad).toBeInstanceOf(BlockHookError)
    // Without a claiming hook: the builder refuses the option and import refuses the header.
    const c = await open()
    expect(() =>
      c.buildBlock(g, [], { timestamp: g.timestamp + 1n, coinbase: COINBASE, parentBeaconBlockRoot: root }),
    ).toThrow(InvalidArgumentError)
    const err = await c.executeBlock(block, c.genesisBlock.header).catch((e) => e)
    expect(err).toBeInstanceOf(BlockValidationError)
    expect((err as BlockValidationError).message).toMatch(/parentBeaconBlockRoot/)
    await expect(open([claiming, { ...claiming, name: 'other' }])).rejects.toThrow(/only one hook/)
  })

  test('reads of the post-state just executed (served by the block VM) match every other root', async () => {
    const a = await open([rewardHook()])
    const b = await open([rewardHook()])
    let parent = a.genesisBlock.header
    const blocks = []
    for (let i = 0; i < 3; i++) {
      const { block } = await build(a, parent)
      blocks.push(block)
      parent = block.header
    }
    const expected = (n: bigint) => hex(word(n << 128n))
    const [b1, b2, b3] = blocks as [(typeof blocks)[0], (typeof blocks)[0], (typeof blocks)[0]]
    await b.executeBlock(b1, b.genesisBlock.header)
    // The block VM sits on block 1's root: a read there, the genesis root (the stateless reader)
    // and a slot or account that was never written.
    expect(hex(await b.getStorage(b1.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(1n))
    expect(hex(await b.getStorage(b.genesisBlock.header.stateRoot, SYSTEM, SLOT0))).toBe(hex(word(0n)))
    expect(hex(await b.getStorage(b1.header.stateRoot, SYSTEM, word(9n)))).toBe(hex(word(0n)))
    expect(hex(await b.getStorage(b1.header.stateRoot, BENEFICIARY, SLOT0))).toBe(hex(word(0n)))
    await expect(b.getStorage(b1.header.stateRoot, SYSTEM, new Uint8Array(31))).rejects.toThrow(/slot/)
    // A read of block 1's root while block 2 executes sees block 1's state, not block 2's writes.
    const importing = b.executeBlock(b2, b1.header)
    const during = b.getStorage(b1.header.stateRoot, SYSTEM, SLOT0)
    await importing
    expect(hex(await during)).toBe(expected(1n))
    expect(hex(await b.getStorage(b2.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(2n))
    expect(hex(await b.getStorage(b1.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(1n))
    // An invalid block leaves the VM on its parent's root, and reads there stay right.
    const bad = await b.executeBlock(b1, b2.header).catch((e) => e)
    expect(bad).toBeInstanceOf(BlockValidationError)
    expect(hex(await b.getStorage(b2.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(2n))
    await b.executeBlock(b3, b2.header)
    expect(hex(await b.getStorage(b3.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(3n))
    expect(hex(await a.getStorage(b3.header.stateRoot, SYSTEM, SLOT0))).toBe(expected(3n))
  })

  test('bad hook lists are refused at start', async () => {
    await expect(open([{ name: 'x' } as BlockHook])).rejects.toBeInstanceOf(InvalidArgumentError)
    const h: BlockHook = { name: 'x', async beginBlock() {} }
    await expect(open([h, h])).rejects.toThrow(/duplicate/)
  })
})
