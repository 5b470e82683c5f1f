import { PRESETS } from './src/model/config.ts'
import { pretrain, evaluate } from './src/train/trainer.ts'
import { buildStream } from './src/train/data.ts'
import { loadSotuCorpus } from './src/corpus/sotu.ts'
const corpus = loadSotuCorpus()
const train = buildStream(corpus.train.map(d => d.bytes))
const held = buildStream(corpus.heldOut.map(d => d.bytes).slice(0, 2)).subarray(0, 20000)
console.log('corpus', corpus.bytes, 'train tokens', train.length, corpus.hash)
const preset = (process.env.P ?? 'tiny') as keyof typeof PRESETS
const c = PRESETS[preset]
const B = Number(process.env.B ?? 8), steps = Number(process.env.S ?? 30)
const t0 = performance.now()
let last = t0
const params = pretrain(c, train, { steps, batch: B, lr: 3e-3, warmup: 10, seed: 1n }, (r) => {
  if (r.step % 10 === 0) { const now = performance.now(); console.log(r.step, r.loss.toFixed(4), r.gradNorm.toFixed(3), ((10*B*c.context)/((now-last)/1000)).toFixed(0), 'tok/s'); last = now }
})
console.log('total', ((performance.now()-t0)/1000).toFixed(1), 's', (steps*B*c.context/((performance.now()-t0)/1000)).toFixed(0), 'tok/s')
const t1 = performance.now()
console.log(evaluate(c, params, held), ((performance.now()-t1)/1000).toFixed(1),'s eval')
