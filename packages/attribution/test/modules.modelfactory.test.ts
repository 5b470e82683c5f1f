import { type Hex, keccak256, stringToHex, toHex } from 'viem'
import { beforeEach, describe, expect, it } from 'vitest'
import { GOVERNANCE_ADDRESS, MODEL_FACTORY_ADDRESS } from '../src/modules/index.ts'
import {
  ALICE,
  account,
  BOB,
  hex,
  MODEL_OWNER,
  PARENT_OWNER,
  provider,
  STRANGER,
  USER,
  World,
} from './modules.fixture.ts'

const CONFIG = stringToHex('{"kind":"base"}\n')
const ADAPTER_CONFIG = stringToHex('{"kind":"lora"}\n')
const ARBITER = account(42)
const REQUESTER = USER
const TRAINER = BOB

function baseRegistration(config: Hex = CONFIG) {
  return {
    name: 'ol-tfm tiny',
    baseModel: 'ol-tfm-v1/tiny',
    trainingConfigHash: keccak256(config),
    trainingLogHash: keccak256('0x02'),
    artifactHash: keccak256('0x03'),
    artifactURI: 'file:///base.olmf',
    steps: 1200,
    seed: 1n,
    config,
  }
}

function adapterArgs(
  baseModelId: bigint,
  datanets: { datanetId: bigint; version: bigint }[],
  o: { config?: Hex; kind?: number; parentId?: bigint; hash?: Hex } = {},
) {
  const config = o.config ?? ADAPTER_CONFIG
  return [
    {
      name: 'fables-lora',
      baseModel: 'ol-tfm-v1/tiny',
      parentId: o.parentId ?? baseModelId,
      datanets,
      trainingConfigHash: o.hash ?? keccak256(config),
      trainingLogHash: keccak256('0x05'),
      artifactHash: keccak256('0x06'),
      artifactURI: 'file:///adapter.olmf',
      provider: provider.address,
      minFeePerInference: 1000n,
      ownerShareBps: 2000,
    },
    { kind: o.kind ?? 2, baseModelId, rank: 4, alpha: 8, steps: 200, seed: 7n, config },
  ] as const
}

