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
  DATANETS_ADDRESS,
  MODEL_FIELDS,
  MODEL_VERSION_FIELDS,
  MODELS_ADDRESS,
  MODELS_SLOTS,
  modelOwnerAllowedSlot,
  modelSlot,
  modelVersionSlot,
  trainedOnSlot,
  writeString,
} from './layout.ts'
import { loadParams, SPLIT_WORDS } from './param-store.ts'
import { BPS_DENOMINATOR, type ModuleParams } from './params.ts'
import { readIsTrainedOn, readModel, readModelCount, readModelTerms, readModelVersion } from './read.ts'
import {
  loadDatanet,
  loadDatanetTerms,
  loadModel,
  loadVersionCount,
  type ModelHeader,
  storeModel,
} from './records.ts'
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

/**
 * Validates the training-data list: non-empty, bounded, no duplicates, every version published,
 * and every datanet's licence admitting the model's owner and the part of each fee the model
 * leaves its contributors.
 */
async function checkDatanets(
  env: CallEnv,
  refs: readonly DatanetRefArg[],
  owner: Uint8Array,
  contributorsBps: number,
): Promise<void> {
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
  const checked = new Set<bigint>()
  for (const r of refs) {
    if (checked.has(r.datanetId)) continue
    checked.add(r.datanetId)
    const terms = await loadDatanetTerms(env.x, r.datanetId)
    if (terms.licenceMode === 1 && !(await admitted(env, r.datanetId, owner))) {
      t.fail('LicenceForbids', r.datanetId, toHex(owner))
    }
    if (contributorsBps < terms.minContributorsBps) {
      t.fail('RoyaltyBelowLicence', r.datanetId, contributorsBps, terms.minContributorsBps)
    }
  }
}

/** The datanet's owner, or a model owner it allow-listed. */
async function admitted(env: CallEnv, datanetId: bigint, owner: Uint8Array): Promise<boolean> {
  const d = await loadDatanet(env.x, datanetId)
  if (d !== undefined && equalBytes(d.owner, owner)) return true
  return (await readU(env.x, DATANETS_ADDRESS, modelOwnerAllowedSlot(datanetId, owner))) !== 0n
}

/** What the fixed parts leave the contributors of a model with this owner share. */
function contributorsBpsOf(p: ModuleParams, ownerShareBps: number): number {
  return BPS_DENOMINATOR - p.protocolBps - p.stakersBps - p.providerBps - ownerShareBps
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
 * `noTrainingData`: a base model, whose version 1 names no datanet; registering one offers it for
 * adaptation (derivatives allowed, at the governed royalty, until its owner sets other terms).
 * `genesis`: the genesis parameters (what Governance changed is read from state). */
export async function registerNew(
  env: CallEnv,
  genesis: ModuleParams,
  reg: Registration,
  opts: { noTrainingData?: boolean } = {},
): Promise<bigint> {
  const params = await loadParams(env.x, genesis, SPLIT_WORDS)
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
  let parentRoyaltyBps = 0
  if (reg.parentId !== 0n) {
    const parent = await loadModel(x, reg.parentId)
    if (parent === undefined) return t.fail('ModelNotFound', reg.parentId)
    // A derivative needs the parent owner's consent (or is the parent owner's own).
    if (!parent.derivativesAllowed && !equalBytes(parent.owner, env.caller)) {
      t.fail('DerivativesNotAllowed', reg.parentId)
    }
    depth = parent.depth + 1
    if (depth > params.maxLineageDepth) t.fail('LineageTooDeep', reg.parentId, params.maxLineageDepth)
    // The royalty is fixed now: a parent cannot raise what an existing derivative pays.
    parentRoyaltyBps = parent.derivativeTermsSet ? parent.derivativeRoyaltyBps : params.parentRoyaltyBps
  }
  if (opts.noTrainingData === true) {
    if (reg.datanets.length !== 0) t.fail('BadTrainingSpec')
  } else await checkDatanets(env, reg.datanets, env.caller, contributorsBpsOf(params, reg.ownerShareBps))
  const countSlot = u256(MODELS_SLOTS.modelCount)
  const id = (await readU(x, MODELS_ADDRESS, countSlot)) + 1n
  x.write(MODELS_ADDRESS, countSlot, u256(id))
  storeModel(x, id, {
    owner: env.caller,
    ownerShareBps: reg.ownerShareBps,
    depth,
    parentRoyaltyBps,
    derivativeTermsSet: false,
    derivativesAllowed: opts.noTrainingData === true,
    derivativeRoyaltyBps: 0,
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

export function createModelsModule(genesis: ModuleParams): DefinedModule {
  return defineModule({
    name: 'Models',
    address: MODELS_ADDRESS,
    abi: modelsAbi,
    handlers: {
      registerModel: {
        mutating: true,
        async run(env, args) {
          return registerNew(env, genesis, args[0] as Registration)
        },
      },

      ...trainingHandlers(genesis, registerNew),

      publishModelVersion: {
        mutating: true,
        async run(env, args) {
          const [id, input] = args as [bigint, VersionArgs]
          const uri = checkString(input.artifactURI, MODEL_LIMITS.maxURIBytes)
          const m = await requireOwnedModel(env, id)
          const params = await loadParams(env.x, genesis, SPLIT_WORDS)
          await checkDatanets(env, input.datanets, m.owner, contributorsBpsOf(params, m.ownerShareBps))
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

      setDerivativeTerms: {
        mutating: true,
        async run(env, args) {
          const [id, allowed, royaltyBps] = args as [bigint, boolean, number]
          if (royaltyBps > BPS_DENOMINATOR) t.fail('InvalidRoyalty', royaltyBps)
          const m = await requireOwnedModel(env, id)
          storeModel(env.x, id, {
            ...m,
            derivativeTermsSet: true,
            derivativesAllowed: allowed,
            derivativeRoyaltyBps: royaltyBps,
          })
          env.x.emit(t.log('DerivativeTermsSet', { modelId: id, allowed, royaltyBps }))
        },
      },
      getModelTerms: {
        mutating: false,
        async run(env, args) {
          const [id] = args as [bigint]
          return (await readModelTerms(env.x, genesis, id)) ?? t.fail('ModelNotFound', id)
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
