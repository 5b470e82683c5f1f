/**
 * Client side of ModelFactory jobs (the module at 0x4f50454e…0006): post a fine-tuning job with its
 * training config, claim it, train the adapter it specifies on the datanet versions rebuilt from
 * chain, register it and submit it; accept, finalize, challenge, resolve and refund; read a job.
 */
import { pathToFileURL } from 'node:url'
import {
  acceptJob,
  challengeJob,
  claimJob,
  finalizeJob,
  getJob,
  getJobParams,
  MODEL_FACTORY,
  modelFactoryAbi,
  postJob,
  refundJob,
  resolveJob,
  submitJob,
} from '@openledger/attribution/sdk'
import {
  type AdapterTrainingConfig,
  type ArtifactStore,
  keccakHex,
  parseTrainingConfig,
  type TrainedAdapter,
  type TrainingRecord,
} from '@openledger/modelfactory'
import { type Address, getAbiItem, type Hex, hexToBytes } from 'viem'
import { type ChainContext, findLog, type Mined, requireWallet, sendAndWait } from './chain.ts'
import { type DatanetVersionRef, readCorpus } from './corpus.ts'
import { describeChainError, PayableError } from './errors.ts'
import { loadBaseModel, registerAdapterOnChain, runAdapterTraining } from './factory.ts'

export const JOB_STATUS_NAMES = [
  'none',
  'open',
  'claimed',
  'submitted',
  'challenged',
  'paid',
  'refunded',
] as const

export interface JobView {
  id: bigint
  requester: Address
  trainer: Address
  status: number
  statusName: string
  baseModelId: bigint
  trainingConfigHash: Hex
  payment: bigint
  deadline: bigint
  reviewPeriod: bigint
  submittedAt: bigint
  modelId: bigint
  challengeBond: bigint
  createdAtBlock: bigint
  datanets: DatanetVersionRef[]
}

export async function readJobOnChain(ctx: ChainContext, jobId: bigint): Promise<JobView> {
  let j: Awaited<ReturnType<typeof getJob>>
  try {
    j = await getJob(ctx.client, { jobId })
  } catch (err) {
    throw new PayableError(`job ${jobId}: ${describeChainError(err)}`)
  }
  return {
    ...j,
    statusName: JOB_STATUS_NAMES[j.status] ?? 'unknown',
    datanets: j.datanets.map((d) => ({ datanetId: d.datanetId, version: d.version })),
  }
}

const postedEvent = getAbiItem({ abi: modelFactoryAbi, name: 'JobPosted' })

/** The job's training config bytes, from its JobPosted log (checked against the job's hash). */
export async function readJobConfig(ctx: ChainContext, job: JobView): Promise<Uint8Array> {
  const logs = await ctx.client.getLogs({
    address: MODEL_FACTORY,
    event: postedEvent,
    args: { jobId: job.id },
    fromBlock: job.createdAtBlock,
    toBlock: job.createdAtBlock,
  })
  const config = logs[0]?.args.config
  if (config === undefined)
    throw new PayableError(`no JobPosted log for job ${job.id} in block ${job.createdAtBlock}`)
  const bytes = hexToBytes(config)
  if (keccakHex(bytes) !== job.trainingConfigHash.toLowerCase())
    throw new PayableError(`job ${job.id}: posted config does not match its hash`)
  return bytes
}

export interface PostJobInput {
  baseModelId: bigint
  datanets: readonly DatanetVersionRef[]
  configBytes: Uint8Array
  payment: bigint
  deadline: bigint
  reviewPeriod: bigint
}

export async function postJobOnChain(
  ctx: ChainContext,
  j: PostJobInput,
): Promise<{ jobId: bigint; mined: Mined }> {
  const { wallet } = requireWallet(ctx)
  const mined = await sendAndWait(
    ctx,
    'postJob',
    postJob(wallet, {
      spec: {
        baseModelId: j.baseModelId,
        datanets: j.datanets.map((d) => ({ datanetId: d.datanetId, version: d.version })),
        trainingConfigHash: keccakHex(j.configBytes),
        deadline: j.deadline,
        reviewPeriod: j.reviewPeriod,
        config: `0x${Buffer.from(j.configBytes).toString('hex')}`,
      },
      value: j.payment,
    }),
  )
  return { jobId: findLog(mined, 'JobPosted').jobId as bigint, mined }
}

type JobAction = 'claimJob' | 'acceptJob' | 'finalizeJob' | 'refundJob'
const ACTIONS = { claimJob, acceptJob, finalizeJob, refundJob } as const

export async function jobAction(ctx: ChainContext, action: JobAction, jobId: bigint): Promise<Mined> {
  const { wallet } = requireWallet(ctx)
  return sendAndWait(ctx, action, ACTIONS[action](wallet, { jobId }))
}

export async function submitJobOnChain(ctx: ChainContext, jobId: bigint, modelId: bigint): Promise<Mined> {
  const { wallet } = requireWallet(ctx)
  return sendAndWait(ctx, 'submitJob', submitJob(wallet, { jobId, modelId }))
}

