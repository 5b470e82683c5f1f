/** `openledger node`, `openledger genesis new`, `openledger keys new`. */
import { readFile, writeFile } from 'node:fs/promises'
import type { Block } from '@ethereumjs/block'
import { readL1Addresses } from '@openledger/bridge'
import { privateKeyToAddress } from '@openledger/consensus'
import { type ExecutedTx, parseGenesis } from '@openledger/evm-runtime'
import { bridgedGenesis } from '../genesis/bridged-genesis.ts'
import { buildQbftGenesis } from '../genesis/qbft-genesis.ts'
import { generatePrivateKey, readKeyFile, writeKeyFile } from '../keys/node-key.ts'
import { createLogger } from '../logger.ts'
import { NetworkNode } from '../network-node.ts'
import { peerIdFromNodeKey } from '../p2p/index.ts'
import { fromHex, hex } from '../util/bytes.ts'
import { resolveL1Flags } from './l1-flags.ts'
import type { RpcFlagConfig } from './rpc-flags.ts'

export interface NodeCommandOptions {
  genesis: string
  datadir: string
  validatorKey?: string
  bootnodes: string[]
  rpcHost: string
  rpcPort: number
  p2pHost: string
  p2pPort: number
  metricsHost: string
  metricsPort?: number
  logLevel: string
  /** Browser access, limits and execution bounds from the shared RPC flags (rpc-flags.ts). */
  rpc?: RpcFlagConfig
  l1?: { rpc: string; addresses: string; proposerKey?: string }
}

export async function runNode(o: NodeCommandOptions): Promise<void> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(o.genesis, 'utf8'))
  } catch (e) {
    throw new Error(`--genesis ${o.genesis}: ${(e as Error).message}`)
  }
  const genesis = parseGenesis(json)
  const validatorKey = o.validatorKey ? await readKeyFile(o.validatorKey) : undefined
  const log = createLogger({ level: o.logLevel })
  const node = await NetworkNode.start({
    datadir: o.datadir,
    genesis,
    validatorKey,
    p2p: { host: o.p2pHost, port: o.p2pPort, bootnodes: o.bootnodes },
    rpc: { host: o.rpcHost, port: o.rpcPort, ...o.rpc?.rpc },
    execution: o.rpc?.execution,
    metrics: o.metricsPort === undefined ? undefined : { host: o.metricsHost, port: o.metricsPort },
    log,
    onBlock: blockPrinter(),
    l1: await resolveL1Flags(o.l1),
  })
  process.stdout.write(
    [
      `OpenLedger node (${node.validator ? `validator ${hex(node.validator)}` : 'full node'})`,
      `Chain ID:   ${genesis.chainId}`,
      `Head block: ${node.chain.head.header.number}`,
      `Peer ID:    ${node.peerId}`,
      ...node.p2p.multiaddrs().map((a) => `P2P:        ${a}`),
      ...(node.metricsUrl ? [`Metrics:    ${node.metricsUrl}/metrics (health: /health)`] : []),
      `Listening on ${node.rpcUrl} (HTTP and WebSocket)`,
      '',
    ].join('\n'),
  )
  handleSignals(() => node.close())
}

export function handleSignals(close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) process.exit(130)
    stopping = true
    process.stdout.write(`\nReceived ${signal}, shutting down…\n`)
    close().then(
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

/** One console line per block; the lines of a synced range (committed at once) in one write. */
function blockPrinter(): (block: Block, executed: readonly ExecutedTx[]) => void {
  let lines: string[] = []
  return (block, executed) => {
    if (lines.length === 0)
      queueMicrotask(() => {
        process.stdout.write(lines.join(''))
        lines = []
      })
    lines.push(`${formatBlock(block, executed)}\n`)
  }
}

function formatBlock(block: Block, executed: readonly ExecutedTx[]): string {
  const h = block.header
  return `Block #${h.number} ${hex(block.hash())} txs=${executed.length} gasUsed=${h.gasUsed} proposer=${hex(h.coinbase.bytes)}`
}

export async function runKeysNew(o: { out?: string }): Promise<void> {
  const key = generatePrivateKey()
  const address = hex(privateKeyToAddress(key))
  const peerId = peerIdFromNodeKey(key)
  if (o.out) {
    await writeKeyFile(o.out, key)
    process.stdout.write(`Key file:  ${o.out}\nAddress:   ${address}\nPeer ID:   ${peerId}\n`)
  } else {
    process.stdout.write(`Private key: ${hex(key)}\nAddress:     ${address}\nPeer ID:     ${peerId}\n`)
  }
}

export async function runGenesisNew(o: {
  validators: string[]
  validatorKeys: string[]
  chainId?: number
  blockPeriod: number
  requestTimeout?: number
  devAccounts?: number
  hardfork?: string
  out?: string
  /** Self-delegation of each validator, wei. */
  stake?: bigint
  epochLength?: number
  unbondingTime?: number
  l1Addresses?: string
}): Promise<void> {
  const addresses: Uint8Array[] = []
  for (const v of o.validators) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(v))
      throw new Error(`--validators: "${v}" is not a 0x-prefixed 20-byte address`)
    addresses.push(fromHex(v))
  }
  for (const f of o.validatorKeys) addresses.push(privateKeyToAddress(await readKeyFile(f)))
  if (addresses.length === 0) throw new Error('give the validators with --validators and/or --validator-keys')
  const json = await buildQbftGenesis({
    validators: addresses,
    chainId: o.chainId,
    blockPeriodSeconds: o.blockPeriod,
    requestTimeoutSeconds: o.requestTimeout,
    devAccounts: o.devAccounts,
    hardfork: o.hardfork,
    stake: o.stake,
    stakingParams: {
      ...(o.epochLength !== undefined && { epochLength: o.epochLength }),
      ...(o.unbondingTime !== undefined && {
        unbondingTime: o.unbondingTime,
        // Evidence must stay admissible for longer than stake takes to unbond (docs/staking.md).
        maxEvidenceAge: o.unbondingTime * 2 + 1,
      }),
    },
  })
  const bridged = o.l1Addresses ? bridgedGenesis(json, await readL1Addresses(o.l1Addresses), o.chainId) : json
  const text = `${JSON.stringify(bridged, null, 2)}\n`
  if (o.out) {
    await writeFile(o.out, text, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(e.code === 'EEXIST' ? `${o.out} already exists` : `cannot write ${o.out}: ${e.message}`)
    })
    process.stdout.write(`Genesis written to ${o.out} (${addresses.length} validators)\n`)
  } else process.stdout.write(text)
}
