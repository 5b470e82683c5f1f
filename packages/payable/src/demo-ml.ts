/**
 * The ModelFactory / OpenLoRA part of `openledger demo`, on the demo's chain and datanets: a base
 * model pre-trained here (the `micro` preset on part of the public-domain corpus, to keep the demo
 * short; `openledger model base train --preset tiny` is the real one), one LoRA adapter per
 * datanet trained on the version rebuilt from chain, one OpenLoRA provider serving both, a paid
 * inference on each, and `model verify` re-running each adapter's training from chain data.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ArtifactStore, baseRecipe, DEFAULT_LORA, loadSotuCorpus, trainBase } from '@openledger/modelfactory'
import type { Address, Hex } from 'viem'
import type { ChainContext } from './chain.ts'
import {
  prepareAdapterJob,
  registerAdapterOnChain,
  registerBaseOnChain,
  runAdapterTraining,
  verifyModel,
} from './factory.ts'
import { open, shorten, table } from './format.ts'
import { OpenLoraProvider } from './openlora.ts'
import { serveOpenLora } from './openlora-http.ts'
import type { ProviderServer } from './provider.ts'
import { askProvider, checkAnswer, explainSettlement, type SettlementReport, settleAnswer } from './settle.ts'

/** Demo schedules: small enough for a demo, long enough for the adapters to beat the base. */
const BASE_STEPS = 150
const BASE_DOCS = 40
const ADAPTER_SCHEDULE = { steps: 80, batch: 8, lr: 5e-3, warmup: 5, seed: '1' }

export interface DemoAdapter {
  modelId: bigint
  baseModelId: bigint
  artifactHash: Hex
  datanets: string[]
  heldOutLossBase: number
  heldOutLossAdapter: number
  verified: boolean
}

export interface ModelFactoryDemo {
  baseModelId: bigint
  adapters: DemoAdapter[]
  provider: { adaptersServed: number; url: string; residentAdapters: string[] }
  settlements: { prompt: string; output: string; report: SettlementReport; adapter: bigint }[]
  close(): Promise<void>
}

/** What the demo's world gives this part (demo.ts passes it; no import back). */
export interface DemoParts {
  ctx: (i: number) => ChainContext
  addr: (i: number) => Address
  label: (a: string) => string
  datanetRefs: { datanetId: bigint; version: bigint; name: string }[]
  prompts: string[]
  keys: Hex[]
  work: string
  fee: bigint
  names: string[]
  roles: { owner: number; provider: number; user: number }
}

