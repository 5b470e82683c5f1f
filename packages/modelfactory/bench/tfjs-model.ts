/**
 * The same `ol-tfm-v1` training step written with TensorFlow.js ops (autodiff by
 * tf.variableGrads, Adam), for the library comparison of bench/modelfactory.ts only: same shapes,
 * same batch, one thread. Not used by the product (see docs/decisions.md for why).
 */
import type * as TF from '@tensorflow/tfjs-core'
import type { ModelConfig } from '../src/model/config.ts'
import { modelTensorSpecs } from '../src/model/config.ts'

export interface TfTrainer {
  step(tokens: Int32Array, targets: Int32Array): number
  dispose(): void
}

export function tfTrainer(
  tf: typeof TF,
  c: ModelConfig,
  params: Float32Array,
  B: number,
  T: number,
): TfTrainer {
  const vars = new Map<string, TF.Variable>()
  for (const s of modelTensorSpecs(c)) {
    vars.set(s.name, tf.variable(tf.tensor(params.subarray(s.offset, s.offset + s.size), s.shape)))
  }
  const v = (n: string) => vars.get(n) as TF.Variable
  const d = c.dim
  const H = c.heads
  const dh = d / H
  const mask = tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 1), 1e9)
  const opt = tf.train.adam(3e-3, 0.9, 0.99, 1e-8)
  const norm = (x: TF.Tensor, g: TF.Tensor) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-5))), g)
  const lin = (x: TF.Tensor, w: TF.Tensor) => tf.matMul(x, w, false, true)
  return {
    step(tokens, targets) {
      // Embedding lookups as one-hot products: the WASM backend has no gradient kernel for gather.
      const tok = tf.oneHot(tf.tensor1d(tokens, 'int32'), c.vocab)
      const tgt = tf.oneHot(tf.tensor1d(targets, 'int32'), c.vocab)
      const posIdx = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: B * T }, (_, i) => i % T),
          'int32',
        ),
        c.context,
      )
      const value = opt.minimize(
        () => {
          let x: TF.Tensor = tf.add(tf.matMul(tok, v('tok')), tf.matMul(posIdx, v('pos')))
          for (let l = 0; l < c.layers; l++) {
            const p = (n: string) => v(`layers.${l}.${n}`)
            const h = norm(x, p('norm1'))
            const heads = (t: TF.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3])
            const q = heads(lin(h, p('wq')))
            const k = heads(lin(h, p('wk')))
            const vv = heads(lin(h, p('wv')))
            const s = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), mask)
            const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(s), vv), [0, 2, 1, 3]), [B * T, d])
            x = tf.add(x, lin(o, p('wo')))
            const h2 = norm(x, p('norm2'))
            x = tf.add(x, lin(tf.relu(lin(h2, p('w1'))), p('w2')))
          }
          const logits = lin(norm(x, v('normf')), v('tok'))
          return tf.losses.softmaxCrossEntropy(tgt, logits) as TF.Scalar
        },
        true,
        [...vars.values()],
      ) as TF.Scalar
      const loss = value.dataSync()[0] as number
      tf.dispose([tok, tgt, posIdx, value])
      return loss
    },
    dispose() {
      tf.dispose([...vars.values(), mask])
      opt.dispose()
    },
  }
}
