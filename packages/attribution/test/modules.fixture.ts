/** Shared fixture for the module tests: a harness with the three modules, named accounts, typed
 * call helpers and a provider key that signs receipts with viem (independent EIP-712 encoder). */

import { fromHex as fromHexAddr, type HarnessResult, ModuleHarness } from '@openledger/module-kit'
import {
  type Abi,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  keccak256,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { expect } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  createSystemModules,
  DATANETS_ADDRESS,
  MODEL_FACTORY_ADDRESS,
  MODELS_ADDRESS,
  type ModuleHistory,
  type ModuleParams,
  parseModuleParams,
  RECEIPT_EIP712_TYPES,
} from '../src/modules/index.ts'
import { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../src/sol/abi.ts'

export { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi }

export function account(n: number): Uint8Array {
  const a = new Uint8Array(20)
  a[0] = 0xaa
  a[18] = (n >> 8) & 0xff
  a[19] = n & 0xff
  return a
}
export const hex = (b: Uint8Array): Hex => toHex(b)

export const PROVIDER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
export const provider = privateKeyToAccount(PROVIDER_KEY)
export const OTHER_KEY: Hex = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'

export const OWNER = account(1)
export const CURATOR = account(2)
export const ALICE = account(3)
export const BOB = account(4)
export const CAROL = account(5)
export const MODEL_OWNER = account(6)
export const USER = account(7)
export const PARENT_OWNER = account(8)
export const STRANGER = account(9)

export const TARGETS = {
  datanets: DATANETS_ADDRESS,
  models: MODELS_ADDRESS,
  attribution: ATTRIBUTION_ADDRESS,
  modelFactory: MODEL_FACTORY_ADDRESS,
}
const ABIS = {
  datanets: datanetsAbi,
  models: modelsAbi,
  attribution: attributionAbi,
  modelFactory: modelFactoryAbi,
} as const
type Target = keyof typeof ABIS

export interface CallOpts {
  from: Uint8Array
  value?: bigint
  gasLimit?: bigint
  isStatic?: boolean
  isDelegateCall?: boolean
}

/** The chain history the modules read (contribution content): every committed call's logs, by
 * the block number the harness was at. */
export class MemoryHistory implements ModuleHistory {
  readonly blocks = new Map<bigint, { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array }[]>()
  /** Logs lookups made (tests assert the re-run reads history, not state). */
  reads = 0
  record(block: bigint, address: Uint8Array, logs: readonly { topics: Uint8Array[]; data: Uint8Array }[]) {
    const list = this.blocks.get(block) ?? []
    for (const l of logs) list.push({ address, topics: l.topics, data: l.data })
    this.blocks.set(block, list)
  }
  async logs(address: Uint8Array, blockNumber: bigint, topics: readonly Uint8Array[]) {
    this.reads++
    return (this.blocks.get(blockNumber) ?? []).filter(
      (l) =>
        Buffer.compare(l.address, address) === 0 &&
        topics.every(
          (t, i) => l.topics[i] !== undefined && Buffer.compare(l.topics[i] as Uint8Array, t) === 0,
        ),
    )
  }
}

export class World {
  readonly h: ModuleHarness
  readonly params: ModuleParams
  readonly history = new MemoryHistory()
  constructor(params: unknown = undefined) {
    this.params = parseModuleParams(params)
    this.h = new ModuleHarness(createSystemModules(this.params, { history: this.history }))
    for (const a of [OWNER, CURATOR, ALICE, BOB, CAROL, MODEL_OWNER, USER, PARENT_OWNER, STRANGER]) {
      this.h.state.setBalance(a, 10n ** 24n)
    }
  }

  async raw(
    target: Target,
    functionName: string,
    args: readonly unknown[],
    o: CallOpts,
  ): Promise<HarnessResult> {
    const data = encodeFunctionData({ abi: ABIS[target] as Abi, functionName, args } as Parameters<
      typeof encodeFunctionData
    >[0])
    const res = await this.h.call({ ...o, to: TARGETS[target], data: fromHexAddr(data) })
    if (res.status === 'success' && !o.isStatic) {
      this.history.record(this.h.block.number, TARGETS[target], res.logs)
      // One transaction per block, as `openledger dev` mines: history holds earlier blocks only.
      this.h.block = { ...this.h.block, number: this.h.block.number + 1n }
    }
    return res
  }

  /** Calls and expects success; returns the decoded result. */
  async ok<T = unknown>(target: Target, fn: string, args: readonly unknown[], o: CallOpts): Promise<T> {
    const res = await this.raw(target, fn, args, o)
    if (res.status !== 'success') {
      const detail = res.returnData.length > 0 ? decodeError(target, res.returnData) : res.status
      throw new Error(
        `${fn} failed: ${JSON.stringify(detail, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
      )
    }
    return decodeFunctionResult({
      abi: ABIS[target] as Abi,
      functionName: fn,
      data: toHex(res.returnData),
    }) as T
  }

  /** Calls, expects a revert with `errorName`, and checks the module wrote nothing and the full
   * state snapshot is unchanged. Returns the decoded error args. */
  async rejects(
    target: Target,
    fn: string,
    args: readonly unknown[],
    o: CallOpts,
    errorName: string,
  ): Promise<readonly unknown[]> {
    const before = this.h.state.snapshot()
    const res = await this.raw(target, fn, args, o)
    expect(res.status).toBe('revert')
    const err = decodeError(target, res.returnData)
    expect(err.errorName).toBe(errorName)
    expect(res.moduleWrites).toBe(0)
    expect(res.logs).toEqual([])
    expect(this.h.state.snapshot()).toEqual(before)
    return err.args ?? []
  }

  async createDatanet(open = true, curators: Uint8Array[] = [CURATOR]): Promise<bigint> {
    return this.ok<bigint>(
      'datanets',
      'createDatanet',
      ['Medical QA', 'ipfs://meta', open, curators.map(hex)],
      {
        from: OWNER,
      },
    )
  }

  async contribute(id: bigint, from: Uint8Array, content: string, inline = false): Promise<bigint> {
    const bytes = new TextEncoder().encode(content)
    return this.ok<bigint>(
      'datanets',
      'contribute',
      [id, keccak256(bytes), BigInt(bytes.length), `ipfs://${content}`, inline ? toHex(bytes) : '0x'],
      { from },
    )
  }

  async approve(id: bigint, cid: bigint, weight: bigint, from = CURATOR): Promise<void> {
    await this.ok('datanets', 'approveContribution', [id, cid, weight], { from })
  }

  async publish(id: bigint, from = CURATOR): Promise<readonly [bigint, Hex, bigint]> {
    return this.ok('datanets', 'publishVersion', [id], { from })
  }

  async registerModel(
    datanets: { datanetId: bigint; version: bigint }[],
    o: { parentId?: bigint; ownerShareBps?: number; minFee?: bigint; from?: Uint8Array; provider?: Hex } = {},
  ): Promise<bigint> {
    return this.ok<bigint>(
      'models',
      'registerModel',
      [
        {
          name: 'med-llama-lora',
          baseModel: 'meta-llama/Llama-3.1-8B',
          parentId: o.parentId ?? 0n,
          datanets,
          trainingConfigHash: keccak256('0x01'),
          trainingLogHash: keccak256('0x02'),
          artifactHash: keccak256('0x03'),
          artifactURI: 'ipfs://adapter',
          provider: o.provider ?? provider.address,
          minFeePerInference: o.minFee ?? 1000n,
          ownerShareBps: o.ownerShareBps ?? 2000,
        },
      ],
      { from: o.from ?? MODEL_OWNER },
    )
  }

  balance(a: Uint8Array): Promise<bigint> {
    return this.h.state.getBalance(a)
  }
}

export function decodeError(target: Target, data: Uint8Array) {
  return decodeErrorResult({ abi: ABIS[target] as Abi, data: toHex(data) })
}

export interface ReceiptInput {
  modelId: bigint
  modelVersion: number
  inputHash: Hex
  outputHash: Hex
  entries: {
    datanetId: bigint
    datanetVersion: bigint
    weight: number
    contributionIds: bigint[]
    contributionWeights: number[]
  }[]
  nonce: bigint
  deadline: bigint
  payer: Hex
  fee: bigint
  attributionCommitment: Hex
}

export function makeReceipt(
  over: Partial<ReceiptInput> & Pick<ReceiptInput, 'modelId' | 'entries'>,
): ReceiptInput {
  return {
    modelVersion: 1,
    inputHash: keccak256('0xaa'),
    outputHash: keccak256('0xbb'),
    nonce: 1n,
    deadline: 1_800_000_000n,
    payer: '0x0000000000000000000000000000000000000000',
    fee: 1_000_000_000_000_000n,
    attributionCommitment: keccak256('0xcc'),
    ...over,
  }
}

export async function signReceipt(
  r: ReceiptInput,
  key: Hex = PROVIDER_KEY,
  chainId = 1337n,
  verifyingContract: Hex = '0x4f50454e00000000000000000000000000000003',
): Promise<Hex> {
  return privateKeyToAccount(key).signTypedData({
    domain: { name: 'OpenLedger Attribution', version: '1', chainId, verifyingContract },
    types: RECEIPT_EIP712_TYPES,
    primaryType: 'InferenceReceipt',
    message: r,
  })
}
