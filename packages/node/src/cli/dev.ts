/** `openledger dev`: a single-node development chain, as anvil / Hardhat Network. */
import type { Block } from '@ethereumjs/block'
import { type ExecutedTx, parseGenesis } from '@openledger/evm-runtime'
import { formatUnits } from '@openledger/payable/format'
import { displayUrl } from '../fork/remote.ts'
import { buildDevGenesis } from '../genesis/dev-genesis.ts'
import { DEV_DERIVATION_PATH, DEV_MNEMONIC, type DevAccount } from '../keys/dev-accounts.ts'
import { createLogger, silentLogger } from '../logger.ts'
import type { MiningMode } from '../miner/dev-sealer.ts'
import { OpenLedgerNode } from '../node.ts'
import { studioDevModule } from '../rpc/studio-factory.ts'
import { hex } from '../util/bytes.ts'
import { resolveL1Flags } from './l1-flags.ts'
import type { RpcFlagConfig } from './rpc-flags.ts'

export interface DevCommandOptions {
  port: number
  host: string
  blockTime?: number
  mining: boolean
  /** Hardhat's automine failure errors (default on). */
  throwOnTxFailures?: boolean
  unlimitedContractSize?: boolean
  accounts?: number
  balance?: bigint
  chainId?: number
  /** Block gas limit of the genesis block (and so of every later block). */
  gasLimit?: bigint
  datadir?: string
  genesis?: string
  mnemonic?: string
  hardfork?: string
  /** --fork-url and its companions (headers as "Name: value"). */
  fork?: { url: string; blockNumber?: bigint; timeoutMs?: number; retries?: number; headers?: string[] }
  logLevel: string
  silent: boolean
  /** Browser access, limits and execution bounds from the shared RPC flags (rpc-flags.ts). */
  rpc: RpcFlagConfig
  metricsPort?: number
  metricsHost: string
  l1?: { rpc: string; addresses: string; proposerKey?: string }
}

export async function runDev(opts: DevCommandOptions): Promise<void> {
  const out = opts.silent ? () => {} : (line: string) => process.stdout.write(`${line}\n`)
  const { json, accounts } = await buildDevGenesis({
    genesisPath: opts.genesis,
    accounts: opts.accounts,
    balance: opts.balance,
    chainId: opts.chainId,
    gasLimit: opts.gasLimit,
    mnemonic: opts.mnemonic,
    hardfork: opts.hardfork,
  })
  // A fork's state comes from the remote chain; the bridge predeploys and the L1 origin cannot.
  if (opts.fork && opts.l1) throw new Error('--fork-url and --l1-rpc cannot be combined')
  const l1 = await resolveL1Flags(opts.l1)
  // The bridge package loads only for a chain settled on an L1.
  const genesis = parseGenesis(
    l1
      ? (await import('../genesis/bridged-genesis.ts')).bridgedGenesis(json, l1.addresses, opts.chainId)
      : json,
  )
  // A throwaway chain starts now, as Hardhat's (its genesis time is the start time): tests take
  // `time.latest()` of a fresh chain as "now" and schedule from it. A persisted chain keeps the
  // file's time, so that its genesis hash is the same on every start.
  if (opts.datadir === undefined && opts.genesis === undefined && genesis.timestamp === 0n)
    genesis.timestamp = BigInt(Math.floor(Date.now() / 1000))
  const mining: MiningMode = !opts.mining
    ? { kind: 'manual' }
    : opts.blockTime !== undefined
      ? { kind: 'interval', blockTimeMs: opts.blockTime }
      : { kind: 'auto' }
  const log = opts.silent ? silentLogger() : createLogger({ level: opts.logLevel })
  const fork = opts.fork && {
    url: opts.fork.url,
    blockNumber: opts.fork.blockNumber,
    timeoutMs: opts.fork.timeoutMs,
    retries: opts.fork.retries,
    headers: opts.fork.headers && parseHeaders(opts.fork.headers),
    chainId: opts.chainId === undefined ? undefined : BigInt(opts.chainId),
  }
  // Studio's ModelFactory and playground (studio_*): training and answers by the dev node itself.
  const studio =
    opts.rpc.rpc.studio !== false
      ? studioDevModule({
          accounts,
          datadir: opts.datadir,
          log: opts.silent ? undefined : (line) => process.stderr.write(`${line}\n`),
        })
      : undefined
  const node = await OpenLedgerNode.startDev({
    fork,
    datadir: opts.datadir,
    genesis,
    rpc: { host: opts.host, port: opts.port, ...opts.rpc.rpc },
    execution: opts.rpc.execution,
    mining,
    throwOnTransactionFailures: opts.throwOnTxFailures ?? true,
    allowUnlimitedContractSize: opts.unlimitedContractSize === true,
    accounts,
    metrics: opts.metricsPort === undefined ? undefined : { host: opts.metricsHost, port: opts.metricsPort },
    // The recovery worker starts with the first burst (100 raw tx/s; node.ts's default), not at
    // start: an idle dev chain keeps ~11 MiB less resident (issue 16: 144 → 133 MiB at start-up),
    // and until the worker is ready, senders are recovered in-thread as before.
    log,
    l1,
    onBlock: opts.silent ? undefined : (b, e, d) => out(formatBlock(b, e, d)),
    rpcModules: studio ? { studio: studio.methods } : undefined,
  })
  studio?.setRpcUrl(node.rpcUrl)
  const balances = await Promise.all(
    accounts.map((a) => node.backend.getBalance(a.address, { tag: 'latest' })),
  )
  const forkedFrom = (await node.backend.dev?.metadata())?.forkedNetwork
  out(
    banner({
      node,
      accounts,
      balances,
      genesis,
      mnemonic: opts.mnemonic ?? DEV_MNEMONIC,
      mining,
      datadir: opts.datadir,
      studio: opts.rpc.rpc.studio !== false,
      fork: forkedFrom &&
        opts.fork && {
          display: displayUrl(opts.fork.url),
          blockNumber: forkedFrom.forkBlockNumber,
          hash: forkedFrom.forkBlockHash,
        },
    }),
  )

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      out('Forced exit.')
      process.exit(130)
    }
    stopping = true
    out(`\nReceived ${signal}, shutting down…`)
    Promise.all([studio?.close(), node.close()]).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

