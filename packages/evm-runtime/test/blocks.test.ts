import { type Block, createBlock } from '@ethereumjs/block'
import { verifyMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { createAccountFromRLP, generateAddress, KECCAK256_RLP } from '@ethereumjs/util'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { decodeFunctionResult, encodeFunctionData, parseAbi } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  BlockValidationError,
  ExecutionError,
  type ExecutionRuntime,
  MissingStateError,
} from '../src/index.ts'
import { contracts } from './contracts.ts'
import {
  ADDRS,
  bytes,
  cleanupDirs,
  ETH,
  hex,
  KEYS,
  legacy,
  makeGenesis,
  openRuntime,
  transfer,
  txData,
} from './helpers.ts'

const storeAbi = parseAbi([
  'function x() view returns (uint256)',
  'function set(uint256 v)',
  'function fail() pure',
  'function hashOf(uint256 n) view returns (bytes32)',
  'function bump(uint256 n)',
])
const enc = (functionName: 'x' | 'set' | 'fail' | 'hashOf' | 'bump', args: readonly bigint[] = []) =>
  bytes(encodeFunctionData({ abi: storeAbi, functionName, args } as Parameters<typeof encodeFunctionData>[0]))

const COINBASE = bytes('0x00000000000000000000000000000000000c0ffe')
const TREASURY = bytes('0x0000000000000000000000000000000000007ea5')

interface Chain {
  runtime: ExecutionRuntime
  close: () => Promise<void>
  path: string
}

async function chain(
  genesis = makeGenesis(),
  path?: string,
): Promise<Chain & { hashes: Map<bigint, Uint8Array> }> {
  const { runtime, db, hashes } = await openRuntime(genesis, { path })
  hashes.set(0n, runtime.genesisBlock.hash())
  return {
    runtime,
    hashes,
    path: db.path,
    close: async () => {
      await runtime.close()
      await db.level.close()
    },
  }
}

afterAll(cleanupDirs)

