/**
 * Challenge benchmark (a script, not a test): settle, challenge and resolution (`reveal`, whose
 * on-chain re-run of span attribution reads the corpus from the chain's history) built into
 * blocks by the execution runtime on LevelDB, as `openledger dev` does, against EVM reference
 * phases in the same run (ERC-20 transfers, storage writes, a keccak loop, from
 * bench/lib/attribution.ts). The corpus is one datanet version of `--mb` MB of inline text in
 * ~1–4 KiB records (bench/corpus.ts); each receipt's output is 200 tokens quoting it.
 *
 *   node --import tsx packages/attribution/bench/judge.ts [--mb 1] [--receipts 3] [--stream-mb 10]
 *
 * A challenge is only admitted when one transaction can answer it (GAS.JUDGE_BUDGET under
 * EIP-7825's 2^24 cap: about 480 records of 4 KiB), so the on-chain scenario uses `--mb` (1 MB,
 * ~400 records); `--stream-mb` then times the re-run's computation alone (the streaming engine
 * over the records, as the judge runs it, without storage and history reads) over a version of
 * that size, and prints the gas it would be charged.
 *
 * Prints per phase gas/tx, execution CPU µs/tx, gas per CPU-µs and CPU/gas relative to the EVM
 * average (> 2 would be a DoS hole), and the resolution's wall time per receipt. The history is
 * the executed blocks' logs kept in memory (the node reads the same logs from its chain store).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createTxFromRLP } from '@ethereumjs/tx'
import { createExecutionRuntime, parseGenesis, recoverSender } from '@openledger/evm-runtime'
import { encodeFunctionData, type Hex, keccak256, toHex } from 'viem'
import { acct, plan, sign } from '../../../bench/lib/attribution.ts'
import {
  applyReceiptLimits,
  attributeSpans,
  type CorpusRecord,
  SpanIndex,
  SpanStream,
  toReceiptEntries,
} from '../src/engine/index.ts'
import {
  ATTRIBUTION_LIMITS,
  createSystemModules,
  GAS,
  type ModuleHistory,
  parseModuleParams,
  receiptDigest,
} from '../src/index.ts'
import { attributionAbi, datanetsAbi, modelsAbi } from '../src/sol/abi.ts'
import { makeCorpus, makeOutput, makeVocabulary, rng } from './corpus.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const DATANETS = '0x4f50454e00000000000000000000000000000001'
const MODELS = '0x4f50454e00000000000000000000000000000002'
const ATTRIBUTION = '0x4f50454e00000000000000000000000000000003'
const CHAIN_ID = 31337n
const BOND = 10n ** 18n
type LevelCtor = new (
  dir: string,
  opts: { keyEncoding: 'view'; valueEncoding: 'view' },
) => { sublevel(name: string, opts: object): never; close(): Promise<void> }
// LevelDB as the node uses it; `level` is a dependency of evm-runtime, not of this package.
const { Level } = (await import(
  pathToFileURL(createRequire(join(ROOT, 'packages/evm-runtime/package.json')).resolve('level')).href
)) as { Level: LevelCtor }

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} expects a positive number`)
  return v
}

const mb = arg('mb', 1)
const streamMb = arg('stream-mb', 10)
const nReceipts = arg('receipts', 3)
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))
const dn = (fn: string, args: unknown[]) =>
  encodeFunctionData({ abi: datanetsAbi, functionName: fn, args } as Parameters<typeof encodeFunctionData>[0])
const at = (fn: string, args: unknown[]) =>
  encodeFunctionData({ abi: attributionAbi, functionName: fn, args } as Parameters<
    typeof encodeFunctionData
  >[0])

// ---- the scenario ----
const evmPlan = plan(1, 1, 50)
const evmPhases = evmPlan.phases.filter(
  (p) => p.name === 'deploy EVM contracts' || (p.kind === 'evm' && p.name !== 'EVM: native transfers'),
)
const owner = acct('judge:owner')
const contributor = acct('judge:contributor')
const provider = acct('judge:provider')
const user = acct('judge:user')
const challenger = acct('judge:challenger')
const next = rng(7)
const vocab = makeVocabulary(next, 30_000)
const corpus: CorpusRecord[] = makeCorpus(mb, 11).map((r, i) => ({
  datanetId: 1n,
  contributionId: BigInt(i + 1),
  text: r.text,
}))
const corpusBytes = corpus.reduce((a, r) => a + Buffer.byteLength(r.text), 0)
const phases: { name: string; kind: 'module' | 'evm' | 'setup'; raws: string[] }[] = [...evmPhases]
phases.push({
  name: 'setup datanet',
  kind: 'setup',
  raws: [
    sign(owner, DATANETS, dn('createDatanet', ['judge', 'ipfs://j', true, []]), 400_000n),
    sign(owner, DATANETS, dn('setContentPolicy', [1n, true]), 400_000n),
  ],
})
phases.push({
  name: 'contribute (inline text)',
  kind: 'module',
  raws: corpus.map((r) => {
    const content = toHex(new TextEncoder().encode(r.text))
    return sign(
      contributor,
      DATANETS,
      dn('contribute', [1n, keccak256(content), BigInt((content.length - 2) / 2), 'ipfs://c', content]),
      2_000_000n,
    )
  }),
})
phases.push({
  name: 'approveContribution',
  kind: 'module',
  raws: corpus.map((r, i) =>
    sign(owner, DATANETS, dn('approveContribution', [1n, r.contributionId, BigInt(1 + (i % 100))]), 400_000n),
  ),
})
const totalWeight = corpus.reduce((a, _, i) => a + BigInt(1 + (i % 100)), 0n)
phases.push({
  name: 'setup version + model + bond',
  kind: 'setup',
  raws: [
    sign(owner, DATANETS, dn('publishVersion', [1n]), 2_000_000n),
    sign(
      owner,
      MODELS,
      encodeFunctionData({
        abi: modelsAbi,
        functionName: 'registerModel',
        args: [
          {
            name: 'judge-model',
            baseModel: 'base',
            parentId: 0n,
            datanets: [{ datanetId: 1n, version: 1n }],
            trainingConfigHash: keccak256('0x01'),
            trainingLogHash: keccak256('0x02'),
            artifactHash: keccak256('0x03'),
            artifactURI: 'ipfs://a',
            provider: provider.address as Hex,
            minFeePerInference: 0n,
            ownerShareBps: 1000,
          },
        ],
      }),
      1_500_000n,
    ),
    sign(provider, ATTRIBUTION, at('bondProvider', []), 400_000n, 10n * BOND),
  ],
})

// The provider's honest receipts (what `provider serve` computes), one output each.
const t0 = performance.now()
const index = SpanIndex.build(corpus)
const indexMs = performance.now() - t0
const receipts = Array.from({ length: nReceipts }, (_, i) => {
  const output = makeOutput(next, corpus, vocab)
  const res = attributeSpans(index, output, {
    k: 6,
    denominator: 1_000_000n,
    fallbackShares: [{ datanetId: 1n, shares: totalWeight }],
  })
  const receipt = {
    modelId: 1n,
    modelVersion: 1,
    inputHash: keccak256(toHex(`in${i}`)),
    outputHash: toHex(res.outputHash),
    entries: applyReceiptLimits(toReceiptEntries(res, new Map([[1n, 1n]])), ATTRIBUTION_LIMITS),
    nonce: BigInt(i + 1),
    deadline: 4_000_000_000n,
    payer: '0x0000000000000000000000000000000000000000' as Hex,
    fee: 10n ** 15n,
    attributionCommitment: toHex(res.commitment),
  }
  const digest = receiptDigest(
    {
      ...receipt,
      inputHash: bytes(receipt.inputHash),
      outputHash: bytes(receipt.outputHash),
      payer: new Uint8Array(20),
      attributionCommitment: bytes(receipt.attributionCommitment),
    },
    CHAIN_ID,
    bytes(ATTRIBUTION),
  )
  const s = provider.key.sign(digest)
  const signature = `${s.r}${s.s.slice(2)}${s.v.toString(16)}` as Hex
  return { receipt, signature, digest: toHex(digest), output }
})
phases.push({
  name: 'settle (challengeable)',
  kind: 'module',
  raws: receipts.map((r) =>
    sign(user, ATTRIBUTION, at('settle', [r.receipt, r.signature]), 2_000_000n, r.receipt.fee),
  ),
})
phases.push({
  name: 'challenge',
  kind: 'module',
  raws: receipts.map((r) => sign(challenger, ATTRIBUTION, at('challenge', [r.digest]), 400_000n, BOND)),
})
phases.push({
  name: 'reveal (resolution: on-chain re-run)',
  kind: 'module',
  raws: receipts.map((r) =>
    sign(
      provider,
      ATTRIBUTION,
      at('reveal', [r.receipt, toHex(new TextEncoder().encode(r.output))]),
      16_777_216n,
    ),
  ),
})

// ---- running it ----
const blocks = new Map<bigint, { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array }[]>()
const history: ModuleHistory = {
  async logs(address, blockNumber, topics) {
    return (blocks.get(blockNumber) ?? []).filter(
      (l) =>
        Buffer.compare(l.address, address) === 0 &&
        topics.every((t, i) => l.topics[i] !== undefined && Buffer.compare(l.topics[i]!, t) === 0),
    )
  },
}
const base = JSON.parse(readFileSync(join(ROOT, 'genesis/devnet.json'), 'utf8')) as Record<string, unknown>
const alloc: Record<string, { balance: string }> = { ...(base.alloc as Record<string, { balance: string }>) }
for (const a of [...evmPlan.alloc, owner, contributor, provider, user, challenger].map((x) =>
  typeof x === 'string' ? x : x.address,
))
  alloc[a.toLowerCase()] = { balance: (10n ** 24n).toString() }
const genesis = parseGenesis({
  ...base,
  chainId: Number(CHAIN_ID),
  gasLimit: '1000000000',
  alloc,
  modules: {
    ...(base.modules as object),
    challengeWindow: 3600,
    challengerBond: BOND.toString(),
    minProviderBond: BOND.toString(),
  },
})
const dir = mkdtempSync(join(tmpdir(), 'attr-judge-bench-'))
const level = new Level(dir, { keyEncoding: 'view', valueEncoding: 'view' })
interface Row {
  name: string
  kind: string
  txs: number
  gas: bigint
  execCpuMs: number
  execMs: number
}
const rows: Row[] = []
try {
  const rt = await createExecutionRuntime({
    db: level.sublevel('state', { keyEncoding: 'view', valueEncoding: 'view' }),
    genesis,
    modules: createSystemModules(parseModuleParams(genesis.modules), { history }),
    getBlockHash: async () => undefined,
  })
  let parent = rt.genesisBlock.header
  let ts = 1_000n
  for (const ph of phases) {
    const txs = ph.raws.map((r) => {
      const tx = createTxFromRLP(bytes(r), { common: rt.common })
      recoverSender(tx)
      return tx
    })
    const row: Row = { name: ph.name, kind: ph.kind, txs: txs.length, gas: 0n, execCpuMs: 0, execMs: 0 }
    let cursor = 0
    while (cursor < txs.length) {
      // One reveal per block, so that each one's time is its own.
      const batch = ph.name.startsWith('reveal') ? txs.slice(cursor, cursor + 1) : txs.slice(cursor)
      const c0 = process.cpuUsage()
      const r = await rt.buildBlock(parent, batch, { timestamp: ts++, coinbase: new Uint8Array(20) })
      const c1 = process.cpuUsage(c0)
      const cpu = (c1.user + c1.system) / 1000
      row.execCpuMs += (cpu * r.timings.execution) / (r.timings.execution + r.timings.roots)
      row.execMs += r.timings.execution
      if (r.executed.length === 0)
        throw new Error(`${ph.name}: nothing included (${r.rejected[0]?.reason ?? 'no reason'})`)
      const logs: { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array }[] = []
      for (const e of r.executed) {
        if (e.status !== 1) throw new Error(`${ph.name}: transaction failed: ${e.error?.message}`)
        row.gas += e.gasUsed
        for (const l of e.logs) logs.push({ address: l.address, topics: l.topics, data: l.data })
      }
      blocks.set(r.block.header.number, logs)
      cursor += r.executed.length
      parent = r.block.header
    }
    rows.push(row)
  }
  await rt.close()
} finally {
  await level.close()
  rmSync(dir, { recursive: true, force: true })
}

const evm = rows.filter((r) => r.kind === 'evm')
const evmAvg = Number(evm.reduce((a, r) => a + r.gas, 0n)) / (evm.reduce((a, r) => a + r.execCpuMs, 0) * 1000)
const cols = (xs: string[]) => xs.map((x, i) => (i === 0 ? x.padEnd(40) : x.padStart(17))).join('')
console.log(
  `corpus: one datanet version, ${corpus.length} inline records, ${(corpusBytes / 1024 / 1024).toFixed(2)} MB; outputs of 200 tokens; provider's index build ${indexMs.toFixed(0)} ms`,
)
console.log(cols(['phase', 'gas/tx', 'exec ms/tx', 'exec-cpu µs/tx', 'gas/exec-cpu µs', 'CPU/gas vs EVM']))
for (const r of rows) {
  if (r.kind === 'setup') continue
  const cpuUs = (r.execCpuMs * 1000) / r.txs
  const gasPerTx = Number(r.gas) / r.txs
  console.log(
    cols([
      r.name,
      gasPerTx.toFixed(0),
      (r.execMs / r.txs).toFixed(1),
      cpuUs.toFixed(0),
      (gasPerTx / cpuUs).toFixed(1),
      r.kind === 'module' ? `${(evmAvg / (gasPerTx / cpuUs)).toFixed(2)}×` : '',
    ]),
  )
}
console.log(`EVM average: ${evmAvg.toFixed(1)} gas per µs of execution CPU`)

// The re-run's computation over a `--stream-mb` version (what a 10 MB challenge would cost).
const big = makeCorpus(streamMb, 13).map((r, i) => ({
  datanetId: 1n,
  contributionId: BigInt(i + 1),
  text: r.text,
}))
const bigBytes = big.reduce((a, r) => a + Buffer.byteLength(r.text), 0)
const times: number[] = []
let hits = 0
for (let i = 0; i < 3; i++) {
  const output = makeOutput(next, big, vocab)
  const c0 = process.cpuUsage()
  const stream = new SpanStream(output, {
    k: 6,
    denominator: 1_000_000n,
    fallbackShares: [{ datanetId: 1n, shares: BigInt(big.length) }],
  })
  for (const r of big) stream.add(r)
  stream.finish((h) => {
    hits += h
  })
  const c1 = process.cpuUsage(c0)
  times.push((c1.user + c1.system) / 1000)
}
const gasAtBest =
  GAS.JUDGE_BASE +
  BigInt(big.length) * GAS.JUDGE_RECORD +
  BigInt(bigBytes) * GAS.JUDGE_BYTE +
  BigInt(Math.ceil(hits / 3)) * GAS.JUDGE_HIT
console.log(
  `re-run computation over ${(bigBytes / 1024 / 1024).toFixed(2)} MB (${big.length} records), 200-token output: CPU ${times.map((t) => t.toFixed(0)).join(' / ')} ms; gas at least ${gasAtBest} (one history block for all records) — ${gasAtBest > GAS.JUDGE_BUDGET ? 'over' : 'within'} the challenge budget of ${GAS.JUDGE_BUDGET}`,
)
