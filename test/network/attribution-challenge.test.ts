/**
 * Optimistic challenges of attribution receipts on a 3-validator QBFT network of real `openledger
 * node` processes (issue 15, "Must show"): a bonded provider signs a receipt with skewed weights and
 * one with the honest ones; a challenger disputes both with the CLI (`openledger attribution
 * challenge`, which verifies first and refuses to spend its bond on a receipt that verifies unless
 * --force); the provider answers with `openledger attribution reveal`. Every validator re-runs the
 * attribution over the datanet content in its own copy of the chain's history and reaches the same
 * state: the skewed receipt's provider is slashed and its payouts corrected, the honest receipt's
 * challenger loses its bond; an unchallenged receipt's rewards become claimable after the window.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ATTRIBUTION_LIMITS,
  applyReceiptLimits,
  attributeSpans,
  type CorpusRecord,
  SpanIndex,
  toReceiptEntries,
} from '@openledger/attribution'
import {
  approveContribution,
  contribute,
  createDatanet,
  decodeModuleLogs,
  getChallenge,
  getClaimable,
  getProviderBond,
  hashInferenceReceipt,
  type InferenceReceipt,
  inlineContent,
  publishVersion,
  registerModel,
  setContentPolicy,
  settle,
  signInferenceReceipt,
} from '@openledger/attribution/sdk'
import { deriveDevAccounts, hex as hexOf } from '@openledger/node'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hash,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, runCli, waitFor } from '../helpers/dev-node.ts'
import { TestNetwork } from '../helpers/network.ts'

const E18 = 10n ** 18n
const WINDOW = 150 // seconds a receipt can be challenged (several CLI runs on a loaded machine)
const REVEAL = 120 // seconds a challenged provider has to reveal
const PARAMS = {
  challengeWindow: WINDOW,
  revealWindow: REVEAL,
  minProviderBond: (10n * E18).toString(),
  challengerBond: E18.toString(),
  slashBps: 5000,
  challengerRewardBps: 5000,
}

const FOX =
  'A famished Fox saw some clusters of ripe black grapes hanging from a trellised vine. She resorted to all her tricks to get at them, but wearied herself in vain, for she could not reach them.'
const CROW =
  'A Crow perishing with thirst saw a pitcher, and hoping to find water, flew to it with delight. When he reached it, he discovered to his grief that it contained so little water that he could not possibly get at it.'
const ANT =
  'An Ant went to the bank of a river to quench its thirst, and being carried away by the rush of the stream, was on the point of drowning.'
const OUTPUT =
  'Once upon a time a famished Fox saw some clusters of ripe black grapes hanging from a trellised vine, and then a Crow perishing with thirst saw a pitcher.'

const DEV_KEYS = deriveDevAccounts(8).map((a) => hexOf(a.privateKey) as Hex)
const [CURATOR, ALICE, BOB, CAROL, MODEL_OWNER, USER, PROVIDER, CHALLENGER] = DEV_KEYS.map((k) =>
  privateKeyToAccount(k as Hex),
)

let net: TestNetwork
let dir: string
let chainId: number
const pubs: PublicClient[] = []

beforeAll(async () => {
  net = await TestNetwork.create({
    validators: 3,
    blockPeriodSeconds: 1,
    // Estimates run on RPC workers below the node's priority: on a loaded machine, 5 s is too short.
    nodeArgs: ['--rpc.evmtimeout', '60s'],
    editGenesis: (g) => {
      g.modules = { ...(g.modules as object), ...PARAMS }
    },
  })
  // Start-up is slow on a loaded machine: a generous bound (startAll's order, longer waits).
  await net.start(0, 180_000)
  await Promise.all([1, 2].map((i) => net.start(i, 180_000)))
  await net.waitHeight(2n, [0, 1, 2], 90_000)
  chainId = Number(await call(net.nodes[0]!.rpcUrl, 'eth_chainId'))
  for (const n of net.nodes) pubs.push(createPublicClient({ transport: http(n.rpcUrl) }) as PublicClient)
  dir = await mkdtemp(join(tmpdir(), 'ol-challenge-'))
}, 480_000)

afterAll(async () => {
  await net?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

function wallet(account: PrivateKeyAccount, node = 0) {
  const chain = defineChain({
    id: chainId,
    name: 'OpenLedger',
    nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
    rpcUrls: { default: { http: [net.nodes[node]!.rpcUrl] } },
  })
  return createWalletClient({ chain, transport: http(net.nodes[node]!.rpcUrl), account })
}

async function ok(sent: Promise<Hash>) {
  const r = await pubs[0]!.waitForTransactionReceipt({
    hash: await sent,
    pollingInterval: 100,
    timeout: 60_000,
  })
  expect(r.status).toBe('success')
  return r
}

async function keyFile(name: string, account: PrivateKeyAccount): Promise<string> {
  const f = join(dir, `${name}.key`)
  const key = DEV_KEYS.find((k) => privateKeyToAccount(k as Hex).address === account.address)!
  await writeFile(f, `${key}\n`)
  await chmod(f, 0o600)
  return f
}

async function cli(args: string[], key: string, node: number) {
  const r = await runCli([...args, '--rpc', net.nodes[node]!.rpcUrl, '--key-file', key, '--json'])
  return { ...r, json: r.code === 0 ? JSON.parse(r.stdout) : undefined }
}

/** The block that mined `tx`, once every node has it: each node's state there. */
async function everyNode<T>(tx: Hash, read: (pub: PublicClient, block: bigint) => Promise<T>): Promise<T[]> {
  const r = await pubs[0]!.waitForTransactionReceipt({ hash: tx, pollingInterval: 100, timeout: 60_000 })
  await net.waitHeight(r.blockNumber, [0, 1, 2], 60_000)
  return Promise.all(pubs.map((p) => read(p, r.blockNumber)))
}

