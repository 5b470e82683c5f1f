/**
 * `openledger demo`: the whole Payable AI loop on a fresh in-process dev chain with the shipped
 * public-domain corpus — contributors fill two datanets, a curator approves (and rejects spam) and
 * publishes versions, a model is trained on exactly those versions and registered, a provider
 * serves it, a user pays for a few inferences, and the payouts (with the spans that earned them)
 * are checked against the on-chain claimables; finally every receipt is verified from chain data.
 * Long file: one linear script of the demo's steps; splitting it would scatter a story read top to bottom.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SpanIndex } from '@openledger/attribution'
import {
  approveContribution,
  contribute,
  createDatanet,
  getClaimable,
  inlineContent,
  publishVersion,
  rejectContribution,
} from '@openledger/attribution/sdk'
import { parseGenesis } from '@openledger/evm-runtime'
import {
  askProvider,
  BUILTIN_BASE_MODEL,
  type ChainContext,
  checkAnswer,
  connect,
  explainSettlement,
  findLog,
  open,
  PayableError,
  Provider,
  readCorpus,
  registerModelOnChain,
  requireWallet,
  runModelFactoryDemo,
  type SettlementReport,
  sendAndWait,
  serveProvider,
  settleAnswer,
  shorten,
  table,
  toJson,
  trainFromChain,
  verifyReceipt,
  writeArtifacts,
} from '@openledger/payable'
import { STAKING_ADDRESS, stakingAbi } from '@openledger/staking'
import type { Address, Hex } from 'viem'
import { buildDevGenesis } from '../genesis/dev-genesis.ts'
import { silentLogger } from '../logger.ts'
import { OpenLedgerNode } from '../node.ts'
import { hex } from '../util/bytes.ts'

export const SHIPPED_CORPUS = fileURLToPath(new URL('../../../../test/fixtures/corpus/', import.meta.url))

interface Manifest {
  datanets: {
    name: string
    metadataURI?: string
    contributions: { file: string; contributor: number; weight?: number; reject?: boolean }[]
  }[]
  prompts: string[]
}

const NAMES = ['Curator', 'Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace']
const CURATOR = 0
const MODEL_OWNER = 5
const PROVIDER = 6
const USER = 7

async function loadManifest(dir: string): Promise<{ manifest: Manifest; texts: Map<string, Uint8Array> }> {
  let manifest: Manifest
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
  } catch (err) {
    throw new PayableError(`cannot read ${join(dir, 'manifest.json')}: ${(err as Error).message}`)
  }
  if (
    !Array.isArray(manifest.datanets) ||
    manifest.datanets.length === 0 ||
    !Array.isArray(manifest.prompts)
  ) {
    throw new PayableError('corpus manifest needs "datanets" and "prompts"')
  }
  const texts = new Map<string, Uint8Array>()
  for (const d of manifest.datanets) {
    for (const c of d.contributions) {
      if (!Number.isInteger(c.contributor) || c.contributor < 1 || c.contributor > 4) {
        throw new PayableError(`manifest: contributor of ${c.file} must be 1…4`)
      }
      texts.set(c.file, new Uint8Array(await readFile(join(dir, c.file))))
    }
  }
  return { manifest, texts }
}

export interface DemoOptions {
  corpusDir?: string
  json?: boolean
  /** Where human output goes (default stdout). */
  write?: (text: string) => void
}

export interface DemoWorld {
  node: OpenLedgerNode
  ctx: (i: number) => ChainContext
  addr: (i: number) => Address
  label: (a: string) => string
  datanetRefs: { datanetId: bigint; version: bigint; name: string }[]
  modelId: bigint
  fee: bigint
  provider: Provider
  server: Awaited<ReturnType<typeof serveProvider>>
  manifest: Manifest
  trained: Awaited<ReturnType<typeof trainFromChain>>
  /** Dev account keys (index = role) and the demo's temporary directory. */
  keys: Hex[]
  work: string
  close(): Promise<void>
}

