/**
 * Governance end to end on a real `openledger dev` node with bonded validators, driven through the
 * `openledger gov` CLI: a proposal changing the fee split (Attribution.setParameter stakersBps)
 * passes, waits its timelock, executes as the Governance module, and the next settlement uses the
 * new split; a proposal without quorum is Defeated; direct setter calls from any other account
 * revert with the typed OnlyGovernance error; the minimum base fee set by governance raises the
 * base fee of the following blocks.
 */
import {
  ATTRIBUTION,
  approveContribution,
  attributionAbi,
  contribute,
  createDatanet,
  decodeModuleLogs,
  type InferenceReceipt,
  publishVersion,
  referencedContent,
  registerModel,
  settle,
  signInferenceReceipt,
} from '@openledger/attribution/sdk'
import { deriveDevAccounts, hex as hexOf, type OpenLedgerNode } from '@openledger/node'
import { governanceAbi, stakingAbi } from '@openledger/staking'
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  stringToHex,
  toHex,
} from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, rpc, runCli, startDevNode } from '../helpers/dev-node.ts'

const chain = defineChain({
  id: 31337,
  name: 'OpenLedger dev',
  nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})
const keys = deriveDevAccounts(8).map((a) => hexOf(a.privateKey) as Hex)
const [V0, V1, V2, CURATOR, ALICE, OWNER, USER] = keys.map((k) =>
  privateKeyToAccount(k),
) as PrivateKeyAccount[]
const PROVIDER_KEY = generatePrivateKey()
const PROVIDER = privateKeyToAccount(PROVIDER_KEY)
const STAKING = '0x4f50454e00000000000000000000000000000004'
const GOVERNANCE = '0x4f50454e00000000000000000000000000000005'
const E18 = 10n ** 18n

let node: OpenLedgerNode
let pub: PublicClient
const wallet = (a: PrivateKeyAccount) =>
  createWalletClient({ chain, transport: http(node.rpcUrl), account: a })
const ol = (method: string, params: unknown[] = []) => call(node.rpcUrl, method, params)
async function ok(hash: Promise<Hash>) {
  const r = await pub.waitForTransactionReceipt({ hash: await hash, pollingInterval: 20 })
  expect(r.status).toBe('success')
  return r
}
const mine = (n = 1) => call(node.rpcUrl, 'anvil_mine', [toHex(n)])
function gov(args: string[], key: Hex) {
  return runCli(['gov', ...args, '--rpc', node.rpcUrl], {
    env: { ...process.env, OPENLEDGER_PRIVATE_KEY: key },
  })
}
const param = (name: string) => stringToHex(name, { size: 32 })

beforeAll(async () => {
  const validators = [V0!, V1!, V2!].map((a) => a.address.toLowerCase())
  node = await startDevNode({
    accounts: 8,
    genesis: {
      validators,
      modules: {
        staking: {
          params: { epochLength: 10, unbondingTime: 100, maxEvidenceAge: 200 },
          validators: validators.map((v) => ({ operator: v, stake: String(1_000n * E18) })),
        },
        governance: { votingDelay: 1, votingPeriod: 4, timelockDelay: 60 },
      },
    },
  })
  pub = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 20 }) as PublicClient
  // A datanet version and a model to settle inferences against.
  const cur = wallet(CURATOR!)
  await ok(createDatanet(cur, { name: 'Gov QA', metadataURI: 'ipfs://g', open: true, curators: [] }))
  await ok(
    contribute(wallet(ALICE!), {
      datanetId: 1n,
      metadataURI: 'ipfs://a',
      ...referencedContent(new TextEncoder().encode('governed')),
    }),
  )
  await ok(approveContribution(cur, { datanetId: 1n, contributionId: 1n, weight: 100n }))
  await ok(publishVersion(cur, { datanetId: 1n }))
  await ok(
    registerModel(wallet(OWNER!), {
      registration: {
        name: 'gov-model',
        baseModel: 'base',
        parentId: 0n,
        datanets: [{ datanetId: 1n, version: 1n }],
        trainingConfigHash: keccak256('0x01'),
        trainingLogHash: keccak256('0x02'),
        artifactHash: keccak256('0x03'),
        artifactURI: 'ipfs://m',
        provider: PROVIDER.address,
        minFeePerInference: 1n,
        ownerShareBps: 2000,
      },
    }),
  )
}, 120_000)
afterAll(async () => {
  await node?.close()
})

