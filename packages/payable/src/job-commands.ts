/**
 * `openledger model job post|claim|run|submit|accept|verify|challenge|finalize|refund|resolve|status`:
 * paid fine-tuning jobs of the ModelFactory module (docs/modelfactory.md).
 */
import { getDatanetVersion } from '@openledger/attribution/sdk'
import { adapterConfig, configBytes, keccakHex, type Hex as MfHex } from '@openledger/modelfactory'
import { type Command, InvalidArgumentError } from 'commander'
import { type Address, keccak256, stringToBytes } from 'viem'
import { chainFor, parseIdArg, print } from './cli-common.ts'
import { parseOpenAmount } from './cli-options.ts'
import type { DatanetVersionRef } from './corpus.ts'
import { describeChainError, PayableError } from './errors.ts'
import { DEFAULT_STORE, loadBaseModel, verifyModel } from './factory.ts'
import { open } from './format.ts'
import {
  challengeJobOnChain,
  fulfilJob,
  jobAction,
  postJobOnChain,
  readJobOnChain,
  resolveJobOnChain,
  submitJobOnChain,
} from './jobs.ts'
import {
  type AdapterOpts,
  addAdapterOptions,
  loraOf,
  type MlCommon,
  scheduleOf,
  storeOf,
} from './ml-commands.ts'
import { collectDatanetRefs, parseAddress, parseBps, parseId } from './parse.ts'

/** "90", "90s", "10m", "2h", "1d" → seconds. */
export function parseSeconds(value: string): bigint {
  const m = /^(\d+)(s|m|h|d)?$/.exec(value.trim())
  if (m === null) throw new InvalidArgumentError('expected a duration such as 90, 90s, 10m, 2h or 1d')
  const mult = { s: 1n, m: 60n, h: 3600n, d: 86_400n }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  return BigInt(m[1] as string) * mult
}

function describeJob(j: Awaited<ReturnType<typeof readJobOnChain>>): string {
  const when = (t: bigint) => (t === 0n ? '-' : new Date(Number(t) * 1000).toISOString())
  return [
    `Job ${j.id}: ${j.statusName}`,
    `  requester        ${j.requester}`,
    `  trainer          ${/^0x0{40}$/.test(j.trainer) ? '-' : j.trainer}`,
    `  base model       ${j.baseModelId}`,
    `  datanets         ${j.datanets.map((d) => `${d.datanetId}@${d.version}`).join(', ')}`,
    `  config hash      ${j.trainingConfigHash}`,
    `  payment          ${open(j.payment)} (escrowed)`,
    `  deadline         ${when(j.deadline)}`,
    `  review period    ${j.reviewPeriod} s${j.submittedAt > 0n ? `, ends ${when(j.submittedAt + j.reviewPeriod)}` : ''}`,
    `  adapter          ${j.modelId === 0n ? '-' : `model ${j.modelId}`}`,
    ...(j.challengeBond > 0n ? [`  challenge bond   ${open(j.challengeBond)}`] : []),
  ].join('\n')
}

