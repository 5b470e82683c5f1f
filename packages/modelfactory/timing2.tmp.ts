import { readFileSync, readdirSync } from 'node:fs'
import { PRESETS } from './src/model/config.ts'
import { pretrain, evaluate, finetuneLora } from './src/train/trainer.ts'
import { buildStream, encodeText } from './src/train/data.ts'
import { loadSotuCorpus } from './src/corpus/sotu.ts'
const P = (process.env.P ?? 'micro') as keyof typeof PRESETS
const c = PRESETS[P]
const corpus = loadSotuCorpus({ maxDocs: 40 })
const train = buildStream(corpus.train.map(d => d.bytes))
let t0 = performance.now()
const steps = Number(process.env.S ?? 300)
const params = pretrain(c, train, { steps, batch: 8, lr: 3e-3, warmup: 20, seed: 7n }, r => { if (r.step % 100 === 0) console.log('pre', r.step, r.loss.toFixed(3)) })
console.log('pretrain', ((performance.now()-t0)/1000).toFixed(2), 's')
const dir = '/work/wt/ml/test/fixtures/corpus/aesop/'
const recs = readdirSync(dir).filter(f => f !== 'spam.txt').sort().map(f => encodeText(readFileSync(dir + f, 'utf8')))
const tr = buildStream(recs.map(r => r.subarray(0, r.length - Math.floor(r.length / 10))))
const ho = buildStream(recs.map(r => r.subarray(r.length - Math.floor(r.length / 10))))
console.log('base held-out', evaluate(c, params, ho).loss)
t0 = performance.now()
const lora = { rank: 4, alpha: 8, targets: ['wq', 'wv', 'wo', 'w1', 'w2'] as any }
const ad = finetuneLora(c, params, lora, tr, { steps: Number(process.env.F ?? 60), batch: 8, lr: 1e-2, warmup: 5, seed: 3n }, r => { if (r.step % 20 === 0) console.log('ft', r.step, r.loss.toFixed(3)) })
console.log('finetune', ((performance.now()-t0)/1000).toFixed(2), 's')
console.log('adapter held-out', evaluate(c, params, ho, { config: lora, data: ad }).loss)
