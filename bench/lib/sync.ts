/**
 * Block sync from a QBFT network: a one-validator chain is written straight into a source datadir
 * (what the validator would have produced, without waiting a block period per block), the source
 * serves it as a full node, and a fresh `openledger node` process syncs it over real libp2p
 * (blocks_by_range), verifying every block's commit seals, executing it and checking its roots.
 *
 * Two figures: sealed empty blocks/s, and the replay of blocks full of transfers and ERC-20
 * transfers (blocks/s and tx/s). Both come with the syncing node's own breakdown of where the
 * time went (node_phase_seconds_total: fetch wait, decode, seal verification, execution, epoch
 * checks, storage, observers).
 */
import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { Block, createBlockHeaderFromBytesArray } from '@ethereumjs/block'
import { createFeeMarket1559Tx, type TypedTransaction } from '@ethereumjs/tx'
import {
  encodeExtraData,
  hashForCommitSeal,
  headerWithSeals,
  privateKeyToAddress,
  QBFT_MIX_HASH,
} from '@openledger/consensus'
import { type ExecutionRuntime, parseGenesis } from '@openledger/evm-runtime'
import {
  buildQbftGenesis,
  generatePrivateKey,
  nativeSigner,
  openCore,
  silentLogger,
  withQbftHash,
} from '@openledger/node'
import { getBytes, keccak256, id as keccakUtf8, zeroPadValue } from 'ethers'
import solc from 'solc'
import { startNodeProc } from './devnet.ts'
import { freePort, makeTempDir, removeTempDir } from './proc.ts'
import { BASE_FEE, CHAIN_ID, GAS_LIMIT } from './workload.ts'

/** What a fresh node's sync of a prepared chain measured. */
export interface SyncFigures {
  blocks: number
  txs: number
  seconds: number
  blocksPerSec: number
  txPerSec: number
  /** Seconds per phase on the syncing node (node_phase_seconds_total) over the whole sync
   * (`allBlocks` blocks with `allTxs` transactions, the untimed first batch included). */
  phases: Record<string, number>
  /** CPU time of the syncing process (all threads) over the timed part: on a loaded machine
   * wall-clock figures mostly measure the scheduler, CPU per block much less so. */
  cpuSeconds: number
  allBlocks: number
  allTxs: number
}

/** Blocks of a replay chain: `count` blocks of `perBlock` ETH or ERC-20 transfers. */
export interface ReplayPlan {
  eth: { blocks: number; perBlock: number }
  erc20: { blocks: number; perBlock: number }
}

type Common = ExecutionRuntime['common']

const SENDERS = 1000
const MAX_FEE = 1_000_000_000_000n // full blocks raise the base fee ~10 % per block
const TIP = 1_000_000_000n
const TOKEN_BALANCE = 10n ** 30n

const TOKEN_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract BenchToken {
  mapping(address => uint256) public balanceOf;
  event Transfer(address indexed from, address indexed to, uint256 value);
  function transfer(address to, uint256 value) external returns (bool) {
    uint256 b = balanceOf[msg.sender];
    require(b >= value, "balance");
    unchecked { balanceOf[msg.sender] = b - value; }
    balanceOf[to] += value;
    emit Transfer(msg.sender, to, value);
    return true;
  }
}`

/** Runtime code of BenchToken (its balances live in genesis storage: no deployment block). */
function tokenRuntimeCode(): string {
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'BenchToken.sol': { content: TOKEN_SOURCE } },
        settings: {
          evmVersion: 'prague',
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { '*': { '*': ['evm.deployedBytecode.object'] } },
        },
      }),
    ),
  ) as {
    errors?: Array<{ severity: string; formattedMessage: string }>
    contracts?: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`)
  const code = out.contracts?.['BenchToken.sol']?.BenchToken?.evm.deployedBytecode.object
  if (!code) throw new Error('solc: no runtime bytecode for BenchToken')
  return `0x${code}`
}

const TOKEN = `0x${'70'.repeat(20)}`
const senderKey = (i: number) => getBytes(keccakUtf8(`openledger-bench-sync:sender:${i}`))
const recipient = (i: number) => getBytes(keccakUtf8(`openledger-bench-sync:recipient:${i}`)).slice(12)

