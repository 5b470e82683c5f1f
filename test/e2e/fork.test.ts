/**
 * Forking (`openledger dev --fork-url`), as anvil and Hardhat users rely on it: a real remote
 * (another openledger dev node on 127.0.0.1) with state made here, forked at a past block; reads of
 * its accounts, code and storage, transactions and impersonation on top, its history served from
 * it, hardhat_reset onto another block and back to a local chain, and clear errors when the remote
 * is unreachable, silent or wrong.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OpenLedgerNode } from '@openledger/node'
import { ContractFactory, Interface, JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, rpc, spawnDevProcess, startDevNode } from '../helpers/dev-node.ts'
import { startHardhatNode } from '../helpers/hardhat.ts'

const { Store } = testContracts()
const iface = new Interface(Store!.abi as never)
const WHALE = '0x00000000000000000000000000000000000a11ce'
const hexQ = (n: bigint) => `0x${n.toString(16)}`
const num = async (url: string, method: string, params: unknown[] = []) =>
  BigInt(await call(url, method, params))

let remote: OpenLedgerNode
let fork: OpenLedgerNode | undefined
let store: string
/** Remote block the fork starts from, and what the remote held there. */
let forkAt: bigint
let remoteTx: string

async function send(url: string, from: string, to: string, data?: string, value = 0n): Promise<string> {
  return call(url, 'eth_sendTransaction', [{ from, to, data, value: hexQ(value) }])
}

beforeAll(async () => {
  remote = await startDevNode({ chainId: 4242 })
  const r = remote.rpcUrl
  const wallet = new Wallet(DEV_KEYS[0]!, new JsonRpcProvider(r, undefined, { staticNetwork: true }))
  const c = await new ContractFactory(Store!.abi as never, Store!.bytecode, wallet).deploy(7n)
  await c.waitForDeployment()
  store = await c.getAddress()
  remoteTx = await send(r, DEV_ADDRESSES[1]!, store, iface.encodeFunctionData('set', [42n]))
  await send(r, DEV_ADDRESSES[0]!, WHALE, undefined, 5n * 10n ** 18n)
  forkAt = await num(r, 'eth_blockNumber')
  // After the fork block: the fork must not see these.
  await send(r, DEV_ADDRESSES[1]!, store, iface.encodeFunctionData('set', [99n]))
  await send(r, DEV_ADDRESSES[0]!, WHALE, undefined, 1n)
  fork = await startDevNode({ fork: { url: r, blockNumber: forkAt } })
}, 120_000)

afterAll(async () => {
  await fork?.close()
  await remote?.close()
})

