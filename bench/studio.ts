/**
 * `pnpm bench:studio` (issue 18's benchmark; `--quick` for a small run):
 *   (a) address search over the address index with 100,000 indexed transactions of one address
 *       (plus as many of 1,000 others), on LevelDB: ots_searchTransactionsBefore/After pages of 25
 *       at random points, and sender+nonce lookups;
 *   (b) the same ots_searchTransactionsBefore page over JSON-RPC against `openledger dev` and, as
 *       the reference in the same run, anvil (which answers it by tracing blocks), after the same
 *       N transfers;
 *   (c) time to first render in chromium (puppeteer-core): the explorer home, and the page of a
 *       block holding 1,000 transactions.
 * Prints one table per part; figures are wall-clock on this machine with its current load.
 */
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { startAnvil } from '@openledger/bridge'
import { AddressIndex, deriveDevAccounts, hex, type OpenLedgerNode, openDatabase } from '@openledger/node'
import puppeteer from 'puppeteer-core'
import { type Hex, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { startDevNode } from '../test/helpers/dev-node.ts'
import { installCleanup, makeTempDir, removeTempDir } from './lib/proc.ts'

const quick = process.argv.includes('--quick')
installCleanup()

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const ms = (n: number) => `${n.toFixed(2)} ms`

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const v = await fn()
  return [v, performance.now() - t0]
}

