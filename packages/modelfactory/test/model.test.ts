import { describe, expect, it } from 'vitest'
import { Rng } from '../src/math/rng.ts'
import {
  initLora,
  initModel,
  type LoraConfig,
  loraTensorSpecs,
  loraViews,
  modelTensorSpecs,
  modelViews,
  PRESETS,
} from '../src/model/config.ts'
import { generate, loadAdapter, loadBase } from '../src/model/generate.ts'
import { forwardBackward, Workspace } from '../src/model/transformer.ts'

const c = { ...PRESETS.micro, layers: 2 }
const ALL: LoraConfig = { rank: 2, alpha: 4, targets: ['wq', 'wk', 'wv', 'wo', 'w1', 'w2'] }

function perturbed(data: Float32Array, seed: bigint, amount: number): Float32Array {
  const r = new Rng(seed, 'perturb')
  for (let i = 0; i < data.length; i++) data[i] = data[i]! + (r.float() - 0.5) * amount
  return data
}

function batch(B: number, T: number, seed: bigint) {
  const r = new Rng(seed)
  const tokens = new Int32Array(B * T)
  const targets = new Int32Array(B * T)
  for (let i = 0; i < B * T; i++) {
    tokens[i] = r.int(257)
    targets[i] = i % 5 === 0 ? -1 : r.int(257)
  }
  return { tokens, targets }
}

describe('ol-tfm-v1 forward/backward', () => {
  const params = perturbed(initModel(c, 1n), 5n, 0.2)
  const m = modelViews(c, params)
  const { tokens, targets } = batch(2, 8, 6n)

  it('backward matches central differences for every tensor (model and every LoRA target)', () => {
    const ws = new Workspace(c, 2, 8)
    const grad = new Float32Array(params.length)
    forwardBackward(ws, m, tokens, targets, undefined, { model: modelViews(c, grad) })
    const r = new Rng(7n)
    const h = 1e-3
    const check = (data: Float32Array, i: number, analytic: number, loss: () => number) => {
      const old = data[i]!
      data[i] = old + h
      const lp = loss()
      data[i] = old - h
      const lm = loss()
      data[i] = old
      const numeric = (lp - lm) / (2 * h)
      expect(Math.abs(numeric - analytic)).toBeLessThan(
        0.06 * Math.max(2e-3, Math.abs(numeric) + Math.abs(analytic)),
      )
    }
    for (const s of modelTensorSpecs(c)) {
      for (let t = 0; t < 3; t++) {
        const i = s.offset + r.int(s.size)
        check(params, i, grad[i]!, () => forwardBackward(ws, m, tokens, targets).loss)
      }
    }
    const ld = perturbed(initLora(c, ALL, 3n), 8n, 0.2)
    const adapter = { config: ALL, views: loraViews(c, ALL, ld) }
    const lg = new Float32Array(ld.length)
    const wl = new Workspace(c, 2, 8, ALL)
    forwardBackward(wl, m, tokens, targets, adapter, { lora: loraViews(c, ALL, lg) })
    for (const s of loraTensorSpecs(c, ALL)) {
      for (let t = 0; t < 3; t++) {
        const i = s.offset + r.int(s.size)
        check(ld, i, lg[i]!, () => forwardBackward(wl, m, tokens, targets, adapter).loss)
      }
    }
  })

  it('a freshly initialised adapter (B = 0) gives exactly the base logits', () => {
    const ws = new Workspace(c, 2, 8)
    forwardBackward(ws, m, tokens, targets)
    const base = Float32Array.from(ws.logits)
    const wl = new Workspace(c, 2, 8, ALL)
    forwardBackward(wl, m, tokens, targets, { config: ALL, views: loraViews(c, ALL, initLora(c, ALL, 9n)) })
    expect(wl.logits).toEqual(base)
  })

  it('incremental generation computes the same logits as the batched forward pass', () => {
    const ld = perturbed(initLora(c, ALL, 3n), 8n, 0.2)
    const T = 12
    // Greedy continuation of a prompt, then the batched pass over prompt + continuation.
    const base = loadBase(c, params)
    const ad = loadAdapter(c, ALL, ld)
    const prompt = [72, 101, 108, 108, 111]
    const gen = generate(base, ad, prompt, {
      maxTokens: T - 1 - prompt.length,
      temperature: 0,
      topK: 0,
      seed: 0n,
    })
    const seq = [256, ...prompt, ...gen.tokens]
    const ws = new Workspace(c, 1, seq.length, ALL)
    forwardBackward(ws, m, Int32Array.from(seq), new Int32Array(seq.length).fill(0), {
      config: ALL,
      views: loraViews(c, ALL, ld),
    })
    // Greedy picks are the argmax of the batched logits at every generated position.
    for (let p = prompt.length; p < seq.length - 1; p++) {
      const row = ws.logits.subarray(p * c.vocab, (p + 1) * c.vocab)
      let best = 0
      for (let j = 1; j < c.vocab; j++) if (row[j]! > row[best]!) best = j
      expect(best).toBe(seq[p + 1])
    }
  })

  it('generation is deterministic for a seed, differs across seeds and with an adapter', () => {
    const base = loadBase(c, params)
    const o = { maxTokens: 40, temperature: 0.8, topK: 20, seed: 11n, stopAtSeparator: false }
    const a = generate(base, undefined, [65, 66], o).tokens
    expect(generate(base, undefined, [65, 66], o).tokens).toEqual(a)
    expect(generate(base, undefined, [65, 66], { ...o, seed: 12n }).tokens).not.toEqual(a)
    const ad = loadAdapter(c, ALL, perturbed(initLora(c, ALL, 3n), 8n, 0.5))
    expect(generate(base, ad, [65, 66], o).tokens).not.toEqual(a)
    // Longer than the context: the cache is rebuilt, output keeps coming.
    expect(generate(base, undefined, [65], { ...o, maxTokens: 3 * c.context }).tokens).toHaveLength(
      3 * c.context,
    )
    expect(() => generate(base, undefined, [300], o)).toThrow(RangeError)
  })
})