describe('block building and import', () => {
  let a: Awaited<ReturnType<typeof chain>>
  let block1: Block
  let storeAddr: Uint8Array
  let result1: Awaited<ReturnType<ExecutionRuntime['buildBlock']>>

  beforeAll(async () => {
    a = await chain()
    const { common } = a.runtime
    const pragueCommon = common.copy()
    pragueCommon.setHardfork('prague')
    const c = contracts().Store
    storeAddr = generateAddress(ADDRS[1], new Uint8Array(0))
    const txs = [
      transfer(common, KEYS[0], 0n, ADDRS[2], 1n * ETH),
      transfer(common, KEYS[0], 1n, ADDRS[2], 2n * ETH),
      txData(common, KEYS[1], 0n, undefined, c.bytecode), // deploy Store at nonce 0
      txData(common, KEYS[1], 1n, storeAddr, enc('set', [5n])),
      txData(common, KEYS[1], 2n, storeAddr, enc('fail'), { gas: 100_000n }), // reverts: included, status 0
      transfer(common, KEYS[2], 5n, ADDRS[0], 1n), // nonce too high: rejected, retry
      transfer(common, KEYS[0], 0n, ADDRS[1], 1n), // nonce too low (already used): rejected
      transfer(common, KEYS[2], 0n, ADDRS[0], 1n, { maxFee: 1n, tip: 1n }), // fee below base fee
      // Osaka: above EIP-7825's cap (made under Prague rules, which do not refuse it at creation)
      transfer(pragueCommon, KEYS[2], 0n, ADDRS[0], 1n, { gas: 20_000_000n }),
      legacy(common, KEYS[2], 0n, ADDRS[1], 3n, 2_000_000_000n),
    ]
    result1 = await a.runtime.buildBlock(a.runtime.genesisBlock.header, txs, {
      timestamp: 1001n,
      coinbase: COINBASE,
    })
    block1 = result1.block
    a.hashes.set(1n, block1.hash())
  })
  afterAll(async () => a.close())

  test('includes valid and reverting txs, skips and reports invalid ones', () => {
    const ex = result1.executed
    expect(ex.map((e) => e.status)).toEqual([1, 1, 1, 1, 0, 1])
    expect(block1.transactions.length).toBe(6)
    expect(ex[2].contractAddress && hex(ex[2].contractAddress)).toBe(hex(storeAddr))
    expect(ex[3].logs).toHaveLength(1)
    expect(hex(ex[3].logs[0].address)).toBe(hex(storeAddr))
    expect(ex[4].error?.message).toBe('revert')
    expect(ex[0].gasUsed).toBe(21_000n)
    expect(ex[1].cumulativeGasUsed).toBe(42_000n)
    expect(ex[5].effectiveGasPrice).toBe(2_000_000_000n) // legacy: its gas price
    expect(ex[0].effectiveGasPrice).toBe(block1.header.baseFeePerGas! + 1_000_000_000n) // base + tip
    expect(block1.header.gasUsed).toBe(ex[5].cumulativeGasUsed)
    expect(hex(ex[0].sender)).toBe(hex(ADDRS[0]))
    const reasons = result1.rejected.map((r) => [r.reason.split(':')[0], r.retry])
    expect(reasons).toEqual([
      ['nonce too high', true],
      ['nonce too low', false],
      ['fee cap 1 below the base fee 875000000', true],
      ['gas limit 20000000 exceeds the transaction gas limit cap 16777216 (EIP-7825)', false],
    ])
    expect(result1.timings.total).toBeGreaterThan(0)
    expect(block1.header.baseFeePerGas).toBe(1_000_000_000n - 1_000_000_000n / 8n) // empty-ish parent: -12.5%
  })

  test('persists the new state and keeps the old one', async () => {
    const r = a.runtime
    expect(await r.hasState(block1.header.stateRoot)).toBe(true)
    expect(await r.hasState(r.genesisBlock.header.stateRoot)).toBe(true)
    expect(await r.hasState(new Uint8Array(32).fill(7))).toBe(false)
    expect((await r.getAccount(block1.header.stateRoot, ADDRS[2]))!.balance).toBeGreaterThan(1002n * ETH)
    expect((await r.getAccount(r.genesisBlock.header.stateRoot, ADDRS[2]))!.balance).toBe(1000n * ETH)
    expect((await r.getCode(block1.header.stateRoot, storeAddr)).length).toBeGreaterThan(0)
    expect(await r.getCode(r.genesisBlock.header.stateRoot, storeAddr)).toEqual(new Uint8Array(0))
    const slot0 = await r.getStorage(block1.header.stateRoot, storeAddr, new Uint8Array(32))
    expect(hex(slot0)).toBe(`0x${'5'.padStart(64, '0')}`)
    await expect(r.getAccount(new Uint8Array(32).fill(7), ADDRS[0])).rejects.toBeInstanceOf(MissingStateError)
  })

  test('executeBlock on a fresh runtime accepts the block and reaches the same state', async () => {
    const b = await chain()
    try {
      expect(hex(b.runtime.genesisBlock.hash())).toBe(hex(a.runtime.genesisBlock.hash()))
      const executed = await b.runtime.executeBlock(block1, b.runtime.genesisBlock.header)
      expect(executed.map((e) => [e.status, e.gasUsed])).toEqual(
        result1.executed.map((e) => [e.status, e.gasUsed]),
      )
      expect(await b.runtime.hasState(block1.header.stateRoot)).toBe(true)
    } finally {
      await b.close()
    }
  })

  test('executeBlock rejects each tampered root and persists nothing', async () => {
    const b = await chain()
    try {
      const parent = b.runtime.genesisBlock.header
      const tamper = (changes: Record<string, unknown>) => {
        const h = block1.header.toJSON()
        return createBlock(
          { header: { ...h, ...changes }, transactions: block1.transactions, withdrawals: [] },
          b.runtime.blockOptions,
        )
      }
      const cases: Array<[string, Record<string, unknown>]> = [
        ['stateRoot', { stateRoot: hex(new Uint8Array(32).fill(1)) }],
        ['receiptsRoot', { receiptTrie: hex(new Uint8Array(32).fill(2)) }],
        ['logsBloom', { logsBloom: hex(new Uint8Array(256).fill(3)) }],
        ['gasUsed', { gasUsed: `0x${(block1.header.gasUsed + 1n).toString(16)}` }],
        ['baseFee', { baseFeePerGas: '0x1' }],
        ['transactionsRoot', { transactionsTrie: hex(KECCAK256_RLP) }],
      ]
      for (const [field, changes] of cases) {
        const err = await b.runtime.executeBlock(tamper(changes), parent).catch((e) => e)
        expect(err, `${field}: ${err}`).toBeInstanceOf(BlockValidationError)
        expect((err as BlockValidationError).field, String(err)).toBe(field)
        expect(await b.runtime.hasState(block1.header.stateRoot)).toBe(false)
      }
      // A block with an invalid tx (nonce reuse) is rejected as "txs".
      const bad = createBlock(
        {
          header: { ...block1.header.toJSON(), transactionsTrie: undefined },
          transactions: [...block1.transactions, transfer(b.runtime.common, KEYS[0], 0n, ADDRS[1], 1n)],
          withdrawals: [],
        },
        b.runtime.blockOptions,
      )
      const badWithRoot = createBlock(
        {
          header: { ...bad.header.toJSON(), transactionsTrie: hex(await bad.genTxTrie()) },
          transactions: bad.transactions,
          withdrawals: [],
        },
        b.runtime.blockOptions,
      )
      const err = await b.runtime.executeBlock(badWithRoot, parent).catch((e) => e)
      expect((err as BlockValidationError).field).toBe('txs')
      // The genuine block still imports after all the failures.
      await b.runtime.executeBlock(block1, parent)
      expect(await b.runtime.hasState(block1.header.stateRoot)).toBe(true)
    } finally {
      await b.close()
    }
  })

  test('an empty block keeps its parent state; executeBlock checks its header without the VM', async () => {
    const b = await chain()
    try {
      const parent = b.runtime.genesisBlock.header
      const built = await b.runtime.buildBlock(parent, [], { timestamp: 1001n, coinbase: COINBASE })
      expect(hex(built.block.header.stateRoot)).toBe(hex(parent.stateRoot))
      expect(await b.runtime.executeBlock(built.block, parent)).toEqual([])
      const h = built.block.header.toJSON()
      const cases: Array<[string, Record<string, unknown>]> = [
        ['stateRoot', { stateRoot: hex(new Uint8Array(32).fill(1)) }],
        ['receiptsRoot', { receiptTrie: hex(new Uint8Array(32).fill(2)) }],
        ['logsBloom', { logsBloom: hex(new Uint8Array(256).fill(3)) }],
        ['gasUsed', { gasUsed: '0x1' }],
        ['transactionsRoot', { transactionsTrie: hex(new Uint8Array(32).fill(4)) }],
      ]
      for (const [field, changes] of cases) {
        const tampered = createBlock(
          { header: { ...h, ...changes }, withdrawals: [] },
          b.runtime.blockOptions,
        )
        const err = await b.runtime.executeBlock(tampered, parent).catch((e) => e)
        expect((err as BlockValidationError).field, String(err)).toBe(field)
      }
    } finally {
      await b.close()
    }
  })

  test('eth_call reads the head and older roots; zero from address; overrides', async () => {
    const r = a.runtime
    const { common } = r
    const res2 = await r.buildBlock(
      block1.header,
      [txData(common, KEYS[1], 3n, storeAddr, enc('set', [9n]))],
      {
        timestamp: 1002n,
        coinbase: COINBASE,
      },
    )
    const block2 = res2.block
    const read = async (block: Block) => {
      const out = await r.call({ to: storeAddr, data: enc('x') }, block.header)
      expect(out.error).toBeUndefined()
      return decodeFunctionResult({
        abi: storeAbi,
        functionName: 'x',
        data: hex(out.returnData) as `0x${string}`,
      })
    }
    expect(await read(block2)).toBe(9n)
    expect(await read(block1)).toBe(5n)
    expect(await read(block2)).toBe(9n)
    // stateRoot option overrides the header's root.
    const old = await r.call({ to: storeAddr, data: enc('x') }, block2.header, {
      stateRoot: block1.header.stateRoot,
    })
    expect(BigInt(hex(old.returnData))).toBe(5n)
    // Reverts carry the revert payload.
    const failed = await r.call({ to: storeAddr, data: enc('fail') }, block2.header)
    expect(failed.error).toEqual({ reverted: true, message: 'execution reverted' })
    expect(hex(failed.returnData.subarray(0, 4))).toBe('0x08c379a0')
    // Calls never persist: set() in a call leaves x unchanged.
    const set = await r.call({ from: ADDRS[0], to: storeAddr, data: enc('set', [77n]) }, block2.header)
    expect(set.error).toBeUndefined()
    expect(set.logs).toHaveLength(1)
    expect(await read(block2)).toBe(9n)
    // State overrides: stateDiff on slot 0.
    const slot0 = `0x${'0'.repeat(64)}`
    const ov = await r.call({ to: storeAddr, data: enc('x') }, block2.header, {
      overrides: new Map([
        [hex(storeAddr), { stateDiff: new Map([[slot0, bytes(`0x${'42'.padStart(64, '0')}`)]]) }],
      ]),
    })
    expect(BigInt(hex(ov.returnData))).toBe(0x42n)
    expect(await read(block2)).toBe(9n)
    // Balance checks apply only with a gas price.
    const poor = bytes('0x000000000000000000000000000000000000dead')
    const free = await r.call({ from: poor, to: ADDRS[0], value: 0n }, block2.header)
    expect(free.error).toBeUndefined()
    await expect(
      r.call({ from: poor, to: ADDRS[0], gasPrice: 10n ** 9n }, block2.header),
    ).rejects.toBeInstanceOf(ExecutionError)
    // BLOCKHASH goes through the getBlockHash callback.
    a.hashes.set(2n, block2.hash())
    const bh = await r.call({ to: storeAddr, data: enc('hashOf', [1n]) }, block2.header)
    expect(hex(bh.returnData)).toBe(hex(block1.hash()))
  })

  test('estimateGas finds the minimum and reports reverts with their data', async () => {
    const r = a.runtime
    const head = block1.header
    expect(await r.estimateGas({ from: ADDRS[0], to: ADDRS[1], value: 1n }, head)).toBe(21_000n)
    const gas = await r.estimateGas({ from: ADDRS[0], to: storeAddr, data: enc('bump', [20n]) }, head)
    const justEnough = await r.call({ from: ADDRS[0], to: storeAddr, data: enc('bump', [20n]), gas }, head)
    expect(justEnough.error).toBeUndefined()
    const tooLittle = await r.call(
      { from: ADDRS[0], to: storeAddr, data: enc('bump', [20n]), gas: gas - 1n },
      head,
    )
    expect(tooLittle.error).toBeDefined()
    const err = await r
      .estimateGas({ from: ADDRS[0], to: storeAddr, data: enc('fail') }, head)
      .catch((e) => e)
    expect(err).toBeInstanceOf(ExecutionError)
    expect((err as ExecutionError).reverted).toBe(true)
    expect(hex((err as ExecutionError).revertData.subarray(0, 4))).toBe('0x08c379a0')
    // With a fee, the cap is what the balance affords.
    const poor = bytes('0x000000000000000000000000000000000000beef')
    const e2 = await r
      .estimateGas({ from: poor, to: storeAddr, data: enc('bump', [1n]), gasPrice: 10n ** 9n }, head, {
        overrides: new Map([[hex(poor), { balance: 22_000n * 10n ** 9n }]]),
      })
      .catch((e) => e)
    expect(e2).toBeInstanceOf(ExecutionError)
  })

  test('getProof verifies against the state root', async () => {
    const r = a.runtime
    const root = block1.header.stateRoot
    const slot = new Uint8Array(32)
    const proof = await r.getProof(root, storeAddr, [slot, new Uint8Array(32).fill(9)])
    const leaf = await verifyMerkleProof(storeAddr, proof.accountProof, { useKeyHashing: true, root })
    expect(leaf).not.toBeNull()
    const acct = createAccountFromRLP(leaf!)
    expect(hex(acct.storageRoot)).toBe(hex(proof.storageHash))
    expect(acct.nonce).toBe(proof.nonce)
    const sv = await verifyMerkleProof(slot, proof.storageProof[0].proof, {
      useKeyHashing: true,
      root: proof.storageHash,
    })
    expect(BigInt(hex(RLP.decode(sv!) as Uint8Array))).toBe(5n)
    expect(proof.storageProof[0].value).toBe(5n)
    const absent = await verifyMerkleProof(proof.storageProof[1].key, proof.storageProof[1].proof, {
      useKeyHashing: true,
      root: proof.storageHash,
    })
    expect(absent).toBeNull()
    expect(proof.storageProof[1].value).toBe(0n)
    // Proof of absence for an unknown account.
    const nobody = bytes('0x00000000000000000000000000000000000a11ce')
    const p2 = await r.getProof(root, nobody, [])
    expect(await verifyMerkleProof(nobody, p2.accountProof, { useKeyHashing: true, root })).toBeNull()
    expect(p2.balance).toBe(0n)
  })

  test('traces: struct logger and callTracer', async () => {
    const r = a.runtime
    const parent = r.genesisBlock.header
    const s = (await r.traceTransaction(block1, parent, 3, {})) as {
      gas: number
      failed: boolean
      structLogs: Array<{ op: string; depth: number; storage?: Record<string, string>; stack?: string[] }>
    }
    expect(s.failed).toBe(false)
    expect(s.gas).toBe(Number(result1.executed[3].gasUsed))
    const sstore = s.structLogs.find((l) => l.op === 'SSTORE')
    expect(sstore?.storage?.['0'.repeat(64)]).toBe('5'.padStart(64, '0'))
    expect(s.structLogs[0]).toMatchObject({ pc: 0, depth: 1 })
    const c = (await r.traceTransaction(block1, parent, 4, { tracer: 'callTracer' })) as Record<
      string,
      unknown
    >
    expect(c).toMatchObject({
      type: 'CALL',
      from: hex(ADDRS[1]),
      to: hex(storeAddr),
      error: 'execution reverted',
      revertReason: 'nope',
    })
    expect(c.gasUsed).toBe(`0x${result1.executed[4].gasUsed.toString(16)}`)
    const create = (await r.traceTransaction(block1, parent, 2, { tracer: 'callTracer' })) as Record<
      string,
      unknown
    >
    expect(create).toMatchObject({ type: 'CREATE', to: hex(storeAddr) })
    // Tracing does not change persisted state.
    expect(await r.hasState(block1.header.stateRoot)).toBe(true)
  })

  test('editState writes dev cheats on top of a root', async () => {
    const r = a.runtime
    const base = block1.header.stateRoot
    const who = bytes('0x0000000000000000000000000000000000001234')
    const root = await r.editState(base, [
      { kind: 'balance', address: who, value: 77n },
      { kind: 'nonce', address: who, value: 3n },
      { kind: 'code', address: who, value: Uint8Array.of(0x60, 0x00) },
      { kind: 'storage', address: who, slot: new Uint8Array(32), value: new Uint8Array(32).fill(1) },
    ])
    expect(await r.getAccount(root, who)).toMatchObject({ balance: 77n, nonce: 3n })
    expect(await r.getCode(root, who)).toEqual(Uint8Array.of(0x60, 0x00))
    expect(await r.getStorage(root, who, new Uint8Array(32))).toEqual(new Uint8Array(32).fill(1))
    expect(await r.getAccount(base, who)).toBeUndefined()
  })
})