export function registerJobCommands(model: Command, common: (c: Command) => Command): void {
  const job = model.command('job').description('paid fine-tuning jobs (ModelFactory module)')

  addAdapterOptions(common(job.command('post').description('post a fine-tuning job, escrowing its payment')))
    .requiredOption('--base <modelId>', 'base model to fine-tune', parseId)
    .requiredOption(
      '--datanet <id@version>',
      'datanet version to train on (repeatable)',
      collectDatanetRefs,
      [],
    )
    .requiredOption('--payment <OPEN>', 'payment to the trainer, escrowed', parseOpenAmount)
    .option('--deadline <duration>', 'time to submit the adapter', parseSeconds, 3600n)
    .option('--review <duration>', 'time the requester has to challenge a submission', parseSeconds, 600n)
    .option('--store <dir>', 'artifact store directory (the base model artifact)', DEFAULT_STORE)
    .action(
      async (
        o: MlCommon &
          AdapterOpts & {
            base: bigint
            datanet: DatanetVersionRef[]
            payment: bigint
            deadline: bigint
            review: bigint
            store: string
          },
      ) => {
        const ctx = await chainFor(o, true)
        const base = await loadBaseModel(ctx, storeOf(o), o.base)
        const versions = await Promise.all(
          o.datanet.map(async (d) => {
            const v = await getDatanetVersion(ctx.client, d).catch((err) => {
              throw new PayableError(`datanet ${d.datanetId}@${d.version}: ${describeChainError(err)}`)
            })
            return {
              datanetId: d.datanetId.toString(),
              version: d.version.toString(),
              root: v.root.toLowerCase() as MfHex,
              count: v.count.toString(),
            }
          }),
        )
        const config = adapterConfig({
          baseArtifact: base.artifact,
          datanets: versions,
          lora: loraOf(o),
          schedule: scheduleOf(o),
        })
        const bytes = configBytes(config)
        // The next block's time: a dev chain's head can be minutes old (automine, idle) or ahead of
        // the wall clock (evm_increaseTime); a deadline from the head alone could be past already.
        const head = (await ctx.client.getBlock({ blockTag: 'latest' })).timestamp
        const wall = BigInt(Math.floor(Date.now() / 1000))
        const now = head > wall ? head : wall
        const { jobId, mined } = await postJobOnChain(ctx, {
          baseModelId: o.base,
          datanets: o.datanet,
          configBytes: bytes,
          payment: o.payment,
          deadline: now + o.deadline,
          reviewPeriod: o.review,
        })
        print(
          o,
          {
            jobId,
            trainingConfigHash: keccakHex(bytes),
            config,
            payment: o.payment,
            deadline: now + o.deadline,
            tx: mined.hash,
          },
          () =>
            `Posted job ${jobId}: LoRA rank ${o.rank} of base model ${o.base} on ${o.datanet.map((d) => `${d.datanetId}@${d.version}`).join(', ')}, ${open(o.payment)} escrowed; config ${keccakHex(bytes)} (tx ${mined.hash})`,
        )
      },
    )

  for (const [name, action, what] of [
    ['claim', 'claimJob', 'claim an open job (you become its trainer)'],
    ['accept', 'acceptJob', 'accept a submitted adapter: the trainer is paid'],
    ['finalize', 'finalizeJob', 'pay the trainer of an unchallenged submission after its review period'],
    ['refund', 'refundJob', 'refund the requester of a job not submitted before its deadline'],
  ] as const) {
    common(job.command(`${name} <jobId>`).description(what)).action(async (id: string, o: MlCommon) => {
      const ctx = await chainFor(o, true)
      const jobId = parseIdArg(id, 'jobId')
      const mined = await jobAction(ctx, action, jobId)
      const j = await readJobOnChain(ctx, jobId)
      print(
        o,
        { jobId, status: j.statusName, tx: mined.hash },
        () => `Job ${jobId}: ${j.statusName} (tx ${mined.hash})`,
      )
    })
  }

  common(
    job
      .command('run <jobId>')
      .description("as the trainer: claim (if open), train the job's adapter, register and submit it"),
  )
    .option('--name <name>', 'adapter model name')
    .option('--provider <address>', 'address that will serve the adapter (default: your own)', parseAddress)
    .option('--min-fee <OPEN>', 'minimum fee per inference of the adapter', parseOpenAmount, 10n ** 15n)
    .option('--owner-share <bps>', 'owner share of each fee in basis points', parseBps, 2000)
    .option('--store <dir>', 'artifact store directory', DEFAULT_STORE)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .action(
      async (
        id: string,
        o: MlCommon & {
          name?: string
          provider?: Address
          minFee: bigint
          ownerShare: number
          store: string
          contentDir?: string
        },
      ) => {
        const ctx = await chainFor(o, true)
        const jobId = parseIdArg(id, 'jobId')
        if ((await readJobOnChain(ctx, jobId)).status === 1) await jobAction(ctx, 'claimJob', jobId)
        const r = await fulfilJob(ctx, jobId, {
          store: storeOf(o),
          name: o.name,
          provider: o.provider ?? (ctx.account?.address as Address),
          minFeePerInference: o.minFee,
          ownerShareBps: o.ownerShare,
          contentDir: o.contentDir,
          onPhase: (_p, d) => !o.json && process.stderr.write(`» ${d}\n`),
        })
        print(
          o,
          {
            jobId,
            modelId: r.modelId,
            artifactHash: r.artifactHash,
            heldOutLossBase: r.trained.heldOutLossBase,
            heldOutLossAdapter: r.trained.heldOutLossAdapter,
          },
          () =>
            `Job ${jobId}: submitted adapter model ${r.modelId} (artifact ${r.artifactHash}); held-out loss ${r.trained.heldOutLossBase.toFixed(4)} → ${r.trained.heldOutLossAdapter.toFixed(4)}`,
        )
      },
    )

  common(job.command('submit <jobId>').description('submit an adapter you registered for a job you claimed'))
    .requiredOption('--model <modelId>', 'the registered adapter', parseId)
    .action(async (id: string, o: MlCommon & { model: bigint }) => {
      const ctx = await chainFor(o, true)
      const mined = await submitJobOnChain(ctx, parseIdArg(id, 'jobId'), o.model)
      print(
        o,
        { jobId: id, modelId: o.model, tx: mined.hash },
        () => `Job ${id}: submitted model ${o.model} (tx ${mined.hash})`,
      )
    })

  common(
    job
      .command('verify <jobId>')
      .description("re-run the submitted adapter's training from chain data (model verify)"),
  )
    .option('--store <dir>', 'artifact store directory', DEFAULT_STORE)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .action(async (id: string, o: MlCommon & { store: string; contentDir?: string }) => {
      const ctx = await chainFor(o, false)
      const j = await readJobOnChain(ctx, parseIdArg(id, 'jobId'))
      if (j.modelId === 0n) throw new PayableError(`job ${j.id} has no submitted adapter (${j.statusName})`)
      const v = await verifyModel(ctx, storeOf(o), j.modelId, { contentDir: o.contentDir })
      print(o, { jobId: j.id, ...v }, () =>
        v.ok
          ? `OK: job ${j.id}'s adapter (model ${j.modelId}) verifies`
          : [`FAILED: job ${j.id}'s adapter (model ${j.modelId}):`, ...v.reasons.map((r) => `  - ${r}`)].join(
              '\n',
            ),
      )
      if (!v.ok) process.exitCode = 1
    })

  common(
    job
      .command('challenge <jobId>')
      .description('as the requester: dispute a submission within its review period, posting the bond'),
  )
    .option('--force', 'challenge even if the adapter verifies', false)
    .option('--store <dir>', 'artifact store directory', DEFAULT_STORE)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .action(async (id: string, o: MlCommon & { force: boolean; store: string; contentDir?: string }) => {
      const ctx = await chainFor(o, true)
      const j = await readJobOnChain(ctx, parseIdArg(id, 'jobId'))
      if (j.modelId === 0n) throw new PayableError(`job ${j.id} has no submitted adapter (${j.statusName})`)
      const v = await verifyModel(ctx, storeOf(o), j.modelId, { contentDir: o.contentDir })
      if (v.ok && !o.force)
        throw new PayableError(
          `job ${j.id}'s adapter verifies: nothing to challenge (--force to challenge anyway)`,
        )
      const evidence = keccak256(
        stringToBytes(JSON.stringify({ modelId: j.modelId.toString(), reasons: v.reasons })),
      )
      const { bond, mined } = await challengeJobOnChain(ctx, j.id, evidence)
      print(o, { jobId: j.id, bond, evidenceHash: evidence, reasons: v.reasons, tx: mined.hash }, () =>
        [
          `Challenged job ${j.id} with a bond of ${open(bond)} (tx ${mined.hash}); the arbiter rules next:`,
          ...v.reasons.map((r) => `  - ${r}`),
        ].join('\n'),
      )
    })

  common(job.command('resolve <jobId>').description('as the arbiter: rule on a challenged job'))
    .option('--valid', 'the adapter verifies: pay the trainer (and the bond)')
    .option('--invalid', 'the adapter does not verify: refund the requester (and the bond)')
    .action(async (id: string, o: MlCommon & { valid?: boolean; invalid?: boolean }) => {
      if (o.valid === o.invalid) throw new PayableError('give exactly one of --valid or --invalid')
      const ctx = await chainFor(o, true)
      const mined = await resolveJobOnChain(ctx, parseIdArg(id, 'jobId'), o.valid === true)
      const j = await readJobOnChain(ctx, parseIdArg(id, 'jobId'))
      print(
        o,
        { jobId: j.id, status: j.statusName, tx: mined.hash },
        () => `Job ${j.id}: ${j.statusName} (tx ${mined.hash})`,
      )
    })

  common(job.command('status <jobId>').description('show a job')).action(async (id: string, o: MlCommon) => {
    const ctx = await chainFor(o, false)
    const j = await readJobOnChain(ctx, parseIdArg(id, 'jobId'))
    print(o, j, () => describeJob(j))
  })
}
