/** ModelFactory and OpenLoRA against an in-process dev chain: a base model registered with its
 * spec, LoRA adapters trained on datanet versions rebuilt from chain data, `verify` (real,
 * tampered, wrong datanet version), and one `openledger provider serve` process serving 20 adapters
 * with an LRU. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  approveContribution,
  contribute,
  createDatanet,
  getClaimable,
  inlineContent,
  publishVersion,
} from '@openledger/attribution/sdk'
import { parseGenesis } from '@openledger/evm-runtime'
import {
  ArtifactStore,
  baseRecipe,
  DEFAULT_LORA,
  decodeCheckpoint,
  decodeTokens,
  encodeText,
  GenerationStream,
  keccakHex,
  loadAdapter,
  loadBase,
  loadSotuCorpus,
  type TrainedBase,
  trainBase,
} from '@openledger/modelfactory'
import { buildDevGenesis, hex, OpenLedgerNode, silentLogger } from '@openledger/node'
import {
  askProvider,
  type ChainContext,
  checkAnswer,
  connect,
  explainSettlement,
  findLog,
  prepareAdapterJob,
  registerAdapterOnChain,
  registerBaseOnChain,
  requireWallet,
  runAdapterTraining,
  sendAndWait,
  settleAnswer,
  verifyModel,
} from '@openledger/payable'
import { type Hex, keccak256, stringToBytes } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CORPUS = join(import.meta.dirname, '../../../test/fixtures/corpus')
const read = (dir: string) =>
  readdirSync(join(CORPUS, dir))
    .filter((f) => f !== 'spam.txt')
    .sort()
    .map((f) => readFileSync(join(CORPUS, dir, f)))
const fables = read('aesop')
const GROUPS = [fables.slice(0, 4), fables.slice(4), read('franklin'), [...fables.slice(2, 6)]]
const SCHEDULE = { steps: 30, batch: 4, lr: 2e-2, warmup: 3, seed: '1' }

let node: OpenLedgerNode
let work: string
let store: ArtifactStore
const ctx: ChainContext[] = []
const keys: Hex[] = []
let base: TrainedBase
let baseModelId: bigint
/** datanet id of each group; version 1 published, group 0 also has version 2. */
const datanets: bigint[] = []

async function tx(
  i: number,
  what: string,
  f: (w: ReturnType<typeof requireWallet>['wallet']) => Promise<Hex>,
) {
  return sendAndWait(ctx[i]!, what, f(requireWallet(ctx[i]!).wallet))
}

async function addRecord(datanetId: bigint, who: number, bytes: Uint8Array) {
  const m = await tx(who, 'contribute', (w) =>
    contribute(w, { datanetId, metadataURI: '', ...inlineContent(bytes) }),
  )
  const contributionId = findLog(m, 'ContributionSubmitted').contributionId as bigint
  await tx(0, 'approve', (w) => approveContribution(w, { datanetId, contributionId, weight: 1000n }))
}

