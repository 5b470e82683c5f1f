/**
 * The BLAKE2b compression function F (RFC 7693 §3.2, with EIP-152's free round count) as a
 * WebAssembly module, emitted by this file at load time: this TypeScript is the module's source.
 *
 * Why WebAssembly: F is 64-bit arithmetic (add, xor, rotate). JavaScript has no 64-bit integers
 * (BigInt allocates), so a JS F works on pairs of 32-bit halves with carries; EthereumJS's does that
 * and runs ~2.5 rounds/µs here, ~40× slower per gas than ordinary EVM execution. WASM has i64
 * add/xor/rotr, and V8 keeps the 32 i64 locals (state v0..v15, message m0..m15) in registers or
 * stack slots, like geth's generic Go F (crypto/blake2b/blake2b_generic.go): measured in
 * bench/blake2f.ts against EthereumJS's F in the same run.
 *
 * Memory (one 64 KiB page, little-endian as EIP-152's words are):
 *   [0, 64)    h   state in, result out
 *   [64, 192)  m   message block
 *   [192, 208) t   offset counters t0, t1
 *   [256, 384) v   working vector, kept between `rounds` calls
 * The precompile copies input bytes 4..212 (h, m, t) to offset 0 unchanged.
 *
 * Exports:
 *   init(final)   v = h ‖ IV, v12 ^= t0, v13 ^= t1, v14 = ~v14 if final ≠ 0
 *   rounds(n)     n rounds (n is u32) with SIGMA starting at round 0 mod 10; a caller splitting
 *                 the work must pass multiples of 10 except for the last call
 *   final()       h[i] ^= v[i] ^ v[i+8]
 * Splitting lets V8 tier the code up (a WASM frame already running never moves from the baseline
 * compiler to the optimising one) and lets the caller check a time budget between parts.
 */

/** Byte offsets in the module's memory. */
export const H_OFFSET = 0
export const M_OFFSET = 64
export const T_OFFSET = 192
export const V_OFFSET = 256

export interface Blake2fExports {
  memory: { buffer: ArrayBuffer }
  init(final: number): void
  rounds(n: number): void
  final(): void
}

// BLAKE2b IV (RFC 7693 §2.6), as i64 constants.
const IV = [
  0x6a09e667f3bcc908n,
  0xbb67ae8584caa73bn,
  0x3c6ef372fe94f82bn,
  0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n,
  0x9b05688c2b3e6c1fn,
  0x1f83d9abfb41bd6bn,
  0x5be0cd19137e2179n,
]

// Message schedule (RFC 7693 §2.7); period 10, so round r uses SIGMA[r % 10].
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
]

// The columns, then the diagonals (RFC 7693 §3.2): indices into v of G's a, b, c, d.
const G_LANES = [
  [0, 4, 8, 12],
  [1, 5, 9, 13],
  [2, 6, 10, 14],
  [3, 7, 11, 15],
  [0, 5, 10, 15],
  [1, 6, 11, 12],
  [2, 7, 8, 13],
  [3, 4, 9, 14],
]

// WebAssembly opcodes used below (WebAssembly Core Specification §5.4).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i64Load: 0x29,
  i64Store: 0x37,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Sub: 0x6b,
  i64Add: 0x7c,
  i64Xor: 0x85,
  i64Rotr: 0x8a,
} as const
const VOID = 0x40
const I32 = 0x7f
const I64 = 0x7e

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

