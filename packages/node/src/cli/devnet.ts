/**
 * `openledger devnet --validators N`: keys, a QBFT genesis and N validator processes on this
 * machine, node i serving JSON-RPC on port+i. Each node is a real `openledger node` process with
 * its own datadir and log file; Ctrl-C stops them all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deployL1, type LocalL1, l1AddressesToJson, readL1Addresses, startAnvil } from '@openledger/bridge'
import { privateKeyToAddress } from '@openledger/consensus'
import { privateKeyToAccount } from 'viem/accounts'
import { bridgedGenesis } from '../genesis/bridged-genesis.ts'
import { buildQbftGenesis } from '../genesis/qbft-genesis.ts'
import { deriveDevAccounts } from '../keys/dev-accounts.ts'
import { loadOrCreateKey } from '../keys/node-key.ts'
import { peerIdFromNodeKey } from '../p2p/index.ts'
import { bytesEqual, fromHex, hex } from '../util/bytes.ts'

const BIN = fileURLToPath(new URL('../../bin/openledger.mjs', import.meta.url))
const READY_TIMEOUT_MS = 120_000
/** Devnet staking: 20-block epochs, 2-minute unbonding (a network genesis keeps 21 days). */
export const DEVNET_STAKING = {
  epochLength: 20,
  unbondingTime: 120,
  maxEvidenceAge: 1_000,
  downtimeJailDuration: 60,
}
/** Devnet governance: vote within 20 blocks, 10 s timelock. */
export const DEVNET_GOVERNANCE = { votingDelay: 1, votingPeriod: 20, timelockDelay: 10 }

export interface DevnetOptions {
  validators: number
  blockTimeMs: number
  port: number
  p2pPort: number
  metricsPort?: number
  datadir?: string
  chainId?: number
  logLevel: string
  /** Extra flags for every node (the RPC flags devnet was given). */
  nodeArgs?: string[]
  /** 'local': start an anvil L1, deploy the bridge, settle the devnet on it (node0 proposes). */
  l1?: 'local'
  /** RPC port of the local L1 (default: --port + 100). */
  l1Port?: number
}

/** anvil's first dev key: deploys the bridge and proposes outputs on the local L1. */
const L1_OPERATOR_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const LOCAL_L1_CHAIN_ID = 900

/** Starts anvil (state kept in <dir>/l1) and deploys the bridge once (<dir>/l1-addresses.json). */
async function startLocalL1(
  dir: string,
  port: number,
  l2ChainId: number,
  validators: Uint8Array[],
): Promise<{ anvil: LocalL1; addressesFile: string }> {
  await mkdir(join(dir, 'l1'), { recursive: true })
  const anvil = await startAnvil({
    port,
    chainId: LOCAL_L1_CHAIN_ID,
    blockTime: 1,
    stateFile: join(dir, 'l1', 'anvil-state.json'),
  })
  const addressesFile = join(dir, 'l1-addresses.json')
  if (!existsSync(addressesFile)) {
    const addresses = await deployL1({
      rpcUrl: anvil.url,
      account: privateKeyToAccount(L1_OPERATOR_KEY),
      params: {
        l2ChainId,
        validators: validators.map((v) => hex(v) as `0x${string}`),
        submissionInterval: 10n,
        finalizationPeriodSeconds: 12n,
        confirmations: 2,
      },
    })
    await writeFile(addressesFile, `${JSON.stringify(l1AddressesToJson(addresses), null, 2)}\n`)
  }
  return { anvil, addressesFile }
}