let nonce = 0n
async function settleOne(fee: bigint) {
  nonce++
  const receipt: InferenceReceipt = {
    modelId: 1n,
    modelVersion: 1,
    inputHash: keccak256(toHex(`q${nonce}`)),
    outputHash: keccak256(toHex(`a${nonce}`)),
    entries: [
      {
        datanetId: 1n,
        datanetVersion: 1n,
        weight: 1_000_000,
        contributionIds: [1n],
        contributionWeights: [1_000_000],
      },
    ],
    nonce,
    deadline: (await pub.getBlock()).timestamp + 3600n,
    payer: USER!.address,
    fee,
    attributionCommitment: keccak256(toHex('c')),
  }
  const sig = await signInferenceReceipt(PROVIDER_KEY, receipt, 31337n)
  const r = await ok(settle(wallet(USER!), { receipt, signature: sig }))
  return decodeModuleLogs(r.logs).find((l) => l.eventName === 'FeeSplit')!.args as Record<string, bigint>
}

async function revertsWith(
  from: Hex,
  to: Hex,
  data: Hex,
  abi: Abi,
): Promise<{ name: string; args: readonly unknown[] }> {
  const r = await rpc(node.rpcUrl, {
    jsonrpc: '2.0',
    id: 1,
    method: 'eth_call',
    params: [{ from, to, data }, 'latest'],
  })
  expect(r.json.error?.code).toBe(3)
  const e = decodeErrorResult({ abi, data: r.json.error.data })
  return { name: e.errorName, args: e.args ?? [] }
}

