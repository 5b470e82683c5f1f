/**
 * `studio_*` JSON-RPC methods (dev mode with Studio on): what Studio's ModelFactory and inference
 * playground pages need from the node — training jobs in worker threads with their loss curves,
 * answers of an in-process OpenLoRA provider for models served by a dev account, and the
 * recomputation of a settled answer's attribution. The work itself is @openledger/payable's
 * StudioService (loaded on the first call: a node nobody trains on never loads the ML code).
 * Numbers are JSON numbers or 0x quantities; ids and seeds may be either.
 */
import type { StudioService } from '@openledger/payable'
import {
  expectParams,
  invalidInput,
  invalidParams,
  parseAddress,
  parseHash,
  parseIndex,
  type RpcMethods,
  resourceNotFound,
} from '@openledger/rpc'
import { hex } from '../util/bytes.ts'

const LORA_TARGETS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2'] as const

function object(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidParams(`invalid argument ${name}: expected an object`)
  return value as Record<string, unknown>
}

function int(o: Record<string, unknown>, key: string, min: number, max: number, fallback?: number): number {
  const v = o[key]
  if (v === undefined && fallback !== undefined) return fallback
  const n = parseIndex(v, key, max)
  if (n < min) throw invalidParams(`invalid argument ${key}: at least ${min}`)
  return n
}

function seed(o: Record<string, unknown>, key: string): string {
  const v = o[key] ?? '1'
  const s = typeof v === 'number' ? String(v) : v
  if (typeof s !== 'string' || !/^(0|[1-9]\d{0,19})$/.test(s) || BigInt(s) >= 1n << 64n)
    throw invalidParams(`invalid argument ${key}: expected an integer in [0, 2^64)`)
  return s
}

/** Payable errors are the user's (bad request, busy, not served): -32000 with the message. */
async function run<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if ((err as Error).name === 'PayableError') throw invalidInput((err as Error).message)
    throw err
  }
}

export function studioFactoryMethods(service: () => Promise<StudioService>): RpcMethods {
  const jobJson = (s: StudioService, id: number, from: number) => {
    const j = s.job(id)
    if (j === undefined) throw resourceNotFound(`no training job ${id}`)
    return { ...j, lossesFrom: Math.min(from, j.losses.length), losses: j.losses.slice(from) }
  }
  return {
    /** ({preset, steps?, seed?, corpusDocs?}) → job: pre-train a base model. */
    studio_trainBase: async (params) => {
      const [arg] = expectParams(params, 1, 1)
      const o = object(arg, 'request')
      const preset = o.preset ?? 'micro'
      if (preset !== 'micro' && preset !== 'tiny')
        throw invalidParams('invalid argument preset: "micro" or "tiny"')
      const s = await service()
      return run(() =>
        s.trainBase({
          preset,
          steps: o.steps === undefined ? undefined : int(o, 'steps', 1, s.limits.maxSteps),
          seed: seed(o, 'seed'),
          // Document 10 is the first held out (every 20th from it): fewer leave nothing to score.
          corpusDocs: int(o, 'corpusDocs', 11, s.limits.maxCorpusDocs, s.limits.maxCorpusDocs),
        }),
      )
    },
    /** ({baseModelId, datanets: [{datanetId, version}], rank, alpha, targets?, steps, batch, lr, seed}) → job. */
    studio_trainAdapter: async (params) => {
      const [arg] = expectParams(params, 1, 1)
      const o = object(arg, 'request')
      if (!Array.isArray(o.datanets) || o.datanets.length === 0 || o.datanets.length > 16)
        throw invalidParams('invalid argument datanets: 1 to 16 {datanetId, version}')
      const datanets = o.datanets.map((d, i) => {
        const x = object(d, `datanets[${i}]`)
        return {
          datanetId: BigInt(int(x, 'datanetId', 1, Number.MAX_SAFE_INTEGER)),
          version: BigInt(int(x, 'version', 1, 2 ** 32)),
        }
      })
      const lr = o.lr ?? 1e-2
      if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 1e-6 || lr > 0.5)
        throw invalidParams('invalid argument lr: a number in [1e-6, 0.5]')
      let targets: (typeof LORA_TARGETS)[number][] | undefined
      if (o.targets !== undefined) {
        if (
          !Array.isArray(o.targets) ||
          o.targets.length === 0 ||
          !o.targets.every((t) => (LORA_TARGETS as readonly unknown[]).includes(t))
        )
          throw invalidParams(`invalid argument targets: some of ${LORA_TARGETS.join(', ')}`)
        targets = [...new Set(o.targets as (typeof LORA_TARGETS)[number][])]
      }
      const s = await service()
      return run(() =>
        s.trainAdapter({
          baseModelId: BigInt(int(o, 'baseModelId', 1, Number.MAX_SAFE_INTEGER)),
          datanets,
          rank: int(o, 'rank', 1, 64, 4),
          alpha: int(o, 'alpha', 1, 65_535, 8),
          targets,
          steps: int(o, 'steps', 2, s.limits.maxSteps, 200),
          batch: int(o, 'batch', 1, s.limits.maxBatch, 8),
          lr,
          seed: seed(o, 'seed'),
        }),
      )
    },
    /** (modelId) → job: re-run a registered adapter's training and compare its hashes. */
    studio_verifyModel: async (params) => {
      const [id] = expectParams(params, 1, 1)
      const modelId = BigInt(parseIndex(id, 'modelId'))
      const s = await service()
      return run(() => s.verifyModel(modelId))
    },
    /** (jobId, fromStep?) → the job, its losses from `fromStep` (the page polls for new ones). */
    studio_trainingJob: async (params) => {
      const [id, from] = expectParams(params, 1, 2)
      const s = await service()
      return jobJson(s, parseIndex(id, 'jobId'), from === undefined ? 0 : parseIndex(from, 'fromStep'))
    },
    /** ({modelId, prompt, payer, maxTokens?, temperature?, seed?}) → output, signed receipt, evidence. */
    studio_ask: async (params) => {
      const [arg] = expectParams(params, 1, 1)
      const o = object(arg, 'request')
      if (typeof o.prompt !== 'string' || o.prompt.length === 0 || o.prompt.length > 4096)
        throw invalidParams('invalid argument prompt: 1 to 4096 characters')
      const temperature = o.temperature ?? 0.7
      if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2))
        throw invalidParams('invalid argument temperature: a number in [0, 2]')
      const s = await service()
      return run(() =>
        s.ask({
          modelId: BigInt(int(o, 'modelId', 1, Number.MAX_SAFE_INTEGER)),
          prompt: o.prompt as string,
          payer: hex(parseAddress(o.payer, 'payer')),
          maxTokens: int(o, 'maxTokens', 1, s.limits.maxTokens, 48),
          seed: BigInt(int(o, 'seed', 0, Number.MAX_SAFE_INTEGER, 0)),
          temperature,
        }),
      )
    },
    /** (receiptId, output) → {ok, reasons, commitment, entries}: the attribution recomputed. */
    studio_verifyAttribution: async (params) => {
      const [id, output] = expectParams(params, 2, 2)
      const receiptId = hex(parseHash(id, 'receiptId'))
      if (typeof output !== 'string' || output.length > 64 * 1024)
        throw invalidParams('invalid argument output: a string of at most 64 KiB')
      const s = await service()
      return run(() => s.verifyAttribution(receiptId, output))
    },
  }
}

