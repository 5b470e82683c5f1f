/**
 * ModelFactory training records of the Models module: base models (pre-trained on a public corpus,
 * no datanets) and LoRA adapters with their training spec (kind, base model, rank, alpha, steps,
 * seed, and the training config itself, hash-checked against trainingConfigHash), so that a
 * verifier can re-run the training from chain data. Added functions only: registerModel and the
 * existing records are unchanged.
 */
import type { CallEnv, Handler, StorageReader } from '@openledger/module-kit'
import { abiTools, field, keccak, keccakGas, pack, toBigInt, toHex, u256 } from '@openledger/module-kit'
import { modelsAbi } from '../sol/abi.ts'
import { MODELS_ADDRESS, trainingSpecSlot } from './layout.ts'
import type { ModuleParams } from './params.ts'
import { loadModel } from './records.ts'

const t = abiTools(modelsAbi)

export const TRAINING_KIND = { none: 0, base: 1, lora: 2 } as const
/** Largest training config accepted in call data. */
export const MAX_TRAINING_CONFIG_BYTES = 8192

export interface TrainingSpecInfo {
  kind: number
  baseModelId: bigint
  rank: number
  alpha: number
  steps: number
  seed: bigint
}

interface RegistrationArgs {
  name: string
  baseModel: string
  parentId: bigint
  datanets: readonly { datanetId: bigint; version: bigint }[]
  trainingConfigHash: string
  trainingLogHash: string
  artifactHash: string
  artifactURI: string
  provider: string
  minFeePerInference: bigint
  ownerShareBps: number
}

interface SpecArgs {
  kind: number
  baseModelId: bigint
  rank: number
  alpha: number
  steps: number
  seed: bigint
  config: string
}

/** registerModel's core, passed in by models.ts (no import back: files must not form loops). */
export type RegisterNew = (
  env: CallEnv,
  params: ModuleParams,
  reg: RegistrationArgs,
  opts?: { noTrainingData?: boolean },
) => Promise<bigint>

export async function readTrainingSpec(
  r: StorageReader,
  modelId: bigint,
  version: bigint,
): Promise<TrainingSpecInfo> {
  const w0 = toBigInt(await r.read(MODELS_ADDRESS, trainingSpecSlot(modelId, version, 0n)))
  const baseModelId =
    w0 === 0n ? 0n : toBigInt(await r.read(MODELS_ADDRESS, trainingSpecSlot(modelId, version, 1n)))
  return {
    kind: Number(field(w0, 0, 8)),
    rank: Number(field(w0, 8, 16)),
    alpha: Number(field(w0, 24, 16)),
    steps: Number(field(w0, 40, 32)),
    seed: field(w0, 72, 64),
    baseModelId,
  }
}

/** Checks the config bytes against the registered hash (charging the hash) and records the spec. */
function recordSpec(env: CallEnv, modelId: bigint, spec: SpecArgs, configHash: string): void {
  const config = spec.config
  const bytes = (config.length - 2) / 2
  if (bytes > MAX_TRAINING_CONFIG_BYTES)
    t.fail('TooManyItems', BigInt(bytes), BigInt(MAX_TRAINING_CONFIG_BYTES))
  env.x.charge(keccakGas(bytes))
  const actual = toHex(keccak(Buffer.from(config.slice(2), 'hex')))
  if (actual !== configHash.toLowerCase()) t.fail('ConfigHashMismatch', configHash, actual)
  const w0 = pack(
    [BigInt(spec.kind), 0, 8],
    [BigInt(spec.rank), 8, 16],
    [BigInt(spec.alpha), 24, 16],
    [BigInt(spec.steps), 40, 32],
    [spec.seed, 72, 64],
  )
  env.x.write(MODELS_ADDRESS, trainingSpecSlot(modelId, 1n, 0n), u256(w0))
  if (spec.baseModelId !== 0n)
    env.x.write(MODELS_ADDRESS, trainingSpecSlot(modelId, 1n, 1n), u256(spec.baseModelId))
  env.x.emit(
    t.log('TrainingSpecRecorded', {
      modelId,
      version: 1,
      baseModelId: spec.baseModelId,
      kind: spec.kind,
      rank: spec.rank,
      alpha: spec.alpha,
      steps: spec.steps,
      seed: spec.seed,
      config,
    }),
  )
}

export function trainingHandlers(params: ModuleParams, registerNew: RegisterNew): Record<string, Handler> {
  return {
    registerBaseModel: {
      mutating: true,
      async run(env, args) {
        const r = args[0] as {
          name: string
          baseModel: string
          trainingConfigHash: string
          trainingLogHash: string
          artifactHash: string
          artifactURI: string
          steps: number
          seed: bigint
          config: string
        }
        if (r.steps === 0) t.fail('BadTrainingSpec')
        const id = await registerNew(
          env,
          params,
          {
            name: r.name,
            baseModel: r.baseModel,
            parentId: 0n,
            datanets: [],
            trainingConfigHash: r.trainingConfigHash,
            trainingLogHash: r.trainingLogHash,
            artifactHash: r.artifactHash,
            artifactURI: r.artifactURI,
            // A base model is not served for pay (it has no training data to attribute to):
            // its owner is its provider and its fee terms are the defaults.
            provider: toHex(env.caller),
            minFeePerInference: 0n,
            ownerShareBps: params.ownerBps,
          },
          { noTrainingData: true },
        )
        recordSpec(
          env,
          id,
          {
            kind: TRAINING_KIND.base,
            baseModelId: 0n,
            rank: 0,
            alpha: 0,
            steps: r.steps,
            seed: r.seed,
            config: r.config,
          },
          r.trainingConfigHash,
        )
        return id
      },
    },

    registerAdapter: {
      mutating: true,
      async run(env, args) {
        const [reg, spec] = args as [RegistrationArgs, SpecArgs]
        if (spec.kind !== TRAINING_KIND.lora || spec.rank === 0 || spec.alpha === 0 || spec.steps === 0) {
          t.fail('BadTrainingSpec')
        }
        if (reg.parentId !== spec.baseModelId) t.fail('BadTrainingSpec')
        if ((await loadModel(env.x, spec.baseModelId)) === undefined)
          t.fail('ModelNotFound', spec.baseModelId)
        const base = await readTrainingSpec(env.x, spec.baseModelId, 1n)
        if (base.kind !== TRAINING_KIND.base) t.fail('NotABaseModel', spec.baseModelId)
        const id = await registerNew(env, params, reg)
        recordSpec(env, id, spec, reg.trainingConfigHash)
        return id
      },
    },

    getTrainingSpec: {
      mutating: false,
      async run(env, args) {
        const [id, version] = args as [bigint, number]
        const m = await loadModel(env.x, id)
        if (m === undefined || version < 1 || BigInt(version) > m.versionCount) {
          return t.fail('ModelVersionNotFound', id, version)
        }
        return readTrainingSpec(env.x, id, BigInt(version))
      },
    },
  }
}