describe('Models: base models and LoRA adapters with training specs', () => {
  let w: World
  let dn: { datanetId: bigint; version: bigint }[]
  beforeEach(async () => {
    w = new World({ jobArbiter: hex(ARBITER) })
    const id = await w.createDatanet()
    await w.approve(id, await w.contribute(id, ALICE, 'the fox and the grapes'), 1000n)
    await w.publish(id)
    dn = [{ datanetId: id, version: 1n }]
  })

  it('registers a base model without datanets, its spec and config hash-checked', async () => {
    await w.rejects(
      'models',
      'registerBaseModel',
      [{ ...baseRegistration(), config: '0x00' }],
      { from: PARENT_OWNER },
      'ConfigHashMismatch',
    )
    await w.rejects(
      'models',
      'registerBaseModel',
      [{ ...baseRegistration(), steps: 0 }],
      { from: PARENT_OWNER },
      'BadTrainingSpec',
    )
    const id = await w.ok<bigint>('models', 'registerBaseModel', [baseRegistration()], { from: PARENT_OWNER })
    const m = await w.ok<{ owner: Hex; provider: Hex; parentId: bigint }>('models', 'getModel', [id], {
      from: STRANGER,
    })
    expect(m.owner.toLowerCase()).toBe(hex(PARENT_OWNER))
    expect(m.provider.toLowerCase()).toBe(hex(PARENT_OWNER))
    const v = await w.ok<{ datanets: unknown[] }>('models', 'getModelVersion', [id, 1], { from: STRANGER })
    expect(v.datanets).toEqual([])
    expect(await w.ok('models', 'getTrainingSpec', [id, 1], { from: STRANGER })).toEqual({
      kind: 1,
      baseModelId: 0n,
      rank: 0,
      alpha: 0,
      steps: 1200,
      seed: 1n,
    })
    await w.rejects('models', 'getTrainingSpec', [id, 2], { from: STRANGER }, 'ModelVersionNotFound')
    // The legacy registration path still requires training data.
    await w.rejects(
      'models',
      'registerModel',
      [{ ...adapterArgs(0n, [])[0], parentId: 0n }],
      { from: MODEL_OWNER },
      'NoTrainingData',
    )
  })

  it('registers an adapter over a base model, derivative of it, with its spec and config in the event', async () => {
    const base = await w.ok<bigint>('models', 'registerBaseModel', [baseRegistration()], {
      from: PARENT_OWNER,
    })
    const plain = await w.registerModel(dn)
    await w.rejects(
      'models',
      'registerAdapter',
      adapterArgs(base, dn, { kind: 1 }),
      { from: MODEL_OWNER },
      'BadTrainingSpec',
    )
    await w.rejects(
      'models',
      'registerAdapter',
      adapterArgs(base, dn, { parentId: 0n }),
      { from: MODEL_OWNER },
      'BadTrainingSpec',
    )
    await w.rejects(
      'models',
      'registerAdapter',
      adapterArgs(plain, dn),
      { from: MODEL_OWNER },
      'NotABaseModel',
    )
    await w.rejects('models', 'registerAdapter', adapterArgs(99n, dn), { from: MODEL_OWNER }, 'ModelNotFound')
    await w.rejects(
      'models',
      'registerAdapter',
      adapterArgs(base, dn, { hash: keccak256('0x99') }),
      { from: MODEL_OWNER },
      'ConfigHashMismatch',
    )
    await w.rejects(
      'models',
      'registerAdapter',
      adapterArgs(base, [{ datanetId: dn[0]!.datanetId, version: 2n }]),
      { from: MODEL_OWNER },
      'DatanetVersionNotFound',
    )
    const res = await w.raw('models', 'registerAdapter', adapterArgs(base, dn), { from: MODEL_OWNER })
    expect(res.status).toBe('success')
    const id = BigInt(toHex(res.returnData))
    const m = await w.ok<{ parentId: bigint; depth: number }>('models', 'getModel', [id], { from: STRANGER })
    expect([m.parentId, m.depth]).toEqual([base, 1])
    expect(await w.ok('models', 'getTrainingSpec', [id, 1], { from: STRANGER })).toEqual({
      kind: 2,
      baseModelId: base,
      rank: 4,
      alpha: 8,
      steps: 200,
      seed: 7n,
    })
    expect(await w.ok('models', 'isTrainedOn', [id, 1, dn[0]!.datanetId, 1n], { from: STRANGER })).toBe(true)
    // The config bytes travel in the TrainingSpecRecorded log (last one).
    const log = res.logs.at(-1)!
    expect(toHex(log.data)).toContain(ADAPTER_CONFIG.slice(2))
  })
})