/** ISO time of a block; a timestamp past JavaScript's dates (evm_setNextBlockTimestamp allows up to
 * 2^64 - 1, as Hardhat) is printed as the number of seconds instead of failing the log line. */
function formatTime(timestamp: bigint): string {
  const d = new Date(Number(timestamp) * 1000)
  return Number.isNaN(d.getTime()) ? `${timestamp}s` : d.toISOString()
}

/** --fork-header "Name: value" lines as a header map. */
function parseHeaders(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i <= 0) throw new Error(`--fork-header must be "Name: value", got ${JSON.stringify(line)}`)
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim()
  }
  return out
}

function banner(p: {
  node: OpenLedgerNode
  accounts: DevAccount[]
  balances: bigint[]
  genesis: ReturnType<typeof parseGenesis>
  mnemonic: string
  mining: MiningMode
  datadir?: string
  studio: boolean
  fork?: { display: string; blockNumber: bigint; hash: Uint8Array }
}): string {
  const symbol = p.genesis.currency.symbol
  const lines = [
    '',
    '   OpenLedger Node — development chain',
    '',
    'Available Accounts',
    '==================',
    ...p.accounts.map((a, i) => `(${i}) ${hex(a.address)} (${formatUnits(p.balances[i]!)} ${symbol})`),
    '',
    'Private Keys',
    '==================',
    ...p.accounts.map((a, i) => `(${i}) ${hex(a.privateKey)}`),
    '',
    'Wallet',
    '==================',
    `Mnemonic:          ${p.mnemonic}`,
    `Derivation path:   ${DEV_DERIVATION_PATH}/{index}`,
    '',
    `Chain ID:          ${p.node.backend.chainId}`,
    ...(p.fork
      ? [`Forked from:       ${p.fork.display} at block ${p.fork.blockNumber} (${hex(p.fork.hash)})`]
      : []),
    `Currency:          ${p.genesis.currency.name} (${symbol}, ${p.genesis.currency.decimals} decimals)`,
    `Base Fee:          ${p.node.chain.head.header.calcNextBaseFee()} wei`,
    `Gas Limit:         ${p.genesis.gasLimit}`,
    `Mining:            ${p.mining.kind === 'interval' ? `every ${p.mining.blockTimeMs} ms` : p.mining.kind === 'auto' ? 'automine' : 'manual (evm_mine)'}`,
    `Data directory:    ${p.datadir ?? 'temporary (deleted on exit)'}`,
    `Head block:        ${p.node.chain.head.header.number}`,
    '',
    ...(p.node.metricsUrl ? [`Metrics:           ${p.node.metricsUrl}/metrics (health: /health)`] : []),
    ...(p.studio ? [`Studio:            ${p.node.rpcUrl}/studio/`] : []),
    `Listening on ${p.node.rpcUrl} (HTTP and WebSocket)`,
  ]
  return lines.join('\n')
}

function formatBlock(
  block: Block,
  executed: readonly ExecutedTx[],
  dropped: Array<{ hash: Uint8Array; reason: string }>,
): string {
  const h = block.header
  const lines = [
    `Block #${h.number} ${hex(block.hash())} txs=${executed.length} gasUsed=${h.gasUsed} baseFee=${h.baseFeePerGas ?? 0n} time=${formatTime(h.timestamp)}`,
  ]
  for (const e of executed) {
    let line = `    Transaction: ${hex(e.hash)} ${e.status === 1 ? 'success' : 'failed'} gasUsed=${e.gasUsed}`
    if (e.contractAddress) line += ` contract=${hex(e.contractAddress)}`
    if (e.status === 0 && e.error) line += ` error="${e.error.message}"`
    lines.push(line)
  }
  for (const d of dropped) lines.push(`    Dropped: ${hex(d.hash)} (${d.reason})`)
  return lines.join('\n')
}