describe('fees', () => {
  async function feeRun(treasury?: Uint8Array) {
    const c = await chain(makeGenesis(treasury ? { feeRecipient: { treasury: hex(treasury) } } : {}))
    const g = c.runtime.genesisBlock
    const tx = transfer(c.runtime.common, KEYS[0], 0n, ADDRS[1], 1n, {
      maxFee: 5n * 10n ** 9n,
      tip: 2n * 10n ** 9n,
    })
    const { block, executed } = await c.runtime.buildBlock(g.header, [tx], {
      timestamp: 1001n,
      coinbase: COINBASE,
    })
    const bal = async (addr: Uint8Array, root: Uint8Array) =>
      (await c.runtime.getAccount(root, addr))?.balance ?? 0n
    const res = {
      baseFee: block.header.baseFeePerGas!,
      gas: executed[0].gasUsed,
      coinbase: await bal(COINBASE, block.header.stateRoot),
      treasury: treasury ? await bal(treasury, block.header.stateRoot) : 0n,
      senderDelta: (await bal(ADDRS[0], g.header.stateRoot)) - (await bal(ADDRS[0], block.header.stateRoot)),
    }
    await c.close()
    return res
  }

  test('priority fee goes to the coinbase and the base fee is burnt', async () => {
    const r = await feeRun()
    expect(r.coinbase).toBe(2n * 10n ** 9n * r.gas)
    expect(r.senderDelta).toBe(1n + (r.baseFee + 2n * 10n ** 9n) * r.gas)
    // Supply shrinks by exactly baseFee * gas (nobody received it).
    expect(r.senderDelta - 1n - r.coinbase).toBe(r.baseFee * r.gas)
  })

  test('base fee is credited to the treasury when one is named', async () => {
    const r = await feeRun(TREASURY)
    expect(r.treasury).toBe(r.baseFee * r.gas)
    expect(r.coinbase).toBe(2n * 10n ** 9n * r.gas)
    expect(r.senderDelta - 1n).toBe(r.coinbase + r.treasury)
  })
})