describe('Governance on openledger dev', () => {
  it('direct calls to the parameter setters revert with OnlyGovernance', async () => {
    const setSplit = encodeFunctionData({
      abi: attributionAbi,
      functionName: 'setParameter',
      args: [param('stakersBps'), 3000n],
    })
    const e1 = await revertsWith(V0!.address, ATTRIBUTION, setSplit, attributionAbi as Abi)
    expect(e1.name).toBe('OnlyGovernance')
    expect((e1.args[0] as string).toLowerCase()).toBe(V0!.address.toLowerCase())
    const params = await pub.readContract({ address: STAKING, abi: stakingAbi, functionName: 'params' })
    const e2 = await revertsWith(
      V0!.address,
      STAKING,
      encodeFunctionData({ abi: stakingAbi, functionName: 'setParams', args: [params] }),
      stakingAbi as Abi,
    )
    expect(e2.name).toBe('OnlyGovernance')
    const gp = await pub.readContract({ address: GOVERNANCE, abi: governanceAbi, functionName: 'params' })
    const e3 = await revertsWith(
      V1!.address,
      GOVERNANCE,
      encodeFunctionData({
        abi: governanceAbi,
        functionName: 'setParams',
        args: [{ ...gp, minBaseFee: 5n }],
      }),
      governanceAbi as Abi,
    )
    expect(e3.name).toBe('OnlyGovernance')
  })

  it('a proposal changing the fee split passes, waits the timelock and executes; the next settlement uses it', async () => {
    const fee = 10n ** 18n
    const before = await settleOne(fee)
    expect(before.stakers).toBe((fee * 2000n) / 10_000n)

    const calldata = encodeFunctionData({
      abi: attributionAbi,
      functionName: 'setParameter',
      args: [param('stakersBps'), 3000n],
    })
    const p = await gov(
      ['propose', '--description', 'stakers 30 %', '--action', `${ATTRIBUTION},0,${calldata}`, '--json'],
      V0!.address && keys[0]!,
    )
    expect(p.stderr).toBe('')
    expect(p.code).toBe(0)
    const id = BigInt(JSON.parse(p.stdout).proposalId)
    await mine(1)
    for (const k of [keys[0]!, keys[1]!]) {
      const v = await gov(['vote', '--id', String(id), '--support', 'for', '--reason', 'more for stakers'], k)
      expect(v.code, v.stderr).toBe(0)
      expect(v.stdout).toMatch(/Voted for .* with 1000(\.0)? OPEN/)
    }
    await mine(4)
    const status = await gov(['status', '--id', String(id), '--json'], keys[5]!)
    const s = JSON.parse(status.stdout)
    expect(s.stateName).toBe('Succeeded')
    expect(s.actions).toEqual([{ target: ATTRIBUTION, value: '0x0', calldata }])
    expect(s.description).toBe('stakers 30 %')
    expect((await gov(['queue', '--id', String(id)], keys[5]!)).code).toBe(0)
    // Before the timelock: refused (typed error through the CLI's message).
    const early = await gov(['execute', '--id', String(id)], keys[5]!)
    expect(early.code).not.toBe(0)
    expect(early.stderr).toMatch(/GovernorTimelockNotReady/)
    await call(node.rpcUrl, 'evm_increaseTime', [61])
    await mine(1)
    const ex = await gov(['execute', '--id', String(id)], keys[5]!)
    expect(ex.code, ex.stderr).toBe(0)
    expect((await ol('ol_getProposal', [toHex(id)])).stateName).toBe('Executed')
    expect(
      await pub.readContract({
        address: ATTRIBUTION,
        abi: attributionAbi,
        functionName: 'getParameter',
        args: [param('stakersBps')],
      }),
    ).toBe(3000n)
    const after = await settleOne(fee)
    expect(after.stakers).toBe((fee * 3000n) / 10_000n)
    expect(after.owner).toBe(before.owner)
  }, 180_000)

  it('a proposal without quorum is Defeated', async () => {
    const calldata = encodeFunctionData({
      abi: attributionAbi,
      functionName: 'setParameter',
      args: [param('stakersBps'), 1000n],
    })
    const p = await gov(
      ['propose', '--description', 'lonely', '--action', `${ATTRIBUTION},0,${calldata}`, '--json'],
      keys[2]!,
    )
    expect(p.code, p.stderr).toBe(0)
    const id = BigInt(JSON.parse(p.stdout).proposalId)
    await mine(1)
    // One validator of three: 33.3 % of the bonded stake, below the 33.4 % quorum.
    expect((await gov(['vote', '--id', String(id), '--support', 'for'], keys[2]!)).code).toBe(0)
    await mine(4)
    const s = await ol('ol_getProposal', [toHex(id)])
    expect(s.stateName).toBe('Defeated')
    expect(BigInt(s.forVotes)).toBe(1_000n * E18)
    expect(BigInt(s.quorum)).toBe((3_000n * E18 * 3340n) / 10_000n)
    const q = await gov(['queue', '--id', String(id)], keys[2]!)
    expect(q.code).not.toBe(0)
    expect(q.stderr).toMatch(/GovernorUnexpectedProposalState/)
  }, 120_000)

  it('a governance-set minimum base fee raises the base fee of the following blocks', async () => {
    const p = await gov(
      ['propose', '--description', 'fee floor', '--governance-param', 'minBaseFee=5000000000', '--json'],
      keys[0]!,
    )
    expect(p.code, p.stderr).toBe(0)
    const id = BigInt(JSON.parse(p.stdout).proposalId)
    await mine(1)
    for (const k of [keys[0]!, keys[1]!])
      expect((await gov(['vote', '--id', String(id), '--support', 'for'], k)).code).toBe(0)
    await mine(4)
    expect((await gov(['queue', '--id', String(id)], keys[3]!)).code).toBe(0)
    await call(node.rpcUrl, 'evm_increaseTime', [61])
    await mine(1)
    const ex = await gov(['execute', '--id', String(id), '--json'], keys[3]!)
    expect(ex.code, ex.stderr).toBe(0)
    await mine(1)
    const b = await pub.getBlock()
    expect(b.baseFeePerGas).toBeGreaterThanOrEqual(5_000_000_000n)
    expect((await ol('ol_getGovernanceParams')).minBaseFee).toBe(toHex(5_000_000_000n))
  }, 120_000)
})
