/** The Models module (0x4f50454e…0002): model records, versions, lineage, provider and fee terms. */

import type { CallEnv, DefinedModule } from '@openledger/module-kit'
import {
  type AbiTools,
  abiTools,
  defineModule,
  equalBytes,
  fromHex,
  toHex,
  u256,
  ZERO_ADDRESS,
} from '@openledger/module-kit'
import { modelsAbi } from '../sol/abi.ts'
import {
  arrayElementSlot,
  MODEL_FIELDS,
  MODEL_VERSION_FIELDS,
  MODELS_ADDRESS,
  MODELS_SLOTS,
  modelSlot,
  modelVersionSlot,
  trainedOnSlot,
  writeString,
} from './layout.ts'
import type { ModuleParams } from './params.ts'
import { readIsTrainedOn, readModel, readModelCount, readModelVersion } from './read.ts'
import { loadModel, loadVersionCount, type ModelHeader, storeModel } from './records.ts'
import { readU } from './rewards.ts'
import { trainingHandlers } from './training.ts'

export const MODEL_LIMITS = {
  maxNameBytes: 64,
  maxBaseModelBytes: 128,
  maxURIBytes: 256,
  maxDatanetsPerVersion: 32,
} as const

const t: AbiTools = abiTools(modelsAbi)
const enc = new TextEncoder()

interface DatanetRefArg {
  datanetId: bigint
  version: bigint
}

export interface VersionArgs {
  datanets: readonly DatanetRefArg[]
  trainingConfigHash: string
  trainingLogHash: string
  artifactHash: string
  artifactURI: string
}

function checkString(s: string, max: number): Uint8Array {
  const b = enc.encode(s)
  if (b.length > max) t.fail('StringTooLong', BigInt(b.length), BigInt(max))
  return b
}

/** Validates the training-data list: non-empty, bounded, no duplicates, every version published. */
async function checkDatanets(env: CallEnv, refs: readonly DatanetRefArg[]): Promise<void> {
  if (refs.length === 0) t.fail('NoTrainingData')
  if (refs.length > MODEL_LIMITS.maxDatanetsPerVersion) {
    t.fail('TooManyItems', BigInt(refs.length), BigInt(MODEL_LIMITS.maxDatanetsPerVersion))
  }
  const seen = new Set<string>()
  for (const r of refs) {
    const key = `${r.datanetId}:${r.version}`
    if (seen.has(key)) t.fail('DuplicateDatanetVersion', r.datanetId, r.version)
    seen.add(key)
  }
  for (const r of refs) {
    if (r.version === 0n || (await loadVersionCount(env.x, r.datanetId, r.version)) === 0n) {
      t.fail('DatanetVersionNotFound', r.datanetId, r.version)
    }
  }
}

function writeVersion(env: CallEnv, modelId: bigint, version: bigint, v: VersionArgs, uri: Uint8Array): void {
  const { x, ctx } = env
  const slot = (f: bigint) => modelVersionSlot(modelId, version, f)
  x.write(MODELS_ADDRESS, slot(MODEL_VERSION_FIELDS.trainingConfigHash), fromHex(v.trainingConfigHash))
  x.write(MODELS_ADDRESS, slot(MODEL_VERSION_FIELDS.trainingLogHash), fromHex(v.trainingLogHash))
  x.write(MODELS_ADDRESS, slot(MODEL_VERSION_FIELDS.artifactHash), fromHex(v.artifactHash))
  x.write(MODELS_ADDRESS, slot(MODEL_VERSION_FIELDS.publishedAtBlock), u256(ctx.block.number))
  writeString(x, MODELS_ADDRESS, slot(MODEL_VERSION_FIELDS.artifactURI), uri)
  const listSlot = slot(MODEL_VERSION_FIELDS.datanets)
  x.write(MODELS_ADDRESS, listSlot, u256(BigInt(v.datanets.length)))
  v.datanets.forEach((r, i) => {
    x.write(MODELS_ADDRESS, arrayElementSlot(listSlot, BigInt(i), 2n), u256(r.datanetId))
    x.write(MODELS_ADDRESS, arrayElementSlot(listSlot, BigInt(i) * 2n + 1n), u256(r.version))
    x.write(MODELS_ADDRESS, trainedOnSlot(modelId, version, r.datanetId, r.version), u256(1n))
  })
  x.emit(
    t.log('ModelVersionPublished', {
      modelId,
      version: Number(version),
      artifactHash: v.artifactHash,
      artifactURI: v.artifactURI,
      trainingConfigHash: v.trainingConfigHash,
      trainingLogHash: v.trainingLogHash,
      datanets: v.datanets.map((r) => ({ datanetId: r.datanetId, version: r.version })),
    }),
  )
}

async function requireOwnedModel(env: CallEnv, id: bigint): Promise<ModelHeader> {
  const m = await loadModel(env.x, id)
  if (m === undefined) return t.fail('ModelNotFound', id)
  if (!equalBytes(m.owner, env.caller)) t.fail('NotModelOwner', id, toHex(env.caller))
  return m
}

export interface Registration extends VersionArgs {
  name: string
  baseModel: string
  parentId: bigint
  provider: string
  minFeePerInference: bigint
  ownerShareBps: number
}

/** Validates and stores a new model owned by the caller with `reg` as version 1; returns its id.
 * `noTrainingData`: a base model, whose version 1 names no datanet. */
