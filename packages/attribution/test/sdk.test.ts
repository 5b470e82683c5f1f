import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, ModuleHarness } from '@openledger/module-kit'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createClient,
  custom,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getTransactionReceipt } from 'viem/actions'
import { describe, expect, it } from 'vitest'
import { createSystemModules, GOVERNANCE_ADDRESS } from '../src/modules/index.ts'
import * as sdk from '../src/sdk/index.ts'

/** A tiny EIP-1193 node over the module harness: enough JSON-RPC for viem's contract actions. */
function harnessTransport(h: ModuleHarness) {
  const receipts = new Map<Hex, unknown>()
  let txCount = 0
  const run = async (tx: { from?: Address; to: Address; data?: Hex; value?: Hex }, dryRun: boolean) =>
    h.call({
      from: fromHex(tx.from ?? '0x0000000000000000000000000000000000000000'),
      to: fromHex(tx.to),
      data: fromHex(tx.data ?? '0x'),
      value: tx.value === undefined ? 0n : BigInt(tx.value),
      dryRun,
    })
  return custom({
    async request({ method, params }: { method: string; params?: unknown }) {
      const p = (params ?? []) as unknown[]
      switch (method) {
        case 'eth_chainId':
          return toHex(h.chainId)
        case 'eth_blockNumber':
          return toHex(h.block.number)
        case 'eth_call':
        case 'eth_estimateGas': {
          const res = await run(p[0] as Parameters<typeof run>[0], true)
          if (res.status !== 'success') {
            throw Object.assign(new Error('execution reverted'), { code: 3, data: toHex(res.returnData) })
          }
          return method === 'eth_call' ? toHex(res.returnData) : toHex(res.gasUsed + 21_000n)
        }
        case 'eth_sendTransaction': {
          const tx = p[0] as Parameters<typeof run>[0]
          const res = await run(tx, false)
          const hash = keccak256(toHex(`tx${txCount++}`))
          h.block.number++
          receipts.set(hash, {
            transactionHash: hash,
            transactionIndex: '0x0',
            blockHash: keccak256(toHex(h.block.number)),
            blockNumber: toHex(h.block.number),
            from: tx.from,
            to: tx.to,
            cumulativeGasUsed: toHex(res.gasUsed + 21_000n),
            gasUsed: toHex(res.gasUsed + 21_000n),
            effectiveGasPrice: '0x1',
            contractAddress: null,
            logsBloom: `0x${'00'.repeat(256)}`,
            status: res.status === 'success' ? '0x1' : '0x0',
            type: '0x2',
            logs: res.logs.map((l, i) => ({
              address: tx.to,
              topics: l.topics.map((t) => toHex(t)),
              data: toHex(l.data),
              logIndex: toHex(i),
              transactionHash: hash,
              transactionIndex: '0x0',
              blockHash: keccak256(toHex(h.block.number)),
              blockNumber: toHex(h.block.number),
              removed: false,
            })),
          })
          return hash
        }
        case 'eth_getTransactionReceipt':
          return receipts.get(p[0] as Hex) ?? null
        default:
          throw new Error(`harness transport: ${method} not supported`)
      }
    },
  })
}

const PROVIDER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const provider = privateKeyToAccount(PROVIDER_KEY)
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const OWNER = addr(0xa1)
const ALICE = addr(0xa2)
const BOB = addr(0xa3)
const USER = addr(0xa4)

