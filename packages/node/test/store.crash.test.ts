/**
 * Crash safety: a real child process commits blocks in a loop and is killed with SIGKILL at an
 * arbitrary moment; reopening must find a consistent store at (or one past) the last block the
 * child reported, and the store must keep growing from there.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createBlock } from '@ethereumjs/block'
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { Level } from 'level'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainStore } from '../src/store/index.ts'

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const storeModule = pathToFileURL(join(packageDir, 'src/store/index.ts')).href

// Each block has 1-3 txs; tx i of a block emits i+1 logs. The genesis matches the parent's.
const CHILD = `
import { createBlock } from '@ethereumjs/block'
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { Level } from 'level'
import { ChainStore, logsBloom } from '${storeModule}'

const common = createCustomCommon({ chainId: 4242 }, Mainnet, { hardfork: Hardfork.Prague })
const genesis = createBlock({ header: { number: 0n, gasLimit: 30_000_000n, baseFeePerGas: 7n } }, { common })
const key = new Uint8Array(32).fill(7)
const db = new Level(process.argv[1], { keyEncoding: 'view', valueEncoding: 'view' })
await db.open()
const store = await ChainStore.open(db, { genesisBlock: genesis })
let parent = store.head()
for (;;) {
  const n = parent.header.number + 1n
  const count = Number(n % 3n) + 1
  const txs = []
  const logs = []
  for (let i = 0; i < count; i++) {
    txs.push(createFeeMarket1559Tx({ nonce: n * 10n + BigInt(i), to: new Uint8Array(20).fill(1), gasLimit: 21000n,
      maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, chainId: 4242n }, { common }).sign(key))
    logs.push(Array.from({ length: i + 1 }, (_, j) => ({ address: new Uint8Array(20).fill(0x10 + j),
      topics: [new Uint8Array(32).fill(Number(n % 256n))], data: new Uint8Array([i, j]) })))
  }
  const block = createBlock({ header: { number: n, parentHash: parent.hash(), gasLimit: 30_000_000n,
    baseFeePerGas: 7n, timestamp: n, logsBloom: logsBloom(logs.flat()) }, transactions: txs }, { common })
  await store.commitBlock(block, txs.map((tx, i) => ({ tx, hash: tx.hash(), sender: tx.getSenderAddress().bytes,
    status: 1, gasUsed: 21000n, cumulativeGasUsed: 21000n * BigInt(i + 1), effectiveGasPrice: 8n, logs: logs[i] })),
    new Uint8Array([Number(n % 256n)]))
  process.stdout.write(n + '\\n')
  parent = block
}
`

const common = createCustomCommon({ chainId: 4242 }, Mainnet, { hardfork: Hardfork.Prague })
const genesis = createBlock({ header: { number: 0n, gasLimit: 30_000_000n, baseFeePerGas: 7n } }, { common })

let dir: string | undefined
let child: ChildProcess | undefined

afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Run the writer until it has reported `target` more blocks, then SIGKILL it. */
async function runAndKill(path: string, target: number): Promise<bigint> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, path], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child = proc
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((res) => proc.once('exit', () => res()))
  let last = -1n
  let seen = 0
  let buf = ''
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`writer too slow; stderr: ${stderr}`)), 30_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      rej(new Error(`writer exited early (${code}): ${stderr}`))
    })
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop()!
      for (const l of lines) {
        last = BigInt(l)
        seen++
      }
      if (seen >= target) {
        clearTimeout(timer)
        // Kill while the writer is mid-loop: it is always either building or inside a batch.
        proc.kill('SIGKILL')
        res()
      }
    })
  })
  await exited
  expect(proc.signalCode).toBe('SIGKILL')
  return last
}

async function verify(path: string, lastReported: bigint): Promise<bigint> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    const store = await ChainStore.open(db, { genesisBlock: genesis })
    const head = store.headNumber()
    // The kill may land after a batch was written but before its number was printed.
    expect(head === lastReported || head === lastReported + 1n).toBe(true)
    let expectedLogs = 0
    let txCount = 0
    let parentHash = genesis.hash()
    for (let n = 1n; n <= head; n++) {
      const block = (await store.getBlockByNumber(n))!
      expect(block.header.parentHash).toEqual(parentHash)
      parentHash = block.hash()
      const receipts = (await store.getReceipts(block.hash()))!
      expect(receipts).toHaveLength(block.transactions.length)
      expect(await store.getSeals(block.hash())).toEqual(new Uint8Array([Number(n % 256n)]))
      for (const [i, tx] of block.transactions.entries()) {
        expect(await store.getTxLocation(tx.hash())).toEqual({
          blockHash: block.hash(),
          blockNumber: n,
          index: i,
        })
        expectedLogs += i + 1
        txCount++
      }
    }
    expect(await store.getBlockByNumber(head + 1n)).toBeUndefined()
    const logs = await store.getLogs({
      fromBlock: 0n,
      toBlock: head,
      addresses: [],
      topics: [],
      limit: 1_000_000,
    })
    expect(logs).toHaveLength(expectedLogs)
    const fromFirstEmitter = await store.getLogs({
      fromBlock: 0n,
      toBlock: head,
      addresses: [new Uint8Array(20).fill(0x10)],
      topics: [],
      limit: 1_000_000,
    })
    // Every transaction's first log comes from 0x1010…10.
    expect(fromFirstEmitter).toHaveLength(txCount)
    return head
  } finally {
    await db.close()
  }
}

describe('ChainStore crash safety', () => {
  it('recovers to the last committed block after SIGKILL, repeatedly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ol-store-crash-'))
    let head = 0n
    for (const target of [17, 23]) {
      const reported = await runAndKill(dir, target)
      expect(reported).toBeGreaterThanOrEqual(head + BigInt(target))
      head = await verify(dir, reported)
    }
  })
})