/** A one-validator QBFT genesis; with `replay`, funded senders and the token's balances. */
async function syncGenesis(validator: Uint8Array, replay: boolean): Promise<Record<string, unknown>> {
  const json = await buildQbftGenesis({ validators: [privateKeyToAddress(validator)], blockPeriodSeconds: 1 })
  json.chainId = Number(CHAIN_ID)
  json.gasLimit = GAS_LIMIT.toString()
  json.baseFeePerGas = BASE_FEE.toString()
  if (replay) {
    const alloc = { ...(json.alloc as Record<string, unknown>) }
    const storage: Record<string, string> = {}
    for (let i = 0; i < SENDERS; i++) {
      const a = `0x${Buffer.from(privateKeyToAddress(senderKey(i))).toString('hex')}`
      alloc[a] = { balance: (10n ** 24n).toString() }
      // balanceOf[a]: slot keccak(pad32(a) ‖ pad32(0)).
      const slot = keccak256(new Uint8Array([...getBytes(zeroPadValue(a, 32)), ...new Uint8Array(32)]))
      storage[slot] = `0x${TOKEN_BALANCE.toString(16)}`
    }
    alloc[TOKEN] = { balance: '0', code: tokenRuntimeCode(), storage }
    json.alloc = alloc
  }
  return json
}

/** The transactions of a replay chain, block by block (signed with the chain's Common). */
function replayBlocks(plan: ReplayPlan, common: Common): TypedTransaction[][] {
  const keys = Array.from({ length: SENDERS }, (_, i) => senderKey(i))
  const nonces = new Array<bigint>(SENDERS).fill(0n)
  let next = 0
  const tx = (fields: { to: Uint8Array; value?: bigint; data?: Uint8Array; gasLimit: bigint }) => {
    const i = next++ % SENDERS
    const t = createFeeMarket1559Tx(
      {
        chainId: CHAIN_ID,
        nonce: nonces[i]!++,
        maxFeePerGas: MAX_FEE,
        maxPriorityFeePerGas: TIP,
        ...fields,
      },
      { common },
    )
    return t.sign(keys[i]!)
  }
  const token = getBytes(TOKEN)
  const blocks: TypedTransaction[][] = []
  for (let b = 0; b < plan.eth.blocks; b++)
    blocks.push(
      Array.from({ length: plan.eth.perBlock }, (_, k) =>
        tx({ to: recipient(k % SENDERS), value: 1_000_000_000n, gasLimit: 21_000n }),
      ),
    )
  for (let b = 0; b < plan.erc20.blocks; b++)
    blocks.push(
      Array.from({ length: plan.erc20.perBlock }, (_, k) => {
        // transfer(address,uint256)
        const data = new Uint8Array(68)
        data.set([0xa9, 0x05, 0x9c, 0xbb], 0)
        data.set(recipient(k % SENDERS), 16)
        data[67] = 1
        return tx({ to: token, data, gasLimit: 100_000n })
      }),
    )
  return blocks
}

/**
 * Writes sealed blocks of a one-validator QBFT chain into `datadir`: `plan` is a number of empty
 * blocks, or the transactions of each block (every one must be included).
 */
export async function generateSealedChain(
  datadir: string,
  genesis: unknown,
  key: Uint8Array,
  plan: number | ((common: Common) => TypedTransaction[][]),
): Promise<{ blocks: number; txs: number }> {
  const closers: Array<() => Promise<unknown>> = []
  try {
    const core = await openCore(
      { datadir, genesis: parseGenesis(genesis), log: silentLogger(), decorateBlock: withQbftHash },
      closers,
    )
    const { chain, runtime } = core
    const opts = runtime.blockOptions!
    const address = privateKeyToAddress(key)
    const signer = nativeSigner(key, address)
    const extraData = encodeExtraData({
      vanity: new Uint8Array(32),
      validators: [address],
      round: 0,
      seals: [],
    })
    const blocks = typeof plan === 'number' ? Array.from({ length: plan }, () => []) : plan(runtime.common)
    let txs = 0
    for (const block of blocks) {
      const parent = chain.head
      const built = await runtime.buildBlock(parent.header, block, {
        timestamp: parent.header.timestamp + 1n,
        coinbase: address,
        extraData,
        mixHash: QBFT_MIX_HASH,
      })
      if (built.executed.length !== block.length)
        throw new Error(
          `sync bench: block ${parent.header.number + 1n} took ${built.executed.length} of ${block.length} transactions (${built.rejected[0]?.reason ?? 'gas limit'})`,
        )
      txs += block.length
      const raw = built.block.header.raw()
      const sealedRaw = headerWithSeals(raw, [signer.sign(hashForCommitSeal(raw))])
      const header = createBlockHeaderFromBytesArray(sealedRaw, opts)
      await chain.commit(
        {
          block: withQbftHash(new Block(header, built.block.transactions, [], [], opts)),
          executed: built.executed,
        },
        'consensus',
      )
    }
    return { blocks: blocks.length, txs }
  } finally {
    for (const c of closers) await c().catch(() => {})
  }
}

const hexNum = (h: string) => Number.parseInt(h, 16)