/** Steps 1–3 of the demo on a fresh in-process dev chain: datanets, curation, versions, training,
 * registration and a provider on an ephemeral port (also used by the provider benchmark). */
export async function buildDemoWorld(
  opts: { corpusDir?: string; say?: (line?: string) => void } = {},
): Promise<DemoWorld> {
  const say = opts.say ?? (() => {})
  const { manifest, texts } = await loadManifest(opts.corpusDir ?? SHIPPED_CORPUS)
  const { json, accounts } = await buildDevGenesis({ accounts: NAMES.length })
  const work = await mkdtemp(join(tmpdir(), 'openledger-demo-'))
  const node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log: silentLogger(),
  })
  let server: Awaited<ReturnType<typeof serveProvider>> | undefined
  const close = async () => {
    await server?.close()
    await node.close()
    await rm(work, { recursive: true, force: true })
  }
  try {
    const keys = accounts.map((a) => hex(a.privateKey) as Hex)
    const ctxs: ChainContext[] = []
    for (const k of keys) ctxs.push(await connect(node.rpcUrl, k))
    const addr = (i: number) => (ctxs[i] as ChainContext).account?.address as Address
    const labels = new Map<string, string>(NAMES.map((n, i) => [addr(i).toLowerCase(), n]))
    const ctx = (i: number) => ctxs[i] as ChainContext
    const label = (a: string) => labels.get(a.toLowerCase()) ?? a
    say(`OpenLedger demo — ephemeral dev chain ${node.rpcUrl} (chain id ${ctx(0).chainId})`)
    say()
    // 1. Datanets: contributions inline in calldata, curation, versions.
    const datanetRefs: { datanetId: bigint; version: bigint; name: string }[] = []
    labels.set('0x4f50454e00000000000000000000000000000005', 'Treasury')
    labels.set('0x4f50454e00000000000000000000000000000004', 'Stakers (Staking module)')
    for (const d of manifest.datanets) {
      const created = await sendAndWait(
        ctx(CURATOR),
        'createDatanet',
        createDatanet(requireWallet(ctx(CURATOR)).wallet, {
          name: d.name,
          metadataURI: d.metadataURI ?? '',
          open: true,
          curators: [],
        }),
      )
      const datanetId = findLog(created, 'DatanetCreated').datanetId as bigint
      say(`Datanet ${datanetId} "${d.name}" created by ${NAMES[CURATOR]}`)
      const rows: string[][] = []
      for (const c of d.contributions) {
        const who = ctx(c.contributor)
        const mined = await sendAndWait(
          who,
          'contribute',
          contribute(requireWallet(who).wallet, {
            datanetId,
            metadataURI: c.file,
            ...inlineContent(texts.get(c.file) as Uint8Array),
          }),
        )
        const contributionId = findLog(mined, 'ContributionSubmitted').contributionId as bigint
        const curator = requireWallet(ctx(CURATOR)).wallet
        if (c.reject) {
          await sendAndWait(
            ctx(CURATOR),
            'rejectContribution',
            rejectContribution(curator, { datanetId, contributionId }),
          )
        } else {
          await sendAndWait(
            ctx(CURATOR),
            'approveContribution',
            approveContribution(curator, { datanetId, contributionId, weight: BigInt(c.weight ?? 1000) }),
          )
        }
        rows.push([
          String(contributionId),
          NAMES[c.contributor] as string,
          c.file,
          c.reject ? 'rejected' : `approved, ${c.weight ?? 1000} shares`,
        ])
      }
      const published = await sendAndWait(
        ctx(CURATOR),
        'publishVersion',
        publishVersion(requireWallet(ctx(CURATOR)).wallet, { datanetId }),
      )
      const v = findLog(published, 'VersionPublished')
      datanetRefs.push({ datanetId, version: v.version as bigint, name: d.name })
      say(table(['id', 'contributor', 'content (inline)', 'curation'], rows))
      say(`Published version ${v.version}: ${v.count} contributions, Merkle root ${v.root}`)
      say()
    }

    // 2. ModelFactory: train on exactly those versions, rebuilt from chain, and register.
    const trained = await trainFromChain(ctx(MODEL_OWNER), { datanets: datanetRefs })
    const written = await writeArtifacts(trained, join(work, 'model'))
    const fee = 10n ** 16n
    const { modelId } = await registerModelOnChain(ctx(MODEL_OWNER), {
      name: 'Fables & Sayings n-gram',
      baseModel: BUILTIN_BASE_MODEL,
      datanets: datanetRefs,
      trainingConfigHash: trained.trainingConfigHash,
      trainingLogHash: trained.trainingLogHash,
      artifactHash: trained.artifactHash,
      artifactURI: written.artifactURI,
      provider: addr(PROVIDER),
      minFeePerInference: fee,
      ownerShareBps: 2000,
    })
    say(
      `Model ${modelId} trained by ${NAMES[MODEL_OWNER]} on ${datanetRefs.map((d) => `datanet ${d.datanetId}@${d.version}`).join(' + ')}: ` +
        `${trained.corpus.records.length} records, ${trained.model.tokenCount} tokens, ${trained.model.contextCount} contexts`,
    )
    say(
      `  artifact ${trained.artifactHash}, config ${trained.trainingConfigHash}, log ${trained.trainingLogHash}`,
    )

    // 3. Provider.
    const provider = await Provider.load(connectedReadOnly(ctx(PROVIDER)), {
      modelId,
      privateKey: keys[PROVIDER] as Hex,
    })
    server = await serveProvider(provider)
    say(
      `Provider ${NAMES[PROVIDER]} (${addr(PROVIDER)}) serving model ${modelId} at ${server.url}, fee ${open(fee)}`,
    )
    say()

    return {
      node,
      ctx,
      addr,
      label,
      datanetRefs,
      modelId,
      fee,
      provider,
      server,
      manifest,
      trained,
      keys,
      work,
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

export async function runDemo(opts: DemoOptions = {}): Promise<boolean> {
  const write = opts.write ?? ((t: string) => process.stdout.write(t))
  const say = opts.json ? () => {} : (line = '') => write(`${line}\n`)
  const world = await buildDemoWorld({ corpusDir: opts.corpusDir, say })
  const { ctx, addr, label, datanetRefs, modelId, fee, server, manifest, trained } = world
  let closeMf: (() => Promise<void>) | undefined
  try {
    // 4. Inferences, paid by the user.
    const settlements: { prompt: string; output: string; report: SettlementReport; adapter?: bigint }[] = []
    for (const prompt of manifest.prompts) {
      const answer = await askProvider(server.url, { prompt, maxTokens: 40, payer: addr(USER) })
      await checkAnswer(ctx(USER), answer, fee)
      const mined = await settleAnswer(ctx(USER), answer)
      const report = await explainSettlement(ctx(USER), mined, answer.evidence)
      settlements.push({ prompt, output: answer.output, report })
      say(`${NAMES[USER]} asks: ${prompt}`)
      say(`Answer: ${answer.output.trim()}`)
      say(`Receipt ${report.receiptId} settled in block ${report.block}, ${open(report.fee)} split as:`)
      say(
        table(
          ['to', 'role', 'earned', 'earned by'],
          report.payouts.map((p) => [
            label(p.account),
            p.role,
            open(p.amount),
            p.spans.length > 0 ? p.spans.map((s) => `“${shorten(s, 48)}”`).join(' ') : p.why,
          ]),
        ),
      )
      say()
    }

    // 4b. ModelFactory and OpenLoRA: base model, one adapter per datanet, one provider, paid answers.
    const mf = await runModelFactoryDemo(
      {
        ...world,
        prompts: manifest.prompts,
        names: NAMES,
        roles: { owner: MODEL_OWNER, provider: PROVIDER, user: USER },
      },
      say,
    )
    closeMf = mf.close
    settlements.push(...mf.settlements)

    // 5. Payout table vs on-chain claimables (nobody has claimed yet).
    // Exact amounts in units of 2^-64 wei, as the chain accounts shareholders' pro-rata rewards:
    // an account's claimable is its exact total rounded down.
    const earned = new Map<string, bigint>()
    let carried = 0n
    for (const s of settlements) {
      carried += s.report.carried
      for (const p of s.report.payouts) {
        const key = p.account.toLowerCase()
        earned.set(key, (earned.get(key) ?? 0n) + (p.scaled ?? p.amount << 64n))
      }
    }
    const totals = []
    for (const [account, scaled] of [...earned.entries()].sort()) {
      // The stakers' part leaves Attribution for the Staking module's reward pool at the end of
      // each block (the demo chain has no block reward, so the pool is exactly those parts).
      const claimable =
        account === hex(STAKING_ADDRESS)
          ? (
              await ctx(0).client.readContract({
                address: account as Address,
                abi: stakingAbi,
                functionName: 'supply',
              })
            ).rewardPool
          : await getClaimable(ctx(0).client, { holder: account as Address })
      const amount = scaled >> 64n
      totals.push({
        account,
        name: label(account),
        earned: amount,
        earnedScaled: scaled,
        claimable,
        match: amount === claimable,
      })
    }
    const totalFees = settlements.reduce((a, s) => a + s.report.fee, 0n)
    const totalEarned = totals.reduce((a, t) => a + t.earned, 0n)
    const exactTotal = totals.reduce((a, t) => a + t.earnedScaled, 0n) + carried
    say('Payouts of the demo vs on-chain claimables:')
    say(
      table(
        ['account', 'name', 'earned', 'claimable on chain', 'match'],
        totals.map((t) => [t.account, t.name, open(t.earned), open(t.claimable), t.match ? 'yes' : 'NO']),
      ),
    )
    say(
      `Fees paid ${open(totalFees)}, claimable ${open(totalEarned)} (the rest, ${totalFees - totalEarned} wei, ` +
        'is sub-wei remainders owed to holders)',
    )
    say()

    // 6. Verification of every receipt, from chain data only (an independent corpus rebuild).
    const verifier = await readCorpus(ctx(0), datanetRefs)
    const built = { corpus: verifier, index: SpanIndex.build(verifier.records) }
    const verified = []
    for (const s of settlements) {
      // Adapter receipts attribute over their own datanet version: rebuilt from chain for each.
      const v = await verifyReceipt(
        ctx(0),
        s.report.receiptId,
        s.output,
        'adapter' in s ? {} : { corpus: built },
      )
      verified.push({ receiptId: s.report.receiptId, ok: v.ok, reasons: v.reasons })
      say(`verify ${s.report.receiptId}: ${v.ok ? 'OK' : `FAILED ${v.reasons.join('; ')}`}`)
    }
    const ok =
      totals.every((t) => t.match) &&
      exactTotal === totalFees << 64n &&
      verified.every((v) => v.ok) &&
      mf.adapters.every((a) => a.verified) &&
      mf.provider.adaptersServed === mf.adapters.length
    say()
    say(ok ? 'Demo complete: every wei accounted for and every receipt verified.' : 'Demo FAILED: see above.')
    if (opts.json) {
      write(
        `${toJson({
          ok,
          chainId: ctx(0).chainId,
          datanets: datanetRefs,
          model: {
            modelId,
            artifactHash: trained.artifactHash,
            trainingConfigHash: trained.trainingConfigHash,
            trainingLogHash: trained.trainingLogHash,
          },
          inferences: settlements.map((s) => ({
            prompt: s.prompt,
            output: s.output,
            ...(s.adapter === undefined ? {} : { adapter: s.adapter }),
            ...s.report,
          })),
          totals,
          totalFees,
          carried,
          verified,
          baseModelId: mf.baseModelId,
          adapters: mf.adapters,
          provider: { adaptersServed: mf.provider.adaptersServed },
        })}\n`,
      )
    }
    return ok
  } finally {
    await closeMf?.()
    await world.close()
  }
}

/** The provider reads the chain without needing a wallet. */
function connectedReadOnly(c: ChainContext): ChainContext {
  return { ...c, account: undefined, wallet: undefined }
}
