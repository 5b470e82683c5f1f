/** Payable AI off-chain side against an in-process dev chain: chain reader, built-in model,
 * trainer, provider HTTP service (built-in and upstream), settlement and verification. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  approveContribution,
  contribute,
  createDatanet,
  getClaimable,
  inlineContent,
  publishVersion,
  referencedContent,
  signInferenceReceipt,
} from '@openledger/attribution/sdk'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, hex, OpenLedgerNode, silentLogger } from '@openledger/node'
import {
  askProvider,
  type ChainContext,
  checkAnswer,
  connect,
  explainSettlement,
  findLog,
  lmTokens,
  loadPrivateKey,
  NgramModel,
  Provider,
  type ProviderServer,
  readCorpus,
  readDatanetVersionRecords,
  receiptFromJson,
  receiptToJson,
  registerModelOnChain,
  requireWallet,
  sendAndWait,
  serveProvider,
  settleAnswer,
  trainFromChain,
  verifyReceipt,
  writeArtifacts,
} from '@openledger/payable'
import { type Hex, keccak256, stringToBytes } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const FOX =
  'A famished Fox saw some clusters of ripe black grapes hanging from a trellised vine. She resorted to all her tricks to get at them, but wearied herself in vain.'
const CROW =
  'A Crow perishing with thirst saw a pitcher, and hoping to find water, flew to it with delight. He dropped stones one by one with his beak into the pitcher.'
const GRASSHOPPER =
  'A Grasshopper, perishing with famine, passed by and earnestly begged for a little food. They said: you must dance supperless to bed in the winter.'
const REFERENCED =
  'Early to bed, and early to rise, makes a man healthy, wealthy, and wise. Haste makes waste.'

let node: OpenLedgerNode
let work: string
const ctx: ChainContext[] = []
let datanetA: bigint
let datanetB: bigint
let modelId: bigint
let provider: Provider
let server: ProviderServer
let artifactPath: string

async function tx(
  i: number,
  what: string,
  f: (w: ReturnType<typeof requireWallet>['wallet']) => Promise<Hex>,
) {
  return sendAndWait(ctx[i]!, what, f(requireWallet(ctx[i]!).wallet))
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ol-payable-'))
  const { json, accounts } = await buildDevGenesis({ accounts: 6 })
  node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log: silentLogger(),
  })
  for (const a of accounts) ctx.push(await connect(node.rpcUrl, hex(a.privateKey) as Hex))
  // Datanet A: two inline contributions (Alice, Bob) and one by Carol approved later (not in v1).
  const created = await tx(0, 'create', (w) =>
    createDatanet(w, { name: 'Fables', metadataURI: '', open: true, curators: [] }),
  )
  datanetA = findLog(created, 'DatanetCreated').datanetId as bigint
  for (const [i, text] of [
    [1, FOX],
    [2, CROW],
  ] as const) {
    const m = await tx(i, 'contribute', (w) =>
      contribute(w, { datanetId: datanetA, metadataURI: '', ...inlineContent(stringToBytes(text)) }),
    )
    const contributionId = findLog(m, 'ContributionSubmitted').contributionId as bigint
    await tx(0, 'approve', (w) =>
      approveContribution(w, { datanetId: datanetA, contributionId, weight: 1000n }),
    )
  }
  await tx(0, 'publish', (w) => publishVersion(w, { datanetId: datanetA }))
  const late = await tx(3, 'contribute', (w) =>
    contribute(w, { datanetId: datanetA, metadataURI: '', ...inlineContent(stringToBytes(GRASSHOPPER)) }),
  )
  await tx(0, 'approve', (w) =>
    approveContribution(w, {
      datanetId: datanetA,
      contributionId: findLog(late, 'ContributionSubmitted').contributionId as bigint,
      weight: 1000n,
    }),
  )
  // Datanet B: one contribution referenced by hash; its bytes live in a content directory.
  const b = await tx(0, 'create', (w) =>
    createDatanet(w, { name: 'Sayings', metadataURI: '', open: true, curators: [] }),
  )
  datanetB = findLog(b, 'DatanetCreated').datanetId as bigint
  const ref = await tx(3, 'contribute', (w) =>
    contribute(w, {
      datanetId: datanetB,
      metadataURI: 'ipfs://sayings',
      ...referencedContent(stringToBytes(REFERENCED)),
    }),
  )
  await tx(0, 'approve', (w) =>
    approveContribution(w, {
      datanetId: datanetB,
      contributionId: findLog(ref, 'ContributionSubmitted').contributionId as bigint,
      weight: 700n,
    }),
  )
  await tx(0, 'publish', (w) => publishVersion(w, { datanetId: datanetB }))
  await writeFile(join(work, 'sayings.txt'), REFERENCED)

  const trained = await trainFromChain(ctx[4]!, {
    datanets: [
      { datanetId: datanetA, version: 1n },
      { datanetId: datanetB, version: 1n },
    ],
    contentDir: work,
  })
  const written = await writeArtifacts(trained, join(work, 'model'))
  artifactPath = written.artifactPath
  ;({ modelId } = await registerModelOnChain(ctx[4]!, {
    name: 'test model',
    baseModel: 'openledger/ngram-v1',
    datanets: [
      { datanetId: datanetA, version: 1n },
      { datanetId: datanetB, version: 1n },
    ],
    trainingConfigHash: trained.trainingConfigHash,
    trainingLogHash: trained.trainingLogHash,
    artifactHash: trained.artifactHash,
    artifactURI: written.artifactURI,
    provider: ctx[5]!.account!.address,
    minFeePerInference: 10n ** 15n,
    ownerShareBps: 2000,
  }))
  provider = await Provider.load(await connect(node.rpcUrl), {
    modelId,
    privateKey: hex((await buildDevGenesis({ accounts: 6 })).accounts[5]!.privateKey) as Hex,
    contentDir: work,
  })
  server = await serveProvider(provider)
}, 60_000)

afterAll(async () => {
  await server?.close()
  await node?.close()
  await rm(work, { recursive: true, force: true })
})

describe('chain reader', () => {
  it('rebuilds exactly the approved records of a version, inline content from calldata', async () => {
    const v1 = await readDatanetVersionRecords(ctx[0]!, datanetA, 1n)
    expect(v1.records.map((r) => r.text)).toEqual([FOX, CROW])
    expect(v1.records.every((r) => r.source === 'calldata' && r.txHash !== undefined)).toBe(true)
    // The late approval is not part of version 1.
    expect(v1.count).toBe(2n)
  })

  it('needs the content of by-hash contributions and checks it against the hash', async () => {
    await expect(readDatanetVersionRecords(ctx[0]!, datanetB, 1n)).rejects.toThrow(
      /not on chain and was not found in --content-dir nor at ipfs:\/\/sayings/,
    )
    const dir = await mkdtemp(join(tmpdir(), 'ol-content-'))
    try {
      await writeFile(join(dir, 'wrong.txt'), `${REFERENCED} (edited)`)
      await expect(readDatanetVersionRecords(ctx[0]!, datanetB, 1n, { contentDir: dir })).rejects.toThrow(
        /not found/,
      )
      await writeFile(join(dir, 'right.txt'), REFERENCED)
      const v = await readDatanetVersionRecords(ctx[0]!, datanetB, 1n, { contentDir: dir })
      expect(v.records[0]).toMatchObject({ text: REFERENCED, source: 'content-dir', weight: 700n })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses unknown versions and two versions of one datanet', async () => {
    await expect(readDatanetVersionRecords(ctx[0]!, datanetA, 9n)).rejects.toThrow(
      /datanet 1 version 9: reverted: VersionNotFound/,
    )
    await expect(
      readCorpus(ctx[0]!, [
        { datanetId: datanetA, version: 1n },
        { datanetId: datanetA, version: 1n },
      ]),
    ).rejects.toThrow(/one version per datanet/)
  })
})

describe('built-in n-gram model', () => {
  it('is deterministic: same records → same artifact bytes; same prompt and seed → same output', () => {
    const recs = [
      { datanetId: 1n, contributionId: 2n, text: CROW },
      { datanetId: 1n, contributionId: 1n, text: FOX },
    ]
    const a = NgramModel.train(recs)
    const b = NgramModel.train([...recs].reverse())
    expect(b.artifactHash).toBe(a.artifactHash)
    const reloaded = NgramModel.fromBytes(a.bytes)
    const out = a.generate('A famished Fox saw', { maxTokens: 20, seed: 7n })
    expect(reloaded.generate('A famished Fox saw', { maxTokens: 20, seed: 7n })).toBe(out)
    expect(out.startsWith(' some clusters of ripe black grapes')).toBe(true)
    expect(a.generate('A famished Fox saw', { maxTokens: 5, temperature: 0 })).toBe(
      ' some clusters of ripe black',
    )
    expect(lmTokens('Hi, you.')).toEqual(['Hi', ',', ' you', '.'])
  })

  it('refuses bad artifacts and orders', () => {
    expect(() => NgramModel.fromBytes(stringToBytes('{"format":"other"}'))).toThrow(/not an ol-ngram-v1/)
    expect(() => NgramModel.fromBytes(stringToBytes('nope'))).toThrow(/not JSON/)
    expect(() => NgramModel.train([{ datanetId: 1n, contributionId: 1n, text: FOX }], { order: 1 })).toThrow(
      /order/,
    )
  })

  it('training from chain is reproducible: retraining gives the registered hashes', async () => {
    const again = await trainFromChain(ctx[0]!, {
      datanets: [
        { datanetId: datanetA, version: 1n },
        { datanetId: datanetB, version: 1n },
      ],
      contentDir: work,
    })
    expect(again.artifactHash).toBe(provider.model.artifactHash)
    expect(again.trainingConfigHash).toBe(provider.model.trainingConfigHash)
    expect(again.trainingLogHash).toBe(provider.model.trainingLogHash)
  })
})

describe('provider, settlement and verification', () => {
  it('answers, signs a receipt the chain accepts, and the split matches the claimables', async () => {
    const user = ctx[3]!
    const before = await Promise.all(
      [1, 2, 4].map((i) => getClaimable(user.client, { holder: ctx[i]!.account!.address })),
    )
    const answer = await askProvider(server.url, {
      prompt: 'A famished Fox saw',
      maxTokens: 24,
      payer: user.account!.address,
    })
    expect(answer.output).toContain('clusters of ripe black grapes')
    expect(answer.evidence?.spans.length).toBeGreaterThan(0)
    await checkAnswer(user, answer, 10n ** 18n)
    await expect(checkAnswer(user, answer, 1n)).rejects.toThrow(/more than --max-fee/)
    const mined = await settleAnswer(user, answer)
    const report = await explainSettlement(user, mined, answer.evidence)
    expect(report.receiptId).toBe(answer.receiptId)
    // Exactly, in units of 2^-64 wei (shareholders of a version pool earn sub-wei amounts).
    expect(report.payouts.reduce((a, p) => a + (p.scaled ?? p.amount << 64n), report.carried)).toBe(
      report.fee << 64n,
    )
    const alice = report.payouts.find((p) => p.role === 'contributor')!
    expect(alice.account).toBe(ctx[1]!.account!.address)
    expect(alice.spans.some((s) => s.includes('ripe black grapes'))).toBe(true)
    const after = await Promise.all(
      [1, 2, 4].map((i) => getClaimable(user.client, { holder: ctx[i]!.account!.address })),
    )
    const earned = (i: number) =>
      report.payouts.filter((p) => p.account === ctx[i]!.account!.address).reduce((a, p) => a + p.amount, 0n)
    expect(after.map((a, j) => a - before[j]!)).toEqual([earned(1), earned(2), earned(4)])

    const ok = await verifyReceipt(user, answer.receiptId, answer.output, { contentDir: work })
    expect(ok.reasons).toEqual([])
    expect(ok.ok).toBe(true)
    const changed = await verifyReceipt(user, answer.receiptId, `${answer.output}!`, { contentDir: work })
    expect(changed.ok).toBe(false)
    expect(changed.reasons.join('\n')).toMatch(/OUTPUT_HASH_MISMATCH/)
    expect(changed.reasons.join('\n')).toMatch(/COMMITMENT_MISMATCH/)
  })

  it('verification catches a provider-signed receipt with tampered weights', async () => {
    const user = ctx[3]!
    const answer = await askProvider(server.url, { prompt: 'A Crow perishing with thirst', maxTokens: 16 })
    const entry = answer.receipt.entries[0]!
    // The provider key signs a receipt moving weight between datanets: the chain accepts it (it
    // only checks shape and signature), the verifier does not.
    const other = entry.datanetId === datanetA ? datanetB : datanetA
    const tampered = {
      ...answer.receipt,
      nonce: answer.receipt.nonce + 1n,
      entries: [
        {
          datanetId: datanetA,
          datanetVersion: 1n,
          weight: 500_000,
          contributionIds: [],
          contributionWeights: [],
        },
        {
          datanetId: datanetB,
          datanetVersion: 1n,
          weight: 500_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ].sort((a, b) => (a.datanetId < b.datanetId ? -1 : 1)),
    }
    expect(other).toBeDefined()
    const signature = await signInferenceReceipt(hex(ctxKey(5)) as Hex, tampered, user.chainId)
    const mined = await settleAnswer(user, { ...answer, receipt: tampered, signature })
    const receiptId = findLog(mined, 'InferenceSettled').receiptId as Hex
    const v = await verifyReceipt(user, receiptId, answer.output, { contentDir: work })
    expect(v.ok).toBe(false)
    expect(v.reasons.join('\n')).toMatch(/ENTRIES_MISMATCH: entry 0/)
    // A receipt file that is not the settled one is refused too.
    const wrongFile = await verifyReceipt(user, receiptId, answer.output, {
      contentDir: work,
      receipt: answer.receipt,
    })
    expect(wrongFile.reasons.join('\n')).toMatch(/RECEIPT_MISMATCH/)
    await expect(verifyReceipt(user, `0x${'ab'.repeat(32)}`, 'x')).rejects.toThrow(/ReceiptNotFound/)
  })

  it('refuses bad requests with clear 4xx errors', async () => {
    const post = (path: string, body: string) =>
      fetch(new URL(path, server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const cases: [string, string, number, RegExp][] = [
      ['/v1/infer', 'not json', 400, /not valid JSON/],
      ['/v1/infer', '[]', 400, /JSON object/],
      ['/v1/infer', '{"prompt":5}', 400, /prompt must be a string/],
      ['/v1/infer', '{"prompt":"x","maxTokens":0}', 400, /maxTokens must be an integer/],
      ['/v1/infer', '{"prompt":"x","payer":"0x12"}', 400, /payer must be an address/],
      ['/v1/infer', JSON.stringify({ prompt: 'x'.repeat(70_000) }), 413, /larger than/],
      ['/v1/chat/completions', '{"messages":[]}', 400, /non-empty array/],
      ['/v1/chat/completions', '{"messages":[{"role":"robot","content":"x"}]}', 400, /role/],
      ['/v1/nothing', '{}', 404, /no route/],
    ]
    for (const [path, body, status, msg] of cases) {
      const res = await post(path, body)
      expect(res.status, `${path} ${body.slice(0, 40)}`).toBe(status)
      expect(((await res.json()) as any).error.message).toMatch(msg)
    }
    expect((await fetch(new URL('/v1/infer', server.url))).status).toBe(405)
    const info = await (await fetch(new URL('/v1/model', server.url))).json()
    expect(info).toMatchObject({ modelId: modelId.toString(), mode: 'builtin-ngram' })
  })

  it('serves OpenAI-style chat completions and wraps an upstream endpoint', async () => {
    const chat = await fetch(new URL('/v1/chat/completions', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'A famished Fox saw' }], max_tokens: 8 }),
    })
    const body = (await chat.json()) as any
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0].message.content).toContain('clusters')
    expect(receiptFromJson(body.openledger.receipt).modelId).toBe(modelId)

    // A fake OpenAI-compatible upstream that quotes the corpus.
    let seen: any
    const upstream = createServer((req, res) => {
      let data = ''
      req.on('data', (d) => {
        data += d
      })
      req.on('end', () => {
        seen = { url: req.url, auth: req.headers.authorization, body: JSON.parse(data) }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `Quote: ${CROW}` } }] }))
      })
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
    const port = (upstream.address() as AddressInfo).port
    const wrapped = await Provider.load(await connect(node.rpcUrl), {
      modelId,
      privateKey: hex(ctxKey(5)) as Hex,
      contentDir: work,
      upstream: { url: `http://127.0.0.1:${port}/v1`, model: 'llama', apiKey: 'sk-test' },
    })
    const s2 = await serveProvider(wrapped)
    try {
      const answer = await askProvider(s2.url, { prompt: 'Tell me about the crow', maxTokens: 32 })
      expect(seen).toMatchObject({
        url: '/v1/chat/completions',
        auth: 'Bearer sk-test',
        body: { model: 'llama', max_tokens: 32 },
      })
      expect(answer.output).toBe(`Quote: ${CROW}`)
      const named = answer.receipt.entries.flatMap((e) => e.contributionIds)
      expect(named).toEqual([2n])
      // /v1/infer commits to the prompt; the upstream got it as one user message.
      expect(answer.receipt.inputHash).toBe(keccak256(stringToBytes('Tell me about the crow')))
      expect(seen.body.messages).toEqual([{ role: 'user', content: 'Tell me about the crow' }])
    } finally {
      await s2.close()
      upstream.close()
    }
  })

  it('refuses to serve with a key that is not the model provider', async () => {
    await expect(
      Provider.load(await connect(node.rpcUrl), {
        modelId,
        privateKey: hex(ctxKey(0)) as Hex,
        contentDir: work,
      }),
    ).rejects.toThrow(/is not model 1's provider/)
    await writeFile(join(work, 'other.json'), '{}')
    await expect(
      Provider.load(await connect(node.rpcUrl), {
        modelId,
        privateKey: hex(ctxKey(5)) as Hex,
        contentDir: work,
        artifactPath: join(work, 'other.json'),
      }),
    ).rejects.toThrow(/does not match model 1's artifact hash/)
    expect(artifactPath).toMatch(/model\.json$/)
  })
})

describe('keys and receipts JSON', () => {
  it('loads keys from a file or the environment and never echoes them', async () => {
    const f = join(work, 'key')
    await writeFile(f, `${'11'.repeat(32)}\n`)
    expect(await loadPrivateKey(f)).toBe(`0x${'11'.repeat(32)}`)
    await writeFile(f, 'secret-not-a-key')
    const err = await loadPrivateKey(f).catch((e: Error) => e)
    expect(String(err)).toMatch(/does not hold a 32-byte hex private key/)
    expect(String(err)).not.toContain('secret')
    expect(await loadPrivateKey(undefined, { OPENLEDGER_PRIVATE_KEY: `0x${'22'.repeat(32)}` })).toBe(
      `0x${'22'.repeat(32)}`,
    )
    await expect(
      loadPrivateKey(undefined, { OPENLEDGER_PRIVATE_KEY: `0x${'00'.repeat(32)}` }),
    ).rejects.toThrow(/valid secp256k1/)
    await expect(loadPrivateKey(join(work, 'missing'))).rejects.toThrow(/cannot read key file .*ENOENT/)
  })

  it('round-trips receipts through JSON and names the bad field', () => {
    const r = {
      modelId: 1n,
      modelVersion: 1,
      inputHash: `0x${'01'.repeat(32)}` as Hex,
      outputHash: `0x${'02'.repeat(32)}` as Hex,
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [3n],
          contributionWeights: [1_000_000],
        },
      ],
      nonce: 5n,
      deadline: 99n,
      payer: '0x0000000000000000000000000000000000000000' as Hex,
      fee: 10n,
      attributionCommitment: `0x${'03'.repeat(32)}` as Hex,
    }
    expect(receiptFromJson(JSON.parse(JSON.stringify(receiptToJson(r))))).toEqual(r)
    expect(() => receiptFromJson({ ...receiptToJson(r), fee: '-1' })).toThrow(/receipt.fee/)
    expect(() => receiptFromJson({ ...receiptToJson(r), entries: [{}] })).toThrow(/entries\[0\].datanetId/)
  })
})

function ctxKey(i: number): Uint8Array {
  return keyOf[i]!
}
const keyOf: Uint8Array[] = []
beforeAll(async () => {
  const { accounts } = await buildDevGenesis({ accounts: 6 })
  for (const a of accounts) keyOf.push(a.privateKey)
})
