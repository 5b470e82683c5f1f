/**
 * Attribution scenario of `pnpm bench` (issue 3), on `openledger dev` in 1 s interval mode:
 *  - settlements per second: pre-signed `settle` transactions with 8 attribution entries (one per
 *    datanet, pooled to shareholders) sent with eth_sendRawTransaction at 32 in flight, from the
 *    first send until the last one is mined;
 *  - gas per CPU-µs of every module call type against ordinary EVM execution in the same run
 *    (plain transfers, ERC-20-like transfers, a storage-heavy and a compute-heavy contract): gas
 *    used by the phase's blocks ÷ the node's block execution time over the phase
 *    (node_phase_seconds_total{phase="execution"}). The reported ratio is the call's CPU time per
 *    unit of gas ÷ the EVM average's (= EVM gas/µs ÷ the call's gas/µs): a call above 2 buys more
 *    than twice the CPU per unit of gas that EVM code can, which would be a denial-of-service hole.
 *    Below 1 the call is priced more conservatively than EVM code.
 * Everything is signed before timing starts; every phase runs in blocks of its own.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { receiptDigest, shareTokenId } from '@openledger/attribution'
import { attributionAbi, datanetsAbi, modelsAbi } from '@openledger/attribution/sdk'
import { computeAddress, getCreateAddress, id as keccakUtf8, SigningKey, Transaction } from 'ethers'
import solc from 'solc'
import { encodeFunctionData, type Hex, keccak256, toHex } from 'viem'
import { scrape } from './metrics.ts'
import { makeTempDir, removeTempDir } from './proc.ts'
import { fmt, table } from './report.ts'
import { RpcClient } from './rpc.ts'
import { type LaunchedNode, launchDevNode } from './targets.ts'

const CHAIN_ID = 31337n
/** High enough that a 1 s block is never the limit: ~3,000 settlements of ~330k gas. */
const GAS_LIMIT = 1_000_000_000n
const MAX_FEE = 100_000_000_000n
const TIP = 1_000_000_000n
const CONCURRENCY = 32
const ENTRIES = 8
const DATANETS = '0x4f50454e00000000000000000000000000000001'
const MODELS = '0x4f50454e00000000000000000000000000000002'
const ATTRIBUTION = '0x4f50454e00000000000000000000000000000003'
const ATTRIBUTION_BYTES = Uint8Array.from(Buffer.from(ATTRIBUTION.slice(2), 'hex'))

export interface Acct {
  key: SigningKey
  address: string
  nonce: number
}

export function acct(label: string): Acct {
  const k = keccakUtf8(`openledger-bench-attribution:${label}`)
  return { key: new SigningKey(k), address: computeAddress(k), nonce: 0 }
}

export function sign(a: Acct, to: string | undefined, data: Hex, gasLimit: bigint, value = 0n): string {
  const tx = Transaction.from({
    type: 2,
    chainId: CHAIN_ID,
    nonce: a.nonce++,
    to,
    data,
    value,
    gasLimit,
    maxFeePerGas: MAX_FEE,
    maxPriorityFeePerGas: TIP,
  })
  tx.signature = a.key.sign(tx.unsignedHash)
  return tx.serialized
}

