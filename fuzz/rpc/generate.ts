/**
 * Hostile JSON-RPC requests from a seeded PRNG: known methods with mutated, random or boundary
 * parameters; broken envelopes (ids, versions, methods, params shapes); batches; unknown methods;
 * raw bodies that are not JSON; heavy executions (random bytecode and gas through state overrides).
 * The same seed gives the same sequence, so a failure can be replayed.
 */

/** mulberry32: small, fast, good enough to explore input space reproducibly. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  hex(bytes: number): string {
    let s = '0x'
    for (let i = 0; i < bytes; i++) s += this.int(256).toString(16).padStart(2, '0')
    return s
  }
}

export const METHODS = [
  'eth_accounts',
  'eth_blobBaseFee',
  'eth_blockNumber',
  'eth_call',
  'eth_chainId',
  'eth_coinbase',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_feeHistory',
  'eth_gasPrice',
  'eth_getBalance',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getCode',
  'eth_getFilterChanges',
  'eth_getFilterLogs',
  'eth_getLogs',
  'eth_getProof',
  'eth_getStorageAt',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionByHash',
  'eth_getTransactionCount',
  'eth_getTransactionReceipt',
  'eth_getUncleByBlockHashAndIndex',
  'eth_getUncleByBlockNumberAndIndex',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_hashrate',
  'eth_maxPriorityFeePerGas',
  'eth_mining',
  'eth_newBlockFilter',
  'eth_newFilter',
  'eth_newPendingTransactionFilter',
  'eth_sendRawTransaction',
  'eth_sendTransaction',
  'eth_sign',
  'eth_signTypedData_v4',
  'eth_subscribe',
  'eth_syncing',
  'eth_uninstallFilter',
  'eth_unsubscribe',
  'personal_sign',
  'net_listening',
  'net_peerCount',
  'net_version',
  'web3_clientVersion',
  'web3_sha3',
  'txpool_content',
  'txpool_contentFrom',
  'txpool_inspect',
  'txpool_status',
  'debug_traceTransaction',
  'debug_traceCall',
  'ol_getDatanet',
  'ol_getDatanetVersion',
  'ol_getContribution',
  'ol_getModel',
  'ol_getModelVersion',
  'ol_getInferenceReceipt',
  'ol_getAttribution',
  'ol_getRewards',
  'ol_listDatanets',
  'ol_listModels',
  'qbft_getValidatorsByBlockNumber',
  'qbft_getValidatorsByBlockHash',
  'qbft_getEvidence',
  'admin_peers',
  'admin_nodeInfo',
  'evm_snapshot',
  'evm_revert',
  'evm_mine',
  'evm_increaseTime',
  'evm_setNextBlockTimestamp',
  'evm_setAutomine',
  'evm_setIntervalMining',
  'evm_setBlockGasLimit',
  'hardhat_mine',
  'hardhat_setBalance',
  'hardhat_setCode',
  'hardhat_setNonce',
  'hardhat_setStorageAt',
  'hardhat_impersonateAccount',
  'hardhat_stopImpersonatingAccount',
  'hardhat_dropTransaction',
  'hardhat_getAutomine',
  'hardhat_setCoinbase',
  'hardhat_setNextBlockBaseFeePerGas',
  'hardhat_setMinGasPrice',
  'hardhat_setPrevRandao',
  'hardhat_metadata',
  'anvil_mine',
  'anvil_setBalance',
  'anvil_setCode',
  'anvil_snapshot',
  'anvil_revert',
  'anvil_setBlockGasLimit',
  'anvil_metadata',
  'anvil_setNextBlockTimestamp',
] as const

/** State-changing dev methods the fuzzer never sends: they would only reset or stop the chain it
 * fuzzes (their parameters are fuzzed through their aliases' validation all the same). */
export const EXCLUDED = new Set(['hardhat_reset', 'anvil_reset'])

const TAGS = ['latest', 'pending', 'earliest', 'safe', 'finalized', 'LATEST', 'future', '', 'latest ']

