/**
 * The ModelFactory jobs module (0x4f50454e…0006): fine-tuning jobs paid in OPEN held in escrow by
 * this module's account. Lifecycle (IModelFactory.sol):
 *
 *   post (payment escrowed) → claim (trainer) → submit (an adapter registered by the trainer that
 *   matches the job: kind, base, config hash, datanet versions) → accept (requester) or, after
 *   the review period, finalize (anyone) → trainer paid;
 *   submitted → challenge (requester, bond) → resolve (arbiter) → trainer paid (+ bond) or
 *   requester refunded (+ bond);  open/claimed past the deadline → refund (anyone).
 *
 * The chain cannot re-run a training: a challenge is decided by the arbiter (genesis
 * `jobArbiter`, by default the Governance module) from the off-chain `model verify` result.
 * Long file: one lifecycle (post, claim, submit, accept or challenge, resolve, refund) over one escrow.
 */
import type { CallEnv, DefinedModule } from '@openledger/module-kit'
import {
  abiTools,
  addressFromWord,
  addressToBigInt,
  addSlot,
  arrayElementSlot,
  defineModule,
  equalBytes,
  field,
  fromHex,
  keccak,
  keccakGas,
  MODEL_FACTORY_ADDRESS,
  nestedSlot,
  pack,
  toBigInt,
  toHex,
  u256,
  ZERO_ADDRESS,
} from '@openledger/module-kit'
import { modelFactoryAbi } from '../sol/abi.ts'
import { MODEL_VERSION_FIELDS, MODELS_ADDRESS, modelVersionSlot, trainedOnSlot } from './layout.ts'
import { JOB_WORDS, loadParams } from './param-store.ts'
import type { ModuleParams } from './params.ts'
import { loadModel, loadVersionCount } from './records.ts'
import { readU } from './rewards.ts'
import { MAX_TRAINING_CONFIG_BYTES, readTrainingSpec, TRAINING_KIND } from './training.ts'

const t = abiTools(modelFactoryAbi)

export const JOB_STATUS = {
  none: 0,
  open: 1,
  claimed: 2,
  submitted: 3,
  challenged: 4,
  paid: 5,
  refunded: 6,
} as const
export const JOB_LIMITS = {
  maxDatanets: 32,
  maxReviewPeriod: 90n * 86_400n,
  maxDeadlineAhead: 365n * 86_400n,
} as const

// ---- storage layout (module account 0x…06) ----
export const JOBS_SLOTS = { jobCount: 0n, jobs: 1n } as const
/** Job struct fields: 0 requester|status<<160; 1 trainer; 2 baseModelId; 3 trainingConfigHash;
 * 4 payment; 5 deadline|reviewPeriod<<64|submittedAt<<128|createdAtBlock<<192; 6 modelId;
 * 7 challengeBond; 8 DatanetRef[] (2 slots per element: id, version). */
export const JOB_FIELDS = {
  requesterStatus: 0n,
  trainer: 1n,
  baseModelId: 2n,
  trainingConfigHash: 3n,
  payment: 4n,
  times: 5n,
  modelId: 6n,
  challengeBond: 7n,
  datanets: 8n,
} as const
export function jobSlot(jobId: bigint, f: bigint): Uint8Array {
  return addSlot(nestedSlot(JOBS_SLOTS.jobs, jobId), f)
}

interface Job {
  requester: Uint8Array
  status: number
  trainer: Uint8Array
  baseModelId: bigint
  trainingConfigHash: Uint8Array
  payment: bigint
  deadline: bigint
  reviewPeriod: bigint
  submittedAt: bigint
  createdAtBlock: bigint
  modelId: bigint
  challengeBond: bigint
}