/** Signed LEB128 of a 64-bit value (two's complement). */
function sleb(value: bigint): number[] {
  let n = BigInt.asIntN(64, value)
  const out: number[] = []
  for (;;) {
    const byte = Number(n & 0x7fn)
    n >>= 7n
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0)
    out.push(done ? byte : byte | 0x80)
    if (done) return out
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')]
// Memory immediates: alignment 2^3 (i64), then the static offset; the dynamic address is always 0.
const load64 = (offset: number) => [OP.i32Const, 0, OP.i64Load, 3, ...uleb(offset)]
const store64Prefix = [OP.i32Const, 0]
const store64 = (offset: number) => [OP.i64Store, 3, ...uleb(offset)]

/** Locals of `rounds`: param n = 0, v0..v15 = 1..16, m0..m15 = 17..32. */
const N = 0
const v = (i: number) => 1 + i
const m = (i: number) => 17 + i
const get = (i: number) => [OP.localGet, i]
const set = (i: number) => [OP.localSet, i]

/** x = x + y (+ z) */
const add = (x: number, y: number, z?: number) => [
  ...get(x),
  ...get(y),
  OP.i64Add,
  ...(z === undefined ? [] : [...get(z), OP.i64Add]),
  ...set(x),
]
/** x = rotr(x ^ y, r) */
const xorRotr = (x: number, y: number, r: number) => [
  ...get(x),
  ...get(y),
  OP.i64Xor,
  OP.i64Const,
  ...sleb(BigInt(r)),
  OP.i64Rotr,
  ...set(x),
]

/** The mixing function G (RFC 7693 §3.1) on v[a..d] with message words x, y. */
function mix(a: number, b: number, c: number, d: number, x: number, y: number): number[] {
  return [
    ...add(v(a), v(b), m(x)),
    ...xorRotr(v(d), v(a), 32),
    ...add(v(c), v(d)),
    ...xorRotr(v(b), v(c), 24),
    ...add(v(a), v(b), m(y)),
    ...xorRotr(v(d), v(a), 16),
    ...add(v(c), v(d)),
    ...xorRotr(v(b), v(c), 63),
  ]
}

function round(r: number): number[] {
  const s = SIGMA[r]!
  return G_LANES.flatMap(([a, b, c, d], i) => mix(a!, b!, c!, d!, s[2 * i]!, s[2 * i + 1]!))
}

function roundsBody(): number[] {
  const code: number[] = []
  for (let i = 0; i < 16; i++) code.push(...load64(V_OFFSET + 8 * i), ...set(v(i)))
  for (let i = 0; i < 16; i++) code.push(...load64(M_OFFSET + 8 * i), ...set(m(i)))
  code.push(OP.block, VOID, OP.loop, VOID)
  for (let r = 0; r < 10; r++) {
    // if (n == 0) break; n -= 1 (n is a u32: eqz and sub are sign-agnostic)
    code.push(...get(N), OP.i32Eqz, OP.brIf, 1)
    code.push(...get(N), OP.i32Const, 1, OP.i32Sub, ...set(N))
    code.push(...round(r))
  }
  code.push(OP.br, 0, OP.end, OP.end)
  for (let i = 0; i < 16; i++) code.push(...store64Prefix, ...get(v(i)), ...store64(V_OFFSET + 8 * i))
  return [...vec([[32, I64]]), ...code, OP.end]
}

/** init(final): param final = 0; no locals. */
function initBody(): number[] {
  const code: number[] = []
  for (let i = 0; i < 8; i++)
    code.push(...store64Prefix, ...load64(H_OFFSET + 8 * i), ...store64(V_OFFSET + 8 * i))
  for (let i = 0; i < 8; i++) {
    code.push(...store64Prefix, OP.i64Const, ...sleb(IV[i]!))
    // v12 ^= t0, v13 ^= t1
    if (i === 4 || i === 5) code.push(...load64(T_OFFSET + 8 * (i - 4)), OP.i64Xor)
    code.push(...store64(V_OFFSET + 8 * (8 + i)))
  }
  // if (final) v14 = ~v14
  code.push(OP.localGet, 0, OP.if, VOID)
  code.push(...store64Prefix, ...load64(V_OFFSET + 8 * 14), OP.i64Const, ...sleb(-1n), OP.i64Xor)
  code.push(...store64(V_OFFSET + 8 * 14), OP.end)
  return [...vec([]), ...code, OP.end]
}

/** final(): h[i] ^= v[i] ^ v[i + 8]; no params, no locals. */
function finalBody(): number[] {
  const code: number[] = []
  for (let i = 0; i < 8; i++) {
    code.push(...store64Prefix, ...load64(H_OFFSET + 8 * i), ...load64(V_OFFSET + 8 * i), OP.i64Xor)
    code.push(...load64(V_OFFSET + 8 * (8 + i)), OP.i64Xor, ...store64(H_OFFSET + 8 * i))
  }
  return [...vec([]), ...code, OP.end]
}

/** The module's bytes (~5 KB). */
export function blake2fModuleBytes(): Uint8Array {
  const typeI32 = [0x60, ...vec([[I32]]), ...vec([])]
  const typeVoid = [0x60, ...vec([]), ...vec([])]
  const bodies = [initBody(), roundsBody(), finalBody()]
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([typeI32, typeVoid])),
    ...section(3, vec([[0], [0], [1]])),
    ...section(5, vec([[0x00, 1]])), // one memory, min 1 page, no max
    ...section(
      7,
      vec([
        [...name('memory'), 0x02, 0],
        [...name('init'), 0x00, 0],
        [...name('rounds'), 0x00, 1],
        [...name('final'), 0x00, 2],
      ]),
    ),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]
  return Uint8Array.from(bytes)
}

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: unknown }
}

/** A new instance (each has its own memory). Synchronous: Node compiles a module this size in ~1 ms. */
export function instantiateBlake2f(): Blake2fExports {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
  return new wasm.Instance(new wasm.Module(blake2fModuleBytes())).exports as Blake2fExports
}
