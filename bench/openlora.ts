/**
 * OpenLoRA provider benchmark (issue 19): `node --expose-gc --import tsx bench/openlora.ts [--quick]`.
 * The real provider (`OpenLoraProvider` + its HTTP server, as `openledger provider serve --base B`
 * runs them) on an in-process dev chain: one base model (`tiny`; `micro` with --quick), one datanet
 * of fables, 100 LoRA adapters fine-tuned on it (one step each, distinct seeds) and registered.
 * For 1, 20 and 100 served adapters, requests go round-robin over them, one at a time, through
 * `POST /v1/completions` (32 tokens, span attribution, signed receipt), with 32 adapters resident
 * (so 100 adapters exercise eviction and reload): answers/s and p50 latency. Then, with every
 * adapter resident, the provider's memory per additional resident adapter (heap + array buffers).
 * Writes bench/results/openlora.json. Single-threaded by design, like the provider.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  approveContribution,
  contribute,
  createDatanet,
  inlineContent,
  publishVersion,
} from '@openledger/attribution/sdk'
import { parseGenesis } from '@openledger/evm-runtime'
import {
  ArtifactStore,
  baseRecipe,
  DEFAULT_LORA,
  initLora,
  loadSotuCorpus,
  trainBase,
} from '@openledger/modelfactory'
import { buildDevGenesis, hex, OpenLedgerNode, silentLogger } from '@openledger/node'
import {
  type ChainContext,
  connect,
  findLog,
  OpenLoraProvider,
  prepareAdapterJob,
  registerAdapterOnChain,
  registerBaseOnChain,
  requireWallet,
  runAdapterTraining,
  sendAndWait,
  serveOpenLora,
} from '@openledger/payable'
import type { Hex } from 'viem'

const quick = process.argv.includes('--quick')
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const FABLES = join(ROOT, 'test/fixtures/corpus/aesop')
const ADAPTERS = 100
const RESIDENT = 32
const PROMPTS = ['The Fox said', 'A Lion was awakened', 'The Hare laughed at', 'Slow but steady']

const gc = (globalThis as { gc?: () => void }).gc
const heap = () => {
  gc?.()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

async function send(
  c: ChainContext,
  what: string,
  f: (w: ReturnType<typeof requireWallet>['wallet']) => Promise<Hex>,
) {
  return sendAndWait(c, what, f(requireWallet(c).wallet))
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ol-bench-openlora-'))
  const { json, accounts } = await buildDevGenesis({ accounts: 3 })
  const node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log: silentLogger(),
  })
  const keys = accounts.map((a) => hex(a.privateKey) as Hex)
  const [owner, provider, contributor] = await Promise.all(keys.map((k) => connect(node.rpcUrl, k)))
  const store = new ArtifactStore(join(work, 'artifacts'))
  const preset = quick ? 'micro' : 'tiny'
  const out: Record<string, unknown> = { date: new Date().toISOString(), quick, preset, cpus: cpus().length }
  try {
    // A datanet of fables, one version.
    const created = await send(owner, 'create', (w) =>
      createDatanet(w, { name: 'fables', metadataURI: '', open: true, curators: [] }),
    )
    const datanetId = findLog(created, 'DatanetCreated').datanetId as bigint
    for (const f of readdirSync(FABLES).filter((f) => f !== 'spam.txt')) {
      const m = await send(contributor!, 'contribute', (w) =>
        contribute(w, { datanetId, metadataURI: '', ...inlineContent(readFileSync(join(FABLES, f))) }),
      )
      const contributionId = findLog(m, 'ContributionSubmitted').contributionId as bigint
      await send(owner, 'approve', (w) =>
        approveContribution(w, { datanetId, contributionId, weight: 1000n }),
      )
    }
    await send(owner, 'publish', (w) => publishVersion(w, { datanetId }))
    const refs = [{ datanetId, version: 1n }]

    // The base model: the serving shape matters, not its quality (a few pre-training steps).
    const base = trainBase(baseRecipe(preset, { steps: 2 }), loadSotuCorpus({ maxDocs: 20 }))
    const baseHash = await store.put(base.artifact)
    const baseModelId = await registerBaseOnChain(owner, base, {
      name: `bench ${preset}`,
      artifactURI: pathToFileURL(store.path(baseHash)).toString(),
    })
    const ids: bigint[] = []
    const t0 = performance.now()
    for (let i = 0; i < ADAPTERS; i++) {
      const job = await prepareAdapterJob(owner, store, {
        baseModelId,
        datanets: refs,
        lora: DEFAULT_LORA,
        schedule: { steps: 1, batch: 2, lr: 1e-2, warmup: 0, seed: String(i + 1) },
      })
      const t = runAdapterTraining(job.config, job.base.artifact, job.records)
      const hash = await store.put(t.artifact)
      ids.push(
        await registerAdapterOnChain(owner, t, {
          name: `bench adapter ${i}`,
          baseModelId,
          datanets: refs,
          artifactURI: pathToFileURL(store.path(hash)).toString(),
          provider: provider.account!.address,
          minFeePerInference: 10n ** 15n,
          ownerShareBps: 2000,
        }),
      )
    }
    console.error(
      `${ADAPTERS} adapters trained and registered in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )

    const answers = quick ? 40 : 200
    const serving: Record<string, unknown> = {}
    for (const n of [1, 20, 100]) {
      const p = await OpenLoraProvider.load(
        { ...provider, account: undefined, wallet: undefined },
        {
          baseModelId,
          adapters: ids.slice(0, n),
          privateKey: keys[1],
          store: new ArtifactStore(join(work, `provider-${n}`)),
          resident: RESIDENT,
        },
      )
      const server = await serveOpenLora(p)
      const ask = async (q: number) => {
        const res = await fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: String(ids[q % n]),
            prompt: PROMPTS[q % PROMPTS.length],
            max_tokens: 32,
            seed: q,
          }),
        })
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
        await res.json()
      }
      await ask(0) // first request: corpus rebuilt from chain and span index built
      const lat: number[] = []
      const s0 = performance.now()
      for (let q = 1; q <= answers; q++) {
        const a0 = performance.now()
        await ask(q)
        lat.push(performance.now() - a0)
      }
      const secs = (performance.now() - s0) / 1000
      lat.sort((a, b) => a - b)
      const st = p.stats()
      serving[`adapters=${n}`] = {
        answersPerSecond: answers / secs,
        p50ms: lat[Math.floor(lat.length / 2)],
        p99ms: lat[Math.floor(lat.length * 0.99)],
        loads: st.loads,
        evictions: st.evictions,
      }
      console.error(`adapters=${n}: ${JSON.stringify(serving[`adapters=${n}`])}`)
      await server.close()
    }
    out.serving = serving

    // Memory per resident adapter: every adapter resident, heap growth from 1 to 100 loaded.
    const p = await OpenLoraProvider.load(
      { ...provider, account: undefined, wallet: undefined },
      {
        baseModelId,
        adapters: ids,
        privateKey: keys[1],
        store: new ArtifactStore(join(work, 'provider-mem')),
        resident: ADAPTERS,
      },
    )
    const server = await serveOpenLora(p)
    const touch = (id: bigint) =>
      fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: String(id), prompt: 'The', max_tokens: 1 }),
      }).then((r) => r.json())
    await touch(ids[0] as bigint)
    const h1 = heap()
    for (const id of ids.slice(1)) await touch(id)
    const h100 = heap()
    await server.close()
    out.memory = {
      gc: gc !== undefined,
      bytesPerResidentAdapter: Math.round((h100 - h1) / (ADAPTERS - 1)),
      adapterParameterBytes: initLora(base.checkpoint.config, DEFAULT_LORA, 1n).byteLength,
    }
    out.loadavg = loadavg()
    console.log(JSON.stringify(out, null, 2))
    const dir = join(ROOT, 'bench/results')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'openlora.json'), `${JSON.stringify(out, null, 2)}\n`)
  } finally {
    await node.close()
    await rm(work, { recursive: true, force: true })
  }
}

await main()
