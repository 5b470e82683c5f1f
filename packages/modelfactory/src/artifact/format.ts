/**
 * Checkpoint and adapter files (`OLMF` v1). One layout for both:
 *
 *   "OLMF"            4 bytes magic
 *   u32 LE            format version (1)
 *   u32 LE            header length H
 *   H bytes           header: canonical JSON (UTF-8, keys sorted, no whitespace)
 *   0–3 bytes 0x00    padding to a multiple of 4
 *   float32 LE        every tensor of the header's list, in order, row-major
 *
 * Header of a base model: {config, format: "ol-tfm-v1", kind: "base", tensors: [{name, shape}…],
 * tokenizer}. Of an adapter: the same with kind "lora", `base` (the keccak256 of the base
 * checkpoint it adapts) and `lora` {alpha, rank, targets}. The tensor list must be exactly the one
 * the config implies. Decoding rejects anything but the canonical encoding, so a model has exactly
 * one byte representation and its keccak256 (the artifact hash registered on chain) identifies it.
 */
import {
  checkConfig,
  checkLoraConfig,
  type LoraConfig,
  loraTensorSpecs,
  MODEL_FORMAT,
  type ModelConfig,
  modelTensorSpecs,
  parameterCount,
  type TensorSpec,
} from '../model/config.ts'
import { TOKENIZER } from '../train/data.ts'
import { type Hex, isHash, keccakHex } from './hash.ts'

export const MAGIC = 'OLMF'
export const FORMAT_VERSION = 1
/** Largest artifact accepted (a bound for untrusted files and downloads). */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024

export class ArtifactError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ArtifactError'
  }
}

export interface BaseCheckpoint {
  kind: 'base'
  config: ModelConfig
  params: Float32Array
}

export interface AdapterCheckpoint {
  kind: 'lora'
  config: ModelConfig
  /** Artifact hash of the base checkpoint. */
  base: Hex
  lora: LoraConfig
  params: Float32Array
}

export type Checkpoint = BaseCheckpoint | AdapterCheckpoint

/**
 * JSON with sorted keys and no whitespace; strings, finite numbers (ECMAScript's shortest
 * round-trip form, which the language specifies exactly), booleans, arrays and objects.
 */
export function canonicalJson(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ArtifactError('canonical JSON holds finite numbers only')
    return Object.is(v, -0) ? '0' : String(v)
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  throw new ArtifactError(`canonical JSON cannot hold ${typeof v}`)
}

function specsOf(c: Checkpoint): TensorSpec[] {
  return c.kind === 'base' ? modelTensorSpecs(c.config) : loraTensorSpecs(c.config, c.lora)
}

function headerOf(c: Checkpoint): Record<string, unknown> {
  const { vocab, context, dim, heads, layers, hidden } = c.config
  const h: Record<string, unknown> = {
    format: MODEL_FORMAT,
    kind: c.kind,
    tokenizer: TOKENIZER,
    config: { vocab, context, dim, heads, layers, hidden },
    tensors: specsOf(c).map((s) => ({ name: s.name, shape: s.shape })),
  }
  if (c.kind === 'lora') {
    h.base = c.base
    h.lora = { rank: c.lora.rank, alpha: c.lora.alpha, targets: c.lora.targets }
  }
  return h
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  checkConfig(c.config)
  if (c.kind === 'lora') {
    checkLoraConfig(c.lora, c.config)
    if (!isHash(c.base)) throw new ArtifactError('adapter base must be a lowercase 0x keccak256')
  }
  const n = parameterCount(specsOf(c))
  if (c.params.length !== n) throw new ArtifactError(`expected ${n} parameters, got ${c.params.length}`)
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(c.params[i])) throw new ArtifactError('parameters must be finite')
  }
  const header = new TextEncoder().encode(canonicalJson(headerOf(c)))
  const pad = (4 - ((12 + header.length) % 4)) % 4
  const dataOffset = 12 + header.length + pad
  const out = new Uint8Array(dataOffset + 4 * n)
  out.set(new TextEncoder().encode(MAGIC), 0)
  const dv = new DataView(out.buffer)
  dv.setUint32(4, FORMAT_VERSION, true)
  dv.setUint32(8, header.length, true)
  out.set(header, 12)
  if (LITTLE_ENDIAN) out.set(new Uint8Array(c.params.buffer, c.params.byteOffset, 4 * n), dataOffset)
  else for (let i = 0; i < n; i++) dv.setFloat32(dataOffset + 4 * i, c.params[i] as number, true)
  return out
}