/**
 * The studio_ namespace of a dev node: the service is created on the first call, with its
 * artifact store in `<datadir>/artifacts` (or a temporary directory removed by `close`).
 * `rpcUrl` is set once the node listens (the service reads the chain over it, as the CLI does).
 */
export function studioDevModule(o: {
  accounts: ReadonlyArray<{ address: Uint8Array; privateKey: Uint8Array }>
  datadir?: string
  log?: (line: string) => void
}): { methods: RpcMethods; setRpcUrl(url: string): void; close(): Promise<void> } {
  let rpcUrl: string | undefined
  let service: Promise<StudioService> | undefined
  let temp: string | undefined
  const create = async (): Promise<StudioService> => {
    if (rpcUrl === undefined) throw invalidInput('the node is still starting')
    const [{ StudioService }, { ArtifactStore }, { mkdtemp }, { tmpdir }, { join }] = await Promise.all([
      import('@openledger/payable'),
      import('@openledger/modelfactory'),
      import('node:fs/promises'),
      import('node:os'),
      import('node:path'),
    ])
    let dir: string
    if (o.datadir !== undefined) dir = join(o.datadir, 'artifacts')
    else {
      temp = await mkdtemp(join(tmpdir(), 'openledger-studio-'))
      dir = temp
    }
    return new StudioService({
      rpcUrl,
      keys: new Map(o.accounts.map((a) => [hex(a.address), hex(a.privateKey)])),
      store: new ArtifactStore(dir),
      log: o.log,
    })
  }
  return {
    methods: studioFactoryMethods(() => {
      service ??= create().catch((err: unknown) => {
        service = undefined
        throw err
      })
      return service
    }),
    setRpcUrl: (url) => {
      // A node bound to every interface is reached through loopback (the Host allow-list admits it).
      const u = new URL(url)
      if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1'
      else if (u.hostname === '[::]') u.hostname = '[::1]'
      rpcUrl = u.toString()
    },
    close: async () => {
      const s = await service?.catch(() => undefined)
      s?.close()
      if (temp !== undefined) {
        const { rm } = await import('node:fs/promises')
        await rm(temp, { recursive: true, force: true })
      }
    },
  }
}