type Reader = { read(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array> }

async function loadJob(r: Reader, id: bigint): Promise<Job | undefined> {
  const A = MODEL_FACTORY_ADDRESS
  const w0 = toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.requesterStatus)))
  if (w0 === 0n) return undefined
  const times = toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.times)))
  return {
    requester: addressFromWord(w0),
    status: Number(field(w0, 160, 8)),
    trainer: addressFromWord(toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.trainer)))),
    baseModelId: toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.baseModelId))),
    trainingConfigHash: await r.read(A, jobSlot(id, JOB_FIELDS.trainingConfigHash)),
    payment: toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.payment))),
    deadline: field(times, 0, 64),
    reviewPeriod: field(times, 64, 64),
    submittedAt: field(times, 128, 64),
    createdAtBlock: field(times, 192, 64),
    modelId: toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.modelId))),
    challengeBond: toBigInt(await r.read(A, jobSlot(id, JOB_FIELDS.challengeBond))),
  }
}

async function loadJobDatanets(r: Reader, id: bigint): Promise<{ datanetId: bigint; version: bigint }[]> {
  const list = jobSlot(id, JOB_FIELDS.datanets)
  const n = await readU(r, MODEL_FACTORY_ADDRESS, list)
  const out = []
  for (let i = 0n; i < n; i++) {
    out.push({
      datanetId: await readU(r, MODEL_FACTORY_ADDRESS, arrayElementSlot(list, i, 2n)),
      version: await readU(r, MODEL_FACTORY_ADDRESS, arrayElementSlot(list, i * 2n + 1n)),
    })
  }
  return out
}

function storeHeader(env: CallEnv, id: bigint, j: Job): void {
  const A = MODEL_FACTORY_ADDRESS
  env.x.write(
    A,
    jobSlot(id, JOB_FIELDS.requesterStatus),
    u256(pack([addressToBigInt(j.requester), 0, 160], [BigInt(j.status), 160, 8])),
  )
  env.x.write(A, jobSlot(id, JOB_FIELDS.trainer), u256(addressToBigInt(j.trainer)))
  env.x.write(
    A,
    jobSlot(id, JOB_FIELDS.times),
    u256(
      pack(
        [j.deadline, 0, 64],
        [j.reviewPeriod, 64, 64],
        [j.submittedAt, 128, 64],
        [j.createdAtBlock, 192, 64],
      ),
    ),
  )
  env.x.write(A, jobSlot(id, JOB_FIELDS.modelId), u256(j.modelId))
  env.x.write(A, jobSlot(id, JOB_FIELDS.challengeBond), u256(j.challengeBond))
}

async function requireJob(env: CallEnv, id: bigint, ...statuses: number[]): Promise<Job> {
  const j = await loadJob(env.x, id)
  if (j === undefined) return t.fail('JobNotFound', id)
  if (!statuses.includes(j.status)) t.fail('WrongJobStatus', id, j.status)
  return j
}

function pay(env: CallEnv, to: Uint8Array, amount: bigint): void {
  env.x.pay(MODEL_FACTORY_ADDRESS, to, amount)
}

function settlePaid(env: CallEnv, id: bigint, j: Job, extra: bigint): void {
  const amount = j.payment + extra
  pay(env, j.trainer, amount)
  storeHeader(env, id, { ...j, status: JOB_STATUS.paid })
  env.x.emit(t.log('JobPaid', { jobId: id, trainer: toHex(j.trainer), amount }))
}

function settleRefunded(env: CallEnv, id: bigint, j: Job, extra: bigint): void {
  const amount = j.payment + extra
  pay(env, j.requester, amount)
  storeHeader(env, id, { ...j, status: JOB_STATUS.refunded })
  env.x.emit(t.log('JobRefunded', { jobId: id, requester: toHex(j.requester), amount }))
}

