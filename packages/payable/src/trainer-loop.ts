/**
 * `provider serve --base B --train`: the provider also works as a ModelFactory trainer. It polls
 * for JobPosted logs of its base model, claims each open job, trains the adapter the job's config
 * describes in a worker thread (serving keeps answering meanwhile), registers it with itself as
 * provider and submits it; the OpenLoRA provider then serves it like any other adapter.
 */
import { MODEL_FACTORY, modelFactoryAbi } from '@openledger/attribution/sdk'
import type { ArtifactStore } from '@openledger/modelfactory'
import { getAbiItem } from 'viem'
import { type ChainContext, requireWallet } from './chain.ts'
import { describeChainError } from './errors.ts'
import { type AdapterTrainer, fulfilJob, JOB_STATUS_NAMES, jobAction, readJobOnChain } from './jobs.ts'
import { trainInWorker } from './train-worker.ts'

/** How far back the first poll looks for jobs posted before the provider started. */
const LOOKBACK_BLOCKS = 5000n
const postedEvent = getAbiItem({ abi: modelFactoryAbi, name: 'JobPosted' })

export interface JobTrainerOptions {
  baseModelId: bigint
  store: ArtifactStore
  pollMs: number
  minFeePerInference: bigint
  ownerShareBps?: number
  contentDir?: string
  train?: AdapterTrainer
  log?: (line: string) => void
}

export class JobTrainer {
  private next: bigint | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  private readonly seen = new Set<bigint>()
  readonly fulfilled: { jobId: bigint; modelId: bigint }[] = []

  constructor(
    private readonly ctx: ChainContext,
    private readonly o: JobTrainerOptions,
  ) {
    requireWallet(ctx)
  }

  start(): void {
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    await this.running
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err) => this.o.log?.(`trainer: ${describeChainError(err)}`))
        .finally(() => this.schedule(this.o.pollMs))
    }, ms)
  }

  /** One pass: new JobPosted logs of the base model, each handled in order. */
  async poll(): Promise<void> {
    const head = await this.ctx.client.getBlockNumber()
    const from = this.next ?? (head > LOOKBACK_BLOCKS ? head - LOOKBACK_BLOCKS : 0n)
    if (from > head) return
    const logs = await this.ctx.client.getLogs({
      address: MODEL_FACTORY,
      event: postedEvent,
      args: { baseModelId: this.o.baseModelId },
      fromBlock: from,
      toBlock: head,
    })
    this.next = head + 1n
    for (const l of logs) {
      const jobId = l.args.jobId as bigint
      if (this.stopped || this.seen.has(jobId)) continue
      this.seen.add(jobId)
      await this.handle(jobId)
    }
  }

  private async handle(jobId: bigint): Promise<void> {
    const log = this.o.log
    const job = await readJobOnChain(this.ctx, jobId)
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (job.status !== 1 || job.deadline <= now) {
      log?.(
        `trainer: job ${jobId} is ${JOB_STATUS_NAMES[job.status]}${job.deadline <= now ? ', past its deadline' : ''}: skipped`,
      )
      return
    }
    try {
      await jobAction(this.ctx, 'claimJob', jobId)
    } catch (err) {
      log?.(`trainer: could not claim job ${jobId}: ${describeChainError(err)}`)
      return
    }
    log?.(`trainer: claimed job ${jobId} (payment ${job.payment} wei)`)
    try {
      const r = await fulfilJob(this.ctx, jobId, {
        store: this.o.store,
        provider: this.ctx.account?.address as `0x${string}`,
        minFeePerInference: this.o.minFeePerInference,
        ownerShareBps: this.o.ownerShareBps ?? 2000,
        contentDir: this.o.contentDir,
        train: this.o.train ?? trainInWorker,
        onPhase: (_p, d) => log?.(`trainer: ${d}`),
      })
      this.fulfilled.push({ jobId, modelId: r.modelId })
      log?.(`trainer: job ${jobId} submitted with adapter model ${r.modelId} (${r.artifactHash})`)
    } catch (err) {
      log?.(`trainer: job ${jobId} failed: ${describeChainError(err)}`)
    }
  }
}
