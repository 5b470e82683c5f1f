/** Proof of Attribution end to end over JSON-RPC with viem on a real `openledger dev` node: datanets,
 * curation, versions, a model, provider-signed receipts settled by a user and by a contract, the
 * fee split to the wei, claims, share transfers, typed rejections that leave state unchanged,
 * eth_getProof of a receipt slot, and the decoded ol_* reads. Expected amounts are recomputed here
 * from the documented split rule, not taken from the module's code. */

import { readFileSync } from 'node:fs'
import { MerklePatriciaTrie, verifyMPTWithMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { receiptSlot } from '@openledger/attribution'
import {
  ATTRIBUTION,
  approveContribution,
  attributionAbi,
  claim,
  contribute,
  createDatanet,
  DATANETS,
  datanetsAbi,
  decodeModuleError,
  decodeModuleLogs,
  hashInferenceReceipt,
  type InferenceReceipt,
  inlineContent,
  MODELS,
  publishVersion,
  referencedContent,
  registerModel,
  rejectContribution,
  settle,
  shareTokenId,
  signInferenceReceipt,
  transferShares,
} from '@openledger/attribution/sdk'
import { deriveDevAccounts, hex as hexOf, type OpenLedgerNode } from '@openledger/node'
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  encodeFunctionData,
  getAddress,
  type Hash,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, rpc, startDevNode } from '../helpers/dev-node.ts'
import { compileSolidity } from '../helpers/solc.ts'

const chain = defineChain({
  id: 31337,
  name: 'OpenLedger dev',
  nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})
const keys = deriveDevAccounts(8).map((a) => hexOf(a.privateKey) as Hex)
const [CURATOR, ALICE, BOB, CAROL, MODEL_OWNER, USER, DAVE, DEPLOYER] = keys.map((k) =>
  privateKeyToAccount(k),
)
const PROVIDER_KEY = generatePrivateKey()
const PROVIDER = privateKeyToAccount(PROVIDER_KEY)
const TREASURY = '0x4f50454e00000000000000000000000000000005'
const STAKERS = '0x4f50454e00000000000000000000000000000004'
const ZERO = '0x0000000000000000000000000000000000000000'