describe('ModelFactory jobs', () => {
  let w: World
  let dn: { datanetId: bigint; version: bigint }[]
  let base: bigint
  const PAY = 10n ** 18n
  const job = (
    o: {
      deadline?: bigint
      reviewPeriod?: bigint
      hash?: Hex
      datanets?: typeof dn
      baseModelId?: bigint
    } = {},
  ) => ({
    baseModelId: o.baseModelId ?? base,
    datanets: o.datanets ?? dn,
    trainingConfigHash: o.hash ?? keccak256(ADAPTER_CONFIG),
    deadline: o.deadline ?? w.h.block.timestamp + 3600n,
    reviewPeriod: o.reviewPeriod ?? 600n,
    config: ADAPTER_CONFIG,
  })
  const post = (o = {}) => w.ok<bigint>('modelFactory', 'postJob', [job(o)], { from: REQUESTER, value: PAY })
  const register = (from = TRAINER, o = {}) =>
    w
      .raw('models', 'registerAdapter', adapterArgs(base, dn, o), { from })
      .then((r) => BigInt(toHex(r.returnData)))
  const status = async (id: bigint) =>
    (await w.ok<{ status: number }>('modelFactory', 'getJob', [id], { from: STRANGER })).status

  beforeEach(async () => {
    w = new World({ jobArbiter: hex(ARBITER) })
    w.h.state.setBalance(ARBITER, 10n ** 20n)
    const id = await w.createDatanet()
    await w.approve(id, await w.contribute(id, ALICE, 'the fox and the grapes'), 1000n)
    await w.publish(id)
    dn = [{ datanetId: id, version: 1n }]
    base = await w.ok<bigint>('models', 'registerBaseModel', [baseRegistration()], { from: PARENT_OWNER })
  })

  it('post → claim → submit → accept pays the trainer from escrow', async () => {
    await w.rejects('modelFactory', 'postJob', [job()], { from: REQUESTER }, 'NoPayment')
    await w.rejects(
      'modelFactory',
      'postJob',
      [job({ deadline: w.h.block.timestamp })],
      { from: REQUESTER, value: PAY },
      'BadDeadline',
    )
    await w.rejects(
      'modelFactory',
      'postJob',
      [job({ reviewPeriod: 0n })],
      { from: REQUESTER, value: PAY },
      'BadReviewPeriod',
    )
    await w.rejects(
      'modelFactory',
      'postJob',
      [job({ baseModelId: 99n })],
      { from: REQUESTER, value: PAY },
      'ModelNotFound',
    )
    await w.rejects(
      'modelFactory',
      'postJob',
      [job({ datanets: [] })],
      { from: REQUESTER, value: PAY },
      'NoTrainingData',
    )
    await w.rejects(
      'modelFactory',
      'postJob',
      [job({ datanets: [...dn, ...dn] })],
      { from: REQUESTER, value: PAY },
      'DuplicateDatanetVersion',
    )
    const id = await post()
    expect(await w.balance(MODEL_FACTORY_ADDRESS)).toBe(PAY)
    const info = await w.ok<Record<string, unknown>>('modelFactory', 'getJob', [id], { from: STRANGER })
    expect(info).toMatchObject({ id, status: 1, payment: PAY, baseModelId: base, datanets: dn })
    await w.ok('modelFactory', 'claimJob', [id], { from: TRAINER })
    await w.rejects('modelFactory', 'claimJob', [id], { from: STRANGER }, 'WrongJobStatus')
    const model = await register()
    await w.rejects('modelFactory', 'submitJob', [id, model], { from: STRANGER }, 'NotTrainer')
    await w.rejects('modelFactory', 'acceptJob', [id], { from: REQUESTER }, 'WrongJobStatus')
    await w.ok('modelFactory', 'submitJob', [id, model], { from: TRAINER })
    await w.rejects('modelFactory', 'acceptJob', [id], { from: TRAINER }, 'NotRequester')
    const before = await w.balance(TRAINER)
    await w.ok('modelFactory', 'acceptJob', [id], { from: REQUESTER })
    expect((await w.balance(TRAINER)) - before).toBe(PAY)
    expect(await w.balance(MODEL_FACTORY_ADDRESS)).toBe(0n)
    expect(await status(id)).toBe(5)
    await w.rejects('modelFactory', 'acceptJob', [id], { from: REQUESTER }, 'WrongJobStatus')
    await w.rejects('modelFactory', 'refundJob', [id], { from: REQUESTER }, 'WrongJobStatus')
  })

  it('refuses a submitted model that does not match the job', async () => {
    const id = await post()
    await w.ok('modelFactory', 'claimJob', [id], { from: TRAINER })
    const byOther = await register(MODEL_OWNER)
    const args = await w.rejects(
      'modelFactory',
      'submitJob',
      [id, byOther],
      { from: TRAINER },
      'AdapterMismatch',
    )
    expect(args[2]).toBe('owner')
    const otherConfig = await register(TRAINER, { config: stringToHex('other') })
    expect(
      (
        await w.rejects('modelFactory', 'submitJob', [id, otherConfig], { from: TRAINER }, 'AdapterMismatch')
      )[2],
    ).toBe('trainingConfigHash')
    const plain = await w.registerModel(dn, { from: TRAINER })
    expect(
      (await w.rejects('modelFactory', 'submitJob', [id, plain], { from: TRAINER }, 'AdapterMismatch'))[2],
    ).toBe('kind')
    await w.rejects('modelFactory', 'submitJob', [id, 99n], { from: TRAINER }, 'ModelNotFound')
  })

  it('pays after an unchallenged review period; refunds an expired unsubmitted job', async () => {
    const id = await post()
    await w.ok('modelFactory', 'claimJob', [id], { from: TRAINER })
    await w.ok('modelFactory', 'submitJob', [id, await register()], { from: TRAINER })
    await w.rejects('modelFactory', 'finalizeJob', [id], { from: STRANGER }, 'ReviewPeriodNotOver')
    w.h.block = { ...w.h.block, timestamp: w.h.block.timestamp + 601n }
    await w.rejects(
      'modelFactory',
      'challengeJob',
      [id, keccak256('0x01')],
      { from: REQUESTER, value: PAY / 10n },
      'ReviewPeriodOver',
    )
    await w.ok('modelFactory', 'finalizeJob', [id], { from: STRANGER })
    expect(await status(id)).toBe(5)

    const expired = await post()
    await w.rejects('modelFactory', 'refundJob', [expired], { from: STRANGER }, 'DeadlineNotPassed')
    await w.ok('modelFactory', 'claimJob', [expired], { from: TRAINER })
    w.h.block = { ...w.h.block, timestamp: w.h.block.timestamp + 3601n }
    await w.rejects(
      'modelFactory',
      'submitJob',
      [expired, await register()],
      { from: TRAINER },
      'DeadlinePassed',
    )
    const before = await w.balance(REQUESTER)
    await w.ok('modelFactory', 'refundJob', [expired], { from: STRANGER })
    expect((await w.balance(REQUESTER)) - before).toBe(PAY)
    expect(await status(expired)).toBe(6)
    await w.rejects('modelFactory', 'claimJob', [expired], { from: TRAINER }, 'WrongJobStatus')
  })

  it('a challenge freezes the payment until the arbiter rules, either way, bond included', async () => {
    const bond = PAY / 10n
    for (const valid of [false, true]) {
      const id = await post()
      await w.ok('modelFactory', 'claimJob', [id], { from: TRAINER })
      await w.ok('modelFactory', 'submitJob', [id, await register()], { from: TRAINER })
      await w.rejects(
        'modelFactory',
        'challengeJob',
        [id, keccak256('0x01')],
        { from: REQUESTER, value: 1n },
        'WrongBond',
      )
      await w.rejects(
        'modelFactory',
        'challengeJob',
        [id, keccak256('0x01')],
        { from: STRANGER, value: bond },
        'NotRequester',
      )
      await w.ok('modelFactory', 'challengeJob', [id, keccak256('0x01')], { from: REQUESTER, value: bond })
      expect(await status(id)).toBe(4)
      w.h.block = { ...w.h.block, timestamp: w.h.block.timestamp + 10_000n }
      await w.rejects('modelFactory', 'finalizeJob', [id], { from: TRAINER }, 'WrongJobStatus')
      await w.rejects('modelFactory', 'acceptJob', [id], { from: REQUESTER }, 'WrongJobStatus')
      await w.rejects('modelFactory', 'resolveJob', [id, valid], { from: REQUESTER }, 'NotArbiter')
      const [t0, r0] = [await w.balance(TRAINER), await w.balance(REQUESTER)]
      await w.ok('modelFactory', 'resolveJob', [id, valid], { from: ARBITER })
      const [t1, r1] = [await w.balance(TRAINER), await w.balance(REQUESTER)]
      expect([t1 - t0, r1 - r0]).toEqual(valid ? [PAY + bond, 0n] : [0n, PAY + bond])
      expect(await status(id)).toBe(valid ? 5 : 6)
      expect(await w.balance(MODEL_FACTORY_ADDRESS)).toBe(0n)
    }
  })

  it('defaults the arbiter to the Governance module', async () => {
    const d = new World()
    const [arbiter, bps] = await d.ok<[Hex, number]>('modelFactory', 'jobParams', [], { from: STRANGER })
    expect([arbiter.toLowerCase(), bps]).toEqual([hex(GOVERNANCE_ADDRESS), 1000])
  })
})