/** node_phase_seconds_total by phase, from a node's /metrics. */
async function scrapePhases(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^node_phase_seconds_total\{phase="([^"]+)"\} (\S+)$/gm))
    out[m[1]!] = Number(m[2])
  return out
}

/** process_cpu_seconds_total (user + system, every thread) of a node. */
async function scrapeCpu(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text()
  const m = /^process_cpu_seconds_total (\S+)$/m.exec(text)
  return m ? Number(m[1]) : Number.NaN
}

/**
 * A fresh full node syncs the chain in `dir/source` (head `count`) from one peer. Timed from the
 * first imported block to the head (start-up and the peer handshake are not sync).
 */
async function syncFromSource(root: string, chain: PreparedChain, datadir: string): Promise<SyncFigures> {
  const { dir, genesisPath, blocks: count, txs } = chain
  const procs: Awaited<ReturnType<typeof startNodeProc>>[] = []
  try {
    const [rpcA, p2pA, rpcB, p2pB] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
    // The source serves as a full node (no key), so its head stays at `count`.
    const source = await startNodeProc(root, 'sync source', {
      genesisPath,
      datadir: join(dir, 'source'),
      rpcPort: rpcA,
      p2pPort: p2pA,
      bootnodes: [],
    })
    procs.push(source)
    const sourceId = (await source.rpc.call<{ id: string }>('admin_nodeInfo')).id
    const fresh = await startNodeProc(root, 'syncing node', {
      genesisPath,
      datadir: join(dir, datadir),
      rpcPort: rpcB,
      p2pPort: p2pB,
      bootnodes: [`/ip4/127.0.0.1/tcp/${p2pA}/p2p/${sourceId}`],
    })
    procs.push(fresh)
    let t0 = 0
    let h0 = 0
    let cpu0 = 0
    const deadline = Date.now() + 600_000
    for (;;) {
      const h = hexNum(await fresh.rpc.call<string>('eth_blockNumber'))
      if (h > 0 && t0 === 0) {
        t0 = performance.now()
        h0 = h
        cpu0 = await scrapeCpu(fresh.metricsUrl)
      }
      if (h >= count) break
      if (Date.now() > deadline) throw new Error(`sync: head ${h} of ${count} after 600 s`)
      await new Promise((r) => setTimeout(r, 10))
    }
    const seconds = (performance.now() - t0) / 1000
    const cpuSeconds = (await scrapeCpu(fresh.metricsUrl)) - cpu0
    const phases = await scrapePhases(fresh.metricsUrl)
    // Transactions of the blocks after h0 (a replay chain's blocks are uniform per kind; the
    // caller passes the total, scaled here by the share of blocks timed).
    const timedTxs = Math.round((txs * (count - h0)) / count)
    return {
      blocks: count - h0,
      txs: timedTxs,
      seconds,
      blocksPerSec: (count - h0) / seconds,
      txPerSec: timedTxs / seconds,
      phases,
      cpuSeconds,
      allBlocks: count,
      allTxs: txs,
    }
  } finally {
    for (const n of procs) n.rpc.close()
    await Promise.all(procs.map((n) => n.child.stop()))
  }
}

/** A chain built once in `dir/source`, synced by one or more fresh nodes. */
interface PreparedChain {
  dir: string
  genesisPath: string
  blocks: number
  txs: number
}

async function prepareChain(replay: ReplayPlan | undefined, emptyBlocks: number): Promise<PreparedChain> {
  const dir = makeTempDir('openledger-sync-bench-')
  const key = generatePrivateKey()
  const genesis = await syncGenesis(key, replay !== undefined)
  const genesisPath = join(dir, 'genesis.json')
  await writeFile(genesisPath, JSON.stringify(genesis))
  const built = await generateSealedChain(
    join(dir, 'source'),
    genesis,
    key,
    replay === undefined ? emptyBlocks : (common) => replayBlocks(replay, common),
  )
  return { dir, genesisPath, ...built }
}

/**
 * Fresh full nodes of each root in `roots` (this tree, then e.g. a baseline checkout) sync the
 * same chain one after the other: `count` sealed empty blocks, or the replay `plan`.
 */
export async function syncChain(
  roots: readonly string[],
  what: { emptyBlocks: number } | { replay: ReplayPlan },
): Promise<SyncFigures[]> {
  const chain = await prepareChain(
    'replay' in what ? what.replay : undefined,
    'emptyBlocks' in what ? what.emptyBlocks : 0,
  )
  try {
    const out: SyncFigures[] = []
    for (const [i, root] of roots.entries()) out.push(await syncFromSource(root, chain, `fresh${i}`))
    return out
  } finally {
    removeTempDir(chain.dir)
  }
}