/** Trains (on records rebuilt from chain) and registers an adapter; returns its model id. */
async function adapter(
  group: number,
  seed: number,
  o: { version?: bigint; register?: bigint; tamper?: boolean; schedule?: typeof SCHEDULE } = {},
) {
  const refs = [{ datanetId: datanets[group]!, version: o.version ?? 1n }]
  const job = await prepareAdapterJob(ctx[1]!, store, {
    baseModelId,
    datanets: refs,
    lora: DEFAULT_LORA,
    schedule: { ...(o.schedule ?? SCHEDULE), seed: String(seed) },
  })
  const t = runAdapterTraining(job.config, job.base.artifact, job.records)
  if (o.tamper) {
    t.artifact[t.artifact.length - 3] = (t.artifact[t.artifact.length - 3] as number) ^ 0x01
    t.artifactHash = keccakHex(t.artifact)
  }
  const hash = await store.put(t.artifact)
  const modelId = await registerAdapterOnChain(ctx[1]!, t, {
    name: `adapter g${group} s${seed}`,
    baseModelId,
    datanets: o.register === undefined ? refs : [{ datanetId: datanets[group]!, version: o.register }],
    artifactURI: pathToFileURL(store.path(hash)).toString(),
    provider: ctx[2]!.account!.address,
    minFeePerInference: 10n ** 15n,
    ownerShareBps: 2000,
  })
  return { modelId, trained: t }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ol-modelfactory-'))
  store = new ArtifactStore(join(work, 'artifacts'))
  const { json, accounts } = await buildDevGenesis({ accounts: 5 })
  node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log: silentLogger(),
  })
  for (const a of accounts) {
    keys.push(hex(a.privateKey) as Hex)
    ctx.push(await connect(node.rpcUrl, hex(a.privateKey) as Hex))
  }
  for (const [g, records] of GROUPS.entries()) {
    const created = await tx(0, 'create', (w) =>
      createDatanet(w, { name: `group ${g}`, metadataURI: '', open: true, curators: [] }),
    )
    const id = findLog(created, 'DatanetCreated').datanetId as bigint
    datanets.push(id)
    for (const [i, r] of records.entries()) await addRecord(id, 3 + (i % 2), r)
    await tx(0, 'publish', (w) => publishVersion(w, { datanetId: id }))
  }
  await addRecord(
    datanets[0]!,
    3,
    stringToBytes(
      'The Tortoise and the Eagle. A Tortoise, lazily basking in the sun, complained to the sea-birds.',
    ),
  )
  await tx(0, 'publish', (w) => publishVersion(w, { datanetId: datanets[0]! }))
  base = trainBase(baseRecipe('micro', { steps: 100 }), loadSotuCorpus({ maxDocs: 30 }))
  const baseHash = await store.put(base.artifact)
  baseModelId = await registerBaseOnChain(ctx[0]!, base, {
    name: 'micro base',
    artifactURI: pathToFileURL(store.path(baseHash)).toString(),
  })
}, 240_000)

afterAll(async () => {
  await node?.close()
  await rm(work, { recursive: true, force: true })
})

describe('ModelFactory on chain', () => {
  let real: bigint

  it('fine-tunes an adapter on a datanet version from chain with lower held-out loss, and verify re-runs it', async () => {
    const t0 = performance.now()
    const a = await adapter(0, 1, { schedule: { steps: 80, batch: 8, lr: 5e-3, warmup: 5, seed: '1' } })
    real = a.modelId
    expect((performance.now() - t0) / 1000).toBeLessThan(60)
    expect(a.trained.heldOutLossAdapter).toBeLessThan(a.trained.heldOutLossBase)
    const v = await verifyModel(ctx[4]!, new ArtifactStore(join(work, 'verifier-store')), real)
    expect(v.reasons).toEqual([])
    expect(v).toMatchObject({ ok: true, kind: 2, recomputedArtifactHash: a.trained.artifactHash })
  })

  it('verify fails on a registration of a tampered artifact (one byte changed)', async () => {
    const { modelId } = await adapter(0, 1, { tamper: true })
    const v = await verifyModel(ctx[4]!, store, modelId)
    expect(v.ok).toBe(false)
    expect(v.reasons.some((r) => r.startsWith('ARTIFACT_MISMATCH'))).toBe(true)
  })

  it('verify fails when the served file was changed after registration', async () => {
    const { modelId, trained } = await adapter(1, 9)
    const file = store.path(trained.artifactHash)
    const bytes = new Uint8Array(trained.artifact)
    bytes[100] = (bytes[100] as number) ^ 0x80
    await writeFile(file, bytes)
    const v = await verifyModel(ctx[4]!, new ArtifactStore(join(work, 'fresh-store')), modelId)
    expect(v.ok).toBe(false)
    expect(v.reasons.some((r) => r.startsWith('ARTIFACT_FILE_MISMATCH'))).toBe(true)
    await writeFile(file, trained.artifact)
  })

  it('verify fails on a registration naming a different datanet version than the training used', async () => {
    // Trained on version 1, registered as trained on version 2.
    const { modelId } = await adapter(0, 1, { register: 2n })
    const v = await verifyModel(ctx[4]!, store, modelId)
    expect(v.ok).toBe(false)
    expect(v.reasons[0]).toMatch(/^DATANETS_MISMATCH/)
    // And an honest version-2 adapter verifies (its data differs: another hash).
    const v2 = await adapter(0, 1, { version: 2n })
    const ok = await verifyModel(ctx[4]!, store, v2.modelId)
    expect(ok.ok).toBe(true)
    expect(v2.trained.artifactHash).not.toBe((await verifyModel(ctx[4]!, store, real)).recomputedArtifactHash)
  })
})

