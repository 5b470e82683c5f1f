/** JSON-RPC connection of the payable-AI commands: viem clients, sending and awaiting transactions. */
import { type DecodedModuleLog, decodeModuleLogs } from '@openledger/attribution/sdk'
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  type Hash,
  type Hex,
  http,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { describeChainError, PayableError } from './errors.ts'

export const DEFAULT_RPC = 'http://127.0.0.1:8545'

export interface ChainContext {
  rpcUrl: string
  chainId: number
  chain: Chain
  client: PublicClient<Transport, Chain>
  /** Present when a key was given. */
  account?: PrivateKeyAccount
  wallet?: WalletClient<Transport, Chain, PrivateKeyAccount>
  /** Bound on waiting for a transaction to be mined. */
  txTimeoutMs: number
}

export function parseRpcUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new PayableError(`--rpc: not a URL: ${value}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PayableError(`--rpc: expected an http(s) URL, got ${url.protocol}`)
  }
  return url.toString()
}

/** Connects to the node (asks its chain id) and, with a key, prepares a wallet client. */
export async function connect(
  rpcUrl: string,
  privateKey?: Hex,
  opts: { txTimeoutMs?: number } = {},
): Promise<ChainContext> {
  const url = parseRpcUrl(rpcUrl)
  // Local nodes answer in milliseconds: poll fast, retry little, fail with a clear message.
  const transport = http(url, { retryCount: 1, timeout: 30_000 })
  const probe = createPublicClient({ transport })
  let chainId: number
  try {
    chainId = await probe.getChainId()
  } catch (err) {
    throw new PayableError(`cannot reach a JSON-RPC node at ${url}: ${describeChainError(err)}`)
  }
  const chain = defineChain({
    id: chainId,
    name: 'OpenLedger',
    nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  })
  const client = createPublicClient({ chain, transport, pollingInterval: 50 })
  const ctx: ChainContext = { rpcUrl: url, chainId, chain, client, txTimeoutMs: opts.txTimeoutMs ?? 60_000 }
  if (privateKey !== undefined) {
    const account = privateKeyToAccount(privateKey)
    ctx.account = account
    ctx.wallet = createWalletClient({ chain, transport: withGasMargin(client), account, pollingInterval: 50 })
  }
  return ctx
}

/** Gas limit of writes = eth_estimateGas + 25% + 25,000 (unused gas is not charged). The margin
 * absorbs state that changes between the estimate and inclusion (other curators, contributors or
 * settlements landing first) instead of failing the user's transaction out of gas. */
export function gasWithMargin(estimate: bigint): bigint {
  return estimate + estimate / 4n + 25_000n
}

function withGasMargin(client: PublicClient<Transport, Chain>) {
  return custom({
    async request({ method, params }: { method: string; params?: unknown }) {
      const result = await client.request({ method, params } as Parameters<typeof client.request>[0])
      return method === 'eth_estimateGas'
        ? `0x${gasWithMargin(BigInt(result as string)).toString(16)}`
        : result
    },
  })
}

export function requireWallet(ctx: ChainContext): {
  wallet: WalletClient<Transport, Chain, PrivateKeyAccount>
  account: PrivateKeyAccount
} {
  if (ctx.wallet === undefined || ctx.account === undefined) {
    throw new PayableError(
      'this command signs transactions: pass --key-file <file> or set OPENLEDGER_PRIVATE_KEY',
    )
  }
  return { wallet: ctx.wallet, account: ctx.account }
}

export interface Mined {
  hash: Hash
  receipt: TransactionReceipt
  logs: DecodedModuleLog[]
}

/** Awaits a sent transaction (the promise from an SDK write action), then its receipt; a failure
 * at any step becomes one PayableError line naming `what`. */
export async function sendAndWait(ctx: ChainContext, what: string, sent: Promise<Hash>): Promise<Mined> {
  let hash: Hash
  try {
    hash = await sent
  } catch (err) {
    throw new PayableError(`${what} failed: ${describeChainError(err)}`)
  }
  const receipt = await waitForReceipt(ctx, hash, what)
  if (receipt.status !== 'success') throw new PayableError(`${what} failed: transaction ${hash} reverted`)
  return { hash, receipt, logs: decodeModuleLogs(receipt.logs) }
}

export async function waitForReceipt(
  ctx: ChainContext,
  hash: Hash,
  what: string,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + ctx.txTimeoutMs
  for (;;) {
    const raw = await ctx.client.request({ method: 'eth_getTransactionReceipt', params: [hash] })
    if (raw !== null) return ctx.client.getTransactionReceipt({ hash })
    if (Date.now() > deadline) {
      throw new PayableError(`${what}: transaction ${hash} not mined after ${ctx.txTimeoutMs} ms`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The first decoded log named `eventName`; a missing one is a node bug worth a clear message. */
export function findLog(mined: Mined, eventName: string): Record<string, unknown> {
  const log = mined.logs.find((l) => l.eventName === eventName)
  if (log === undefined) throw new PayableError(`transaction ${mined.hash} emitted no ${eventName} event`)
  return log.args
}

export function sameAddress(a: Address | string, b: Address | string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