describe('attribution challenges on 3 QBFT validators', () => {
  let d: bigint
  let fox: bigint
  let ant: bigint
  let entries: InferenceReceipt['entries']
  let commitment: Hex
  let outputHash: Hex
  const receipts: Record<'skewed' | 'honest' | 'quiet', InferenceReceipt & { id: Hex }> = {} as never
  const outputFile = () => join(dir, 'output.txt')

  it('a bonded provider settles three receipts; their fees wait out the challenge window', async () => {
    const cur = wallet(CURATOR)
    await ok(createDatanet(cur, { name: 'Fables', metadataURI: 'ipfs://fables', open: true, curators: [] }))
    d = 1n
    await ok(setContentPolicy(cur, { datanetId: d, inlineTextOnly: true }))
    const ids: bigint[] = []
    for (const [who, text] of [
      [ALICE, FOX],
      [BOB, CROW],
      [CAROL, ANT],
    ] as const) {
      await ok(
        contribute(wallet(who), {
          datanetId: d,
          metadataURI: 'ipfs://x',
          ...inlineContent(new TextEncoder().encode(text)),
        }),
      )
      ids.push(BigInt(ids.length + 1))
    }
    ;[fox, , ant] = ids as [bigint, bigint, bigint]
    for (const id of ids)
      await ok(approveContribution(cur, { datanetId: d, contributionId: id, weight: 100n }))
    await ok(publishVersion(cur, { datanetId: d }))
    await ok(
      registerModel(wallet(MODEL_OWNER), {
        registration: {
          name: 'fables-lm',
          baseModel: 'base',
          parentId: 0n,
          datanets: [{ datanetId: d, version: 1n }],
          trainingConfigHash: keccak256('0x01'),
          trainingLogHash: keccak256('0x02'),
          artifactHash: keccak256('0x03'),
          artifactURI: 'ipfs://fables-lm',
          provider: PROVIDER.address,
          minFeePerInference: 0n,
          ownerShareBps: 1000,
        },
      }),
    )
    // The provider bonds with the CLI.
    const bond = await cli(['provider', 'bond', '10'], await keyFile('provider', PROVIDER), 1)
    expect(bond.code, bond.stderr).toBe(0)
    expect(bond.json.bond).toBe((10n * E18).toString())

    // What the provider computes (the engine, as `provider serve` does), and a skewed variant that
    // routes the whole fee to the Ant story, which the output does not quote.
    const records: CorpusRecord[] = [FOX, CROW, ANT].map((text, i) => ({
      datanetId: d,
      contributionId: ids[i]!,
      text,
    }))
    const honest = attributeSpans(SpanIndex.build(records), OUTPUT, {
      k: 6,
      denominator: 1_000_000n,
      fallbackShares: [{ datanetId: d, shares: 300n }],
    })
    entries = applyReceiptLimits(toReceiptEntries(honest, new Map([[d, 1n]])), ATTRIBUTION_LIMITS)
    commitment = toHex(honest.commitment)
    outputHash = toHex(honest.outputHash)
    await writeFile(outputFile(), OUTPUT)
    const skewedEntries = [
      {
        datanetId: d,
        datanetVersion: 1n,
        weight: 1_000_000,
        contributionIds: [ant],
        contributionWeights: [1_000_000],
      },
    ]
    const block = await pubs[0]!.getBlock()
    const make = (nonce: bigint, e: InferenceReceipt['entries']): InferenceReceipt => ({
      modelId: 1n,
      modelVersion: 1,
      inputHash: keccak256('0xaa'),
      outputHash,
      entries: e,
      nonce,
      deadline: block.timestamp + 3600n,
      payer: USER.address,
      fee: E18,
      attributionCommitment: commitment,
    })
    const plan = { skewed: make(1n, skewedEntries), honest: make(2n, entries), quiet: make(3n, entries) }
    for (const [name, r] of Object.entries(plan) as [keyof typeof plan, InferenceReceipt][]) {
      const signature = await signInferenceReceipt(PROVIDER, r, chainId)
      await ok(settle(wallet(USER, 2), { receipt: r, signature }))
      receipts[name] = { ...r, id: hashInferenceReceipt(r, chainId) }
      const c = await getChallenge(pubs[0]!, { receiptId: receipts[name].id })
      expect(c.state).toBe(1) // pending
      expect(c.signer).toBe(PROVIDER.address)
    }
    // Nothing is credited yet: the fees wait in the module.
    for (const a of [ALICE, BOB, CAROL]) expect(await getClaimable(pubs[0]!, { holder: a.address })).toBe(0n)
  }, 240_000)

  it('the challenger disputes the skewed receipt with the CLI; the honest one only with --force', async () => {
    const key = await keyFile('challenger', CHALLENGER)
    const skewed = await cli(
      ['attribution', 'challenge', receipts.skewed.id, '--output-file', outputFile()],
      key,
      0,
    )
    expect(skewed.code, skewed.stderr).toBe(0)
    expect(skewed.json.bond).toBe(E18.toString())
    expect(skewed.json.reasons.join('\n')).toMatch(/entry 0/)

    const refused = await cli(
      ['attribution', 'challenge', receipts.honest.id, '--output-file', outputFile()],
      key,
      0,
    )
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/verifies: nothing to challenge/)
    const forced = await cli(
      ['attribution', 'challenge', receipts.honest.id, '--output-file', outputFile(), '--force'],
      key,
      1,
    )
    expect(forced.code, forced.stderr).toBe(0)

    const status = await cli(['attribution', 'challenge-status', receipts.skewed.id], key, 2)
    expect(status.json).toMatchObject({ stateName: 'challenged', challenger: CHALLENGER.address })
    const [, , open] = await getProviderBond(pubs[2]!, { provider: PROVIDER.address })
    expect(open).toBe(2)
    // A provider with open challenges cannot take its bond out.
    const unbond = await cli(['provider', 'unbond', '1'], await keyFile('provider', PROVIDER), 0)
    expect(unbond.code).not.toBe(0)
    expect(unbond.stderr).toMatch(/BondLocked/)
  }, 240_000)

  it('the skewed receipt: every validator re-runs it, slashes the provider and corrects the payouts', async () => {
    const before = await getClaimable(pubs[0]!, { holder: CHALLENGER.address })
    const res = await cli(
      ['attribution', 'reveal', receipts.skewed.id, '--output-file', outputFile()],
      await keyFile('provider', PROVIDER),
      2,
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.json).toMatchObject({
      providerAtFault: true,
      revealed: true,
      recomputedCommitment: commitment,
      slashed: (5n * E18).toString(),
      challengerReward: String((25n * E18) / 10n),
    })
    const states = await everyNode(res.json.tx, async (p, blockNumber) => {
      const block = await p.getBlock({ blockNumber })
      const read = (account: Hex) => getClaimable(p, { holder: account, blockNumber })
      return {
        stateRoot: block.stateRoot,
        bond: (await getProviderBond(p, { provider: PROVIDER.address, blockNumber }))[0],
        challenge: (await getChallenge(p, { receiptId: receipts.skewed.id, blockNumber })).state,
        alice: await read(ALICE.address),
        bob: await read(BOB.address),
        carol: await read(CAROL.address),
        challenger: await read(CHALLENGER.address),
      }
    })
    for (const s of states) expect(s).toEqual(states[0])
    const s = states[0]!
    expect(s.bond).toBe(5n * E18)
    expect(s.challenge).toBe(4) // corrected
    expect(s.challenger - before).toBe(E18 + (25n * E18) / 10n) // its bond back and half the slash
    expect(s.carol).toBe(0n) // the Ant story is not in the output
    // The contributors' part of the fee plus the harmed side's half of the slash went to Fox and
    // Crow, by the honest weights.
    const mined = await pubs[0]!.getTransactionReceipt({ hash: res.json.tx })
    const split = decodeModuleLogs(mined.logs).find((l) => l.eventName === 'FeeSplit')?.args as {
      contributors: bigint
    }
    expect(split.contributors).toBeGreaterThan((25n * E18) / 10n)
    expect(s.alice + s.bob).toBe(split.contributors)
    const foxWeight = BigInt(entries[0]!.contributionWeights[entries[0]!.contributionIds.indexOf(fox)]!)
    expect(s.alice).toBe((split.contributors * foxWeight) / 1_000_000n)
  }, 240_000)

  it('the honest receipt: the re-run confirms it; the challenger loses its bond to the provider', async () => {
    const providerBefore = await getClaimable(pubs[0]!, { holder: PROVIDER.address })
    const aliceBefore = await getClaimable(pubs[0]!, { holder: ALICE.address })
    const res = await cli(
      ['attribution', 'reveal', receipts.honest.id, '--output-file', outputFile()],
      await keyFile('provider', PROVIDER),
      1,
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.json).toMatchObject({ providerAtFault: false, slashed: '0', recomputedCommitment: commitment })
    const states = await everyNode(res.json.tx, async (p, blockNumber) => ({
      stateRoot: (await p.getBlock({ blockNumber })).stateRoot,
      provider: await getClaimable(p, { holder: PROVIDER.address, blockNumber }),
      alice: await getClaimable(p, { holder: ALICE.address, blockNumber }),
      bond: (await getProviderBond(p, { provider: PROVIDER.address, blockNumber }))[0],
      challenge: (await getChallenge(p, { receiptId: receipts.honest.id, blockNumber })).state,
    }))
    for (const s of states) expect(s).toEqual(states[0])
    const s = states[0]!
    expect(s.provider - providerBefore).toBe(E18) // the challenger's bond
    expect(s.bond).toBe(5n * E18) // not slashed again
    expect(s.challenge).toBe(3) // finalized as signed
    expect(s.alice).toBeGreaterThan(aliceBefore)
  }, 240_000)

  it('the unchallenged receipt is credited by finalize only after its window', async () => {
    const key = await keyFile('challenger', CHALLENGER)
    const { windowEnds } = await getChallenge(pubs[0]!, { receiptId: receipts.quiet.id })
    const bobBefore = await getClaimable(pubs[0]!, { holder: BOB.address })
    const early = (await pubs[0]!.getBlock()).timestamp <= windowEnds
    if (early) {
      const r = await cli(['attribution', 'finalize', receipts.quiet.id], key, 0)
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/ChallengeWindowOpen/)
    }
    await waitFor(
      async () => (await pubs[0]!.getBlock()).timestamp > windowEnds,
      (WINDOW + 60) * 1000,
      'a block after the challenge window',
    )
    const r = await cli(['attribution', 'finalize', receipts.quiet.id], key, 2)
    expect(r.code, r.stderr).toBe(0)
    const states = await everyNode(r.json.tx, async (p, blockNumber) => ({
      bob: await getClaimable(p, { holder: BOB.address, blockNumber }),
      challenge: (await getChallenge(p, { receiptId: receipts.quiet.id, blockNumber })).state,
    }))
    for (const s of states) expect(s).toEqual(states[0])
    expect(states[0]!.challenge).toBe(3)
    expect(states[0]!.bob).toBeGreaterThan(bobBefore)
    // Too late to challenge it now.
    const late = await cli(['attribution', 'challenge', receipts.quiet.id], key, 1)
    expect(late.code).not.toBe(0)
    expect(late.stderr).toMatch(/ReceiptNotPending|ChallengeWindowClosed/)
  }, 240_000)
})