const PHASES: Array<[string, string]> = [
  ['sync_fetch_wait', 'fetch wait'],
  ['sync_decode', 'decode'],
  ['import_seals', 'seals'],
  ['import_senders', 'senders wait'],
  ['import_execution', 'execution+roots'],
  ['import_after_execute', 'epoch checks'],
  ['storage', 'storage'],
  ['observers', 'observers'],
]

/** One line: milliseconds per block of each phase (and per transaction for a replay). */
export function phaseLine(f: SyncFigures): string {
  const per = f.allTxs > 0 ? f.allTxs : f.allBlocks
  const unit = f.allTxs > 0 ? 'µs/tx' : 'µs/block'
  return PHASES.filter(([k]) => f.phases[k] !== undefined)
    .map(([k, label]) => `${label} ${Math.round(((f.phases[k] ?? 0) * 1e6) / per)}`)
    .join(', ')
    .concat(
      ` (${unit}, syncing node's main thread); process CPU ${Math.round((f.cpuSeconds * 1e6) / (f.txs > 0 ? f.txs : f.blocks))} ${unit}`,
    )
}

export const loadLine = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`

/** What section (h) reports for sync (blocksPerSec: the empty-block figure). */
export interface SyncSection {
  blocks: number
  seconds: number
  blocksPerSec: number
  empty: SyncFigures
  replay?: SyncFigures
}

export const EMPTY_BLOCKS = { quick: 1000, full: 5000 }
export const REPLAY_PLAN: { quick: ReplayPlan; full: ReplayPlan } = {
  quick: { eth: { blocks: 3, perBlock: 1000 }, erc20: { blocks: 3, perBlock: 500 } },
  full: { eth: { blocks: 20, perBlock: 1000 }, erc20: { blocks: 20, perBlock: 500 } },
}

/** The sync lines of section (h) of `pnpm bench` (also `pnpm bench:sync`). With `baseline` (the
 * root of another checkout, built), its node syncs the same chains right after ours. */
export async function syncSection(
  root: string,
  opts: { quick: boolean; log: (s?: string) => void; baseline?: string },
): Promise<SyncSection | undefined> {
  const { log } = opts
  const roots = opts.baseline ? [root, opts.baseline] : [root]
  const vs = (ours: number, base: SyncFigures | undefined, of: (f: SyncFigures) => number, unit: string) =>
    base === undefined ? '' : `; baseline ${Math.round(of(base))} ${unit}, ×${(ours / of(base)).toFixed(2)}`
  let section: SyncSection | undefined
  try {
    const count = opts.quick ? EMPTY_BLOCKS.quick : EMPTY_BLOCKS.full
    const [empty, base] = await syncChain(roots, { emptyBlocks: count })
    log(
      `    fresh full node syncing ${count} sealed empty blocks: ${Math.round(empty!.blocksPerSec)} blocks/s (${empty!.seconds.toFixed(2)} s${vs(empty!.blocksPerSec, base, (f) => f.blocksPerSec, 'blocks/s')}; ${loadLine()})`,
    )
    log(`      ${phaseLine(empty!)}`)
    if (base) log(`      baseline: ${phaseLine(base)}`)
    section = {
      blocks: empty!.blocks,
      seconds: empty!.seconds,
      blocksPerSec: empty!.blocksPerSec,
      empty: empty!,
    }
  } catch (err) {
    log(`    sync FAILED ${(err as Error).message}`)
  }
  try {
    const plan = opts.quick ? REPLAY_PLAN.quick : REPLAY_PLAN.full
    const [replay, base] = await syncChain(roots, { replay: plan })
    log(
      `    fresh full node replaying ${plan.eth.blocks} blocks of ${plan.eth.perBlock} transfers + ${plan.erc20.blocks} blocks of ${plan.erc20.perBlock} ERC-20 transfers: ${Math.round(replay!.txPerSec)} tx/s, ${replay!.blocksPerSec.toFixed(1)} blocks/s (${replay!.seconds.toFixed(2)} s${vs(replay!.txPerSec, base, (f) => f.txPerSec, 'tx/s')}; ${loadLine()})`,
    )
    log(`      ${phaseLine(replay!)}`)
    if (base) log(`      baseline: ${phaseLine(base)}`)
    if (section) section.replay = replay
  } catch (err) {
    log(`    sync replay FAILED ${(err as Error).message}`)
  }
  if (section) {
    const r = section.replay?.txPerSec ?? 0
    log(
      `    sync goals (issue 16): ≥ 2,000 empty blocks/s ${section.blocksPerSec >= 2000 ? 'met' : 'NOT met'}, ≥ 1,000 tx/s replaying full blocks ${r >= 1000 ? 'met' : 'NOT met'}`,
    )
  }
  return section
}