describe('persistence', () => {
  test('reopening the same LevelDB path resumes state', async () => {
    const genesis = makeGenesis()
    const c1 = await chain(genesis)
    const path = c1.path
    const g = c1.runtime.genesisBlock
    const { block } = await c1.runtime.buildBlock(
      g.header,
      [transfer(c1.runtime.common, KEYS[0], 0n, ADDRS[1], 123n)],
      {
        timestamp: 1001n,
        coinbase: COINBASE,
      },
    )
    await c1.close()
    const c2 = await chain(genesis, path)
    try {
      expect(hex(c2.runtime.genesisBlock.hash())).toBe(hex(g.hash()))
      expect(await c2.runtime.hasState(block.header.stateRoot)).toBe(true)
      expect((await c2.runtime.getAccount(block.header.stateRoot, ADDRS[1]))!.balance).toBe(
        1000n * ETH + 123n,
      )
      const next = await c2.runtime.buildBlock(
        block.header,
        [transfer(c2.runtime.common, KEYS[0], 1n, ADDRS[1], 1n)],
        {
          timestamp: 1002n,
          coinbase: COINBASE,
        },
      )
      expect(next.executed).toHaveLength(1)
      expect(next.rejected).toHaveLength(0)
    } finally {
      await c2.close()
    }
  })

  test('the runtime refuses work after close()', async () => {
    const c = await chain()
    await c.close()
    await expect(async () => c.runtime.hasState(KECCAK256_RLP)).rejects.toThrow(/closed/)
  })
})

test('keccak of the module-free genesis is stable', () => {
  expect(hex(keccak_256(new Uint8Array(0)))).toBe(
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  )
})
