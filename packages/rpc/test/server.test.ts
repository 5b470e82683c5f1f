import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRpcServer, type RpcServerHandle } from '../src/index.ts'
import type { RpcLogger } from '../src/registry.ts'
import { ADDR0, FixtureBackend, FixtureDev, signedTransfer, TOKEN, TOPIC_A, TOPIC_B } from './fixture.ts'
import { httpClient, type Msg, type Rpc, WsClient, waitFor } from './helpers.ts'

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`

interface Env {
  backend: FixtureBackend
  server: RpcServerHandle
  rpc: Rpc
  port: number
  clock: { now: number }
  logged: Array<{ obj: object; msg: string }>
}

async function start(
  opts: { dev?: boolean; limits?: Record<string, number>; corsOrigins?: string[] } = {},
): Promise<Env> {
  const backend = new FixtureBackend()
  if (opts.dev) backend.dev = new FixtureDev()
  const clock = { now: 1_000_000 }
  const logged: Env['logged'] = []
  const logger: RpcLogger = {
    debug() {},
    warn: (obj, msg) => logged.push({ obj, msg }),
    error: (obj, msg) => logged.push({ obj, msg }),
  }
  const server = createRpcServer(backend, {
    logger,
    now: () => clock.now,
    limits: {
      maxBodyBytes: 4096,
      maxBatchSize: 5,
      maxWsMessageBytes: 4096,
      maxLogBlockRange: 3,
      ...opts.limits,
    },
    corsOrigins: opts.corsOrigins,
  })
  const { port } = await server.listen(0, '127.0.0.1')
  return { backend, server, rpc: httpClient(port), port, clock, logged }
}

describe('HTTP framing', () => {
  let env: Env
  beforeAll(async () => {
    env = await start({ corsOrigins: ['*'] })
  })
  afterAll(() => env.server.close())

  it('answers a simple call', async () => {
    expect(await env.rpc.call('eth_chainId')).toEqual({
      jsonrpc: '2.0',
      id: expect.any(Number),
      result: '0x1',
    })
    expect((await env.rpc.call('net_version')).result).toBe('1')
    expect((await env.rpc.call('web3_sha3', ['0x'])).result).toBe(
      '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    )
  })

  it('malformed JSON is -32700 with id null', async () => {
    const res = await env.rpc.post('{"jsonrpc":"2.0","id":1,')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
  })

  it('invalid request objects are -32600', async () => {
    expect((await env.rpc.post({ jsonrpc: '1.0', id: 1, method: 'eth_chainId' })).json).toMatchObject({
      id: 1,
      error: { code: -32600 },
    })
    expect((await env.rpc.post({ jsonrpc: '2.0', id: 2, method: 7 })).json).toMatchObject({
      id: 2,
      error: { code: -32600 },
    })
    expect((await env.rpc.post({ jsonrpc: '2.0', id: { a: 1 }, method: 'eth_chainId' })).json).toMatchObject({
      id: null,
      error: { code: -32600 },
    })
    expect((await env.rpc.post('"hello"')).json).toMatchObject({ id: null, error: { code: -32600 } })
  })

  it('unknown methods are -32601 naming the method', async () => {
    const res = await env.rpc.call('eth_doesNotExist')
    expect(res.error).toEqual({
      code: -32601,
      message: 'the method eth_doesNotExist does not exist/is not available',
    })
  })

  it('wrong parameter types are -32602 naming the argument', async () => {
    const bad = await env.rpc.call('eth_getBalance', ['0x1234', 'latest'])
    expect(bad.error?.code).toBe(-32602)
    expect(bad.error?.message).toContain('address')
    const leading = await env.rpc.call('eth_getBlockByNumber', ['0x01', false])
    expect(leading.error?.message).toContain('leading zero')
    const named = await env.rpc.post({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_getBalance',
      params: { address: '0x' },
    })
    expect(named.json).toMatchObject({ error: { code: -32602 } })
    const missingBool = await env.rpc.call('eth_getBlockByNumber', ['latest'])
    expect(missingBool.error?.code).toBe(-32602)
  })

  it('oversized bodies get HTTP 413 and a -32005 error naming the limit', async () => {
    const res = await env.rpc.post({
      jsonrpc: '2.0',
      id: 1,
      method: 'web3_sha3',
      params: [`0x${'ab'.repeat(4000)}`],
    })
    expect(res.status).toBe(413)
    expect(res.json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32005, message: 'request body exceeds max size of 4096 bytes' },
    })
    // The server keeps serving.
    expect((await env.rpc.call('eth_chainId')).result).toBe('0x1')
  })

  it('batches: ordered answers, notifications skipped, non-objects rejected item by item', async () => {
    const res = await env.rpc.post([
      { jsonrpc: '2.0', id: 'first', method: 'eth_blockNumber' },
      { jsonrpc: '2.0', method: 'eth_chainId' },
      5,
      { jsonrpc: '2.0', id: 3, method: 'nope_nope' },
      { jsonrpc: '2.0', id: 4, method: 'net_listening' },
    ])
    expect(res.json).toEqual([
      { jsonrpc: '2.0', id: 'first', result: '0x0' },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
      { jsonrpc: '2.0', id: 3, error: { code: -32601, message: expect.stringContaining('nope_nope') } },
      { jsonrpc: '2.0', id: 4, result: true },
    ])
  })

  it('batch limits: empty is -32600, too large is -32005; notification-only gets an empty body', async () => {
    expect((await env.rpc.post([])).json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'empty batch' },
    })
    const big = Array.from({ length: 6 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))
    expect((await env.rpc.post(big)).json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32005, message: 'batch of 6 requests exceeds max batch size 5' },
    })
    const quiet = await env.rpc.post([{ jsonrpc: '2.0', method: 'eth_chainId' }])
    expect(quiet.status).toBe(200)
    expect(quiet.text).toBe('')
  })

  it('CORS headers and preflight like geth --http.corsdomain "*"', async () => {
    const res = await env.rpc.post(
      { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
      { origin: 'http://dapp.local' },
    )
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const pre = await fetch(env.rpc.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://dapp.local', 'access-control-request-headers': 'content-type' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST')
    const health = await fetch(env.rpc.url)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', chainId: '0x1' })
  })

  it('a handler throwing a plain error gives -32603 without leaking details, and is logged', async () => {
    env.backend.explode = true
    try {
      const res = await env.rpc.call('eth_call', [{ to: hex(TOKEN) }])
      expect(res.error).toEqual({ code: -32603, message: 'internal error' })
      expect(env.logged.some((l) => l.msg === 'RPC handler failed')).toBe(true)
      expect(JSON.stringify(env.logged.map((l) => l.obj))).not.toContain(hex(TOKEN))
    } finally {
      env.backend.explode = false
    }
    expect((await env.rpc.call('eth_chainId')).result).toBe('0x1')
  })

  it('eth_subscribe over HTTP is refused as unsupported', async () => {
    expect((await env.rpc.call('eth_subscribe', ['newHeads'])).error?.code).toBe(-32004)
  })
})

describe('eth methods', () => {
  let env: Env
  beforeEach(async () => {
    env = await start()
  })
  afterEach(() => env.server.close())

  it('revert errors carry code 3, the decoded reason and the revert bytes', async () => {
    const revertData = Buffer.from(
      `08c379a0${'0'.repeat(62)}20${'0'.repeat(63)}4${Buffer.from('boom').toString('hex').padEnd(64, '0')}`,
      'hex',
    )
    env.backend.callOutcome = {
      returnData: revertData,
      gasUsed: 100n,
      error: { reverted: true, message: 'revert' },
    }
    const res = await env.rpc.call('eth_call', [{ to: hex(TOKEN), input: '0x12345678' }, 'latest'])
    expect(res.error).toEqual({ code: 3, message: 'execution reverted: boom', data: hex(revertData) })
    env.backend.callOutcome = {
      returnData: new Uint8Array(),
      gasUsed: 100n,
      error: { reverted: false, message: 'out of gas' },
    }
    expect((await env.rpc.call('eth_call', [{ to: hex(TOKEN) }])).error).toEqual({
      code: -32000,
      message: 'out of gas',
    })
  })

  it('blocks, transactions and receipts round-trip through the fixture chain', async () => {
    const tx = signedTransfer(0n)
    const block = env.backend.addBlock(
      [tx],
      [[{ address: TOKEN, topics: [TOPIC_A], data: new Uint8Array([1]) }]],
    )
    const byNumber = (await env.rpc.call('eth_getBlockByNumber', ['0x1', true])).result as Msg
    expect(byNumber.hash).toBe(hex(block.hash()))
    expect(byNumber.transactions[0].hash).toBe(hex(tx.hash()))
    expect(byNumber.transactions[0].from).toBe(hex(ADDR0))
    const byHash = (await env.rpc.call('eth_getBlockByHash', [hex(block.hash()), false])).result as Msg
    expect(byHash.transactions).toEqual([hex(tx.hash())])
    expect((await env.rpc.call('eth_getBlockByNumber', ['0x99', false])).result).toBeNull()
    const txJson = (await env.rpc.call('eth_getTransactionByHash', [hex(tx.hash())])).result as Msg
    expect(txJson.blockNumber).toBe('0x1')
    expect((await env.rpc.call('eth_getTransactionByBlockNumberAndIndex', ['0x1', '0x0'])).result).toEqual(
      txJson,
    )
    expect(
      (await env.rpc.call('eth_getTransactionByBlockHashAndIndex', [hex(block.hash()), '0x1'])).result,
    ).toBeNull()
    const receipt = (await env.rpc.call('eth_getTransactionReceipt', [hex(tx.hash())])).result as Msg
    expect(receipt.logs[0].address).toBe(hex(TOKEN))
    expect((await env.rpc.call('eth_getBlockReceipts', ['latest'])).result).toEqual([receipt])
    expect((await env.rpc.call('eth_getBlockTransactionCountByNumber', ['latest'])).result).toBe('0x1')
    expect((await env.rpc.call('eth_getUncleCountByBlockHash', [hex(block.hash())])).result).toBe('0x0')
    expect((await env.rpc.call('eth_getUncleByBlockNumberAndIndex', ['0x1', '0x0'])).result).toBeNull()
  })

  it('eth_getLogs enforces the block range and passes the result limit to the backend', async () => {
    for (let i = 0; i < 5; i++) {
      env.backend.addBlock(
        [signedTransfer(BigInt(i))],
        [[{ address: TOKEN, topics: [i % 2 ? TOPIC_B : TOPIC_A], data: new Uint8Array() }]],
      )
    }
    const logs = await env.rpc.call('eth_getLogs', [
      { fromBlock: '0x1', toBlock: '0x3', topics: [hex(TOPIC_A)] },
    ])
    expect((logs.result as unknown[]).length).toBe(2)
    expect(env.backend.lastLogQuery?.limit).toBe(10_000)
    const tooWide = await env.rpc.call('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])
    expect(tooWide.error).toEqual({ code: -32005, message: 'query exceeds max block range 3' })
    const byHash = await env.rpc.call('eth_getLogs', [{ blockHash: hex(env.backend.blocks[2]!.hash()) }])
    expect((byHash.result as Array<{ topics: string[] }>)[0]!.topics).toEqual([hex(TOPIC_B)])
    const unknown = await env.rpc.call('eth_getLogs', [{ blockHash: `0x${'77'.repeat(32)}` }])
    expect(unknown.error?.code).toBe(-32001)
    expect((await env.rpc.call('eth_getLogs', [{ fromBlock: '0x3', toBlock: '0x1' }])).error?.code).toBe(
      -32000,
    )
  })

  it('eth_getLogs result limit is answered with -32005', async () => {
    await env.server.close()
    env = await start({ limits: { maxLogResults: 1 } })
    for (let i = 0; i < 2; i++)
      env.backend.addBlock(
        [signedTransfer(BigInt(i))],
        [[{ address: TOKEN, topics: [], data: new Uint8Array() }]],
      )
    const res = await env.rpc.call('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x2' }])
    expect(res.error).toEqual({ code: -32005, message: 'query returned more than 1 results' })
  })

  it('state, fee and pool methods', async () => {
    const addr = hex(TOKEN)
    expect((await env.rpc.call('eth_getBalance', [addr, { blockNumber: '0x0' }])).result).toBe(
      '0xde0b6b3a7640000',
    )
    expect((await env.rpc.call('eth_getTransactionCount', [addr])).result).toBe('0x3')
    expect((await env.rpc.call('eth_getCode', [addr, 'latest'])).result).toBe('0x6000')
    expect((await env.rpc.call('eth_getStorageAt', [addr, '0x1', 'latest'])).result).toBe(
      `0x${'0'.repeat(63)}1`,
    )
    const proof = (await env.rpc.call('eth_getProof', [addr, ['0x01'], 'latest'])).result as Msg
    expect(proof.storageProof[0].key).toBe(`0x${'0'.repeat(63)}1`)
    expect((await env.rpc.call('eth_estimateGas', [{ to: addr }])).result).toBe('0x5208')
    const fh = (await env.rpc.call('eth_feeHistory', ['0x2', 'latest', [25, 75]])).result as Msg
    expect(fh.baseFeePerGas).toHaveLength(3)
    expect(fh.reward).toEqual([
      ['0x1', '0x1'],
      ['0x1', '0x1'],
    ])
    expect((await env.rpc.call('eth_feeHistory', [2, 'latest', [75, 25]])).error?.message).toContain(
      'invalid reward percentile',
    )
    expect((await env.rpc.call('eth_sendRawTransaction', [hex(signedTransfer(0n).serialize())])).result).toBe(
      `0x${'09'.repeat(32)}`,
    )
    expect((await env.rpc.call('eth_sendTransaction', [{ to: addr }])).error?.message).toContain(
      '"from" is required',
    )
    expect((await env.rpc.call('eth_syncing')).result).toBe(false)
    expect((await env.rpc.call('net_peerCount')).result).toBe('0x2')
    expect((await env.rpc.call('eth_coinbase')).result).toBe(`0x${'00'.repeat(20)}`)

    const pending = signedTransfer(4n)
    env.backend.pool.pending.set('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', [pending])
    expect((await env.rpc.call('txpool_status')).result).toEqual({ pending: '0x1', queued: '0x0' })
    const content = (await env.rpc.call('txpool_content')).result as Msg
    const entry = content.pending['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266']['4']
    expect(entry.hash).toBe(hex(pending.hash()))
    expect(entry.blockHash).toBeNull()
    const inspect = (await env.rpc.call('txpool_inspect')).result as Msg
    expect(inspect.pending['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266']['4']).toBe(
      '0x1111111111111111111111111111111111111111: 1 wei + 21000 gas × 1000000000 wei',
    )
    const trace = await env.rpc.call('debug_traceTransaction', [
      hex(pending.hash()),
      { tracer: 'callTracer' },
    ])
    expect(trace.result).toMatchObject({ failed: false })
    expect(env.backend.lastTraceOptions).toEqual({ tracer: 'callTracer' })
  })

  it('filters: lifecycle, log filters and expiry after 5 minutes unpolled', async () => {
    const blockFilter = (await env.rpc.call('eth_newBlockFilter')).result as string
    const logFilter = (
      await env.rpc.call('eth_newFilter', [{ fromBlock: '0x1', address: hex(TOKEN), topics: [hex(TOPIC_A)] }])
    ).result as string
    const txFilter = (await env.rpc.call('eth_newPendingTransactionFilter')).result as string
    expect(blockFilter).toMatch(/^0x[0-9a-f]{32}$/)
    const b1 = env.backend.addBlock(
      [signedTransfer(0n)],
      [[{ address: TOKEN, topics: [TOPIC_A], data: new Uint8Array() }]],
    )
    const b2 = env.backend.addBlock(
      [signedTransfer(1n)],
      [[{ address: TOKEN, topics: [TOPIC_B], data: new Uint8Array() }]],
    )
    env.backend.emitter.emit('pendingTransaction', new Uint8Array(32).fill(5))
    expect((await env.rpc.call('eth_getFilterChanges', [blockFilter])).result).toEqual([
      hex(b1.hash()),
      hex(b2.hash()),
    ])
    expect((await env.rpc.call('eth_getFilterChanges', [blockFilter])).result).toEqual([])
    const logs = (await env.rpc.call('eth_getFilterChanges', [logFilter])).result as Array<{
      blockHash: string
    }>
    expect(logs.map((l) => l.blockHash)).toEqual([hex(b1.hash())])
    expect((await env.rpc.call('eth_getFilterChanges', [logFilter])).result).toEqual([])
    expect((await env.rpc.call('eth_getFilterLogs', [logFilter])).result).toHaveLength(1)
    expect((await env.rpc.call('eth_getFilterChanges', [txFilter])).result).toEqual([`0x${'05'.repeat(32)}`])

    expect((await env.rpc.call('eth_uninstallFilter', [txFilter])).result).toBe(true)
    expect((await env.rpc.call('eth_uninstallFilter', [txFilter])).result).toBe(false)

    // Polled just now: survives 4 minutes; the unpolled one expires after 5.
    env.clock.now += 4 * 60_000
    expect((await env.rpc.call('eth_getFilterChanges', [blockFilter])).result).toEqual([])
    env.clock.now += 60_000 + 1
    expect((await env.rpc.call('eth_getFilterChanges', [logFilter])).error).toEqual({
      code: -32000,
      message: 'filter not found',
    })
    expect((await env.rpc.call('eth_getFilterChanges', [blockFilter])).result).toEqual([])
    expect((await env.rpc.call('eth_getFilterChanges', ['xyz'])).error?.code).toBe(-32602)
  })

  it('the number of filters is bounded', async () => {
    await env.server.close()
    env = await start({ limits: { maxFilters: 2 } })
    await env.rpc.call('eth_newBlockFilter')
    await env.rpc.call('eth_newBlockFilter')
    expect((await env.rpc.call('eth_newBlockFilter')).error).toEqual({
      code: -32005,
      message: 'too many filters installed (max 2)',
    })
  })
})

describe('dev methods', () => {
  it('are refused with -32601 naming dev mode when the backend has no dev controls', async () => {
    const env = await start()
    try {
      for (const m of ['evm_mine', 'hardhat_setBalance', 'anvil_setBalance', 'evm_snapshot']) {
        const res = await env.rpc.call(m, [])
        expect(res.error).toEqual({
          code: -32601,
          message: `the method ${m} is only available in single-node dev mode (openledger dev)`,
        })
      }
    } finally {
      await env.server.close()
    }
  })

  it('route to the dev backend with parsed parameters', async () => {
    const env = await start({ dev: true })
    const dev = env.backend.dev as FixtureDev
    try {
      const addr = hex(TOKEN)
      expect((await env.rpc.call('evm_snapshot')).result).toBe('0x1')
      expect((await env.rpc.call('anvil_snapshot')).result).toBe('0x2')
      expect((await env.rpc.call('evm_revert', ['0x2'])).result).toBe(true)
      expect((await env.rpc.call('evm_mine', [1_700_000_123])).result).toBe('0')
      expect((await env.rpc.call('evm_mine', [{ blocks: 3, timestamp: '0x10' }])).result).toBe('0')
      expect((await env.rpc.call('hardhat_mine', ['0x5', '0x2'])).result).toBe(true)
      // Hardhat's shapes for evm_*, anvil's for anvil_*
      expect((await env.rpc.call('evm_increaseTime', [60])).result).toBe('60')
      expect((await env.rpc.call('anvil_increaseTime', [60])).result).toBe(60)
      expect((await env.rpc.call('evm_setNextBlockTimestamp', [2_000_000_000])).result).toBe('2000000000')
      expect((await env.rpc.call('anvil_setNextBlockTimestamp', [2_000_000_001])).result).toBe(null)
      expect((await env.rpc.call('evm_setBlockGasLimit', ['0x1000000'])).result).toBe(true)
      expect((await env.rpc.call('hardhat_setPrevRandao', [`0x${'11'.repeat(32)}`])).result).toBe(true)
      expect((await env.rpc.call('hardhat_reset', [])).result).toBe(true)
      expect(
        (await env.rpc.call('hardhat_reset', [{ forking: { jsonRpcUrl: 'http://x', blockNumber: 7 } }]))
          .result,
      ).toBe(true)
      expect((await env.rpc.call('hardhat_reset', [{ forking: { url: 'x' } }])).error?.code).toBe(-32602)
      expect((await env.rpc.call('hardhat_metadata')).result).toEqual({
        clientVersion: 'HardhatNetwork/test',
        chainId: 31337,
        instanceId: `0x${'07'.repeat(32)}`,
        latestBlockNumber: 5,
        latestBlockHash: `0x${'01'.repeat(32)}`,
      })
      expect((await env.rpc.call('hardhat_setBalance', [addr, '0x64'])).result).toBe(true)
      expect((await env.rpc.call('anvil_setStorageAt', [addr, '0x1', '0x2'])).result).toBe(true)
      expect((await env.rpc.call('evm_setAutomine', [false])).result).toBe(true)
      expect((await env.rpc.call('hardhat_getAutomine')).result).toBe(false)
      expect((await env.rpc.call('hardhat_setBalance', [addr, '100'])).error?.code).toBe(-32602)
      expect(dev.calls).toEqual([
        ['revert', 2n],
        ['mine', 1n, undefined, 1_700_000_123n],
        ['mine', 3n, undefined, 16n],
        ['mine', 5n, 2n, undefined],
        ['increaseTime', 60n],
        ['increaseTime', 60n],
        ['setNextBlockTimestamp', 2_000_000_000n],
        ['setNextBlockTimestamp', 2_000_000_001n],
        ['setBlockGasLimit', 0x1000000n],
        ['setPrevRandao', `0x${'11'.repeat(32)}`],
        ['reset', {}],
        ['reset', { forking: { url: 'http://x', blockNumber: 7n } }],
        ['setBalance', addr, 100n],
        ['setStorageAt', addr, `0x${'0'.repeat(63)}1`, `0x${'0'.repeat(63)}2`],
      ])
    } finally {
      await env.server.close()
    }
  })
})

describe('WebSocket', () => {
  let env: Env
  beforeEach(async () => {
    env = await start()
  })
  afterEach(() => env.server.close())

  it('subscribes to newHeads and logs, notifies, unsubscribes and cleans up on close', async () => {
    const ws = await WsClient.open(env.port)
    const heads = (await ws.call('eth_subscribe', ['newHeads'])).result as string
    const logs = (await ws.call('eth_subscribe', ['logs', { address: hex(TOKEN), topics: [hex(TOPIC_B)] }]))
      .result as string
    expect(heads).toMatch(/^0x[0-9a-f]{32}$/)
    expect(env.backend.emitter.listenerCount('block')).toBe(2) // filter manager + this connection

    const b1 = env.backend.addBlock(
      [signedTransfer(0n), signedTransfer(1n)],
      [
        [{ address: TOKEN, topics: [TOPIC_A], data: new Uint8Array() }],
        [{ address: TOKEN, topics: [TOPIC_B], data: new Uint8Array([7]) }],
      ],
    )
    const head = await ws.notification(heads)
    expect(head).toMatchObject({ jsonrpc: '2.0', method: 'eth_subscription' })
    expect(head.params.result.hash).toBe(hex(b1.hash()))
    expect(head.params.result.number).toBe('0x1')
    const log = await ws.notification(logs)
    expect(log.params.result).toMatchObject({ data: '0x07', transactionIndex: '0x1', logIndex: '0x1' })

    expect((await ws.call('eth_unsubscribe', [heads])).result).toBe(true)
    expect((await ws.call('eth_unsubscribe', [heads])).result).toBe(false)
    const b2 = env.backend.addBlock(
      [signedTransfer(2n)],
      [[{ address: TOKEN, topics: [TOPIC_B], data: new Uint8Array() }]],
    )
    // Notifications of one block go out in subscription order; the removed head subscription sends nothing first.
    const next = await ws.next((m: Msg) => m.method === 'eth_subscription')
    expect(next.params.subscription).toBe(logs)
    expect(next.params.result.blockHash).toBe(hex(b2.hash()))

    ws.close()
    await waitFor(() => env.backend.emitter.listenerCount('block') === 1)
  })

  it('newPendingTransactions sends hashes, or full transactions when asked', async () => {
    const ws = await WsClient.open(env.port)
    const hashes = (await ws.call('eth_subscribe', ['newPendingTransactions'])).result as string
    const full = (await ws.call('eth_subscribe', ['newPendingTransactions', true])).result as string
    const tx = signedTransfer(9n)
    env.backend.pool.pending.set('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', [tx])
    env.backend.emitter.emit('pendingTransaction', tx.hash())
    expect((await ws.notification(hashes)).params.result).toBe(hex(tx.hash()))
    const fullMsg = await ws.notification(full)
    expect(fullMsg.params.result).toMatchObject({ hash: hex(tx.hash()), blockHash: null, nonce: '0x9' })
    ws.close()
  })

  it('rejects bad subscriptions and bounds their number per connection', async () => {
    await env.server.close()
    env = await start({ limits: { maxSubscriptionsPerConnection: 1 } })
    const ws = await WsClient.open(env.port)
    expect((await ws.call('eth_subscribe', ['nope'])).error.code).toBe(-32602)
    expect((await ws.call('eth_subscribe', ['logs', { fromBlock: '0x1' }])).error.code).toBe(-32602)
    expect((await ws.call('eth_subscribe', ['newHeads'])).result).toMatch(/^0x/)
    expect((await ws.call('eth_subscribe', ['newHeads'])).error).toEqual({
      code: -32005,
      message: 'too many subscriptions on this connection (max 1)',
    })
    ws.close()
  })

  it('answers batches and malformed JSON over WebSocket', async () => {
    const ws = await WsClient.open(env.port)
    ws.ws.send('not json')
    expect(await ws.next()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'parse error' },
    })
    ws.ws.send(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
        { jsonrpc: '2.0', id: 2, method: 'net_version' },
      ]),
    )
    expect(await ws.next()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, result: '1' },
    ])
    ws.close()
  })

  it('closes the connection with 1009 when a message exceeds the size limit', async () => {
    const ws = await WsClient.open(env.port)
    ws.ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'web3_sha3', params: [`0x${'ab'.repeat(4000)}`] }),
    )
    expect((await ws.closed).code).toBe(1009)
    // Other connections are unaffected.
    const other = await WsClient.open(env.port)
    expect((await other.call('eth_chainId')).result).toBe('0x1')
    other.close()
  })

  it('refuses upgrades from origins outside the allow list', async () => {
    const backend = new FixtureBackend()
    const server = createRpcServer(backend, { wsOrigins: ['http://good.local'] })
    const { port } = await server.listen(0)
    try {
      await expect(WsClient.open(port, { origin: 'http://evil.local' })).rejects.toThrow(/403/)
      const ok = await WsClient.open(port, { origin: 'http://good.local' })
      expect((await ok.call('eth_chainId')).result).toBe('0x1')
      ok.close()
    } finally {
      await server.close()
    }
  })
})

describe('registry', () => {
  it('lets the node add namespaces and refuses clashes or wrong prefixes', async () => {
    const server = createRpcServer(new FixtureBackend())
    server.registerModule('ol', { ol_ping: () => 'pong' })
    expect(await server.handle({ jsonrpc: '2.0', id: 1, method: 'ol_ping' })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: 'pong',
    })
    expect(() => server.registerModule('ol', { ol_ping: () => 1 })).toThrow(/already registered/)
    expect(() => server.registerModule('qbft', { ol_other: () => 1 })).toThrow(/does not belong/)
    expect(server.methods()).toContain('eth_getProof')
    expect(await server.handle('{"jsonrpc":"2.0","method":"ol_ping"}')).toBeUndefined()
    await server.close()
  })
})