describe('openledger dev forking a remote chain', () => {
  it('continues the remote chain from the fork block: chain id, number, hash, history', async () => {
    const f = fork!.rpcUrl
    expect(await num(f, 'eth_chainId')).toBe(4242n)
    expect(await num(f, 'eth_blockNumber')).toBe(forkAt)
    const theirs = await call(remote.rpcUrl, 'eth_getBlockByNumber', [hexQ(forkAt), false])
    const ours = await call(f, 'eth_getBlockByNumber', [hexQ(forkAt), false])
    expect(ours.hash).toBe(theirs.hash)
    expect(ours.stateRoot).toBe(theirs.stateRoot)
    // Older blocks, transactions and receipts are the remote's.
    const older = await call(f, 'eth_getBlockByNumber', [hexQ(forkAt - 1n), true])
    expect(older.hash).toBe(
      (await call(remote.rpcUrl, 'eth_getBlockByNumber', [hexQ(forkAt - 1n), false])).hash,
    )
    expect((await call(f, 'eth_getTransactionByHash', [remoteTx])).hash).toBe(remoteTx)
    expect((await call(f, 'eth_getTransactionReceipt', [remoteTx])).status).toBe('0x1')
    const meta = await call(f, 'hardhat_metadata')
    expect(meta.forkedNetwork).toEqual({
      chainId: 4242,
      forkBlockNumber: Number(forkAt),
      forkBlockHash: theirs.hash,
    })
    // A remote transaction mined after the fork block is not part of this chain.
    const later = await call(remote.rpcUrl, 'eth_getBlockByNumber', [hexQ(forkAt + 1n), true])
    expect(await call(f, 'eth_getTransactionByHash', [later.transactions[0].hash])).toBeNull()
  })

  it('reads remote accounts, code and storage as they were at the fork block', async () => {
    const f = fork!.rpcUrl
    expect(await num(f, 'eth_getBalance', [WHALE, 'latest'])).toBe(5n * 10n ** 18n)
    expect(await call(f, 'eth_getCode', [store, 'latest'])).toBe(
      await call(remote.rpcUrl, 'eth_getCode', [store, 'latest']),
    )
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(42n)
    const value = await call(f, 'eth_call', [
      { to: store, data: iface.encodeFunctionData('value') },
      'latest',
    ])
    expect(BigInt(value)).toBe(42n)
    expect(await num(f, 'eth_getTransactionCount', [DEV_ADDRESSES[1], 'latest'])).toBe(
      await num(remote.rpcUrl, 'eth_getTransactionCount', [DEV_ADDRESSES[1], hexQ(forkAt)]),
    )
    // State before the fork block comes from the remote.
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', hexQ(forkAt - 2n)])).toBe(7n)
  })

  it('mines transactions on top, leaving the remote untouched', async () => {
    const f = fork!.rpcUrl
    const hash = await send(f, DEV_ADDRESSES[2]!, store, iface.encodeFunctionData('set', [500n]))
    const receipt = await call(f, 'eth_getTransactionReceipt', [hash])
    expect(receipt.status).toBe('0x1')
    expect(BigInt(receipt.blockNumber)).toBe(forkAt + 1n)
    const block = await call(f, 'eth_getBlockByNumber', [receipt.blockNumber, false])
    expect(block.parentHash).toBe(
      (await call(remote.rpcUrl, 'eth_getBlockByNumber', [hexQ(forkAt), false])).hash,
    )
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(500n)
    // The untouched slot of `writes[DEV_ADDRESSES[1]]` still reads through.
    const writes = await call(f, 'eth_call', [
      { to: store, data: iface.encodeFunctionData('writes', [DEV_ADDRESSES[1]]) },
    ])
    expect(BigInt(writes)).toBe(1n)
    const logs = await call(f, 'eth_getLogs', [{ address: store, fromBlock: '0x0', toBlock: 'latest' }])
    // set(42) on the remote before the fork, set(500) here; set(99) after the fork is not ours.
    expect(logs.map((l: { data: string }) => BigInt(l.data))).toEqual([42n, 500n])
    expect(await num(remote.rpcUrl, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(99n)
    // Proofs: at the fork block the remote's; after it against the local root, for touched state.
    const theirs = await call(remote.rpcUrl, 'eth_getProof', [store, ['0x0'], hexQ(forkAt)])
    expect(await call(f, 'eth_getProof', [store, ['0x0'], hexQ(forkAt)])).toEqual(theirs)
    const ours = await call(f, 'eth_getProof', [store, ['0x0'], 'latest'])
    expect(BigInt(ours.storageProof[0].value)).toBe(500n)
    const untouched = await rpc(f, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_getProof',
      params: [WHALE, [], 'latest'],
    })
    expect(untouched.json.error.code).toBe(-32001)
    expect(untouched.json.error.message).toMatch(/not been touched since the fork/)
    // Traces of remote transactions come from the remote, local ones are replayed here.
    const trace = await call(f, 'debug_traceTransaction', [remoteTx, { tracer: 'callTracer' }])
    expect(trace.to.toLowerCase()).toBe(store.toLowerCase())
    expect((await call(f, 'debug_traceTransaction', [hash, { tracer: 'callTracer' }])).input).toBe(
      iface.encodeFunctionData('set', [500n]),
    )
  })

  it('impersonates a remote account and sends from it', async () => {
    const f = fork!.rpcUrl
    const before = await num(f, 'eth_getBalance', [DEV_ADDRESSES[4], 'latest'])
    await call(f, 'hardhat_impersonateAccount', [WHALE])
    const hash = await send(f, WHALE, DEV_ADDRESSES[4]!, undefined, 10n ** 18n)
    expect((await call(f, 'eth_getTransactionReceipt', [hash])).status).toBe('0x1')
    expect(await num(f, 'eth_getBalance', [DEV_ADDRESSES[4], 'latest'])).toBe(before + 10n ** 18n)
    expect(await num(f, 'eth_getTransactionCount', [WHALE, 'latest'])).toBe(1n)
    expect(await num(f, 'eth_getBalance', [WHALE, 'latest'])).toBeLessThan(4n * 10n ** 18n)
  })

  it('hardhat_reset re-forks at another block, and without forking becomes a local chain', async () => {
    const f = fork!.rpcUrl
    const local = await send(f, DEV_ADDRESSES[2]!, store, iface.encodeFunctionData('set', [600n]))
    const nonce = (await call(f, 'eth_getTransactionByHash', [local])).nonce
    expect(await call(f, 'ots_getTransactionBySenderAndNonce', [DEV_ADDRESSES[2], nonce])).toBe(local)
    const later = forkAt + 1n
    expect(
      await call(f, 'hardhat_reset', [
        { forking: { jsonRpcUrl: remote.rpcUrl, blockNumber: Number(later) } },
      ]),
    ).toBe(true)
    expect(await num(f, 'eth_blockNumber')).toBe(later)
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(99n)
    expect(await call(f, 'eth_getTransactionReceipt', [local])).toBeNull()
    expect(await call(f, 'eth_getTransactionByHash', [local])).toBeNull()
    // The Otterscan index forgot the old chain's transactions too.
    expect(await call(f, 'ots_getTransactionBySenderAndNonce', [DEV_ADDRESSES[2], nonce])).toBeNull()
    // The impersonation went with the old chain.
    const refused = await rpc(f, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_sendTransaction',
      params: [{ from: WHALE, to: DEV_ADDRESSES[4] }],
    })
    expect(refused.json.error).toBeDefined()
    // anvil_reset with only a block number keeps the URL.
    expect(await call(f, 'anvil_reset', [{ forking: { blockNumber: hexQ(forkAt) } }])).toBe(true)
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(42n)

    // A bad remote leaves the chain as it was.
    const bad = await rpc(f, {
      jsonrpc: '2.0',
      id: 1,
      method: 'hardhat_reset',
      params: [{ forking: { jsonRpcUrl: remote.rpcUrl, blockNumber: 1_000_000 } }],
    })
    expect(bad.json.error.code).toBe(-32000)
    expect(bad.json.error.message).toMatch(/has no block 1000000/)
    expect(await num(f, 'eth_blockNumber')).toBe(forkAt)

    expect(await call(f, 'hardhat_reset', [])).toBe(true)
    expect(await num(f, 'eth_blockNumber')).toBe(0n)
    expect(await call(f, 'eth_getCode', [store, 'latest'])).toBe('0x')
    expect((await call(f, 'hardhat_metadata')).forkedNetwork).toBeUndefined()
    // Unforked, it still mines.
    await send(f, DEV_ADDRESSES[0]!, DEV_ADDRESSES[1]!, undefined, 1n)
    expect(await num(f, 'eth_blockNumber')).toBe(1n)
    // And forks again on request.
    expect(
      await call(f, 'hardhat_reset', [
        { forking: { jsonRpcUrl: remote.rpcUrl, blockNumber: Number(forkAt) } },
      ]),
    ).toBe(true)
    expect(await num(f, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(42n)
  })

  it('answers a clear error when the remote goes away, and keeps serving what it has', async () => {
    // A second remote that dies after the fork.
    const other = await startDevNode({ chainId: 77 })
    const f2 = await startDevNode({ fork: { url: other.rpcUrl, timeoutMs: 2_000, retries: 0 } })
    try {
      const known = await num(f2.rpcUrl, 'eth_getBalance', [DEV_ADDRESSES[0], 'latest'])
      await other.close()
      const res = await rpc(f2.rpcUrl, {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_getBalance',
        params: ['0x00000000000000000000000000000000000b0b00', 'latest'],
      })
      expect(res.json.error.code).toBe(-32002)
      expect(res.json.error.message).toMatch(/could not reach the fork's remote http:\/\/127\.0\.0\.1:\d+/)
      expect(await num(f2.rpcUrl, 'eth_getBalance', [DEV_ADDRESSES[0], 'latest'])).toBe(known)
      // A transaction that needs an account only the remote has: refused with the cause, not mined.
      const height = await num(f2.rpcUrl, 'eth_blockNumber')
      const sent = await rpc(f2.rpcUrl, {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendTransaction',
        params: [{ from: DEV_ADDRESSES[0], to: '0x00000000000000000000000000000000000c0c00', value: '0x1' }],
      })
      expect(sent.json.error?.message).toMatch(/fork's remote/)
      expect(await num(f2.rpcUrl, 'eth_blockNumber')).toBe(height)
      expect(await num(f2.rpcUrl, 'eth_blockNumber')).toBeGreaterThanOrEqual(0n)
    } finally {
      await f2.close()
      await other.close()
    }
  })
})

describe('forking a `hardhat node`', () => {
  it('reads its contracts and continues its chain; dev accounts keep their remote nonces', async () => {
    const hh = await startHardhatNode({ chainId: 31338, hardfork: 'osaka' })
    let f: OpenLedgerNode | undefined
    try {
      const wallet = new Wallet(DEV_KEYS[0]!, new JsonRpcProvider(hh.url, undefined, { staticNetwork: true }))
      const c = await new ContractFactory(Store!.abi as never, Store!.bytecode, wallet).deploy(3n)
      await c.waitForDeployment()
      const at = await c.getAddress()
      await send(hh.url, DEV_ADDRESSES[0]!, at, iface.encodeFunctionData('set', [77n]))
      const head = await num(hh.url, 'eth_blockNumber')
      f = await startDevNode({ fork: { url: hh.url } })
      const u = f.rpcUrl
      expect(await num(u, 'eth_chainId')).toBe(31338n)
      expect(await num(u, 'eth_blockNumber')).toBe(head)
      expect(BigInt(await call(u, 'eth_call', [{ to: at, data: iface.encodeFunctionData('value') }]))).toBe(
        77n,
      )
      expect(await num(u, 'eth_getTransactionCount', [DEV_ADDRESSES[0], 'latest'])).toBe(2n)
      const h = await send(u, DEV_ADDRESSES[0]!, at, iface.encodeFunctionData('set', [78n]))
      const receipt = await call(u, 'eth_getTransactionReceipt', [h])
      expect(receipt.status).toBe('0x1')
      expect((await call(u, 'eth_getTransactionByHash', [h])).nonce).toBe('0x2')
      expect(BigInt(await call(u, 'eth_call', [{ to: at, data: iface.encodeFunctionData('value') }]))).toBe(
        78n,
      )
      expect(
        BigInt(await call(hh.url, 'eth_call', [{ to: at, data: iface.encodeFunctionData('value') }])),
      ).toBe(77n)
    } finally {
      await f?.close()
      await hh.stop()
    }
  }, 120_000)
})

describe('forking: bad remotes fail at start with a clear message', () => {
  let silent: Server
  let silentUrl: string
  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => {})
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/secret-api-key`
  })
  afterAll(async () => {
    silent.closeAllConnections()
    await new Promise((r) => silent.close(r))
  })

  it('unreachable, silent, not a URL, block not there', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    await expect(startDevNode({ fork: { url: `http://127.0.0.1:${port}`, retries: 0 } })).rejects.toThrow(
      new RegExp(`could not reach the fork's remote http://127.0.0.1:${port}`),
    )
    const slow = startDevNode({ fork: { url: silentUrl, timeoutMs: 300, retries: 0 } })
    await expect(slow).rejects.toThrow(/did not answer .* within 300 ms/)
    // The API key in the path is never shown.
    await expect(slow).rejects.not.toThrow(/secret-api-key/)
    await expect(startDevNode({ fork: { url: 'ftp://example.com' } })).rejects.toThrow(/must be http/)
    // A server that is not an Ethereum node: garbage answers and HTTP errors.
    const liar = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        if (req.url === '/500') {
          res.writeHead(500).end('oops')
          return
        }
        const reqs = JSON.parse(body)
        const answer = (r: { id: number }) => ({ jsonrpc: '2.0', id: r.id, result: 'banana' })
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(Array.isArray(reqs) ? reqs.map(answer) : answer(reqs)))
      })
    })
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r))
    const liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`
    try {
      await expect(startDevNode({ fork: { url: liarUrl, retries: 0 } })).rejects.toThrow(
        /the fork's remote http:\/\/127\.0\.0\.1:\d+ answered eth_chainId with "banana", not a quantity/,
      )
      await expect(startDevNode({ fork: { url: `${liarUrl}/500`, retries: 0 } })).rejects.toThrow(
        /answered eth_\w+ with HTTP 500/,
      )
    } finally {
      liar.closeAllConnections()
      await new Promise((r) => liar.close(r))
    }
    await expect(startDevNode({ fork: { url: remote.rpcUrl, blockNumber: 10_000n } })).rejects.toThrow(
      /has no block 10000 \(its latest block is \d+\)/,
    )
  })

  it('`openledger dev --fork-url` prints where it forked from', async () => {
    const p = await spawnDevProcess(['--fork-url', remote.rpcUrl, '--fork-block-number', String(forkAt)])
    try {
      expect(p.output()).toMatch(
        new RegExp(`Forked from: +http://127.0.0.1:\\d+ at block ${forkAt} \\(0x[0-9a-f]{64}\\)`),
      )
      expect(p.output()).toMatch(/Chain ID: +4242/)
      expect(await num(p.rpcUrl, 'eth_getStorageAt', [store, '0x0', 'latest'])).toBe(42n)
    } finally {
      p.child.kill('SIGTERM')
      await p.exited
    }
  }, 120_000)
})