/** Values that sit on validation boundaries. */
function edgeScalar(r: Rng): unknown {
  return r.pick<unknown>([
    '0x',
    '0x0',
    '0x00',
    '0x1',
    '0x01',
    '-0x1',
    '0x-1',
    '0xg',
    '0X1',
    '1',
    1,
    0,
    -1,
    1.5,
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER,
    2 ** 64,
    `0x${'f'.repeat(64)}`,
    `0x${'f'.repeat(65)}`,
    `0x${'0'.repeat(130)}`,
    `0x${'ff'.repeat(20)}`,
    `0x${'ff'.repeat(32)}`,
    `0x${'ab'.repeat(19)}`,
    'latest',
    'pending',
    null,
    true,
    false,
    '',
    ' ',
    '\u0000',
    '\ud800',
    'é',
    '𝔘',
    [],
    {},
    [[]],
    { a: 1 },
    'x'.repeat(10_000),
    '0xffffffffffffffff',
    '0x10000000000000000',
    r.hex(20),
    r.hex(32),
    r.hex(r.int(300)),
  ])
}

/** A random JSON value, depth-bounded (deep nesting is its own case). */
export function randomJson(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 8)
  switch (k) {
    case 0:
      return edgeScalar(r)
    case 1:
      return r.hex(r.int(64))
    case 2:
      return r.int(2 ** 31) - 2 ** 30
    case 3:
      return r.pick(TAGS)
    case 4:
      return null
    case 5:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth + 1))
    case 6: {
      const o: Record<string, unknown> = {}
      for (let i = r.int(5); i > 0; i--)
        o[
          r.pick([
            'to',
            'from',
            'data',
            'input',
            'gas',
            'value',
            'address',
            'topics',
            'fromBlock',
            'blockHash',
            'x',
            '__proto__',
            'constructor',
          ])
        ] = randomJson(r, depth + 1)
      return o
    }
    default:
      return `${r.pick(['0x', '', 'Ox', '0x0x'])}${r.hex(r.int(40)).slice(2)}`
  }
}

function deep(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

const blockRef = (r: Rng): unknown =>
  r.chance(0.6)
    ? r.pick(TAGS.slice(0, 5))
    : r.pick<unknown>([
        `0x${r.int(50).toString(16)}`,
        { blockHash: r.hex(32) },
        { blockNumber: '0x1' },
        { blockHash: r.hex(32), requireCanonical: true },
        edgeScalar(r),
      ])

function callObject(r: Rng): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  if (r.chance(0.8)) o.to = r.chance(0.7) ? r.hex(20) : edgeScalar(r)
  if (r.chance(0.5)) o.from = r.hex(20)
  if (r.chance(0.5)) o.data = r.hex(r.int(200))
  if (r.chance(0.3)) o.gas = r.pick(['0x5208', '0xffffffffffffffff', '0x0', '0x1c9c380', edgeScalar(r)])
  if (r.chance(0.2)) o.value = r.pick(['0x1', `0x${'f'.repeat(64)}`, edgeScalar(r)])
  if (r.chance(0.1)) o.gasPrice = r.pick(['0x1', '0x3b9aca00', edgeScalar(r)])
  if (r.chance(0.05)) o.unknownField = 1
  return o
}

/** Random bytecode (sometimes a loop) installed by a state override: the interpreter's bounds. */
function heavyCall(r: Rng): unknown[] {
  const to = r.hex(20)
  const code = r.chance(0.3) ? '0x5b600056' : r.hex(r.int(300))
  return [
    { to, gas: r.pick(['0xffffffffffffffff', '0x1c9c380', '0x2faf080', undefined]), data: r.hex(r.int(64)) },
    'latest',
    { [to]: { code, balance: r.chance(0.5) ? '0xffff' : undefined } },
  ]
}