export async function runDevnet(o: DevnetOptions): Promise<void> {
  if (o.blockTimeMs % 1000 !== 0)
    throw new Error('--block-time: QBFT block periods are whole seconds (e.g. 1s, 2s)')
  const temp = o.datadir ? undefined : await mkdtemp(join(tmpdir(), 'openledger-devnet-'))
  const dir = o.datadir ?? temp!
  await mkdir(dir, { recursive: true })
  const keys: Uint8Array[] = []
  for (let i = 0; i < o.validators; i++) {
    await mkdir(join(dir, `node${i}`), { recursive: true })
    keys.push(await loadOrCreateKey(join(dir, `node${i}`, 'validator.key')))
  }
  const addresses = keys.map((k) => privateKeyToAddress(k))
  const chainId = o.chainId ?? 31337
  const l1 =
    o.l1 === 'local' ? await startLocalL1(dir, o.l1Port ?? o.port + 100, chainId, addresses) : undefined
  const genesisPath = join(dir, 'genesis.json')
  if (existsSync(genesisPath)) {
    const existing = JSON.parse(await readFile(genesisPath, 'utf8')) as { validators?: string[] }
    const listed = (existing.validators ?? []).map((v) => fromHex(v))
    if (listed.length !== addresses.length || !addresses.every((a) => listed.some((l) => bytesEqual(l, a))))
      throw new Error(`${genesisPath} was made for other validators; use another --datadir`)
  } else {
    const qbft = await buildQbftGenesis({
      validators: addresses,
      chainId: o.chainId,
      blockPeriodSeconds: o.blockTimeMs / 1000,
      name: 'openledger-devnet',
      // Short epochs and unbonding so that staking can be tried out in minutes.
      stakingParams: DEVNET_STAKING,
      governance: DEVNET_GOVERNANCE,
    })
    const genesis = l1 ? bridgedGenesis(qbft, await readL1Addresses(l1.addressesFile)) : qbft
    await writeFile(genesisPath, `${JSON.stringify(genesis, null, 2)}\n`)
  }
  const peerIds = keys.map(peerIdFromNodeKey)
  const p2pAddr = (i: number) => `/ip4/127.0.0.1/tcp/${o.p2pPort + i}/p2p/${peerIds[i]}`

  const children: ChildProcess[] = []
  let stopping = false
  const stopAll = async (code: number) => {
    if (stopping) return
    stopping = true
    process.stdout.write('\nStopping the devnet…\n')
    await Promise.all(children.map((c) => stopChild(c)))
    await l1?.anvil.stop()
    if (temp) await rm(temp, { recursive: true, force: true })
    process.exit(code)
  }
  process.on('SIGINT', () => void stopAll(0))
  process.on('SIGTERM', () => void stopAll(0))

  for (let i = 0; i < o.validators; i++) {
    const nodeDir = join(dir, `node${i}`)
    const logFd = openSync(join(nodeDir, 'node.log'), 'a')
    const args = [
      BIN,
      'node',
      '--genesis',
      genesisPath,
      '--datadir',
      nodeDir,
      '--validator-key',
      join(nodeDir, 'validator.key'),
      '--rpc.port',
      String(o.port + i),
      '--p2p.port',
      String(o.p2pPort + i),
      '--log-level',
      o.logLevel,
      ...(o.nodeArgs ?? []),
    ]
    const boot = peerIds.map((_, j) => j).filter((j) => j !== i)
    if (boot.length > 0) args.push('--bootnodes', boot.map(p2pAddr).join(','))
    if (o.metricsPort !== undefined) args.push('--metrics.port', String(o.metricsPort + i))
    if (l1) {
      args.push('--l1-rpc', l1.anvil.url, '--l1-addresses', l1.addressesFile)
      if (i === 0) args.push('--l1-proposer-key', L1_OPERATOR_KEY)
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd] })
    child.on('exit', (code, signal) => {
      if (!stopping)
        process.stdout.write(
          `node${i} exited (${signal ?? `code ${code}`}); see ${join(nodeDir, 'node.log')}\n`,
        )
    })
    children.push(child)
  }
  try {
    await Promise.all(children.map((c, i) => waitRpc(`http://127.0.0.1:${o.port + i}`, c)))
  } catch (e) {
    process.stderr.write(`devnet: ${(e as Error).message} (logs in ${dir}/node*/node.log)\n`)
    await stopAll(1)
    return
  }
  const accounts = deriveDevAccounts(20)
  const rows = keys.map((_, i) => [
    `node${i}`,
    `http://127.0.0.1:${o.port + i}`,
    String(o.p2pPort + i),
    peerIds[i]!,
    hex(addresses[i]!),
  ])
  process.stdout.write(
    [
      '',
      `   OpenLedger devnet — ${o.validators} QBFT validators, ${o.blockTimeMs / 1000}s blocks`,
      '',
      table(['node', 'rpc', 'p2p', 'peer id', 'validator'], rows),
      '',
      'Funded accounts (10,000 OPEN each, mnemonic "test test … junk")',
      ...accounts.map((a, i) => `(${i}) ${hex(a.address)}  ${hex(a.privateKey)}`),
      '',
      ...(l1
        ? [
            `L1:       anvil at ${l1.anvil.url} (chain ${LOCAL_L1_CHAIN_ID}, 1 s blocks); bridge addresses in ${l1.addressesFile}`,
            '          node0 proposes outputs; every validator signs them. Try:',
            `          openledger bridge status --l1-rpc ${l1.anvil.url} --l1-addresses ${l1.addressesFile} --l2-rpc http://127.0.0.1:${o.port}`,
          ]
        : []),
      `Genesis:  ${genesisPath}`,
      `Data:     ${dir}${temp ? ' (temporary, deleted on exit)' : ''}`,
      'Press Ctrl-C to stop all nodes.',
      '',
    ].join('\n'),
  )
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c]!)).join('  ')
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

async function waitRpc(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the node for ${url} exited`)
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
      })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} not ready after ${READY_TIMEOUT_MS / 1000}s`)
}

function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
    c.once('exit', () => {
      clearTimeout(t)
      resolve()
    })
    c.kill('SIGTERM')
  })
}