const SOL_DIR = new URL('../../packages/attribution/src/sol/', import.meta.url)
const PROBER = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
/// Calls a module with STATICCALL or DELEGATECALL and bubbles its revert data up unchanged.
contract Prober {
    function viaStatic(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.staticcall(data);
        if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
        return ret;
    }
    function viaDelegate(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.delegatecall(data);
        if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
        return ret;
    }
}`

let node: OpenLedgerNode
let pub: PublicClient
const wallet = (account: PrivateKeyAccount) =>
  createWalletClient({ chain, transport: http(node.rpcUrl), account })
const ol = (method: string, params: unknown[]) => call(node.rpcUrl, method, params)

async function mined(hash: Hash) {
  const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 })
  return r
}
async function ok(hash: Promise<Hash>) {
  const r = await mined(await hash)
  expect(r.status).toBe('success')
  return r
}

/** Everything the modules own: the three storage roots and the module account balances. */
async function moduleState(): Promise<string[]> {
  const out: string[] = []
  for (const a of [DATANETS, MODELS, ATTRIBUTION]) {
    const p = await ol('eth_getProof', [a, [], 'latest'])
    out.push(p.storageHash, p.balance)
  }
  return out
}

let payPerAnswer: Hex
let prober: Hex
const aliceContent = new TextEncoder().encode('Q: what lowers blood pressure? A: less salt, more exercise.')
const bobContent = new TextEncoder().encode('a large file referenced by hash'.repeat(10))
const carolContent = new TextEncoder().encode('spam')
const daveContent = new TextEncoder().encode('python: use list comprehensions')
let receipt1: InferenceReceipt
let sig1: Hex
let receiptId1: Hex
let settleBlock: bigint
const F1 = 10n ** 18n + 7n

/** Largest remainder (documented rule): floors, then one unit each to the largest remainders,
 * ties to the lower index. Independent of the module's implementation. */
function apportion(total: bigint, weights: bigint[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0n)
  const parts = weights.map((w) => (total * w) / sum)
  const order = weights
    .map((w, i) => ({ i, rem: (total * w) % sum }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1))
  let left = total - parts.reduce((a, b) => a + b, 0n)
  for (const { i } of order) {
    if (left === 0n) break
    parts[i]! += 1n
    left--
  }
  return parts
}

function splitOf(fee: bigint) {
  const [protocol, stakers, owner, contributors] = apportion(fee, [1000n, 2000n, 2000n, 5000n]) as [
    bigint,
    bigint,
    bigint,
    bigint,
  ]
  return { protocol, stakers, owner, contributors }
}

/** What a holder of `held` of a version pool's `supply` shares can claim after `amount` is paid to
 * it: the pool's rate is ⌊amount·2^64/supply⌋ (×2^-64 wei per share), rounded down at the end. */
function poolShare(amount: bigint, held: bigint, supply: bigint): bigint {
  return (held * ((amount << 64n) / supply)) >> 64n
}

async function deadline(): Promise<bigint> {
  const b = await pub.getBlock()
  return b.timestamp + 3600n
}

beforeAll(async () => {
  node = await startDevNode({ accounts: 8 })
  pub = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 20 }) as PublicClient
  const read = (f: string) => readFileSync(new URL(f, SOL_DIR), 'utf8')
  const compiled = compileSolidity({
    'IAttribution.sol': read('IAttribution.sol'),
    'IDatanets.sol': read('IDatanets.sol'),
    'IModels.sol': read('IModels.sol'),
    'examples/PayPerAnswer.sol': read('examples/PayPerAnswer.sol'),
    'Prober.sol': PROBER,
  })
  const deployer = wallet(DEPLOYER)
  for (const [name, set] of [
    ['PayPerAnswer', (a: Hex) => (payPerAnswer = a)],
    ['Prober', (a: Hex) => (prober = a)],
  ] as const) {
    const c = compiled[name]!
    const r = await ok(deployer.deployContract({ abi: c.abi as Abi, bytecode: c.bytecode }))
    set(r.contractAddress!)
  }
}, 120_000)

afterAll(async () => {
  await node?.close()
})

describe('Proof of Attribution on openledger dev', () => {
  it('creates datanets, takes contributions, curates and publishes versions', async () => {
    const cur = wallet(CURATOR)
    await ok(createDatanet(cur, { name: 'Medical QA', metadataURI: 'ipfs://med', open: true, curators: [] }))
    await ok(createDatanet(cur, { name: 'Code', metadataURI: 'ipfs://code', open: true, curators: [] }))
    // Datanet 1: Alice inline, Bob by hash, Carol (to be rejected); datanet 2: Dave.
    const c1 = await ok(
      contribute(wallet(ALICE), { datanetId: 1n, metadataURI: 'ipfs://a', ...inlineContent(aliceContent) }),
    )
    await ok(
      contribute(wallet(BOB), { datanetId: 1n, metadataURI: 'ipfs://b', ...referencedContent(bobContent) }),
    )
    await ok(
      contribute(wallet(CAROL), {
        datanetId: 1n,
        metadataURI: 'ipfs://c',
        ...referencedContent(carolContent),
      }),
    )
    await ok(
      contribute(wallet(DAVE), { datanetId: 2n, metadataURI: 'ipfs://d', ...referencedContent(daveContent) }),
    )
    // Inline content is also logged in full (ContributionContent): the chain's history is where a
    // challenge's re-run reads it.
    expect(decodeModuleLogs(c1.logs).map((l) => l.eventName)).toEqual([
      'ContributionSubmitted',
      'ContributionContent',
    ])

    // A non-curator cannot curate: typed error, nothing written.
    const before = await moduleState()
    const err = await rpc(node.rpcUrl, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_call',
      params: [
        {
          from: ALICE.address,
          to: DATANETS,
          data: encodeFunctionData({
            abi: datanetsAbi,
            functionName: 'approveContribution',
            args: [1n, 1n, 5n],
          }),
        },
        'latest',
      ],
    })
    expect(err.json.error.code).toBe(3)
    expect(decodeModuleError(DATANETS, err.json.error.data).errorName).toBe('NotCurator')
    expect(await moduleState()).toEqual(before)

    const a1 = await ok(approveContribution(cur, { datanetId: 1n, contributionId: 1n, weight: 300n }))
    await ok(approveContribution(cur, { datanetId: 1n, contributionId: 2n, weight: 100n }))
    await ok(rejectContribution(cur, { datanetId: 1n, contributionId: 3n }))
    await ok(approveContribution(cur, { datanetId: 2n, contributionId: 1n, weight: 50n }))
    const approvedLogs = decodeModuleLogs(a1.logs)
    expect(approvedLogs.map((l) => l.eventName).sort()).toEqual([
      'ApprovalVoted',
      'ContributionApproved',
      'TransferSingle',
    ])
    const mint = approvedLogs.find((l) => l.eventName === 'TransferSingle')!.args
    expect(mint).toMatchObject({ from: ZERO, to: ALICE.address, id: shareTokenId(1n, 1n), value: 300n })
    const v1 = await ok(publishVersion(cur, { datanetId: 1n }))
    await ok(publishVersion(cur, { datanetId: 2n }))
    const published = decodeModuleLogs(v1.logs).find((l) => l.eventName === 'VersionPublished')!
    expect(published.args).toMatchObject({ datanetId: 1n, version: 1n, count: 2n })

    const d1 = await ol('ol_getDatanet', ['0x1'])
    expect(d1).toMatchObject({
      id: '0x1',
      owner: CURATOR.address.toLowerCase(),
      name: 'Medical QA',
      metadataURI: 'ipfs://med',
      open: true,
      contributionCount: '0x3',
      approvedCount: '0x2',
      versionCount: '0x1',
      totalShares: '0x190',
      terms: { requiredApprovals: '0x1', licenceMode: '0x0', minContributorsBps: '0x0' },
    })
    // The governed parameters in force (the dev genesis values: nobody voted).
    expect(await ol('ol_getParameters', [])).toMatchObject({
      treasury: TREASURY,
      protocolBps: '0x3e8',
      challengeWindow: '0x0',
      minProviderBond: '0x0',
    })
    const ver = await ol('ol_getDatanetVersion', ['0x1', '0x1'])
    expect(ver).toMatchObject({ count: '0x2', root: published.args.root })
    const inline = await ol('ol_getContribution', ['0x1', '0x1'])
    expect(inline).toMatchObject({
      contributor: ALICE.address.toLowerCase(),
      inlined: true,
      statusName: 'approved',
      weight: '0x12c',
      content: toHex(aliceContent),
      transactionHash: c1.transactionHash,
    })
    const byHash = await ol('ol_getContribution', ['0x1', '0x2'])
    expect(byHash).toMatchObject({ inlined: false, content: null, contentHash: keccak256(bobContent) })
    expect((await ol('ol_getContribution', ['0x1', '0x3'])).statusName).toBe('rejected')
    expect(await ol('ol_getContribution', ['0x1', '0x9'])).toBeNull()
    const page = await ol('ol_listDatanets', ['0x1', '0x1'])
    expect(page.total).toBe('0x2')
    expect(page.items.map((d: { name: string }) => d.name)).toEqual(['Code'])
  })

  it('registers a model and settles a provider-signed receipt: the split is exact to the wei', async () => {
    await ok(
      registerModel(wallet(MODEL_OWNER), {
        registration: {
          name: 'med-llama-lora',
          baseModel: 'meta-llama/Llama-3.1-8B',
          parentId: 0n,
          datanets: [
            { datanetId: 1n, version: 1n },
            { datanetId: 2n, version: 1n },
          ],
          trainingConfigHash: keccak256('0x01'),
          trainingLogHash: keccak256('0x02'),
          artifactHash: keccak256('0x03'),
          artifactURI: 'ipfs://adapter',
          provider: PROVIDER.address,
          minFeePerInference: 1000n,
          ownerShareBps: 2000,
        },
      }),
    )
    const model = await ol('ol_getModel', ['0x1'])
    expect(model).toMatchObject({
      owner: MODEL_OWNER.address.toLowerCase(),
      provider: PROVIDER.address.toLowerCase(),
    })
    expect(model.latestVersion.datanets).toEqual([
      { datanetId: '0x1', version: '0x1' },
      { datanetId: '0x2', version: '0x1' },
    ])

    receipt1 = {
      modelId: 1n,
      modelVersion: 1,
      inputHash: keccak256(toHex('question')),
      outputHash: keccak256(toHex('answer')),
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 1n,
          weight: 600_000,
          contributionIds: [1n, 2n],
          contributionWeights: [700_000, 300_000],
        },
        { datanetId: 2n, datanetVersion: 1n, weight: 400_000, contributionIds: [], contributionWeights: [] },
      ],
      nonce: 1n,
      deadline: await deadline(),
      payer: USER.address,
      fee: F1,
      attributionCommitment: keccak256(toHex('commitment')),
    }
    sig1 = await signInferenceReceipt(PROVIDER_KEY, receipt1, 31337n)
    receiptId1 = hashInferenceReceipt(receipt1, 31337n)
    const userBefore = await pub.getBalance({ address: USER.address })
    const r = await ok(settle(wallet(USER), { receipt: receipt1, signature: sig1 }))
    settleBlock = r.blockNumber
    const userAfter = await pub.getBalance({ address: USER.address })
    expect(userBefore - userAfter).toBe(F1 + r.gasUsed * r.effectiveGasPrice)

    // Independent computation of the documented split.
    const s = splitOf(F1)
    const [e1, e2] = apportion(s.contributors, [600_000n, 400_000n]) as [bigint, bigint]
    const [alice, bob] = apportion(e1, [700_000n, 300_000n]) as [bigint, bigint]
    const pooled = e2 // paid whole to datanet 2 version 1, whose 50 shares are all Dave's
    const daveClaim = poolShare(e2, 50n, 50n)
    expect(s.protocol + s.stakers + s.owner + alice + bob + pooled).toBe(F1)

    const logs = decodeModuleLogs(r.logs)
    for (const l of r.logs) expect(l.address.toLowerCase()).toBe(ATTRIBUTION)
    expect(logs.map((l) => l.eventName)).toEqual([
      'InferenceSettled',
      'FeeSplit',
      'ContributionPaid',
      'ContributionPaid',
      'AttributionPaid',
      'AttributionPaid',
      'VersionPoolPaid',
    ])
    expect(logs[0]!.args).toMatchObject({ receiptId: receiptId1, payer: USER.address, fee: F1, nonce: 1n })
    expect(logs[1]!.args).toEqual({
      receiptId: receiptId1,
      protocol: s.protocol,
      stakers: s.stakers,
      owner: s.owner,
      parentRoyalty: 0n,
      contributors: alice + bob + pooled,
      dust: 0n,
    })

    const claimable = async (a: string) => BigInt((await ol('ol_getRewards', [a])).claimable)
    expect(await claimable(ALICE.address)).toBe(alice)
    expect(await claimable(BOB.address)).toBe(bob)
    expect(await claimable(DAVE.address)).toBe(daveClaim)
    expect(pooled - daveClaim).toBeLessThanOrEqual(1n)
    expect(await claimable(MODEL_OWNER.address)).toBe(s.owner)
    // The dev genesis leaves treasury and stakers pool at their module-address defaults.
    expect(await claimable(TREASURY)).toBe(s.protocol)
    // The stakers' part went to the Staking module at the end of the block (its reward pool): the
    // dev chain has nothing bonded, so it waits there, undistributed, for the first bonded stake.
    expect(await claimable(STAKERS)).toBe(0n)
    expect(await pub.getBalance({ address: ATTRIBUTION })).toBe(F1 - s.stakers)
    expect(await pub.getBalance({ address: STAKERS })).toBe(s.stakers)
    const viaView = await pub.readContract({
      address: ATTRIBUTION,
      abi: attributionAbi,
      functionName: 'claimable',
      args: [DAVE.address],
    })
    expect(viaView).toBe(daveClaim)

    // Decoded reads.
    const rec = await ol('ol_getInferenceReceipt', [receiptId1])
    expect(rec).toMatchObject({
      receiptId: receiptId1,
      modelId: '0x1',
      modelVersion: '0x1',
      payer: USER.address.toLowerCase(),
      fee: toHex(F1),
      settledAtBlock: toHex(settleBlock),
      nonce: '0x1',
    })
    const att = await ol('ol_getAttribution', [receiptId1])
    expect(att.transactionHash).toBe(r.transactionHash)
    expect(att.split).toEqual({
      protocol: toHex(s.protocol),
      stakers: toHex(s.stakers),
      owner: toHex(s.owner),
      parentRoyalty: '0x0',
      contributors: toHex(alice + bob + pooled),
      dust: '0x0',
      provider: '0x0',
    })
    expect(att.recipients).toEqual({
      treasury: TREASURY,
      stakersPool: STAKERS,
      provider: PROVIDER.address.toLowerCase(),
      owner: MODEL_OWNER.address.toLowerCase(),
      parentOwner: null,
    })
    expect(att.entries).toEqual([
      {
        datanetId: '0x1',
        datanetVersion: '0x1',
        weight: toHex(600_000),
        amount: toHex(alice + bob),
        paidTo: 'contributions',
        rewardIndexIncrease: null,
        contributions: [
          {
            contributionId: '0x1',
            weight: toHex(700_000),
            contributor: ALICE.address.toLowerCase(),
            amount: toHex(alice),
          },
          {
            contributionId: '0x2',
            weight: toHex(300_000),
            contributor: BOB.address.toLowerCase(),
            amount: toHex(bob),
          },
        ],
      },
      {
        datanetId: '0x2',
        datanetVersion: '0x1',
        weight: toHex(400_000),
        amount: toHex(pooled),
        paidTo: 'shareholders',
        rewardIndexIncrease: toHex((pooled << 64n) / 50n),
        contributions: [],
      },
    ])
    // Block selector: before the settlement nothing was claimable.
    const earlier = await ol('ol_getRewards', [ALICE.address, toHex(settleBlock - 1n)])
    expect(earlier).toMatchObject({ accrued: '0x0', claimable: '0x0' })
    expect(await ol('ol_getInferenceReceipt', [receiptId1, toHex(settleBlock - 1n)])).toBeNull()
  })

  it('claims pay out in native OPEN (gas included) and reset the claimable balance', async () => {
    for (const who of [ALICE, BOB]) {
      const owed = BigInt((await ol('ol_getRewards', [who.address])).claimable)
      const before = await pub.getBalance({ address: who.address })
      const r = await ok(claim(wallet(who), {}))
      const after = await pub.getBalance({ address: who.address })
      expect(after - before).toBe(owed - r.gasUsed * r.effectiveGasPrice)
      const claimed = decodeModuleLogs(r.logs).find((l) => l.eventName === 'RewardsClaimed')!
      expect(claimed.args).toEqual({ account: who.address, amount: owed })
      expect((await ol('ol_getRewards', [who.address])).claimable).toBe('0x0')
    }
  })

  it('a share transfer moves future rewards; a contract settles on behalf of its users', async () => {
    await ok(
      transferShares(wallet(DAVE), {
        from: DAVE.address,
        to: CAROL.address,
        id: shareTokenId(2n, 1n),
        amount: 20n,
      }),
    )
    const daveBefore = await ol('ol_getRewards', [DAVE.address])
    const fee = 5_000_000_000_000_000n
    const receipt: InferenceReceipt = {
      ...receipt1,
      entries: [
        {
          datanetId: 2n,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
      nonce: 2n,
      payer: ZERO,
      fee,
    }
    const signature = await signInferenceReceipt(PROVIDER_KEY, receipt, 31337n)
    const appAbi = [
      {
        type: 'function',
        name: 'answer',
        stateMutability: 'payable',
        inputs: (
          attributionAbi.find((i) => i.type === 'function' && i.name === 'settle') as unknown as {
            inputs: unknown[]
          }
        ).inputs,
        outputs: [{ name: 'receiptId', type: 'bytes32' }],
      },
    ] as const as Abi
    const r = await ok(
      wallet(USER).writeContract({
        address: payPerAnswer,
        abi: appAbi,
        functionName: 'answer',
        args: [receipt, signature],
        value: fee,
      }),
    )
    const id = hashInferenceReceipt(receipt, 31337n)
    expect((await ol('ol_getInferenceReceipt', [id])).payer).toBe(payPerAnswer.toLowerCase())
    const pool = splitOf(fee).contributors
    const rate = (pool << 64n) / 50n
    expect(BigInt((await ol('ol_getRewards', [CAROL.address])).claimable)).toBe((20n * rate) >> 64n)
    // Dave keeps his sub-wei remainder from before the transfer: exact in units of 2^-64 wei.
    const dave = await ol('ol_getRewards', [DAVE.address])
    const exact = (r: { claimable: string; remainder: string }) =>
      (BigInt(r.claimable) << 64n) + BigInt(r.remainder)
    expect(exact(dave) - exact(daveBefore)).toBe(30n * rate)
    // Contract-made settlement: ol_getAttribution finds the weights in the internal call.
    const att = await ol('ol_getAttribution', [id])
    expect(att.transactionHash).toBe(r.transactionHash)
    expect(att.entries).toEqual([
      {
        datanetId: '0x2',
        datanetVersion: '0x1',
        weight: toHex(1_000_000),
        amount: toHex(pool),
        paidTo: 'shareholders',
        rewardIndexIncrease: toHex(rate),
        contributions: [],
      },
    ])
  })

  it('rejections revert with their typed error and leave module state unchanged', async () => {
    const fresh = async (over: Partial<InferenceReceipt>) => {
      const r: InferenceReceipt = { ...receipt1, nonce: 100n, ...over }
      return { r, sig: await signInferenceReceipt(PROVIDER_KEY, r, 31337n) }
    }
    const settleData = (r: InferenceReceipt, sig: Hex) =>
      encodeFunctionData({ abi: attributionAbi, functionName: 'settle', args: [r, sig] })
    const proberAbi = [
      ...['viaStatic', 'viaDelegate'].map((name) => ({
        type: 'function',
        name,
        stateMutability: 'nonpayable',
        inputs: [
          { name: 'target', type: 'address' },
          { name: 'data', type: 'bytes' },
        ],
        outputs: [{ name: '', type: 'bytes' }],
      })),
    ] as const as Abi
    const expired = await fresh({ deadline: 1n })
    const rejected = await fresh({
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [3n],
          contributionWeights: [1_000_000],
        },
      ],
    })
    const otherModelVersion = await fresh({
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 2n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
    })
    const cases: Array<{ name: string; to: Hex; data: Hex; value: bigint; from: Hex; error: string }> = [
      {
        name: 'replay',
        to: ATTRIBUTION,
        data: settleData(receipt1, sig1),
        value: F1,
        from: USER.address,
        error: 'ReceiptAlreadySettled',
      },
      {
        name: 'expired',
        to: ATTRIBUTION,
        data: settleData(expired.r, expired.sig),
        value: F1,
        from: USER.address,
        error: 'ReceiptExpired',
      },
      {
        name: 'wrong value',
        to: ATTRIBUTION,
        data: settleData(expired.r, expired.sig),
        value: F1 - 1n,
        from: USER.address,
        error: 'WrongValue',
      },
      {
        name: 'rejected contribution',
        to: ATTRIBUTION,
        data: settleData(rejected.r, rejected.sig),
        value: F1,
        from: USER.address,
        error: 'ContributionNotInVersion',
      },
      {
        name: 'undeclared version',
        to: ATTRIBUTION,
        data: settleData(otherModelVersion.r, otherModelVersion.sig),
        value: F1,
        from: USER.address,
        error: 'DatanetVersionNotDeclared',
      },
      {
        name: 'STATICCALL',
        to: prober,
        data: encodeFunctionData({
          abi: proberAbi,
          functionName: 'viaStatic',
          args: [ATTRIBUTION, encodeFunctionData({ abi: attributionAbi, functionName: 'claim' })],
        }),
        value: 0n,
        from: USER.address,
        error: 'WriteProtection',
      },
      {
        name: 'DELEGATECALL',
        to: prober,
        data: encodeFunctionData({
          abi: proberAbi,
          functionName: 'viaDelegate',
          args: [ATTRIBUTION, encodeFunctionData({ abi: attributionAbi, functionName: 'claim' })],
        }),
        value: 0n,
        from: USER.address,
        error: 'WriteProtection',
      },
    ]
    const readsBefore = [
      await ol('ol_getRewards', [DAVE.address]),
      await ol('ol_getRewards', [TREASURY]),
      await ol('ol_getDatanet', ['0x1']),
    ]
    for (const c of cases) {
      const before = await moduleState()
      const res = await rpc(node.rpcUrl, {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_call',
        params: [{ from: c.from, to: c.to, data: c.data, value: toHex(c.value) }, 'latest'],
      })
      expect(res.json.error?.code, c.name).toBe(3)
      expect(decodeErrorResult({ abi: attributionAbi, data: res.json.error.data }).errorName, c.name).toBe(
        c.error,
      )
      // Mined with a fixed gas limit: the transaction fails and the modules keep their state.
      // The dev node answers the send with Hardhat's error, which names the mined transaction.
      const err = await wallet(USER)
        .sendTransaction({ to: c.to, data: c.data, value: c.value, gas: 1_000_000n })
        .then(
          () => undefined,
          (e: { walk: (f: (e: unknown) => boolean) => unknown }) =>
            e.walk((x) => typeof (x as { data?: { txHash?: string } }).data?.txHash === 'string') as
              | { data: { txHash: `0x${string}`; data: `0x${string}` } }
              | undefined,
        )
      expect(err, c.name).toBeDefined()
      expect(decodeErrorResult({ abi: attributionAbi, data: err!.data.data }).errorName, c.name).toBe(c.error)
      const r = await mined(err!.data.txHash)
      expect(r.status, c.name).toBe('reverted')
      expect(await moduleState(), c.name).toEqual(before)
    }
    expect([
      await ol('ol_getRewards', [DAVE.address]),
      await ol('ol_getRewards', [TREASURY]),
      await ol('ol_getDatanet', ['0x1']),
    ]).toEqual(readsBefore)
  })

  it("eth_getProof of a receipt's storage slot verifies against the block's stateRoot", async () => {
    const slot = toHex(receiptSlot(Buffer.from(receiptId1.slice(2), 'hex'), 1n))
    const block = await pub.getBlock()
    const proof = await ol('eth_getProof', [ATTRIBUTION, [slot], toHex(block.number)])
    const b = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))
    const q = (h: string) => {
      const n = BigInt(h).toString(16)
      return n === '0' ? new Uint8Array() : b(`0x${n.length % 2 ? '0' : ''}${n}`)
    }
    const account = await verifyMPTWithMerkleProof(
      new MerklePatriciaTrie({ useKeyHashing: true }),
      b(block.stateRoot),
      b(ATTRIBUTION),
      proof.accountProof.map(b),
    )
    expect(toHex(account!)).toBe(
      toHex(RLP.encode([q(proof.nonce), q(proof.balance), b(proof.storageHash), b(proof.codeHash)])),
    )
    const value = await verifyMPTWithMerkleProof(
      new MerklePatriciaTrie({ useKeyHashing: true }),
      b(proof.storageHash),
      b(slot),
      proof.storageProof[0].proof.map(b),
    )
    const word = BigInt(proof.storageProof[0].value)
    expect(toHex(value!)).toBe(toHex(RLP.encode(q(proof.storageProof[0].value))))
    // payer | modelVersion << 160 | settledAtBlock << 192
    expect(getAddress(toHex(word & ((1n << 160n) - 1n), { size: 20 }))).toBe(USER.address)
    expect((word >> 160n) & 0xffffffffn).toBe(1n)
    expect(word >> 192n).toBe(settleBlock)
  })

  it('ol_* validates params (-32602) and answers null for unknown ids', async () => {
    const bad: Array<[string, unknown[]]> = [
      ['ol_getDatanet', ['1']],
      ['ol_getDatanet', []],
      ['ol_getContribution', ['0x1']],
      ['ol_getInferenceReceipt', ['0x1234']],
      ['ol_getRewards', ['0xnotanaddress']],
      ['ol_listDatanets', ['0x0', '0x3e8']],
      ['ol_listModels', ['0x0', '0x1', 'nonsense']],
      ['ol_getAttribution', [receiptId1, 'latest', 'extra']],
    ]
    for (const [method, params] of bad) {
      const res = await rpc(node.rpcUrl, { jsonrpc: '2.0', id: 1, method, params })
      expect(res.json.error?.code, `${method} ${JSON.stringify(params)}`).toBe(-32602)
    }
    expect(await ol('ol_getDatanet', ['0x99'])).toBeNull()
    expect(await ol('ol_getModel', ['0x99'])).toBeNull()
    expect(await ol('ol_getDatanetVersion', ['0x1', '0x9'])).toBeNull()
    expect(await ol('ol_getInferenceReceipt', [keccak256('0x00')])).toBeNull()
    expect(await ol('ol_getAttribution', [keccak256('0x00')])).toBeNull()
    const models = await ol('ol_listModels', [])
    expect(models.total).toBe('0x1')
    expect(models.items[0].name).toBe('med-llama-lora')
    const far = await rpc(node.rpcUrl, {
      jsonrpc: '2.0',
      id: 1,
      method: 'ol_getDatanet',
      params: ['0x1', '0xffffff'],
    })
    expect(far.json.error.code).toBe(-32001)
  })
})