/** Plausible-then-mutated params for a method. */
function paramsFor(r: Rng, method: string, heavy = true): unknown {
  if (r.chance(0.15)) return randomJson(r)
  if (r.chance(0.05))
    return r.pick<unknown>([{}, 'x', 1, null, deep(200), Array.from({ length: 50 }, () => 1)])
  switch (method) {
    case 'eth_call':
    case 'eth_estimateGas':
    case 'eth_createAccessList':
      return heavy && r.chance(0.1) ? heavyCall(r) : [callObject(r), blockRef(r)]
    case 'debug_traceCall': {
      const [call, block, overrides] = heavy && r.chance(0.1) ? heavyCall(r) : [callObject(r), blockRef(r)]
      const config = r.pick<Record<string, unknown>>([
        {},
        { tracer: 'callTracer', tracerConfig: { withLog: r.chance(0.5) } },
        { tracer: '4byteTracer' },
        { limit: r.int(100_000), disableStack: r.chance(0.5) },
        { timeout: r.pick(['1s', '10ms', '-1s', 'abc']) },
        { blockOverrides: { number: '0x1' } },
        { stateOverrides: randomJson(r) },
      ])
      return [call, block, overrides === undefined ? config : { ...config, stateOverrides: overrides }]
    }
    case 'eth_getBalance':
    case 'eth_getCode':
    case 'eth_getTransactionCount':
      return [r.chance(0.8) ? r.hex(20) : edgeScalar(r), blockRef(r)]
    case 'eth_getStorageAt':
      return [r.hex(20), r.chance(0.7) ? r.hex(r.int(33)) : edgeScalar(r), blockRef(r)]
    case 'eth_getProof':
      return [
        r.hex(20),
        Array.from({ length: r.chance(0.05) ? 2000 : r.int(4) }, () => r.hex(32)),
        blockRef(r),
      ]
    case 'eth_getBlockByNumber':
      return [blockRef(r), r.chance(0.5)]
    case 'eth_getBlockByHash':
    case 'eth_getTransactionByHash':
    case 'eth_getTransactionReceipt':
    case 'debug_traceTransaction':
      return [
        r.chance(0.8) ? r.hex(32) : edgeScalar(r),
        ...(method === 'debug_traceTransaction' && r.chance(0.7)
          ? [
              r.pick<unknown>([
                { tracer: 'callTracer' },
                { tracer: 'prestateTracer' },
                { limit: r.int(100_000) },
                { timeout: r.pick(['1s', '10ms', '-1s', 'abc', '999999h']) },
                { enableMemory: true },
                randomJson(r),
              ]),
            ]
          : []),
      ]
    case 'eth_getLogs':
    case 'eth_newFilter':
      return [
        r.pick<unknown>([
          { fromBlock: '0x0', toBlock: 'latest' },
          { fromBlock: '0x0', toBlock: '0xffffffff' },
          {
            address: Array.from({ length: r.int(3) }, () => r.hex(20)),
            topics: [r.hex(32), null, [r.hex(32)]],
          },
          { blockHash: r.hex(32) },
          { topics: [[], [], [], [], []] },
          { address: Array.from({ length: 1001 }, () => r.hex(20)) },
          randomJson(r),
        ]),
      ]
    case 'eth_feeHistory':
      return [
        r.pick<unknown>(['0x4', 4, '0xffffffff', 0, edgeScalar(r)]),
        blockRef(r),
        r.pick<unknown>([[25, 75], [101], [50, 10], Array.from({ length: 101 }, (_, i) => i), randomJson(r)]),
      ]
    case 'eth_sendRawTransaction':
      return [r.chance(0.8) ? r.hex(r.int(300)) : edgeScalar(r)]
    case 'eth_sendTransaction':
      return [{ ...callObject(r), from: r.pick([r.hex(20), '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266']) }]
    case 'eth_sign':
    case 'personal_sign':
      return [r.hex(20), r.hex(r.int(100))]
    case 'eth_signTypedData_v4':
      return [
        r.hex(20),
        r.pick<unknown>([
          randomJson(r),
          '{"types":{}}',
          { types: { EIP712Domain: [] }, primaryType: 'X', domain: {}, message: {} },
        ]),
      ]
    case 'eth_subscribe':
      return [r.pick(['newHeads', 'logs', 'newPendingTransactions', 'syncing', 'x']), randomJson(r)]
    case 'eth_getFilterChanges':
    case 'eth_getFilterLogs':
    case 'eth_uninstallFilter':
    case 'eth_unsubscribe':
      return [r.chance(0.5) ? r.hex(16) : edgeScalar(r)]
    case 'web3_sha3':
      return [r.hex(r.int(1000))]
    case 'hardhat_mine':
    case 'anvil_mine':
      return [
        r.pick<unknown>(['0x1', '0x2', 3, '0xffffffffffffffff', '0x100000', edgeScalar(r)]),
        r.pick<unknown>([undefined, '0x1', edgeScalar(r)]),
      ]
    case 'hardhat_setBalance':
    case 'hardhat_setNonce':
    case 'hardhat_setCode':
    case 'anvil_setBalance':
    case 'anvil_setCode':
      return [r.hex(20), r.chance(0.7) ? r.hex(r.int(40)) : edgeScalar(r)]
    case 'hardhat_setStorageAt':
      return [r.hex(20), r.hex(32), r.hex(32)]
    default:
      return r.chance(0.5)
        ? []
        : Array.from({ length: r.int(3) }, () => (r.chance(0.5) ? edgeScalar(r) : blockRef(r)))
  }
}