/** (a) The index alone on LevelDB. */
async function indexScenario(): Promise<void> {
  const total = quick ? 10_000 : 100_000
  const perBlock = 10
  const dir = makeTempDir('ol-bench-index-')
  const db = await openDatabase(join(dir, 'db'))
  const store = { headNumber: () => -1n } as Parameters<typeof AddressIndex.open>[1]
  const index = await AddressIndex.open(
    db.sublevel('ots', { keyEncoding: 'view', valueEncoding: 'view' }),
    store,
  )
  const target = new Uint8Array(20).fill(0xaa)
  const other = (i: number) => {
    const a = new Uint8Array(20)
    new DataView(a.buffer).setUint32(0, i % 1000)
    return a
  }
  const hash = (i: number) => {
    const h = new Uint8Array(32)
    new DataView(h.buffer).setUint32(0, i)
    return h
  }
  const t0 = performance.now()
  for (let b = 0; b * perBlock < total; b++) {
    const txs = Array.from({ length: perBlock }, (_, i) => {
      const n = b * perBlock + i
      return { hash: hash(n), sender: target, nonce: BigInt(n), to: other(n), logs: [] }
    })
    await index.indexBlock({ header: { number: BigInt(b + 1) } } as never, txs)
  }
  const writeMs = performance.now() - t0
  const blocks = total / perBlock
  const before: number[] = []
  const after: number[] = []
  const nonce: number[] = []
  for (let i = 0; i < 200; i++) {
    const at = BigInt(1 + Math.floor(Math.random() * blocks))
    const [p, t] = await time(() => index.page(target, 'before', at, 25))
    before.push(t)
    if (p.txs.length === 0 && at > 1n) throw new Error('index bench: empty page')
    await time(() => index.page(target, 'after', at, 25)).then(([, t]) => after.push(t))
    await time(() => index.bySenderAndNonce(target, BigInt(Math.floor(Math.random() * total)))).then(
      ([, t]) => nonce.push(t),
    )
  }
  await db.close()
  removeTempDir(dir)
  console.log(
    `\n(a) address index on LevelDB: ${total.toLocaleString()} txs of one address (+ ${total.toLocaleString()} appearances of 1,000 others), ${blocks.toLocaleString()} blocks`,
  )
  console.log(
    `    indexing: ${(writeMs / 1000).toFixed(1)} s (${Math.round((total / writeMs) * 1000).toLocaleString()} txs/s)`,
  )
  console.log(`    page of 25 before a random block: p50 ${ms(pct(before, 50))}, p99 ${ms(pct(before, 99))}`)
  console.log(`    page of 25 after a random block:  p50 ${ms(pct(after, 50))}, p99 ${ms(pct(after, 99))}`)
  console.log(`    sender + nonce lookup:            p50 ${ms(pct(nonce, 50))}, p99 ${ms(pct(nonce, 99))}`)
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await res.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

/** (b) ots_searchTransactionsBefore over RPC: our node against anvil after the same transfers. */
async function rpcScenario(node: OpenLedgerNode): Promise<void> {
  const n = quick ? 100 : 1000
  const anvil = await startAnvil({ chainId: 31337 })
  try {
    const key = hex(deriveDevAccounts(1)[0]!.privateKey) as Hex
    const account = privateKeyToAccount(key)
    const to = privateKeyToAccount(hex(deriveDevAccounts(2)[1]!.privateKey) as Hex).address
    // Both chains fresh: the same signed transactions are valid on both.
    const start = Number(await rpc(node.rpcUrl, 'eth_getTransactionCount', [account.address, 'latest']))
    if (start !== Number(await rpc(anvil.url, 'eth_getTransactionCount', [account.address, 'latest'])))
      throw new Error('bench: the dev node and anvil must start from the same nonce')
    for (const url of [node.rpcUrl, anvil.url]) await rpc(url, 'evm_setAutomine', [false])
    for (let i = 0; i < n; i++) {
      const raw = await account.signTransaction({
        type: 'legacy',
        chainId: 31337,
        nonce: start + i,
        gasPrice: 10_000_000_000n,
        gas: 21_000n,
        to,
        value: parseEther('0.001'),
      })
      await Promise.all([
        rpc(node.rpcUrl, 'eth_sendRawTransaction', [raw]),
        rpc(anvil.url, 'eth_sendRawTransaction', [raw]),
      ])
      // Ten transfers per block on both chains.
      if (i % 10 === 9) await Promise.all([rpc(node.rpcUrl, 'evm_mine'), rpc(anvil.url, 'evm_mine')])
    }
    await Promise.all([rpc(node.rpcUrl, 'evm_mine'), rpc(anvil.url, 'evm_mine')])
    for (const url of [node.rpcUrl, anvil.url]) await rpc(url, 'evm_setAutomine', [true])
    const rows: string[] = []
    for (const [name, url] of [
      ['openledger dev', node.rpcUrl],
      ['anvil 1.7.1', anvil.url],
    ] as const) {
      const samples: number[] = []
      for (let i = 0; i < 50; i++) {
        const [page, t] = await time(
          () =>
            rpc(url, 'ots_searchTransactionsBefore', [account.address, 0, 25]) as Promise<{ txs: unknown[] }>,
        )
        if (page.txs.length < 25) throw new Error(`${name}: short page`)
        samples.push(t)
      }
      rows.push(`    ${name.padEnd(15)} p50 ${ms(pct(samples, 50))}, p99 ${ms(pct(samples, 99))}`)
    }
    console.log(
      `\n(b) ots_searchTransactionsBefore(sender, 0, 25) over HTTP after ${n} transfers (10 per block)`,
    )
    for (const r of rows) console.log(r)
  } finally {
    await anvil.stop()
  }
}

/** (c) First render in chromium: explorer home and a block of 1,000 transactions. */
async function renderScenario(node: OpenLedgerNode): Promise<void> {
  const chromium =
    process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync)
  if (!chromium) {
    console.log('\n(c) skipped: no chromium (apt-get install -y chromium)')
    return
  }
  const n = quick ? 200 : 1000
  const accounts = deriveDevAccounts(20)
  await rpc(node.rpcUrl, 'evm_setAutomine', [false])
  for (let i = 0; i < n; i++) {
    const a = accounts[i % 20]!
    const from = hex(a.address)
    await rpc(node.rpcUrl, 'eth_sendTransaction', [
      { from, to: hex(accounts[(i + 1) % 20]!.address), value: '0x1', gas: '0x5208' },
    ])
  }
  await rpc(node.rpcUrl, 'evm_mine')
  await rpc(node.rpcUrl, 'evm_setAutomine', [true])
  const head = Number(await rpc(node.rpcUrl, 'eth_blockNumber'))
  const block = (await rpc(node.rpcUrl, 'eth_getBlockByNumber', [`0x${head.toString(16)}`, false])) as {
    transactions: unknown[]
  }
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  try {
    const page = await browser.newPage()
    // Warm the build (first request bundles the app) so it is not counted as render time.
    await page.goto(`${node.rpcUrl}/studio/app.js`)
    const homeSamples: number[] = []
    const blockSamples: number[] = []
    for (let i = 0; i < 5; i++) {
      let t0 = performance.now()
      await page.goto(`${node.rpcUrl}/studio/#/`, { waitUntil: 'domcontentloaded' })
      await page.waitForFunction(
        () =>
          (
            globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
          ).document.querySelectorAll('main table tbody tr').length > 0,
        { polling: 10 },
      )
      homeSamples.push(performance.now() - t0)
      t0 = performance.now()
      await page.goto(`${node.rpcUrl}/studio/#/block/${head}`, { waitUntil: 'domcontentloaded' })
      await page.waitForFunction(
        (rows) =>
          (
            globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
          ).document.querySelectorAll('main table tbody tr').length >= rows,
        { polling: 10, timeout: 120_000 },
        Math.min(100, block.transactions.length),
      )
      blockSamples.push(performance.now() - t0)
    }
    console.log(`\n(c) first render in chromium (navigation → rows visible), median of 5`)
    console.log(`    explorer home (15 latest blocks):              ${ms(pct(homeSamples, 50))}`)
    console.log(
      `    block with ${block.transactions.length} transactions (first page of 100): ${ms(pct(blockSamples, 50))}`,
    )
  } finally {
    await browser.close()
  }
}

async function main(): Promise<void> {
  const load = () =>
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`
  console.log(`bench:studio${quick ? ' --quick' : ''} (${load()})`)
  const t0 = performance.now()
  await indexScenario()
  const node = await startDevNode({ accounts: 20 })
  try {
    await rpcScenario(node)
    await renderScenario(node)
  } finally {
    await node.close()
  }
  console.log(`\nbench:studio took ${((performance.now() - t0) / 1000).toFixed(0)} s (${load()})`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
