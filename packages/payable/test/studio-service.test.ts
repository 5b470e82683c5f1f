/**
 * StudioService's bounds, without a chain: a training past the wall-clock limit is stopped (its
 * worker terminated) and reported as failed, the next job can start at once, and requests past
 * the step and batch limits are refused before any work starts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArtifactStore } from '@openledger/modelfactory'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type StudioJob, StudioService } from '../src/studio-service.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'studio-service-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function ended(s: StudioService, id: number, timeoutMs = 60_000): Promise<StudioJob> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const j = s.job(id)!
    if (j.state === 'done' || j.state === 'failed') return j
    if (Date.now() > end) throw new Error(`job ${id} still ${j.state}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('StudioService', () => {
  it('stops a training past its wall-clock limit and frees the slot', async () => {
    const s = new StudioService({
      rpcUrl: 'http://127.0.0.1:1/',
      keys: new Map(),
      store: new ArtifactStore(dir),
      limits: { timeoutMs: 1_500 },
    })
    const job = s.trainBase({ preset: 'micro', steps: 2000, corpusDocs: 12 })
    expect(() => s.trainBase({ preset: 'micro', steps: 10, corpusDocs: 12 })).toThrow(/already running/)
    const j = await ended(s, job.id)
    expect(j.state).toBe('failed')
    expect(j.error).toMatch(/stopped after 1.5 s/)
    expect(j.step).toBeLessThan(2000)
    // The slot is free again.
    const next = s.trainBase({ preset: 'micro', steps: 5, corpusDocs: 12 })
    s.close()
    expect(await ended(s, next.id)).toMatchObject({
      state: 'failed',
      error: 'cancelled: the node is stopping',
    })
  }, 120_000)

  it('refuses steps, batch and presets past its limits before starting', () => {
    const s = new StudioService({
      rpcUrl: 'http://127.0.0.1:1/',
      keys: new Map(),
      store: new ArtifactStore(dir),
      limits: { maxSteps: 100 },
    })
    expect(() => s.trainBase({ preset: 'micro', steps: 101 })).toThrow(/at most 100/)
    expect(() => s.trainBase({ preset: 'small' })).toThrow(/preset/)
    expect(() =>
      s.trainAdapter({
        baseModelId: 1n,
        datanets: [{ datanetId: 1n, version: 1n }],
        rank: 4,
        alpha: 8,
        steps: 10,
        batch: 64,
        lr: 0.01,
        seed: '1',
      }),
    ).toThrow(/batch: at most 32/)
    expect(s.list()).toEqual([])
  })
})
