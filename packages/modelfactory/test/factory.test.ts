import { describe, expect, it } from 'vitest'
import { decodeCheckpoint } from '../src/artifact/format.ts'
import { keccakHex } from '../src/artifact/hash.ts'
import { loadSotuCorpus } from '../src/corpus/sotu.ts'
import { baseRecipe, DEFAULT_LORA, parseTrainingConfig } from '../src/factory/recipes.ts'
import { adapterConfig, type TrainingRecord, trainAdapter, trainBase } from '../src/factory/train.ts'
import { aesopRecords } from './helpers.ts'

const ROOT = `0x${'11'.repeat(32)}` as const

describe('ModelFactory training jobs', () => {
  const corpus = loadSotuCorpus({ maxDocs: 40 })
  const started = performance.now()
  const base = trainBase(baseRecipe('micro', { steps: 120 }), corpus)
  const baseSeconds = (performance.now() - started) / 1000
  const records: TrainingRecord[] = aesopRecords().map((bytes, i) => ({
    datanetId: 1n,
    contributionId: BigInt(i + 1),
    contentHash: keccakHex(bytes),
    bytes,
  }))
  const job = {
    baseArtifact: base.artifact,
    datanets: [{ datanetId: '1', version: '1', root: ROOT, count: String(records.length) }],
    lora: DEFAULT_LORA,
    schedule: { steps: 80, batch: 8, lr: 1e-2, warmup: 5, seed: '7' },
  }

  it('pre-trains a base model whose config and log are canonical and hashed', () => {
    expect(base.artifactHash).toBe(keccakHex(base.artifact))
    expect(decodeCheckpoint(base.artifact).kind).toBe('base')
    expect(parseTrainingConfig(base.configBytes)).toEqual(base.config)
    expect(base.configHash).toBe(keccakHex(base.configBytes))
    expect(Number.isFinite(base.heldOutLoss)).toBe(true)
    // Loss well below the uniform 257-way guess (ln 257 ≈ 5.55 nats).
    expect(base.heldOutLoss).toBeLessThan(3.5)
    expect(baseSeconds).toBeGreaterThan(0)
  })

  it('fine-tunes an adapter in seconds with lower held-out loss on its datanet than the base', () => {
    const config = adapterConfig(job)
    const t0 = performance.now()
    const a = trainAdapter(config, base.artifact, records)
    const seconds = (performance.now() - t0) / 1000
    expect(a.heldOutTokens).toBeGreaterThan(200)
    expect(a.heldOutLossAdapter).toBeLessThan(a.heldOutLossBase)
    expect(a.losses).toHaveLength(80)
    expect(seconds).toBeLessThan(60)
    const ck = decodeCheckpoint(a.artifact)
    expect(ck.kind === 'lora' && ck.base).toBe(base.artifactHash)
    expect(parseTrainingConfig(a.configBytes)).toEqual(config)
  })

  it('is reproducible bit for bit, and any change of data or config changes the adapter hash', () => {
    const config = adapterConfig(job)
    const a = trainAdapter(config, base.artifact, records)
    const b = trainAdapter(config, base.artifact, [...records].reverse())
    expect(b.artifactHash).toBe(a.artifactHash)
    expect(b.logHash).toBe(a.logHash)
    const edited = records.map((r, i) =>
      i === 2 ? { ...r, bytes: r.bytes.map((x, j) => (j === 5 ? x ^ 1 : x)) } : r,
    )
    expect(trainAdapter(config, base.artifact, edited).artifactHash).not.toBe(a.artifactHash)
    const reseeded = adapterConfig({ ...job, schedule: { ...job.schedule, seed: '8' } })
    expect(trainAdapter(reseeded, base.artifact, records).artifactHash).not.toBe(a.artifactHash)
  })

  it('re-training the base with the same recipe gives the same checkpoint', () => {
    expect(trainBase(baseRecipe('micro', { steps: 120 }), corpus).artifactHash).toBe(base.artifactHash)
  })

  it('refuses configs that are not canonical or name another base', () => {
    const config = adapterConfig(job)
    const text = new TextDecoder().decode(trainAdapter(config, base.artifact, records).configBytes)
    expect(() => parseTrainingConfig(new TextEncoder().encode(text.replace('{', '{ ')))).toThrow(
      /canonical|JSON/,
    )
    const other = { ...config, base: { ...config.base, artifactHash: ROOT } }
    expect(() => trainAdapter(other, base.artifact, records)).toThrow(/does not match/)
  })
})