export async function runModelFactoryDemo(
  world: DemoParts,
  say: (line?: string) => void,
): Promise<ModelFactoryDemo> {
  const { ctx, addr, label, datanetRefs, prompts, keys, work, names: NAMES } = world
  const { owner: MODEL_OWNER, provider: PROVIDER, user: USER } = world.roles
  const store = new ArtifactStore(join(work, 'artifacts'))
  const owner = ctx(MODEL_OWNER)
  say('ModelFactory and OpenLoRA')
  const t0 = performance.now()
  const base = trainBase(baseRecipe('micro', { steps: BASE_STEPS }), loadSotuCorpus({ maxDocs: BASE_DOCS }))
  const baseHash = await store.put(base.artifact)
  const baseModelId = await registerBaseOnChain(owner, base, {
    name: 'ol-tfm-v1 micro (demo)',
    artifactURI: pathToFileURL(store.path(baseHash)).toString(),
  })
  say(
    `Base model ${baseModelId} pre-trained by ${NAMES[MODEL_OWNER]} on ${base.config.corpus.documents} State of the Union addresses ` +
      `(${BASE_STEPS} steps, ${((performance.now() - t0) / 1000).toFixed(1)} s): held-out loss ${base.heldOutLoss.toFixed(3)} nats/byte, artifact ${baseHash}`,
  )
  const adapters: DemoAdapter[] = []
  for (const d of datanetRefs) {
    const refs = [{ datanetId: d.datanetId, version: d.version }]
    const job = await prepareAdapterJob(owner, store, {
      baseModelId,
      datanets: refs,
      lora: DEFAULT_LORA,
      schedule: ADAPTER_SCHEDULE,
    })
    const t = runAdapterTraining(job.config, job.base.artifact, job.records)
    const hash = await store.put(t.artifact)
    const modelId = await registerAdapterOnChain(owner, t, {
      name: `${d.name} LoRA`,
      baseModelId,
      datanets: refs,
      artifactURI: pathToFileURL(store.path(hash)).toString(),
      provider: addr(PROVIDER),
      minFeePerInference: world.fee,
      ownerShareBps: 2000,
    })
    adapters.push({
      modelId,
      baseModelId,
      artifactHash: hash,
      datanets: [`${d.datanetId}@${d.version}`],
      heldOutLossBase: t.heldOutLossBase,
      heldOutLossAdapter: t.heldOutLossAdapter,
      verified: false,
    })
    say(
      `Adapter ${modelId} (LoRA rank ${DEFAULT_LORA.rank}) on datanet ${d.datanetId}@${d.version} "${d.name}": held-out loss base ${t.heldOutLossBase.toFixed(3)} → adapter ${t.heldOutLossAdapter.toFixed(3)}`,
    )
  }
  const provider = await OpenLoraProvider.load(
    { ...ctx(PROVIDER), account: undefined, wallet: undefined },
    {
      baseModelId,
      adapters: adapters.map((a) => a.modelId),
      privateKey: keys[PROVIDER] as Hex,
      store: new ArtifactStore(join(work, 'provider-artifacts')),
    },
  )
  let server: ProviderServer | undefined = await serveOpenLora(provider)
  say(
    `OpenLoRA provider ${NAMES[PROVIDER]} serving base ${baseModelId} and adapters ${adapters.map((a) => a.modelId).join(', ')} from one process at ${server.url}`,
  )
  say()
  const settlements: ModelFactoryDemo['settlements'] = []
  for (const [i, a] of adapters.entries()) {
    const prompt = prompts[i === 0 ? 0 : prompts.length - 2] as string
    const answer = await askProvider(server.url, {
      prompt,
      maxTokens: 48,
      payer: addr(USER),
      model: String(a.modelId),
    })
    await checkAnswer(ctx(USER), answer, world.fee)
    const mined = await settleAnswer(ctx(USER), answer)
    const report = await explainSettlement(ctx(USER), mined, answer.evidence)
    settlements.push({ prompt, output: answer.output, report, adapter: a.modelId })
    say(`${NAMES[USER]} asks adapter ${a.modelId}: ${prompt}`)
    say(`Answer: ${answer.output.trim()}`)
    say(
      `Receipt ${report.receiptId} (model ${answer.receipt.modelId} v${answer.receipt.modelVersion}) settled, ${open(report.fee)} split as:`,
    )
    say(
      table(
        ['to', 'role', 'earned', 'why'],
        report.payouts.map((p) => [label(p.account), p.role, open(p.amount), shorten(p.why, 70)]),
      ),
    )
    say()
  }
  for (const a of adapters) {
    const v = await verifyModel(ctx(0), new ArtifactStore(join(work, 'verifier-artifacts')), a.modelId)
    a.verified = v.ok
    say(
      `model verify ${a.modelId}: ${v.ok ? `OK, re-trained from chain data to ${v.recomputedArtifactHash}` : `FAILED ${v.reasons.join('; ')}`}`,
    )
  }
  say()
  return {
    baseModelId,
    adapters,
    provider: {
      adaptersServed: provider.served().length,
      url: server.url,
      residentAdapters: provider.residentAdapters().map(String),
    },
    settlements,
    close: async () => {
      await server?.close()
      server = undefined
    },
  }
}
