/**
 * ModelFactory benchmark: `node --import tsx packages/modelfactory/bench/modelfactory.ts [--quick]`.
 *   (1) matrix-product GFLOP/s of our kernel against TensorFlow.js (CPU and WASM backends, 1 thread)
 *   (2) base-model training tokens/s, `tiny` preset, our kernels against the same model in TF.js
 *   (3) LoRA fine-tuning steps/s (tiny base, default adapter)
 *   (4) OpenLoRA serving in process: answers/s and p50 with 1, 20 and 100 adapters over one base,
 *       resident memory per adapter
 * Prints a table and writes bench/results/modelfactory.json. Single-threaded by design: the
 * training must be bit-exact (docs/modelfactory.md, "Determinism").
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type * as TF from '@tensorflow/tfjs-core'
import { loadSotuCorpus } from '../src/corpus/sotu.ts'
import { DEFAULT_LORA } from '../src/factory/recipes.ts'
import { matmulNT } from '../src/math/kernels.ts'
import { Rng } from '../src/math/rng.ts'
import { initLora, initModel, PRESETS } from '../src/model/config.ts'
import { generate, loadAdapter, loadBase } from '../src/model/generate.ts'
import { LruCache } from '../src/serve/lru.ts'
import { buildStream, encodeText, sampleBatch } from '../src/train/data.ts'
import { finetuneLora, pretrain } from '../src/train/trainer.ts'
import { tfTrainer } from './tfjs-model.ts'

const quick = process.argv.includes('--quick')
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')

function rnd(n: number, seed: bigint): Float32Array {
  const r = new Rng(seed)
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = r.float() - 0.5
  return a
}

/** Runs fn repeatedly for at least `ms`, returns mean seconds per call. */
function time(fn: () => void, ms: number): number {
  fn()
  let n = 0
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    fn()
    n++
  }
  return (performance.now() - t0) / 1000 / n
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    loadavg: loadavg(),
  }
  // CommonJS builds: the ESM build of tfjs-core uses directory imports Node's ESM loader refuses.
  const require = createRequire(import.meta.url)
  const tf = require('@tensorflow/tfjs-core') as typeof TF
  require('@tensorflow/tfjs-core/dist/register_all_gradients')
  require('@tensorflow/tfjs-backend-cpu')
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')
  wasm.setThreadsCount(1)
  const backends = ['cpu', 'wasm'] as const
  const ms = quick ? 300 : 1500

  // (1) matrix products
  const shapes: [number, number, number][] = [
    [1024, 64, 64],
    [1024, 64, 256],
    [1024, 256, 64],
    [1024, 64, 257],
  ]
  const mm: Record<string, Record<string, number>> = {}
  for (const [M, K, N] of shapes) {
    const key = `${M}x${K}x${N}`
    const a = rnd(M * K, 1n)
    const b = rnd(N * K, 2n)
    const c = new Float32Array(M * N)
    const flops = 2 * M * K * N
    mm[key] = { ours: flops / time(() => matmulNT(a, b, c, M, K, N), ms) / 1e9 }
    for (const be of backends) {
      await tf.setBackend(be)
      await tf.ready()
      const A = tf.tensor2d(a, [M, K])
      const Bt = tf.tensor2d(b, [N, K])
      mm[key][`tfjs-${be}`] =
        flops /
        time(() => {
          const r = tf.matMul(A, Bt, false, true)
          r.dataSync()
          r.dispose()
        }, ms) /
        1e9
      tf.dispose([A, Bt])
    }
  }
  out.matmulGflops = mm

  // (2) base training tokens/s, tiny preset
  const c = PRESETS.tiny
  const corpus = loadSotuCorpus({ maxDocs: 40 })
  const stream = buildStream(corpus.train.map((d) => d.bytes))
  const B = 16
  const T = c.context
  const steps = quick ? 4 : 20
  const init = initModel(c, 1n)
  const t0 = performance.now()
  pretrain(c, stream, { steps, batch: B, lr: 3e-3, warmup: 2, seed: 1n }, undefined, Float32Array.from(init))
  const oursTokS = (steps * B * T) / ((performance.now() - t0) / 1000)
  const train: Record<string, number> = { ours: oursTokS }
  for (const be of backends) {
    await tf.setBackend(be)
    await tf.ready()
    const tr = tfTrainer(tf, c, init, B, T)
    const rng = new Rng(1n, 'batches')
    const batch = sampleBatch(stream, B, T, rng)
    tr.step(batch.tokens, batch.targets) // warm-up (kernel compilation)
    const s0 = performance.now()
    for (let i = 0; i < steps; i++) {
      sampleBatch(stream, B, T, rng, batch)
      tr.step(batch.tokens, batch.targets)
    }
    train[`tfjs-${be}`] = (steps * B * T) / ((performance.now() - s0) / 1000)
    tr.dispose()
  }
  out.baseTrainingTokensPerSecond = train

  // (3) LoRA fine-tuning steps/s
  const records = buildStream([
    encodeText('The Fox and the Grapes. A famished Fox saw some clusters of ripe black grapes. '.repeat(20)),
  ])
  const ftSteps = quick ? 5 : 30
  const f0 = performance.now()
  finetuneLora(c, init, DEFAULT_LORA, records, { steps: ftSteps, batch: 8, lr: 1e-2, warmup: 2, seed: 1n })
  out.finetuneStepsPerSecond = ftSteps / ((performance.now() - f0) / 1000)

  // (4) serving: one base, N adapters, requests round-robin, LRU of 32 resident adapters
  const base = loadBase(c, init)
  const serving: Record<string, unknown> = {}
  const answers = quick ? 40 : 200
  for (const n of [1, 20, 100]) {
    const adapters = Array.from({ length: n }, (_, i) => {
      const d = initLora(c, DEFAULT_LORA, BigInt(i + 1))
      const r = new Rng(BigInt(i), 'B')
      for (let j = 0; j < d.length; j++) if (d[j] === 0) d[j] = (r.float() - 0.5) * 0.01
      return d
    })
    const lru = new LruCache<number, ReturnType<typeof loadAdapter>>(32)
    const lat: number[] = []
    const s0 = performance.now()
    for (let q = 0; q < answers; q++) {
      const id = q % n
      const a0 = performance.now()
      const ad = await lru.get(id, async () =>
        loadAdapter(c, DEFAULT_LORA, Float32Array.from(adapters[id] as Float32Array)),
      )
      generate(base, ad, [...encodeText('The fox said')], {
        maxTokens: 32,
        temperature: 0.8,
        topK: 20,
        seed: BigInt(q),
        stopAtSeparator: false,
      })
      lat.push(performance.now() - a0)
    }
    const secs = (performance.now() - s0) / 1000
    lat.sort((a, b) => a - b)
    serving[`adapters=${n}`] = {
      answersPerSecond: answers / secs,
      p50ms: lat[Math.floor(lat.length / 2)],
      evictions: lru.stats().evictions,
    }
  }
  // Resident bytes per adapter: its float32 parameters (the base is shared).
  const adapterBytes = initLora(c, DEFAULT_LORA, 1n).byteLength
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const h0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
  const held = Array.from({ length: 100 }, (_, i) =>
    loadAdapter(c, DEFAULT_LORA, initLora(c, DEFAULT_LORA, BigInt(i))),
  )
  gc?.()
  const h1 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
  serving.adapterParameterBytes = adapterBytes
  serving.measuredBytesPerAdapter = gc === undefined ? null : Math.round((h1 - h0) / held.length)
  out.serving = serving

  console.log(JSON.stringify(out, null, 2))
  const dir = join(ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'modelfactory.json'), `${JSON.stringify(out, null, 2)}\n`)
}

await main()