export function createModelFactoryModule(params: ModuleParams): DefinedModule {
  return defineModule({
    name: 'ModelFactory',
    address: MODEL_FACTORY_ADDRESS,
    abi: modelFactoryAbi,
    handlers: {
      postJob: {
        mutating: true,
        payable: true,
        async run(env, args) {
          const spec = args[0] as {
            baseModelId: bigint
            datanets: { datanetId: bigint; version: bigint }[]
            trainingConfigHash: string
            deadline: bigint
            reviewPeriod: bigint
            config: string
          }
          const { x, ctx } = env
          if (ctx.value === 0n) t.fail('NoPayment')
          if (equalBytes(env.caller, ZERO_ADDRESS)) t.fail('NotRequester', 0n, toHex(env.caller))
          const now = ctx.block.timestamp
          if (spec.deadline <= now || spec.deadline > now + JOB_LIMITS.maxDeadlineAhead)
            t.fail('BadDeadline', spec.deadline)
          if (spec.reviewPeriod === 0n || spec.reviewPeriod > JOB_LIMITS.maxReviewPeriod)
            t.fail('BadReviewPeriod', spec.reviewPeriod)
          if ((await loadModel(x, spec.baseModelId)) === undefined) t.fail('ModelNotFound', spec.baseModelId)
          if ((await readTrainingSpec(x, spec.baseModelId, 1n)).kind !== TRAINING_KIND.base)
            t.fail('NotABaseModel', spec.baseModelId)
          const configBytes = (spec.config.length - 2) / 2
          if (configBytes > MAX_TRAINING_CONFIG_BYTES) {
            t.fail('TooManyItems', BigInt(configBytes), BigInt(MAX_TRAINING_CONFIG_BYTES))
          }
          x.charge(keccakGas(configBytes))
          const actual = toHex(keccak(fromHex(spec.config)))
          if (actual !== spec.trainingConfigHash.toLowerCase())
            t.fail('ConfigHashMismatch', spec.trainingConfigHash, actual)
          if (spec.datanets.length === 0) t.fail('NoTrainingData')
          if (spec.datanets.length > JOB_LIMITS.maxDatanets)
            t.fail('TooManyItems', BigInt(spec.datanets.length), BigInt(JOB_LIMITS.maxDatanets))
          const seen = new Set<string>()
          for (const d of spec.datanets) {
            const key = `${d.datanetId}:${d.version}`
            if (seen.has(key)) t.fail('DuplicateDatanetVersion', d.datanetId, d.version)
            seen.add(key)
            if (d.version === 0n || (await loadVersionCount(x, d.datanetId, d.version)) === 0n) {
              t.fail('DatanetVersionNotFound', d.datanetId, d.version)
            }
          }
          const countSlot = u256(JOBS_SLOTS.jobCount)
          const id = (await readU(x, MODEL_FACTORY_ADDRESS, countSlot)) + 1n
          x.write(MODEL_FACTORY_ADDRESS, countSlot, u256(id))
          const job: Job = {
            requester: env.caller,
            status: JOB_STATUS.open,
            trainer: ZERO_ADDRESS,
            baseModelId: spec.baseModelId,
            trainingConfigHash: fromHex(spec.trainingConfigHash),
            payment: ctx.value,
            deadline: spec.deadline,
            reviewPeriod: spec.reviewPeriod,
            submittedAt: 0n,
            createdAtBlock: ctx.block.number,
            modelId: 0n,
            challengeBond: 0n,
          }
          storeHeader(env, id, job)
          x.write(MODEL_FACTORY_ADDRESS, jobSlot(id, JOB_FIELDS.baseModelId), u256(job.baseModelId))
          x.write(MODEL_FACTORY_ADDRESS, jobSlot(id, JOB_FIELDS.trainingConfigHash), job.trainingConfigHash)
          x.write(MODEL_FACTORY_ADDRESS, jobSlot(id, JOB_FIELDS.payment), u256(job.payment))
          const list = jobSlot(id, JOB_FIELDS.datanets)
          x.write(MODEL_FACTORY_ADDRESS, list, u256(BigInt(spec.datanets.length)))
          spec.datanets.forEach((d, i) => {
            x.write(MODEL_FACTORY_ADDRESS, arrayElementSlot(list, BigInt(i), 2n), u256(d.datanetId))
            x.write(MODEL_FACTORY_ADDRESS, arrayElementSlot(list, BigInt(i) * 2n + 1n), u256(d.version))
          })
          x.emit(
            t.log('JobPosted', {
              jobId: id,
              requester: toHex(env.caller),
              baseModelId: spec.baseModelId,
              trainingConfigHash: spec.trainingConfigHash,
              payment: ctx.value,
              deadline: spec.deadline,
              reviewPeriod: spec.reviewPeriod,
              datanets: spec.datanets,
              config: spec.config,
            }),
          )
          return id
        },
      },

      claimJob: {
        mutating: true,
        async run(env, args) {
          const [id] = args as [bigint]
          const j = await requireJob(env, id, JOB_STATUS.open)
          if (env.ctx.block.timestamp > j.deadline) t.fail('DeadlinePassed', id, j.deadline)
          if (equalBytes(env.caller, ZERO_ADDRESS)) t.fail('NotTrainer', id, toHex(env.caller))
          storeHeader(env, id, { ...j, status: JOB_STATUS.claimed, trainer: env.caller })
          env.x.emit(t.log('JobClaimed', { jobId: id, trainer: toHex(env.caller) }))
        },
      },

      submitJob: {
        mutating: true,
        async run(env, args) {
          const [id, modelId] = args as [bigint, bigint]
          const { x } = env
          const j = await requireJob(env, id, JOB_STATUS.claimed)
          if (!equalBytes(env.caller, j.trainer)) t.fail('NotTrainer', id, toHex(env.caller))
          if (env.ctx.block.timestamp > j.deadline) t.fail('DeadlinePassed', id, j.deadline)
          const m = await loadModel(x, modelId)
          if (m === undefined) return t.fail('ModelNotFound', modelId)
          const mismatch = (what: string) => t.fail('AdapterMismatch', id, modelId, what)
          if (!equalBytes(m.owner, j.trainer)) mismatch('owner')
          const spec = await readTrainingSpec(x, modelId, 1n)
          if (spec.kind !== TRAINING_KIND.lora) mismatch('kind')
          if (spec.baseModelId !== j.baseModelId) mismatch('baseModelId')
          const configHash = await x.read(
            MODELS_ADDRESS,
            modelVersionSlot(modelId, 1n, MODEL_VERSION_FIELDS.trainingConfigHash),
          )
          if (!equalBytes(configHash, j.trainingConfigHash)) mismatch('trainingConfigHash')
          const wanted = await loadJobDatanets(x, id)
          const listed = await readU(
            x,
            MODELS_ADDRESS,
            modelVersionSlot(modelId, 1n, MODEL_VERSION_FIELDS.datanets),
          )
          if (listed !== BigInt(wanted.length)) mismatch('datanets')
          for (const d of wanted) {
            if ((await readU(x, MODELS_ADDRESS, trainedOnSlot(modelId, 1n, d.datanetId, d.version))) !== 1n)
              mismatch('datanets')
          }
          const artifactHash = await x.read(
            MODELS_ADDRESS,
            modelVersionSlot(modelId, 1n, MODEL_VERSION_FIELDS.artifactHash),
          )
          storeHeader(env, id, {
            ...j,
            status: JOB_STATUS.submitted,
            modelId,
            submittedAt: env.ctx.block.timestamp,
          })
          x.emit(t.log('JobSubmitted', { jobId: id, modelId, artifactHash: toHex(artifactHash) }))
        },
      },

      acceptJob: {
        mutating: true,
        async run(env, args) {
          const [id] = args as [bigint]
          const j = await requireJob(env, id, JOB_STATUS.submitted)
          if (!equalBytes(env.caller, j.requester)) t.fail('NotRequester', id, toHex(env.caller))
          settlePaid(env, id, j, 0n)
        },
      },

      finalizeJob: {
        mutating: true,
        async run(env, args) {
          const [id] = args as [bigint]
          const j = await requireJob(env, id, JOB_STATUS.submitted)
          if (env.ctx.block.timestamp <= j.submittedAt + j.reviewPeriod) t.fail('ReviewPeriodNotOver', id)
          settlePaid(env, id, j, 0n)
        },
      },

      challengeJob: {
        mutating: true,
        payable: true,
        async run(env, args) {
          const [id, evidenceHash] = args as [bigint, string]
          const j = await requireJob(env, id, JOB_STATUS.submitted)
          if (!equalBytes(env.caller, j.requester)) t.fail('NotRequester', id, toHex(env.caller))
          if (env.ctx.block.timestamp > j.submittedAt + j.reviewPeriod) t.fail('ReviewPeriodOver', id)
          const { jobChallengeBondBps } = await loadParams(env.x, params, JOB_WORDS)
          const bond = (j.payment * BigInt(jobChallengeBondBps)) / 10_000n
          if (env.ctx.value !== bond) t.fail('WrongBond', env.ctx.value, bond)
          storeHeader(env, id, { ...j, status: JOB_STATUS.challenged, challengeBond: bond })
          env.x.emit(t.log('JobChallenged', { jobId: id, challenger: toHex(env.caller), bond, evidenceHash }))
        },
      },

      resolveJob: {
        mutating: true,
        async run(env, args) {
          const [id, valid] = args as [bigint, boolean]
          const { jobArbiter } = await loadParams(env.x, params, JOB_WORDS)
          if (!equalBytes(env.caller, jobArbiter)) t.fail('NotArbiter', toHex(env.caller))
          const j = await requireJob(env, id, JOB_STATUS.challenged)
          env.x.emit(t.log('JobResolved', { jobId: id, adapterValid: valid }))
          if (valid) settlePaid(env, id, j, j.challengeBond)
          else settleRefunded(env, id, j, j.challengeBond)
        },
      },

      refundJob: {
        mutating: true,
        async run(env, args) {
          const [id] = args as [bigint]
          const j = await requireJob(env, id, JOB_STATUS.open, JOB_STATUS.claimed)
          if (env.ctx.block.timestamp <= j.deadline) t.fail('DeadlineNotPassed', id, j.deadline)
          settleRefunded(env, id, j, 0n)
        },
      },

      jobCount: {
        mutating: false,
        async run(env) {
          return readU(env.x, MODEL_FACTORY_ADDRESS, u256(JOBS_SLOTS.jobCount))
        },
      },

      getJob: {
        mutating: false,
        async run(env, args) {
          const [id] = args as [bigint]
          return (await readJob(env.x, id)) ?? t.fail('JobNotFound', id)
        },
      },

      jobParams: {
        mutating: false,
        async run(env) {
          const p = await loadParams(env.x, params, JOB_WORDS)
          return [toHex(p.jobArbiter), p.jobChallengeBondBps]
        },
      },
    },
  })
}

export interface JobInfo {
  id: bigint
  requester: `0x${string}`
  trainer: `0x${string}`
  status: number
  baseModelId: bigint
  trainingConfigHash: `0x${string}`
  payment: bigint
  deadline: bigint
  reviewPeriod: bigint
  submittedAt: bigint
  modelId: bigint
  challengeBond: bigint
  createdAtBlock: bigint
  datanets: { datanetId: bigint; version: bigint }[]
}

/** A job as IModelFactory.getJob returns it (the read API and RPC use it too). */
export async function readJob(r: Reader, id: bigint): Promise<JobInfo | undefined> {
  const j = await loadJob(r, id)
  if (j === undefined) return undefined
  return {
    id,
    requester: toHex(j.requester),
    trainer: toHex(j.trainer),
    status: j.status,
    baseModelId: j.baseModelId,
    trainingConfigHash: toHex(j.trainingConfigHash),
    payment: j.payment,
    deadline: j.deadline,
    reviewPeriod: j.reviewPeriod,
    submittedAt: j.submittedAt,
    modelId: j.modelId,
    challengeBond: j.challengeBond,
    createdAtBlock: j.createdAtBlock,
    datanets: await loadJobDatanets(r, id),
  }
}