export async function registerNew(
  env: CallEnv,
  params: ModuleParams,
  reg: Registration,
  opts: { noTrainingData?: boolean } = {},
): Promise<bigint> {
  const name = checkString(reg.name, MODEL_LIMITS.maxNameBytes)
  const baseModel = checkString(reg.baseModel, MODEL_LIMITS.maxBaseModelBytes)
  const uri = checkString(reg.artifactURI, MODEL_LIMITS.maxURIBytes)
  if (reg.ownerShareBps < params.minOwnerBps || reg.ownerShareBps > params.maxOwnerBps) {
    t.fail('OwnerShareOutOfBounds', reg.ownerShareBps, params.minOwnerBps, params.maxOwnerBps)
  }
  const provider = fromHex(reg.provider)
  // owner ≠ 0 marks existence, so the zero address (eth_call without `from`) cannot own a model.
  if (equalBytes(provider, ZERO_ADDRESS) || equalBytes(env.caller, ZERO_ADDRESS)) t.fail('ZeroAddress')
  const { x, ctx } = env
  let depth = 0
  if (reg.parentId !== 0n) {
    const parent = await loadModel(x, reg.parentId)
    if (parent === undefined) return t.fail('ModelNotFound', reg.parentId)
    depth = parent.depth + 1
    if (depth > params.maxLineageDepth) t.fail('LineageTooDeep', reg.parentId, params.maxLineageDepth)
  }
  if (opts.noTrainingData === true) {
    if (reg.datanets.length !== 0) t.fail('BadTrainingSpec')
  } else await checkDatanets(env, reg.datanets)
  const countSlot = u256(MODELS_SLOTS.modelCount)
  const id = (await readU(x, MODELS_ADDRESS, countSlot)) + 1n
  x.write(MODELS_ADDRESS, countSlot, u256(id))
  storeModel(x, id, {
    owner: env.caller,
    ownerShareBps: reg.ownerShareBps,
    depth,
    provider,
    minFee: reg.minFeePerInference,
    parentId: reg.parentId,
    versionCount: 1n,
    createdAtBlock: ctx.block.number,
  })
  writeString(x, MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.name), name)
  writeString(x, MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.baseModel), baseModel)
  x.emit(
    t.log('ModelRegistered', {
      modelId: id,
      owner: toHex(env.caller),
      parentId: reg.parentId,
      name: reg.name,
      baseModel: reg.baseModel,
      provider: reg.provider,
      minFeePerInference: reg.minFeePerInference,
      ownerShareBps: reg.ownerShareBps,
    }),
  )
  writeVersion(env, id, 1n, reg, uri)
  return id
}

export function createModelsModule(params: ModuleParams): DefinedModule {
  return defineModule({
    name: 'Models',
    address: MODELS_ADDRESS,
    abi: modelsAbi,
    handlers: {
      registerModel: {
        mutating: true,
        async run(env, args) {
          return registerNew(env, params, args[0] as Registration)
        },
      },

      ...trainingHandlers(params, registerNew),

      publishModelVersion: {
        mutating: true,
        async run(env, args) {
          const [id, input] = args as [bigint, VersionArgs]
          const uri = checkString(input.artifactURI, MODEL_LIMITS.maxURIBytes)
          const m = await requireOwnedModel(env, id)
          await checkDatanets(env, input.datanets)
          const version = m.versionCount + 1n
          if (version >= 1n << 32n) t.fail('TooManyItems', version, (1n << 32n) - 1n)
          storeModel(env.x, id, { ...m, versionCount: version })
          writeVersion(env, id, version, input, uri)
          return Number(version)
        },
      },

      transferModelOwnership: {
        mutating: true,
        async run(env, args) {
          const [id, newOwnerHex] = args as [bigint, string]
          const newOwner = fromHex(newOwnerHex)
          if (equalBytes(newOwner, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const m = await requireOwnedModel(env, id)
          storeModel(env.x, id, { ...m, owner: newOwner })
          env.x.emit(
            t.log('ModelOwnershipTransferred', {
              modelId: id,
              previousOwner: toHex(m.owner),
              newOwner: toHex(newOwner),
            }),
          )
        },
      },

      setProvider: {
        mutating: true,
        async run(env, args) {
          const [id, providerHex] = args as [bigint, string]
          const provider = fromHex(providerHex)
          if (equalBytes(provider, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const m = await requireOwnedModel(env, id)
          storeModel(env.x, id, { ...m, provider })
          env.x.emit(
            t.log('ProviderUpdated', {
              modelId: id,
              previousProvider: toHex(m.provider),
              newProvider: toHex(provider),
            }),
          )
        },
      },

      setMinFee: {
        mutating: true,
        async run(env, args) {
          const [id, minFee] = args as [bigint, bigint]
          const m = await requireOwnedModel(env, id)
          storeModel(env.x, id, { ...m, minFee })
          env.x.emit(t.log('MinFeeUpdated', { modelId: id, previousMinFee: m.minFee, newMinFee: minFee }))
        },
      },

      modelCount: {
        mutating: false,
        async run(env) {
          return readModelCount(env.x)
        },
      },
      getModel: {
        mutating: false,
        async run(env, args) {
          const [id] = args as [bigint]
          return (await readModel(env.x, id)) ?? t.fail('ModelNotFound', id)
        },
      },
      getModelVersion: {
        mutating: false,
        async run(env, args) {
          const [id, version] = args as [bigint, number]
          return (await readModelVersion(env.x, id, version)) ?? t.fail('ModelVersionNotFound', id, version)
        },
      },
      isTrainedOn: {
        mutating: false,
        async run(env, args) {
          const [id, mv, dn, dv] = args as [bigint, number, bigint, bigint]
          return readIsTrainedOn(env.x, id, BigInt(mv), dn, dv)
        },
      },
    },
  })
}
