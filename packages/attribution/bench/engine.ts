/**
 * Attribution engine benchmark (a script, not a test):
 *   node --expose-gc --import tsx packages/attribution/bench/engine.ts [--mb 1,10] [--queries 200] [--dup-mb 10]
 * Builds the span index over deterministic pseudo-random-word corpora, reports build time, memory
 * per MB of corpus and serialised size, then span-attribution latency (p50/p99) for 200-token outputs.
 * `--dup-mb` adds a corpus of that size where every record is contributed twice (long repeats are
 * the worst case of repeat-sensitive suffix sorting; 0 skips it).
 */
import { attributeSpans, SpanIndex } from '../src/engine/index.ts'
import { makeCorpus, makeOutput, makeVocabulary, rng } from './corpus.ts'

function memMB(): number {
  const m = process.memoryUsage()
  return (m.heapUsed + m.arrayBuffers) / 1024 / 1024
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) g()
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}

const args = process.argv.slice(2)
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def
}
const sizes = arg('mb', '1,10')
  .split(',')
  .map((s) => Number(s))
  .filter((n) => Number.isFinite(n) && n > 0)
const queries = Math.max(1, Number(arg('queries', '200')) | 0)
const dupMb = Math.max(0, Number(arg('dup-mb', '10')) || 0)
const runs: { mb: number; duplicate: boolean }[] = sizes.map((mb) => ({ mb, duplicate: false }))
if (dupMb > 0) runs.push({ mb: dupMb, duplicate: true })

console.log(
  `attribution engine bench (node ${process.version}${(globalThis as { gc?: unknown }).gc ? ', gc exposed' : ', run with --expose-gc for memory figures'})`,
)
for (const { mb, duplicate } of runs) {
  const records = makeCorpus(mb, 42 + mb, duplicate)
  const chars = records.reduce((s, r) => s + r.text.length, 0)
  gc()
  const before = memMB()
  const phases: string[] = []
  const t0 = performance.now()
  const index = SpanIndex.build(records, { onPhase: (p, ms) => phases.push(`${p} ${ms.toFixed(0)} ms`) })
  const buildMs = performance.now() - t0
  gc()
  const retained = memMB() - before
  const t1 = performance.now()
  const bytes = index.toBytes()
  const serMs = performance.now() - t1
  const t2 = performance.now()
  SpanIndex.fromBytes(bytes)
  const loadMs = performance.now() - t2
  const corpusMB = chars / 1024 / 1024
  console.log(
    `\n${mb} MB corpus${duplicate ? ' (every record twice)' : ''}: ${records.length} records, ${index.tokenCount} tokens, vocabulary ${index.vocabularySize}`,
  )
  console.log(
    `  build ${buildMs.toFixed(0)} ms (${(buildMs / corpusMB).toFixed(0)} ms/MB) [${phases.join(', ')}]`,
  )
  const maxRssMB = process.resourceUsage().maxRSS / 1024
  console.log(
    `  index typed arrays ${(index.typedArrayBytes / 1024 / 1024).toFixed(1)} MB (${(index.typedArrayBytes / index.tokenCount).toFixed(2)} B/token, ${(index.typedArrayBytes / 1024 / 1024 / corpusMB).toFixed(2)} MB per MB of corpus); heap+buffers retained ${retained.toFixed(1)} MB; process max RSS so far ${maxRssMB.toFixed(0)} MB`,
  )
  console.log(
    `  serialised ${(bytes.length / 1024 / 1024).toFixed(1)} MB; toBytes ${serMs.toFixed(0)} ms, fromBytes (checksum + validation) ${loadMs.toFixed(0)} ms`,
  )
  const next = rng(7 + mb)
  const vocab = makeVocabulary(rng(42 + mb), 30_000)
  const outputs = Array.from({ length: queries }, () => makeOutput(next, records, vocab))
  for (let i = 0; i < 5; i++) attributeSpans(index, outputs[i % outputs.length]!) // warm-up
  const times: number[] = []
  let spans = 0
  for (const out of outputs) {
    const t = performance.now()
    spans += attributeSpans(index, out).spans.length
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  console.log(
    `  query (200-token output, k=6): p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms, max ${times[times.length - 1]!.toFixed(2)} ms; ${(spans / queries).toFixed(1)} maximal spans per output`,
  )
}
