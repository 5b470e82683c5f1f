/**
 * Opening a fork of a remote chain: ask it for its chain id and the fork block (its head unless a
 * number is given), check that it has state at that block, and set up the state source and the
 * history forwarding a forked dev chain runs on. Every failure is a ForkError saying what is
 * wrong (bad URL, unreachable, block not there yet, no archive state) before anything changes.
 */
import { type ForkBlock, ForkError, type ForkPoint } from '@openledger/evm-runtime'
import { ErrorCode, type ForkedHistory, RpcError } from '@openledger/rpc'
import { RemoteChain, type RemoteOptions, RemoteRpcError } from './remote.ts'
import { data, quantity, RemoteForkSource } from './source.ts'

export interface ForkOptions extends RemoteOptions {
  /** Fork block; default the remote's latest block (as anvil). */
  blockNumber?: bigint
}

/** A remote chain forked at one block. */
export interface Fork {
  remote: RemoteChain
  /** The remote's chain id. */
  chainId: bigint
  point: ForkPoint
  source: RemoteForkSource
  /** Requests about blocks up to the fork block, answered by the remote (rpc's fork routing). */
  history: ForkedHistory
}

interface RpcBlockJson {
  number?: string
  hash?: string
  parentHash?: string
  timestamp?: string
  gasLimit?: string
  gasUsed?: string
  baseFeePerGas?: string
  miner?: string
  mixHash?: string
  extraData?: string
  stateRoot?: string
}

export async function openFork(opts: ForkOptions): Promise<Fork> {
  const remote = new RemoteChain(opts)
  const tag = opts.blockNumber === undefined ? 'latest' : `0x${opts.blockNumber.toString(16)}`
  const [chainIdHex, json, headHex] = await Promise.all([
    remote.request<string>('eth_chainId', []),
    remote.request<RpcBlockJson | null>('eth_getBlockByNumber', [tag, false]),
    opts.blockNumber === undefined ? undefined : remote.request<string>('eth_blockNumber', []),
  ])
  const chainId = quantity(chainIdHex, 'eth_chainId', remote.display)
  if (json === null || typeof json !== 'object') {
    const head =
      headHex === undefined
        ? ''
        : ` (its latest block is ${quantity(headHex, 'eth_blockNumber', remote.display)})`
    throw new ForkError(`the fork's remote ${remote.display} has no block ${opts.blockNumber ?? tag}${head}`)
  }
  const block = forkBlockFromJson(json, remote.display)
  // State at the fork block must be there: a pruned node fails here rather than mid-transaction.
  await remote.request(
    'eth_getBalance',
    ['0x0000000000000000000000000000000000000000', hexQ(block.number)],
    `state at block ${block.number}`,
  )
  const source = new RemoteForkSource(remote, block.number)
  return {
    remote,
    chainId,
    point: { source, block },
    source,
    history: new RemoteHistory(remote, block.number),
  }
}

const hexQ = (n: bigint) => `0x${n.toString(16)}`

function forkBlockFromJson(b: RpcBlockJson, remote: string): ForkBlock {
  const m = 'eth_getBlockByNumber'
  const need = (v: string | undefined, field: string) => {
    if (v === undefined) throw new ForkError(`the fork's remote ${remote} answered ${m} without "${field}"`)
    return v
  }
  const bytes = (v: string | undefined, field: string, len?: number) => {
    const d = data(need(v, field), m, remote)
    if (len !== undefined && d.length !== len)
      throw new ForkError(`the fork's remote ${remote} answered ${m} with a ${d.length}-byte "${field}"`)
    return d
  }
  return {
    number: quantity(need(b.number, 'number'), m, remote),
    hash: bytes(b.hash, 'hash', 32),
    parentHash: bytes(b.parentHash, 'parentHash', 32),
    timestamp: quantity(need(b.timestamp, 'timestamp'), m, remote),
    gasLimit: quantity(need(b.gasLimit, 'gasLimit'), m, remote),
    gasUsed: quantity(need(b.gasUsed, 'gasUsed'), m, remote),
    baseFeePerGas: b.baseFeePerGas === undefined ? undefined : quantity(b.baseFeePerGas, m, remote),
    coinbase: bytes(b.miner ?? `0x${'00'.repeat(20)}`, 'miner', 20),
    mixHash: bytes(b.mixHash ?? `0x${'00'.repeat(32)}`, 'mixHash', 32),
    extraData: bytes(b.extraData ?? '0x', 'extraData'),
    stateRoot: bytes(b.stateRoot, 'stateRoot', 32),
  }
}

/** Methods whose answers about blocks up to the fork block never change: cached. */
const IMMUTABLE = new Set([
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getBlockReceipts',
  'eth_getLogs',
  'eth_getBlockTransactionCountByNumber',
  'eth_getBlockTransactionCountByHash',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
])

/** Forwarding to the remote for rpc's fork routing, with its answers cached (bounded). */
class RemoteHistory implements ForkedHistory {
  private readonly cache = new Map<string, unknown>()

  constructor(
    private readonly remote: RemoteChain,
    readonly blockNumber: bigint,
  ) {}

  async request(method: string, params: unknown[]): Promise<unknown> {
    const k = IMMUTABLE.has(method) ? `${method}${JSON.stringify(params)}` : undefined
    if (k !== undefined && this.cache.has(k)) return this.cache.get(k)
    let result: unknown
    try {
      result = await this.remote.request(method, params)
    } catch (err) {
      // The remote's own answer goes back as it gave it; not reaching it is "unavailable".
      if (err instanceof RemoteRpcError) throw new RpcError(err.rpcCode, err.rpcMessage, err.rpcData)
      throw new RpcError(ErrorCode.RESOURCE_UNAVAILABLE, (err as Error).message)
    }
    // Only answers about existing things are final (a hash may be unknown to the remote now).
    if (k !== undefined && result !== null) {
      if (this.cache.size >= 2_000) this.cache.clear()
      this.cache.set(k, result)
    }
    return result
  }
}
