/**
 * Forked state (state/fork.ts): a runtime laid over another runtime's chain at one of its blocks.
 * The remote is a real runtime read through a ForkSource at the fork block's state root — what
 * packages/node does over JSON-RPC. Reads go through to the remote, local blocks change only local
 * state, zeroed slots and cleared storage hide the remote's values, BLOCKHASH before the fork is the
 * remote's, state roots are deterministic, and a reset re-forks or returns to the genesis config.
 */
import type { Block } from '@ethereumjs/block'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keccak256 } from '../src/crypto.ts'
import {
  createExecutionRuntime,
  type ExecutionRuntime,
  type ForkPoint,
  type ForkSource,
  NotInLocalStateError,
  parseGenesis,
} from '../src/index.ts'
import {
  ADDRS,
  bytes,
  cleanupDirs,
  ETH,
  genesisJson,
  hex,
  KEYS,
  makeGenesis,
  openDb,
  openRuntime,
  transfer,
  txData,
} from './helpers.ts'
import { compile } from './solc.ts'

const VAULT = compile({
  'Vault.sol': `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract Vault {
  mapping(uint256 => uint256) public slots;
  constructor() { slots[1] = 11; slots[2] = 22; }
  function set(uint256 k, uint256 v) external { slots[k] = v; }
  function hashOf(uint256 n) external view returns (bytes32) { return blockhash(n); }
}`,
}).Vault!

const word = (n: bigint) => bytes(n.toString(16).padStart(64, '0'))
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]))
/** Storage key of `slots[k]` (mapping at position 0). */
const slotKey = (k: bigint) => keccak256(concat(word(k), word(0n)))
const sel = (sig: string) => keccak256(new TextEncoder().encode(sig)).subarray(0, 4)
const setData = (k: bigint, v: bigint) => concat(sel('set(uint256,uint256)'), word(k), word(v))
const getData = (k: bigint) => concat(sel('slots(uint256)'), word(k))
const hashOfData = (n: bigint) => concat(sel('hashOf(uint256)'), word(n))
const asBig = (b: Uint8Array) => BigInt(hex(b) === '0x' ? 0 : hex(b))

/** Reads of `rt` at `root`: the in-process counterpart of the node's JSON-RPC source. */
function sourceAt(rt: ExecutionRuntime, root: Uint8Array, hashes: Map<bigint, Uint8Array>) {
  const counts = { account: 0, storage: 0 }
  const source: ForkSource = {
    async account(a) {
      counts.account++
      const [acc, code] = await Promise.all([rt.getAccount(root, a), rt.getCode(root, a)])
      if (acc === undefined || (acc.nonce === 0n && acc.balance === 0n && code.length === 0)) return undefined
      return { nonce: acc.nonce, balance: acc.balance, code }
    },
    async storage(a, s) {
      counts.storage++
      return rt.getStorage(root, a, s)
    },
    async blockHash(n) {
      return hashes.get(n)
    },
  }
  return { source, counts }
}

function forkPoint(source: ForkSource, b: Block): ForkPoint {
  const h = b.header
  return {
    source,
    block: {
      number: h.number,
      hash: b.hash(),
      parentHash: h.parentHash,
      timestamp: h.timestamp,
      gasLimit: h.gasLimit,
      gasUsed: h.gasUsed,
      baseFeePerGas: h.baseFeePerGas,
      coinbase: h.coinbase.bytes,
      mixHash: h.mixHash,
      extraData: h.extraData,
      stateRoot: h.stateRoot,
    },
  }
}