export interface FuzzCase {
  /** What is sent: a JSON value, or raw text when `raw` is set. */
  body: unknown
  raw?: string
  /** Over WebSocket rather than HTTP. */
  ws: boolean
  /** A one-line description for reports. */
  kind: string
}

function request(r: Rng, method: string, params: unknown): Record<string, unknown> {
  const req: Record<string, unknown> = { jsonrpc: '2.0', id: r.int(1_000_000), method }
  if (params !== undefined) req.params = params
  return req
}

/** One fuzz case. */
export function generate(r: Rng): FuzzCase {
  const ws = r.chance(0.2)
  const roll = r.next()
  if (roll < 0.65) {
    const method = r.pick(METHODS)
    return { body: request(r, method, paramsFor(r, method)), ws, kind: method }
  }
  if (roll < 0.75) {
    // Broken envelopes.
    const m = r.pick(METHODS)
    const bodies: unknown[] = [
      { jsonrpc: '1.0', id: 1, method: m, params: [] },
      { id: 1, method: m, params: [] },
      { jsonrpc: '2.0', id: { x: 1 }, method: m },
      { jsonrpc: '2.0', id: [1], method: m },
      { jsonrpc: '2.0', id: 1.5, method: m, params: [] },
      { jsonrpc: '2.0', id: 'x'.repeat(5000), method: m, params: [] },
      { jsonrpc: '2.0', id: 1, method: 42 },
      { jsonrpc: '2.0', id: 1, method: '' },
      { jsonrpc: '2.0', id: 1, method: m, params: { named: true } },
      { jsonrpc: '2.0', id: 1, method: m, params: 'x' },
      { jsonrpc: '2.0', method: m, params: [] },
      { jsonrpc: '2.0', id: null, method: m, params: [] },
      { jsonrpc: '2.0', id: 1, method: `${m}\u0000`, params: [] },
      { jsonrpc: '2.0', id: 1, method: '__proto__', params: [] },
      { jsonrpc: '2.0', id: 1, method: 'constructor', params: [] },
      { jsonrpc: '2.0', id: 1, method: 'toString', params: [] },
      { jsonrpc: '2.0', id: 1, method: 'rpc_modules', params: [] },
      { jsonrpc: '2.0', id: 1, method: `eth_${r.hex(4).slice(2)}`, params: [] },
      1,
      'x',
      null,
      [],
    ]
    return { body: r.pick(bodies), ws, kind: 'envelope' }
  }
  if (roll < 0.85) {
    // Batches: mixed, oversized, nested.
    const n = r.pick([1, 2, 5, 20, 100, 1001])
    const items = Array.from({ length: n }, () => {
      const method = r.pick(METHODS)
      return r.chance(0.2) ? randomJson(r) : request(r, method, paramsFor(r, method, false))
    })
    if (r.chance(0.1)) items.push([items[0]] as never)
    return { body: items, ws, kind: `batch${n > 1000 ? '-oversized' : ''}` }
  }
  if (roll < 0.98) {
    // Raw bodies that are not (valid) JSON.
    const raws = [
      '{',
      '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"',
      '[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},',
      '\u0000\u0001\u0002',
      '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}{"x":1}',
      'null',
      '"string"',
      '1e999999',
      `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      `${'['.repeat(100_000)}`,
      '\ufeff{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
      '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"params":{}}',
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]).toString('latin1'),
    ]
    return { body: undefined, raw: r.pick(raws), ws, kind: 'raw' }
  }
  // Heavy execution: random bytecode, unbounded gas, sometimes an endless loop.
  const method = r.pick(['eth_call', 'eth_estimateGas'])
  return { body: request(r, method, heavyCall(r)), ws, kind: `${method}-heavy` }
}