describe('SDK actions over a viem client', () => {
  it('runs the whole flow with typed actions, signs receipts and decodes events and errors', async () => {
    const h = new ModuleHarness(createSystemModules())
    for (const a of [OWNER, ALICE, BOB, USER]) h.state.setBalance(fromHex(a), 10n ** 24n)
    const client = createClient({ transport: harnessTransport(h) })
    const send = async (hash: Promise<Hex>) => {
      const r = await getTransactionReceipt(client, { hash: await hash })
      expect(r.status).toBe('success')
      return sdk.decodeModuleLogs(r.logs)
    }

    const [created] = await send(
      sdk.createDatanet(client, {
        name: 'Legal QA',
        metadataURI: 'ipfs://x',
        open: true,
        curators: [],
        account: OWNER,
      }),
    )
    expect(created).toMatchObject({
      module: 'Datanets',
      eventName: 'DatanetCreated',
      args: { datanetId: 1n, open: true },
    })
    const text = new TextEncoder().encode('clause 4.2 means ...')
    await send(
      sdk.contribute(client, { datanetId: 1n, metadataURI: '', ...sdk.inlineContent(text), account: ALICE }),
    )
    await send(
      sdk.contribute(client, {
        datanetId: 1n,
        metadataURI: 'ar://big',
        ...sdk.referencedContent(text.slice(3)),
        account: BOB,
      }),
    )
    expect(
      await sdk.simulatePublishVersion(client, { datanetId: 1n, account: OWNER }).catch((e) => e.name),
    ).toBe('ContractFunctionExecutionError')
    const approved = await send(
      sdk.approveContribution(client, { datanetId: 1n, contributionId: 1n, weight: 3n, account: OWNER }),
    )
    expect(approved.map((e) => e.eventName)).toEqual([
      'ApprovalVoted',
      'ContributionApproved',
      'TransferSingle',
    ])
    await send(
      sdk.approveContribution(client, { datanetId: 1n, contributionId: 2n, weight: 1n, account: OWNER }),
    )
    const [version, root, count] = await sdk.simulatePublishVersion(client, { datanetId: 1n, account: OWNER })
    expect([version, count]).toEqual([1n, 2n])
    await send(sdk.publishVersion(client, { datanetId: 1n, account: OWNER }))
    expect((await sdk.getDatanetVersion(client, { datanetId: 1n, version: 1n })).root).toBe(root)
    const contribution = await sdk.getContribution(client, { datanetId: 1n, contributionId: 1n })
    expect(contribution).toMatchObject({
      contributor: ALICE,
      inlined: true,
      status: 2,
      size: BigInt(text.length),
    })

    await send(
      sdk.registerModel(client, {
        registration: {
          name: 'legal-lora',
          baseModel: 'mistral-7b',
          parentId: 0n,
          datanets: [{ datanetId: 1n, version: 1n }],
          trainingConfigHash: keccak256('0x01'),
          trainingLogHash: keccak256('0x02'),
          artifactHash: keccak256('0x03'),
          artifactURI: 'ipfs://adapter',
          provider: provider.address,
          minFeePerInference: 100n,
          ownerShareBps: 2000,
        },
        account: OWNER,
      }),
    )
    expect((await sdk.getModel(client, { modelId: 1n })).provider).toBe(provider.address)

    const receipt: sdk.InferenceReceipt = {
      modelId: 1n,
      modelVersion: 1,
      inputHash: keccak256('0xaa'),
      outputHash: keccak256('0xbb'),
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
      nonce: 1n,
      deadline: h.block.timestamp + 600n,
      payer: '0x0000000000000000000000000000000000000000',
      fee: 10_000n,
      attributionCommitment: keccak256('0xcc'),
    }
    const signature = await sdk.signInferenceReceipt(PROVIDER_KEY, receipt, h.chainId)
    expect(await sdk.getReceiptDigest(client, { receipt })).toBe(sdk.hashInferenceReceipt(receipt, h.chainId))
    const settled = await send(sdk.settle(client, { receipt, signature, account: USER }))
    expect(settled.map((e) => e.eventName)).toEqual([
      'InferenceSettled',
      'FeeSplit',
      'AttributionPaid',
      'VersionPoolPaid',
    ])
    const receiptId = sdk.hashInferenceReceipt(receipt, h.chainId)
    expect(settled[0]?.args.receiptId).toBe(receiptId)
    expect((await sdk.getReceipt(client, { receiptId })).fee).toBe(10_000n)

    // 5,000 wei to contributors over 4 shares: Alice 3 → 3,750, Bob 1 → 1,250.
    expect(await sdk.getClaimable(client, { holder: ALICE })).toBe(3_750n)
    expect(await sdk.getClaimable(client, { holder: BOB })).toBe(1_250n)
    expect(await sdk.simulateClaim(client, { account: ALICE })).toBe(3_750n)
    const claimed = await send(sdk.claim(client, { account: ALICE }))
    expect(claimed[0]).toMatchObject({
      eventName: 'RewardsClaimed',
      args: { account: ALICE, amount: 3_750n },
    })
    expect(await sdk.getClaimable(client, { holder: toHex(GOVERNANCE_ADDRESS) })).toBe(1_000n)

    // Typed custom errors surface through viem.
    const err = await sdk
      .simulateSettle(client, { receipt, signature, account: USER })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BaseError)
    const revert = (err as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)
    expect(revert).toBeInstanceOf(ContractFunctionRevertedError)
    expect((revert as ContractFunctionRevertedError).data?.errorName).toBe('ReceiptAlreadySettled')
    expect(
      sdk.decodeModuleError(sdk.ATTRIBUTION, (revert as ContractFunctionRevertedError).raw as Hex).errorName,
    ).toBe('ReceiptAlreadySettled')
    expect(hexToBytes(signature)).toHaveLength(65)
  })

  it('normalizes scores to weights summing exactly to the denominator', () => {
    const w = sdk.normalizeWeights([1n, 1n, 1n])
    expect(w.reduce((a, b) => a + b, 0)).toBe(sdk.WEIGHT_DENOMINATOR)
    expect(w).toEqual([333_334, 333_333, 333_333])
    expect(sdk.normalizeWeights([0n, 5n])).toEqual([0, 1_000_000])
    expect(() => sdk.normalizeWeights([0n])).toThrow(/zero/)
    expect(() => sdk.normalizeWeights([])).toThrow(/no scores/)
  })

  it('no contract parameter shadows a transaction option of the actions', () => {
    const writeOptions = ['account', 'chain', 'gas', 'nonce', 'value', 'maxFeePerGas', 'maxPriorityFeePerGas']
    const readOptions = ['account', 'blockNumber']
    for (const abi of [sdk.datanetsAbi, sdk.modelsAbi, sdk.attributionAbi]) {
      for (const item of abi) {
        if (item.type !== 'function') continue
        const reserved = item.stateMutability === 'view' ? readOptions : writeOptions
        for (const input of item.inputs)
          expect(reserved, `${item.name}(${input.name})`).not.toContain(input.name)
      }
    }
  })

  it('the action set covers every function of the interfaces', () => {
    const src = readFileSync(join(import.meta.dirname, '../src/sdk/actions.ts'), 'utf8')
    for (const abi of [sdk.datanetsAbi, sdk.modelsAbi, sdk.attributionAbi]) {
      for (const item of abi) {
        if (item.type === 'function') expect(src).toContain(`'${item.name}'`)
      }
    }
  })
})