describe('OpenLoRA: one provider process, 20 adapters, LRU', () => {
  const ids: bigint[] = []
  let provider: ChildProcess
  let url: string
  let stderr = ''

  beforeAll(async () => {
    for (let i = 0; i < 20; i++) ids.push((await adapter(i % GROUPS.length, 100 + i)).modelId)
    const keyFile = join(work, 'provider.key')
    await writeFile(keyFile, `${keys[2]}\n`)
    // `openledger provider serve --base B --adapters all` as its own process, 6 adapters resident.
    provider = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../bin/openledger.mjs'),
        'provider',
        'serve',
        '--base',
        String(baseModelId),
        '--adapters',
        'all',
        '--resident',
        '6',
        '--port',
        '0',
        '--key-file',
        keyFile,
        '--store',
        join(work, 'provider-store'),
        '--rpc',
        node.rpcUrl,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENLEDGER_PRIVATE_KEY: '' } },
    )
    provider.stderr!.on('data', (d) => {
      stderr += d
    })
    url = await new Promise<string>((resolve, reject) => {
      let out = ''
      provider.stdout!.on('data', (d) => {
        out += d
        const m = /Provider listening on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      provider.once('exit', (code) => reject(new Error(`provider exited ${code}\n${out}\n${stderr}`)))
    })
  }, 300_000)

  afterAll(async () => {
    if (provider?.exitCode === null) {
      provider.kill('SIGTERM')
      await new Promise((r) => provider.once('exit', r))
    }
  })

  const complete = async (model: string, prompt: string, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt, max_tokens: 24, seed: 5, ...extra }),
    })
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }
  const info = async () => (await (await fetch(`${url}/v1/model`)).json()) as Record<string, any>

  it('answers every adapter with its own weights and a receipt naming it; outputs differ from the base', async () => {
    const served = (await info()).adapters as { modelId: string; artifactHash: Hex }[]
    expect(served.length).toBeGreaterThanOrEqual(20)
    const listed = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }
    for (const id of ids) expect(listed.data.map((d) => d.id)).toContain(String(id))
    const prompt = 'The Fox said'
    const lm = loadBase(base.checkpoint.config, base.checkpoint.params)
    const opts = (hash: string) => ({
      maxTokens: 24,
      temperature: 0.7,
      topK: 20,
      seed: 5n,
      stream: `${hash}:${keccak256(stringToBytes(prompt))}`,
    })
    const baseOut = await complete(String(baseModelId), prompt)
    const first = new Map<bigint, string>()
    expect(baseOut.status).toBe(200)
    expect(baseOut.body.openledger.receipt).toBeNull()
    for (const round of [0, 1]) {
      for (const id of ids) {
        const { status, body } = await complete(`model-${id}`, prompt)
        expect(status).toBe(200)
        expect(body.openledger.model.id).toBe(String(id))
        expect(body.openledger.receipt.modelId).toBe(String(id))
        const text = body.choices[0].text as string
        expect(text).not.toBe(baseOut.body.choices[0].text)
        // Round 1 runs on adapters evicted and reloaded since: the same answer as before.
        if (round > 0) {
          expect(text).toBe(first.get(id))
          continue
        }
        first.set(id, text)
        // The same generation computed here from the adapter's registered artifact.
        const a = served.find((s) => s.modelId === String(id))!
        const ck = decodeCheckpoint(await store.get(a.artifactHash.toLowerCase() as Hex))
        if (ck.kind !== 'lora') throw new Error('not an adapter')
        const g = new GenerationStream(
          lm,
          loadAdapter(ck.config, ck.lora, ck.params),
          [...encodeText(prompt)],
          opts(a.artifactHash),
        )
        while (g.next() !== undefined);
        expect(text).toBe(decodeTokens(g.tokens))
      }
    }
    const s = (await info()).cache as { resident: number; evictions: number; loads: number }
    expect(s.resident).toBe(6)
    expect(s.evictions).toBeGreaterThanOrEqual(34)
    // Evicted adapters were reloaded on demand: 40 answers, 40 loads with 6 resident of 20+
    // (the provider logs each load on stderr).
    const loads = () => [...stderr.matchAll(/^adapter (\d+) loaded$/gm)].map((m) => m[1])
    // The log lines were written before the answers; this side may read the pipe a little later.
    for (const until = Date.now() + 10_000; loads().length < s.loads && Date.now() < until; )
      await Promise.race([once(provider.stderr!, 'data'), new Promise((r) => setTimeout(r, 200))])
    expect(loads().length).toBe(s.loads)
    expect(new Set(loads()).size).toBe(20)
  }, 300_000)

  it('streams completions and chat completions as server-sent events, receipt in the last chunk', async () => {
    const id = ids[3]!
    const plain = await complete(String(id), 'Early to bed')
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: String(id),
        prompt: 'Early to bed',
        max_tokens: 24,
        seed: 5,
        stream: true,
      }),
    })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const events = (await res.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6))
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e))
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(plain.body.choices[0].text)
    const last = chunks.at(-1)
    expect(last.choices[0].finish_reason).toMatch(/stop|length/)
    expect(last.openledger.receipt.modelId).toBe(String(id))
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: String(id),
        messages: [{ role: 'user', content: 'Early to bed' }],
        max_tokens: 16,
        stream: true,
      }),
    })
    const chatEvents = (await chat.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)))
    expect(chatEvents[0].object).toBe('chat.completion.chunk')
    expect(chatEvents[0].choices[0].delta.role).toBe('assistant')
    expect(chatEvents.at(-1).openledger.receipt.modelId).toBe(String(id))
  })

  it('answers bad requests with clear errors', async () => {
    expect((await complete('9999', 'x')).status).toBe(404)
    expect((await complete('nope', 'x')).status).toBe(400)
    expect((await complete(String(ids[0]), 'x', { max_tokens: 0 })).status).toBe(400)
    expect((await complete(String(ids[0]), 'x', { temperature: 'hot' })).status).toBe(400)
    expect((await complete(String(ids[0]), 'x', { stream: 'yes' })).status).toBe(400)
    const bad = await fetch(`${url}/v1/completions`, { method: 'POST', body: '{' })
    expect(bad.status).toBe(400)
    expect((await fetch(`${url}/v1/completions`)).status).toBe(405)
  })

  it('a paid inference on an adapter settles and pays the datanet contributors and the base owner', async () => {
    const id = ids[0]!
    const answer = await askProvider(url, {
      prompt: 'A famished Fox saw',
      maxTokens: 32,
      payer: ctx[4]!.account!.address,
      model: String(id),
    })
    expect(answer.receipt.modelId).toBe(id)
    await checkAnswer(ctx[4]!, answer, 10n ** 18n)
    const before = await getClaimable(ctx[0]!.client, { holder: ctx[0]!.account!.address })
    const mined = await settleAnswer(ctx[4]!, answer)
    const report = await explainSettlement(ctx[4]!, mined, answer.evidence)
    expect(report.payouts.reduce((s, p) => s + p.amount, 0n)).toBe(report.fee)
    // The base model's owner (account 0) earns the parent royalty of its adapter.
    expect(report.payouts.some((p) => p.role === 'parent royalty')).toBe(true)
    expect((await getClaimable(ctx[0]!.client, { holder: ctx[0]!.account!.address })) > before).toBe(true)
  })
})