const CONTRACTS = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract Token {
  mapping(address => uint256) public balanceOf;
  event Transfer(address indexed from, address indexed to, uint256 value);
  constructor() { balanceOf[msg.sender] = 1e30; }
  function transfer(address to, uint256 v) external returns (bool) {
    balanceOf[msg.sender] -= v; balanceOf[to] += v; emit Transfer(msg.sender, to, v); return true;
  }
}
contract Storage {
  mapping(uint256 => uint256) public s;
  function fill(uint256 start, uint256 n) external { for (uint256 i = start; i < start + n; i++) s[i] = i + 1; }
}
contract Compute {
  uint256 public last;
  function hash(uint256 rounds) external { bytes32 h; for (uint256 i; i < rounds; i++) h = keccak256(abi.encode(h, i)); last = uint256(h); }
}`

function compile(): Record<string, Hex> {
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'C.sol': { content: CONTRACTS } },
        settings: {
          evmVersion: 'prague',
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
        },
      }),
    ),
  ) as { contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>> }
  const c = out.contracts['C.sol']!
  return Object.fromEntries(Object.entries(c).map(([n, v]) => [n, `0x${v.evm.bytecode.object}` as Hex]))
}

/** One timed batch: raw transactions of a single call type, mined in blocks of their own. */
export interface Phase {
  name: string
  kind: 'module' | 'evm' | 'setup'
  raws: string[]
  /** Transactions from one sender: sent in chunks under the pool's per-sender limit (64). */
  oneSender?: boolean
}

export interface PhaseResult {
  name: string
  kind: 'module' | 'evm'
  txs: number
  gas: number
  execSeconds: number
  gasPerCpuMicro: number
  gasPerTx: number
}

export interface AttributionBenchResult {
  settlements: number
  seconds: number
  settlementsPerSec: number
  blocks: number
  phases: PhaseResult[]
  evmAverageGasPerCpuMicro: number
  /** Per module call type: its CPU time per unit of gas ÷ the EVM average's, i.e. EVM gas/µs ÷ its
   * gas/µs (> 2 would be a DoS hole: more than twice the CPU per unit of gas that EVM code gets). */
  ratios: Record<string, number>
}

interface Plan {
  phases: Phase[]
  settle: string[]
  alloc: string[]
  settleSenders: string[]
}

export function plan(settleSenders: number, settlesPerSender: number, k: number): Plan {
  const setup = acct('setup')
  const provider = acct('provider')
  const users = Array.from({ length: settleSenders }, (_, i) => acct(`user:${i}`))
  const holders = Array.from({ length: k }, (_, i) => acct(`holder:${i}`))
  const evm = acct('evm')
  const dn = (fn: string, args: unknown[]) =>
    encodeFunctionData({ abi: datanetsAbi, functionName: fn, args } as Parameters<
      typeof encodeFunctionData
    >[0])

  const phases: Phase[] = []
  // Datanets 1..8 (owner = setup, the only curator) with the model trained on their version 1.
  const setupRaws: string[] = []
  for (let d = 1; d <= ENTRIES; d++)
    setupRaws.push(sign(setup, DATANETS, dn('createDatanet', [`bench-${d}`, 'ipfs://m', true, []]), 400_000n))
  phases.push({ name: 'setup datanets', kind: 'setup', raws: setupRaws })
  // Module call types measured on their own; the holders end up with shares of all 8 datanets.
  phases.push({
    name: 'createDatanet',
    kind: 'module',
    raws: holders.map((h, i) =>
      sign(h, DATANETS, dn('createDatanet', [`holder-${i}`, 'ipfs://meta', true, []]), 400_000n),
    ),
  })
  phases.push({
    name: 'contribute (by hash)',
    kind: 'module',
    raws: holders.map((h, i) =>
      sign(
        h,
        DATANETS,
        dn('contribute', [BigInt((i % ENTRIES) + 1), keccak256(toHex(`c${i}`)), 1000n, 'ipfs://c', '0x']),
        400_000n,
      ),
    ),
  })
  const inline = holders.map((_, i) => {
    const bytes = new Uint8Array(1024).fill(i & 0xff)
    return { bytes, hash: keccak256(bytes) }
  })
  phases.push({
    name: 'contribute (1 KiB inline)',
    kind: 'module',
    raws: holders.map((h, i) =>
      sign(
        h,
        DATANETS,
        dn('contribute', [
          BigInt((i % ENTRIES) + 1),
          inline[i]!.hash,
          1024n,
          'ipfs://c',
          toHex(inline[i]!.bytes),
        ]),
        400_000n,
      ),
    ),
  })
  // Contribution ids per datanet in submission order: by-hash first, then inline.
  const perDatanet = new Map<number, number>()
  const approvals: string[] = []
  for (const round of [0, 1]) {
    for (let i = 0; i < k; i++) {
      const d = (i % ENTRIES) + 1
      const cid = (perDatanet.get(d) ?? 0) + 1
      perDatanet.set(d, cid)
      if (round === 0)
        approvals.push(
          sign(setup, DATANETS, dn('approveContribution', [BigInt(d), BigInt(cid), 10n]), 400_000n),
        )
    }
  }
  phases.push({ name: 'approveContribution', kind: 'module', raws: approvals, oneSender: true })
  const publish: string[] = []
  for (let d = 1; d <= ENTRIES; d++)
    publish.push(sign(setup, DATANETS, dn('publishVersion', [BigInt(d)]), 400_000n))
  publish.push(
    sign(
      setup,
      MODELS,
      encodeFunctionData({
        abi: modelsAbi,
        functionName: 'registerModel',
        args: [
          {
            name: 'bench-model',
            baseModel: 'base',
            parentId: 0n,
            datanets: Array.from({ length: ENTRIES }, (_, d) => ({ datanetId: BigInt(d + 1), version: 1n })),
            trainingConfigHash: keccak256('0x01'),
            trainingLogHash: keccak256('0x02'),
            artifactHash: keccak256('0x03'),
            artifactURI: 'ipfs://a',
            provider: provider.address as Hex,
            minFeePerInference: 1000n,
            ownerShareBps: 2000,
          },
        ],
      }),
      1_500_000n,
    ),
  )
  phases.push({ name: 'setup versions + model', kind: 'setup', raws: publish })

  // Settlements: nonce-major over the users so every block mixes senders.
  const fee = 10n ** 15n
  const settle: string[] = []
  let receiptNonce = 0n
  for (let n = 0; n < settlesPerSender; n++) {
    for (const u of users) {
      receiptNonce++
      const receipt = {
        modelId: 1n,
        modelVersion: 1,
        inputHash: keccak256(toHex(`in${receiptNonce}`)),
        outputHash: keccak256(toHex(`out${receiptNonce}`)),
        entries: Array.from({ length: ENTRIES }, (_, d) => ({
          datanetId: BigInt(d + 1),
          datanetVersion: 1n,
          weight: 125_000,
          contributionIds: [] as bigint[],
          contributionWeights: [] as number[],
        })),
        nonce: receiptNonce,
        deadline: 4_000_000_000n,
        payer: '0x0000000000000000000000000000000000000000' as Hex,
        fee,
        attributionCommitment: keccak256('0xcc'),
      }
      const digest = receiptDigest(
        {
          ...receipt,
          inputHash: Buffer.from(receipt.inputHash.slice(2), 'hex'),
          outputHash: Buffer.from(receipt.outputHash.slice(2), 'hex'),
          payer: new Uint8Array(20),
          attributionCommitment: Buffer.from(receipt.attributionCommitment.slice(2), 'hex'),
        },
        CHAIN_ID,
        ATTRIBUTION_BYTES,
      )
      const s = provider.key.sign(digest)
      const signature = `${s.r}${s.s.slice(2)}${s.v.toString(16)}` as Hex
      settle.push(
        sign(
          u,
          ATTRIBUTION,
          encodeFunctionData({ abi: attributionAbi, functionName: 'settle', args: [receipt, signature] }),
          800_000n,
          fee,
        ),
      )
    }
  }
  phases.push({ name: 'settle (8 entries)', kind: 'module', raws: settle })
  phases.push({
    name: 'transferShares',
    kind: 'module',
    raws: holders.map((h, i) => {
      const d = BigInt((i % ENTRIES) + 1)
      return sign(
        h,
        DATANETS,
        dn('transferShares', [h.address, holders[(i + 1) % k]!.address, shareTokenId(d, 1n), 1n]),
        400_000n,
      )
    }),
  })
  phases.push({
    name: 'claim',
    kind: 'module',
    raws: holders.map((h) =>
      sign(h, ATTRIBUTION, encodeFunctionData({ abi: attributionAbi, functionName: 'claim' }), 400_000n),
    ),
  })

  phases.push(...evmReferencePhases(evm, users, k))
  const alloc = [setup, ...users, ...holders, evm].map((a) => a.address)
  return { phases, settle, alloc, settleSenders: users.map((u) => u.address) }
}

/** Account of a benchmark run, derived from a label (the same addresses every run). */
export function benchAccount(label: string): Acct {
  return acct(label)
}

/**
 * Ordinary EVM execution for reference (shared by the module benchmarks): a deploy phase of the
 * three contracts from `evm`, then `k` native transfers from `users`, ERC-20 transfers, 20-slot
 * storage writes and 200-round keccak loops.
 */
export function evmReferencePhases(evm: Acct, users: Acct[], k: number): Phase[] {
  const code = compile()
  const phases: Phase[] = []
  const tokenAddr = getCreateAddress({ from: evm.address, nonce: 0 })
  const storageAddr = getCreateAddress({ from: evm.address, nonce: 1 })
  const computeAddr = getCreateAddress({ from: evm.address, nonce: 2 })
  phases.push({
    name: 'deploy EVM contracts',
    kind: 'setup',
    raws: [code.Token!, code.Storage!, code.Compute!].map((c) => sign(evm, undefined, c, 3_000_000n)),
  })
  const others = Array.from({ length: k }, (_, i) => acct(`recipient:${i}`).address)
  phases.push({
    name: 'EVM: native transfers',
    kind: 'evm',
    raws: users
      .slice(0, Math.min(users.length, k))
      .flatMap((u, i) => [sign(u, others[i], '0x', 21_000n, 1n)]),
  })
  phases.push({
    name: 'EVM: ERC-20 transfers',
    kind: 'evm',
    oneSender: true,
    raws: others.map((to) =>
      sign(
        evm,
        tokenAddr,
        encodeFunctionData({ abi: TOKEN_ABI, functionName: 'transfer', args: [to as Hex, 1n] }),
        100_000n,
      ),
    ),
  })
  phases.push({
    name: 'EVM: storage writes (20 new slots)',
    kind: 'evm',
    oneSender: true,
    raws: others.map((_, i) =>
      sign(
        evm,
        storageAddr,
        encodeFunctionData({ abi: STORAGE_ABI, functionName: 'fill', args: [BigInt(i * 20), 20n] }),
        600_000n,
      ),
    ),
  })
  phases.push({
    name: 'EVM: keccak loop (200 rounds)',
    kind: 'evm',
    oneSender: true,
    raws: others.map(() =>
      sign(
        evm,
        computeAddr,
        encodeFunctionData({ abi: COMPUTE_ABI, functionName: 'hash', args: [200n] }),
        600_000n,
      ),
    ),
  })
  return phases
}

const TOKEN_ABI = [
  {
    type: 'function',
    name: 'transfer',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'to', type: 'address' },
      { name: 'v', type: 'uint256' },
    ],
    outputs: [{ name: '', type: 'bool' }],
  },
] as const
const STORAGE_ABI = [
  {
    type: 'function',
    name: 'fill',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'start', type: 'uint256' },
      { name: 'n', type: 'uint256' },
    ],
    outputs: [],
  },
] as const
const COMPUTE_ABI = [
  {
    type: 'function',
    name: 'hash',
    stateMutability: 'nonpayable',
    inputs: [{ name: 'rounds', type: 'uint256' }],
    outputs: [],
  },
] as const

const hexNum = (h: string) => Number.parseInt(h, 16)

/** Sends raws at 32 in flight, then waits until each one has a receipt; all must succeed. */
export async function runBatch(
  rpc: RpcClient,
  raws: string[],
  what: string,
  timeoutMs: number,
): Promise<void> {
  const hashes: string[] = new Array(raws.length)
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (failed === undefined && next < raws.length) {
      const i = next++
      try {
        hashes[i] = await rpc.call<string>('eth_sendRawTransaction', [raws[i]])
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  if (failed !== undefined) throw new Error(`${what}: ${(failed as Error).message}`)
  // Receipts arrive in send order, block by block: check the last one first, then all.
  const deadline = performance.now() + timeoutMs
  let pending = hashes
  while (pending.length > 0) {
    const last = pending[pending.length - 1]!
    const r = await rpc.call<{ status: string } | null>('eth_getTransactionReceipt', [last])
    if (r) {
      const left: string[] = []
      for (let i = 0; i < pending.length; i += 200) {
        const chunk = pending.slice(i, i + 200)
        const res = await rpc.batch(chunk.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })))
        res.forEach((x, j) => {
          const rec = x.result as { status: string } | null
          if (!rec) left.push(chunk[j]!)
          else if (rec.status !== '0x1') throw new Error(`${what}: transaction ${chunk[j]} failed`)
        })
      }
      pending = left
      if (pending.length === 0) return
    }
    if (performance.now() > deadline)
      throw new Error(`${what}: ${pending.length} transactions not mined in time`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

async function blockGas(rpc: RpcClient, from: number, to: number): Promise<number> {
  let gas = 0
  for (let n = from; n <= to; n++) {
    const b = await rpc.call<{ gasUsed: string }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
    gas += hexNum(b.gasUsed)
  }
  return gas
}

/** Waits for the next block so that a phase starts on a block of its own. */
async function nextBlock(rpc: RpcClient): Promise<number> {
  const start = hexNum(await rpc.call<string>('eth_blockNumber'))
  for (;;) {
    const n = hexNum(await rpc.call<string>('eth_blockNumber'))
    if (n > start) return n
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function attributionBench(
  root: string,
  opts: { quick: boolean; log: (s: string) => void },
): Promise<AttributionBenchResult> {
  const size = opts.quick ? { senders: 50, each: 12, k: 100 } : { senders: 100, each: 20, k: 200 }
  const t = performance.now()
  const p = plan(size.senders, size.each, size.k)
  opts.log(
    `  signed ${p.phases.reduce((a, ph) => a + ph.raws.length, 0)} transactions (${p.settle.length} settlements) in ${fmt((performance.now() - t) / 1000, 1)} s (not measured)`,
  )

  const dir = makeTempDir('openledger-bench-attr-')
  const base = JSON.parse(readFileSync(join(root, 'genesis/devnet.json'), 'utf8')) as Record<string, unknown>
  const alloc: Record<string, { balance: string }> = {
    ...(base.alloc as Record<string, { balance: string }>),
  }
  for (const a of p.alloc) alloc[a.toLowerCase()] = { balance: (10n ** 24n).toString() }
  const genesis = { ...base, chainId: Number(CHAIN_ID), gasLimit: GAS_LIMIT.toString(), alloc }
  let node: LaunchedNode
  try {
    node = await launchDevNode(root, dir, genesis, 'interval', 'openledger dev (attribution)')
  } catch (err) {
    removeTempDir(dir)
    throw err
  }
  const { child, metricsUrl } = node
  let rpc: RpcClient | undefined
  try {
    rpc = new RpcClient(node.rpcUrl)
    const timeoutMs = 300_000
    const phases: PhaseResult[] = []
    let settle: { seconds: number; blocks: number } | undefined
    for (const ph of p.phases) {
      const send = async () => {
        const chunk = ph.oneSender ? 60 : ph.raws.length
        for (let i = 0; i < ph.raws.length; i += chunk)
          await runBatch(rpc!, ph.raws.slice(i, i + chunk), ph.name, timeoutMs)
      }
      if (ph.kind === 'setup') {
        await send()
        continue
      }
      const first = await nextBlock(rpc)
      const before = await scrape(metricsUrl)
      const t0 = performance.now()
      await send()
      const seconds = (performance.now() - t0) / 1000
      const after = await scrape(metricsUrl)
      const last = hexNum(await rpc.call<string>('eth_blockNumber'))
      const gas = await blockGas(rpc, first + 1, last)
      const execSeconds = (after.phases.execution ?? 0) - (before.phases.execution ?? 0)
      const r: PhaseResult = {
        name: ph.name,
        kind: ph.kind,
        txs: ph.raws.length,
        gas,
        execSeconds,
        gasPerCpuMicro: gas / (execSeconds * 1e6),
        gasPerTx: gas / ph.raws.length,
      }
      phases.push(r)
      opts.log(
        `  ${ph.name}: ${r.txs} txs, ${fmt(r.gasPerTx)} gas/tx, ${fmt(r.gasPerCpuMicro, 1)} gas/µs of execution`,
      )
      if (ph.raws === p.settle) settle = { seconds, blocks: last - first }
    }
    const evm = phases.filter((x) => x.kind === 'evm')
    const evmAverage = evm.reduce((a, x) => a + x.gas, 0) / (evm.reduce((a, x) => a + x.execSeconds, 0) * 1e6)
    const ratios = Object.fromEntries(
      phases.filter((x) => x.kind === 'module').map((x) => [x.name, evmAverage / x.gasPerCpuMicro]),
    )
    return {
      settlements: p.settle.length,
      seconds: settle!.seconds,
      settlementsPerSec: p.settle.length / settle!.seconds,
      blocks: settle!.blocks,
      phases,
      evmAverageGasPerCpuMicro: evmAverage,
      ratios,
    }
  } finally {
    rpc?.close()
    await child.stop()
    removeTempDir(dir)
  }
}

/** The report printed by bench/run.ts. */
export function attributionReport(r: AttributionBenchResult): string {
  const lines = [
    `Settlements with ${ENTRIES} attribution entries, 1 s interval, ${CONCURRENCY} in flight: ${fmt(r.settlementsPerSec)} /s (${r.settlements} in ${fmt(r.seconds, 2)} s, ${r.blocks} blocks; goal ≥ 300/s: ${r.settlementsPerSec >= 300 ? 'PASS' : 'FAIL'})`,
    '',
    `Gas per CPU-µs of block execution (EVM average ${fmt(r.evmAverageGasPerCpuMicro, 1)}); "CPU/gas vs EVM" = EVM average gas/µs ÷ the call's: above 2 a call buys more than twice the CPU per unit of gas that EVM code gets (a DoS hole)`,
    table(
      ['call', 'gas/tx', 'gas/µs', 'CPU/gas vs EVM'],
      r.phases.map((x) => [
        x.name,
        fmt(x.gasPerTx),
        fmt(x.gasPerCpuMicro, 1),
        x.kind === 'module'
          ? `${fmt(r.ratios[x.name], 2)}×${(r.ratios[x.name] ?? 0) > 2 ? ' TOO CHEAP' : ''}`
          : '',
      ]),
    ),
  ]
  return lines.join('\n')
}

/** The whole scenario as bench/run.ts calls it: runs, prints, and reports failure without throwing. */
export async function attributionScenario(
  root: string,
  opts: { quick: boolean; skip: boolean; log: (s: string) => void },
): Promise<AttributionBenchResult | undefined> {
  if (opts.skip) return undefined
  opts.log('\n(e) attribution modules on openledger dev (1 s interval) …')
  try {
    const r = await attributionBench(root, opts)
    opts.log(`\n${attributionReport(r)}`)
    return r
  } catch (err) {
    opts.log(`  FAILED attribution: ${(err as Error).message}`)
    return undefined
  }
}