describe('forked state', () => {
  let remote: Awaited<ReturnType<typeof openRuntime>>
  const remoteBlocks: Block[] = []
  let vault: Uint8Array
  const COINBASE = bytes('0xc0000000000000000000000000000000000000c0')

  beforeAll(async () => {
    remote = await openRuntime(makeGenesis())
    const rt = remote.runtime
    remoteBlocks.push(rt.genesisBlock)
    remote.hashes.set(0n, rt.genesisBlock.hash())
    let parent = rt.genesisBlock.header
    const mine = async (txs: Parameters<typeof rt.buildBlock>[1]) => {
      const r = await rt.buildBlock(parent, txs, { timestamp: parent.timestamp + 12n, coinbase: COINBASE })
      expect(r.rejected).toEqual([])
      remote.hashes.set(r.block.header.number, r.block.hash())
      remoteBlocks.push(r.block)
      parent = r.block.header
      return r
    }
    const deployed = await mine([txData(rt.common, KEYS[0]!, 0n, undefined, VAULT.bytecode)])
    vault = deployed.executed[0]!.contractAddress!
    await mine([txData(rt.common, KEYS[0]!, 1n, vault, setData(3n, 33n))])
  })

  afterAll(async () => {
    await remote.runtime.close()
    await remote.db.level.close()
    cleanupDirs()
  })

  /** A local runtime forked at remote block `n` (genesis alloc: 7 OPEN for ADDRS[2]). */
  async function forkAt(n: number) {
    const at = remoteBlocks[n]!
    const { source, counts } = sourceAt(remote.runtime, at.header.stateRoot, remote.hashes)
    const db = await openDb()
    const hashes = new Map<bigint, Uint8Array>()
    const genesis = parseGenesis(
      genesisJson({ alloc: { [hex(ADDRS[2]!)]: { balance: (7n * ETH).toString() } } }),
    )
    const runtime = await createExecutionRuntime({
      db: db.state,
      genesis,
      getBlockHash: async (k) => hashes.get(k),
      fork: forkPoint(source, at),
    })
    hashes.set(runtime.genesisBlock.header.number, runtime.genesisBlock.hash())
    let parent = runtime.genesisBlock.header
    const mine = async (txs: Parameters<typeof runtime.buildBlock>[1]) => {
      const r = await runtime.buildBlock(parent, txs, {
        timestamp: parent.timestamp + 12n,
        coinbase: COINBASE,
      })
      hashes.set(r.block.header.number, r.block.hash())
      parent = r.block.header
      return r
    }
    return { runtime, db, counts, mine, head: () => parent }
  }

  it('continues from the fork block and reads accounts, code and storage through', async () => {
    const f = await forkAt(2)
    const g = f.runtime.genesisBlock
    const root = g.header.stateRoot
    expect(g.header.number).toBe(2n)
    expect(hex(g.hash())).toBe(hex(remoteBlocks[2]!.hash()))
    expect(g.header.timestamp).toBe(remoteBlocks[2]!.header.timestamp)
    const remoteRoot = remoteBlocks[2]!.header.stateRoot
    for (const a of [ADDRS[0]!, ADDRS[1]!]) {
      expect(await f.runtime.getAccount(root, a)).toMatchObject({
        nonce: (await remote.runtime.getAccount(remoteRoot, a))!.nonce,
        balance: (await remote.runtime.getAccount(remoteRoot, a))!.balance,
      })
    }
    // The alloc sets a balance over the remote account and keeps its nonce.
    expect((await f.runtime.getAccount(root, ADDRS[2]!))?.balance).toBe(7n * ETH)
    expect(hex(await f.runtime.getCode(root, vault))).toBe(
      hex(await remote.runtime.getCode(remoteRoot, vault)),
    )
    for (const [k, v] of [
      [1n, 11n],
      [2n, 22n],
      [3n, 33n],
      [9n, 0n],
    ] as const)
      expect(asBig(await f.runtime.getStorage(root, vault, slotKey(k)))).toBe(v)
    const got = await f.runtime.call({ to: vault, data: getData(3n) }, g.header)
    expect(asBig(got.returnData)).toBe(33n)
    await f.runtime.close()
    await f.db.level.close()
  })

  it('local blocks change local state only; zeroed slots hide the remote value', async () => {
    const f = await forkAt(2)
    const rt = f.runtime
    const fresh = bytes('0x00000000000000000000000000000000000fee01')
    const r = await f.mine([
      txData(rt.common, KEYS[0]!, 2n, vault, setData(1n, 0n)),
      txData(rt.common, KEYS[0]!, 3n, vault, setData(4n, 44n)),
      transfer(rt.common, KEYS[1]!, 0n, fresh, ETH),
    ])
    expect(r.rejected).toEqual([])
    expect(r.executed.map((e) => e.status)).toEqual([1, 1, 1])
    const root = r.block.header.stateRoot
    expect(asBig(await rt.getStorage(root, vault, slotKey(1n)))).toBe(0n)
    expect(asBig(await rt.getStorage(root, vault, slotKey(2n)))).toBe(22n)
    expect(asBig(await rt.getStorage(root, vault, slotKey(4n)))).toBe(44n)
    expect((await rt.getAccount(root, fresh))?.balance).toBe(ETH)
    expect((await rt.getAccount(root, ADDRS[0]!))?.nonce).toBe(4n)
    // The same through the call VM and at the next block's context.
    for (const [k, v] of [
      [1n, 0n],
      [2n, 22n],
      [4n, 44n],
    ] as const)
      expect(asBig((await rt.call({ to: vault, data: getData(k) }, r.block.header)).returnData)).toBe(v)
    // The remote is untouched.
    const remoteRoot = remoteBlocks[2]!.header.stateRoot
    expect(asBig(await remote.runtime.getStorage(remoteRoot, vault, slotKey(1n)))).toBe(11n)
    expect(await remote.runtime.getAccount(remoteRoot, fresh)).toBeUndefined()
    // A later block reads the tombstone from the trie, not the remote's 11.
    const r2 = await f.mine([txData(rt.common, KEYS[0]!, 4n, vault, setData(5n, 55n))])
    expect(asBig(await rt.getStorage(r2.block.header.stateRoot, vault, slotKey(1n)))).toBe(0n)
    expect(asBig((await rt.call({ to: vault, data: getData(1n) }, r2.block.header)).returnData)).toBe(0n)
    await rt.close()
    await f.db.level.close()
  })

  it('BLOCKHASH before the fork block is the remote chain’s', async () => {
    const f = await forkAt(2)
    const r = await f.mine([])
    for (const n of [0n, 1n, 2n]) {
      const got = await f.runtime.call({ to: vault, data: hashOfData(n) }, r.block.header)
      expect(hex(got.returnData)).toBe(hex(remoteBlocks[Number(n)]!.hash()))
    }
    await f.runtime.close()
    await f.db.level.close()
  })

  it('a `state` override replaces the remote storage, `stateDiff` patches it', async () => {
    const f = await forkAt(2)
    const h = f.runtime.genesisBlock.header
    const k1 = hex(slotKey(1n))
    const replaced = await f.runtime.call({ to: vault, data: getData(2n) }, h, {
      overrides: new Map([[hex(vault), { state: new Map([[k1, word(5n)]]) }]]),
    })
    expect(asBig(replaced.returnData)).toBe(0n)
    const patched = await f.runtime.call({ to: vault, data: getData(2n) }, h, {
      overrides: new Map([[hex(vault), { stateDiff: new Map([[k1, word(5n)]]) }]]),
    })
    expect(asBig(patched.returnData)).toBe(22n)
    await f.runtime.close()
    await f.db.level.close()
  })

  it('proves what the local trie holds and refuses what only the remote has', async () => {
    const f = await forkAt(2)
    const rt = f.runtime
    const r = await f.mine([txData(rt.common, KEYS[0]!, 2n, vault, setData(1n, 0n))])
    const root = r.block.header.stateRoot
    const p = await rt.getProof(root, vault, [slotKey(1n)])
    expect(p.storageProof[0]!.value).toBe(0n)
    expect(p.nonce).toBe(1n)
    await expect(rt.getProof(root, vault, [slotKey(2n)])).rejects.toBeInstanceOf(NotInLocalStateError)
    // ADDRS[1] was never touched by the local chain.
    await expect(rt.getProof(root, ADDRS[1]!, [])).rejects.toBeInstanceOf(NotInLocalStateError)
    await rt.close()
    await f.db.level.close()
  })

  it('state roots depend only on the fork block and the local history', async () => {
    const roots: string[] = []
    for (let i = 0; i < 2; i++) {
      const f = await forkAt(2)
      const rt = f.runtime
      const r = await f.mine([
        txData(rt.common, KEYS[0]!, 2n, vault, setData(1n, 0n)),
        transfer(rt.common, KEYS[1]!, 0n, ADDRS[2]!, ETH),
      ])
      roots.push(hex(r.block.hash()))
      await rt.close()
      await f.db.level.close()
    }
    expect(roots[0]).toBe(roots[1])
  })

  it('traces a local transaction over remote state', async () => {
    const f = await forkAt(2)
    const rt = f.runtime
    const r = await f.mine([txData(rt.common, KEYS[0]!, 2n, vault, setData(2n, 23n))])
    const trace = (await rt.traceTransaction(r.block, rt.genesisBlock.header, 0, {
      tracer: 'structLogger',
    })) as { failed: boolean; structLogs: Array<{ op: string; storage?: Record<string, string> }> }
    expect(trace.failed).toBe(false)
    expect(trace.structLogs.some((s) => s.op === 'SSTORE')).toBe(true)
    await rt.close()
    await f.db.level.close()
  })

  it('reset re-forks at another block, and returns to the genesis configuration', async () => {
    const f = await forkAt(2)
    const rt = f.runtime
    await f.mine([txData(rt.common, KEYS[0]!, 2n, vault, setData(3n, 0n))])
    // Fork at block 1: slot 3 was not set yet there.
    const { source } = sourceAt(remote.runtime, remoteBlocks[1]!.header.stateRoot, remote.hashes)
    const g1 = await rt.reset!({ fork: forkPoint(source, remoteBlocks[1]!) })
    expect(g1.header.number).toBe(1n)
    expect(hex(g1.hash())).toBe(hex(remoteBlocks[1]!.hash()))
    expect(asBig(await rt.getStorage(g1.header.stateRoot, vault, slotKey(3n)))).toBe(0n)
    expect(asBig(await rt.getStorage(g1.header.stateRoot, vault, slotKey(1n)))).toBe(11n)
    expect(asBig((await rt.call({ to: vault, data: getData(1n) }, g1.header)).returnData)).toBe(11n)
    expect((await rt.getAccount(g1.header.stateRoot, ADDRS[0]!))?.nonce).toBe(1n)
    // Without a fork: the genesis configuration, at a new time.
    const g0 = await rt.reset!({ timestamp: 5000n })
    expect(g0.header.number).toBe(0n)
    expect(g0.header.timestamp).toBe(5000n)
    expect(await rt.getAccount(g0.header.stateRoot, ADDRS[0]!)).toBeUndefined()
    expect(await rt.getCode(g0.header.stateRoot, vault)).toHaveLength(0)
    expect((await rt.call({ to: vault, data: getData(1n) }, g0.header)).returnData).toHaveLength(0)
    expect((await rt.getAccount(g0.header.stateRoot, ADDRS[2]!))?.balance).toBe(7n * ETH)
    await rt.close()
    await f.db.level.close()
  })
})
