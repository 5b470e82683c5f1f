/**
 * ModelFactory and OpenLoRA off-chain core: a small decoder-only transformer (`ol-tfm-v1`) over
 * byte tokens with hand-written deterministic float32 kernels, pre-training, LoRA fine-tuning,
 * held-out evaluation, generation with adapters applied on the fly, the `OLMF` artifact format,
 * a content-addressed artifact store and an LRU for resident adapters.
 */
export * from './artifact/format.ts'
export * from './artifact/hash.ts'
export * from './artifact/store.ts'
export * from './corpus/sotu.ts'
export * from './factory/recipes.ts'
export * from './factory/train.ts'
export * from './math/kernels.ts'
export * from './math/rng.ts'
export * from './math/scalar.ts'
export * from './model/config.ts'
export * from './model/generate.ts'
export * from './model/transformer.ts'
export * from './serve/lru.ts'
export * from './train/adamw.ts'
export * from './train/data.ts'
export * from './train/trainer.ts'
