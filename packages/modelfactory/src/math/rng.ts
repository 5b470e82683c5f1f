/**
 * Seeded pseudo-random numbers for initialisation, batch sampling and generation: xoshiro128**
 * (32-bit integer operations only, so every engine gives the same stream), seeded through
 * SplitMix32 from a 64-bit seed and a stream label. Math.random is never used.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** FNV-1a of a label, to derive independent streams from one seed. */
function labelHash(label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  /** `seed`: any non-negative integer below 2^64; `stream` separates independent uses. */
  constructor(seed: bigint | number, stream = '') {
    const s = BigInt(seed)
    if (s < 0n || s >= 1n << 64n) throw new RangeError('seed must be in [0, 2^64)')
    const st = { s: Number(s & 0xffffffffn) ^ labelHash(stream) }
    const hi = Number(s >> 32n)
    splitmix32(st)
    st.s ^= hi
    this.a = splitmix32(st)
    this.b = splitmix32(st)
    this.c = splitmix32(st)
    this.d = splitmix32(st)
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /** Uniform in [0, 1) with 24 random bits (exact in float32). */
  float(): number {
    return (this.u32() >>> 8) * 2 ** -24
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (rejection: no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError('n must be in [1, 2^32]')
    const limit = 2 ** 32 - (2 ** 32 % n)
    for (;;) {
      const x = this.u32()
      if (x < limit) return x % n
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
