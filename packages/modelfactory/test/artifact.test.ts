import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ArtifactError, canonicalJson, decodeCheckpoint, encodeCheckpoint } from '../src/artifact/format.ts'
import { keccakHex } from '../src/artifact/hash.ts'
import { ArtifactStore } from '../src/artifact/store.ts'
import { initLora, initModel, PRESETS } from '../src/model/config.ts'
import { LruCache } from '../src/serve/lru.ts'

const c = PRESETS.micro
const lora = { rank: 2, alpha: 4, targets: ['wq' as const, 'wv' as const] }

describe('OLMF artifacts', () => {
  const base = encodeCheckpoint({ kind: 'base', config: c, params: initModel(c, 1n) })
  const adapter = encodeCheckpoint({
    kind: 'lora',
    config: c,
    base: keccakHex(base),
    lora,
    params: initLora(c, lora, 2n),
  })

  it('round-trips base models and adapters byte for byte', () => {
    const b = decodeCheckpoint(base)
    expect(b.kind).toBe('base')
    expect(encodeCheckpoint(b)).toEqual(base)
    const a = decodeCheckpoint(adapter)
    expect(a.kind === 'lora' && a.base).toBe(keccakHex(base))
    expect(encodeCheckpoint(a)).toEqual(adapter)
    expect(new TextDecoder().decode(base.subarray(0, 4))).toBe('OLMF')
  })

  it('rejects truncation, trailing bytes, non-canonical headers and non-finite values', () => {
    expect(() => decodeCheckpoint(base.subarray(0, base.length - 1))).toThrow(ArtifactError)
    expect(() => decodeCheckpoint(new Uint8Array([...base, 0]))).toThrow(ArtifactError)
    expect(() => decodeCheckpoint(new Uint8Array(8))).toThrow(/magic/)
    const hlen = new DataView(base.buffer).getUint32(8, true)
    const header = new TextDecoder().decode(base.subarray(12, 12 + hlen))
    // Same meaning, other spelling: keys reordered.
    const swapped = header.replace('"format":"ol-tfm-v1","kind":"base"', '"kind":"base","format":"ol-tfm-v1"')
    expect(swapped).not.toBe(header)
    const forged = new Uint8Array(base)
    forged.set(new TextEncoder().encode(swapped), 12)
    expect(() => decodeCheckpoint(forged)).toThrow(/canonical/)
    const nan = new Uint8Array(base)
    new DataView(nan.buffer).setFloat32(nan.length - 4, Number.NaN, true)
    expect(() => decodeCheckpoint(nan)).toThrow(/finite/)
    expect(() => encodeCheckpoint({ kind: 'base', config: c, params: new Float32Array(3) })).toThrow(
      ArtifactError,
    )
  })

  it('a one-byte change of the tensor data changes the hash but still decodes', () => {
    const tampered = new Uint8Array(adapter)
    tampered[tampered.length - 2] = (tampered[tampered.length - 2] as number) ^ 0x01
    expect(keccakHex(tampered)).not.toBe(keccakHex(adapter))
    expect(decodeCheckpoint(tampered).kind).toBe('lora')
  })

  it('canonical JSON sorts keys and refuses what it cannot spell one way', () => {
    expect(canonicalJson({ b: 1, a: [true, 'x', 0.5, -0] })).toBe('{"a":[true,"x",0.5,0],"b":1}')
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(ArtifactError)
    expect(() => canonicalJson({ a: undefined })).toThrow(ArtifactError)
  })
})

describe('ArtifactStore', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('stores by hash, verifies on read, reports a file changed on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'olmf-store-'))
    dirs.push(dir)
    const store = new ArtifactStore(dir)
    const bytes = new TextEncoder().encode('hello artifact')
    const h = await store.put(bytes)
    expect(h).toBe(keccakHex(bytes))
    expect(await store.put(bytes)).toBe(h)
    expect(await store.get(h)).toEqual(bytes)
    expect((await readdir(dir)).filter((f) => !f.startsWith('.'))).toEqual([`${h.slice(2)}.olmf`])
    await writeFile(store.path(h), 'hellO artifact')
    await expect(store.get(h)).rejects.toThrow(/does not hash/)
    await expect(store.get(`0x${'00'.repeat(32)}`)).rejects.toThrow(/not in the store/)
    expect(() => store.path('0xabc' as `0x${string}`)).toThrow(ArtifactError)
  })
})

describe('LruCache', () => {
  it('evicts the least recently used, reloads on demand, loads once under concurrency', async () => {
    const evicted: string[] = []
    const lru = new LruCache<string, number>(2, (k) => evicted.push(k))
    let loads = 0
    const load = async (k: string) => {
      loads++
      await new Promise((r) => setImmediate(r))
      return k.length
    }
    const [a1, a2] = await Promise.all([lru.get('a', load), lru.get('a', load)])
    expect([a1, a2, loads]).toEqual([1, 1, 1])
    await lru.get('bb', load)
    await lru.get('a', load) // a is now most recent
    await lru.get('ccc', load) // evicts bb
    expect(evicted).toEqual(['bb'])
    expect(lru.keys()).toEqual(['a', 'ccc'])
    await lru.get('bb', load) // reloaded, evicts a
    expect(evicted).toEqual(['bb', 'a'])
    expect(lru.stats()).toEqual({ hits: 1, misses: 5, loads: 4, evictions: 2, resident: 2 })
    await expect(lru.get('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(lru.has('x')).toBe(false)
    expect(() => new LruCache(0)).toThrow(RangeError)
  })
})