/** Challenges a submission, posting the bond the module asks (bps of the payment). */
export async function challengeJobOnChain(
  ctx: ChainContext,
  jobId: bigint,
  evidenceHash: Hex,
): Promise<{ bond: bigint; mined: Mined }> {
  const { wallet } = requireWallet(ctx)
  const job = await readJobOnChain(ctx, jobId)
  const [, bps] = await getJobParams(ctx.client, {})
  const bond = (job.payment * BigInt(bps)) / 10_000n
  const mined = await sendAndWait(
    ctx,
    'challengeJob',
    challengeJob(wallet, { jobId, evidenceHash, value: bond }),
  )
  return { bond, mined }
}

export async function resolveJobOnChain(
  ctx: ChainContext,
  jobId: bigint,
  adapterValid: boolean,
): Promise<Mined> {
  const { wallet } = requireWallet(ctx)
  return sendAndWait(ctx, 'resolveJob', resolveJob(wallet, { jobId, adapterValid }))
}

/** Trains what a job's config says (in process by default; a worker thread for the provider). */
export type AdapterTrainer = (
  config: AdapterTrainingConfig,
  base: Uint8Array,
  records: TrainingRecord[],
) => Promise<TrainedAdapter>

export interface TrainJobOptions {
  store: ArtifactStore
  name?: string
  /** Address that will serve the adapter (signs its receipts). */
  provider: Address
  minFeePerInference: bigint
  ownerShareBps: number
  contentDir?: string
  /** Register a different artifact than the one trained (tests of unpaid failing adapters). */
  tamper?: (artifact: Uint8Array) => Uint8Array
  train?: AdapterTrainer
  onPhase?: (phase: string, detail?: string) => void
}

/**
 * The trainer's side of a claimed job: check the posted config against the chain (its base
 * artifact is the base model's, its datanet versions and roots are the job's), rebuild the records,
 * train, store the artifact, register the adapter and submit it.
 */
export async function fulfilJob(
  ctx: ChainContext,
  jobId: bigint,
  o: TrainJobOptions,
): Promise<{ modelId: bigint; trained: TrainedAdapter; artifactHash: Hex }> {
  const job = await readJobOnChain(ctx, jobId)
  const parsed = parseTrainingConfig(await readJobConfig(ctx, job))
  if (parsed.kind !== 'lora') throw new PayableError(`job ${jobId}: the config is not an adapter config`)
  const base = await loadBaseModel(ctx, o.store, job.baseModelId)
  if (keccakHex(base.artifact) !== parsed.base.artifactHash) {
    throw new PayableError(
      `job ${jobId}: the config names base artifact ${parsed.base.artifactHash}, not base model ${job.baseModelId}'s`,
    )
  }
  const key = (d: { datanetId: bigint | string; version: bigint | string }) => `${d.datanetId}@${d.version}`
  if (job.datanets.map(key).sort().join() !== parsed.datanets.map(key).sort().join()) {
    throw new PayableError(`job ${jobId}: the config's datanet versions differ from the job's`)
  }
  o.onPhase?.('read', `job ${jobId}: rebuilding ${job.datanets.length} datanet version(s) from chain`)
  const corpus = await readCorpus(ctx, job.datanets, { contentDir: o.contentDir })
  for (const d of corpus.datanets) {
    const c = parsed.datanets.find((x) => x.datanetId === d.datanetId.toString())
    if (c?.root !== d.root.toLowerCase())
      throw new PayableError(
        `job ${jobId}: datanet ${d.datanetId}@${d.version} root differs from the config's`,
      )
  }
  const records = corpus.datanets.flatMap((d) =>
    d.records.map((r) => ({
      datanetId: r.datanetId,
      contentHash: r.contentHash as `0x${string}`,
      contributionId: r.contributionId,
      bytes: r.bytes,
    })),
  )
  o.onPhase?.('train', `job ${jobId}: training ${parsed.schedule.steps} steps, rank ${parsed.lora.rank}`)
  const trained =
    o.train !== undefined
      ? await o.train(parsed, base.artifact, records)
      : runAdapterTraining(parsed, base.artifact, records)
  let artifact = trained.artifact
  if (o.tamper !== undefined) artifact = o.tamper(new Uint8Array(artifact))
  const artifactHash = await o.store.put(artifact)
  o.onPhase?.('register', `job ${jobId}: registering adapter ${artifactHash}`)
  const modelId = await registerAdapterOnChain(
    ctx,
    { ...trained, artifactHash },
    {
      name: o.name ?? `job ${jobId} adapter`,
      baseModelId: job.baseModelId,
      datanets: job.datanets,
      artifactURI: pathToFileURL(o.store.path(artifactHash)).toString(),
      provider: o.provider,
      minFeePerInference: o.minFeePerInference,
      ownerShareBps: o.ownerShareBps,
    },
  )
  await submitJobOnChain(ctx, jobId, modelId)
  return { modelId, trained, artifactHash }
}