function fail(msg: string): never {
  throw new ArtifactError(`not a valid OLMF artifact: ${msg}`)
}

function intField(o: Record<string, unknown>, k: string): number {
  const v = o[k]
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`config.${k} must be an integer`)
  return v
}

/** Parses and validates an artifact (structure, canonical header, sizes, finite values). */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length > MAX_ARTIFACT_BYTES) fail(`larger than ${MAX_ARTIFACT_BYTES} bytes`)
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) fail('bad magic')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (dv.getUint32(4, true) !== FORMAT_VERSION) fail(`unsupported version ${dv.getUint32(4, true)}`)
  const hlen = dv.getUint32(8, true)
  if (12 + hlen > bytes.length) fail('header runs past the end')
  let header: Record<string, unknown>
  const text = (() => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + hlen))
    } catch {
      return fail('header is not UTF-8')
    }
  })()
  try {
    header = JSON.parse(text) as Record<string, unknown>
  } catch {
    return fail('header is not JSON')
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not an object')
  if (header.format !== MODEL_FORMAT) fail(`format is not ${MODEL_FORMAT}`)
  if (header.tokenizer !== TOKENIZER) fail(`tokenizer is not ${TOKENIZER}`)
  const cfg = header.config as Record<string, unknown>
  if (cfg === null || typeof cfg !== 'object') fail('missing config')
  let config: ModelConfig
  try {
    config = checkConfig({
      vocab: intField(cfg, 'vocab'),
      context: intField(cfg, 'context'),
      dim: intField(cfg, 'dim'),
      heads: intField(cfg, 'heads'),
      layers: intField(cfg, 'layers'),
      hidden: intField(cfg, 'hidden'),
    })
  } catch (e) {
    if (e instanceof ArtifactError) throw e
    return fail((e as Error).message)
  }
  let ck: Checkpoint
  if (header.kind === 'base') {
    ck = { kind: 'base', config, params: new Float32Array(0) }
  } else if (header.kind === 'lora') {
    const l = header.lora as Record<string, unknown>
    if (l === null || typeof l !== 'object' || !Array.isArray(l.targets)) fail('missing lora config')
    if (typeof header.base !== 'string' || !isHash(header.base)) fail('base must be a keccak256 hash')
    let lora: LoraConfig
    try {
      lora = checkLoraConfig(
        {
          rank: intField(l, 'rank'),
          alpha: intField(l, 'alpha'),
          targets: l.targets as LoraConfig['targets'],
        },
        config,
      )
    } catch (e) {
      if (e instanceof ArtifactError) throw e
      return fail((e as Error).message)
    }
    ck = { kind: 'lora', config, base: header.base, lora, params: new Float32Array(0) }
  } else {
    return fail('kind must be "base" or "lora"')
  }
  const expected = canonicalJson(headerOf(ck))
  if (expected !== text) fail('header is not the canonical header of its config')
  const specs = specsOf(ck)
  const n = parameterCount(specs)
  const pad = (4 - ((12 + hlen) % 4)) % 4
  const dataOffset = 12 + hlen + pad
  if (bytes.length !== dataOffset + 4 * n) fail(`expected ${dataOffset + 4 * n} bytes, got ${bytes.length}`)
  for (let i = 12 + hlen; i < dataOffset; i++) if (bytes[i] !== 0) fail('non-zero padding')
  const params = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const v = dv.getFloat32(dataOffset + 4 * i, true)
    if (!Number.isFinite(v)) fail(`tensor value ${i} is not finite`)
    params[i] = v
  }
  ck.params = params
  return ck
}

export function artifactHash(bytes: Uint8Array): Hex {
  return keccakHex(bytes)
}
