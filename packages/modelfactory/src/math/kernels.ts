/**
 * Dense float32 kernels, single-threaded and deterministic.
 *
 * Every matrix product goes through one kernel, `matmulNT` (C = A·Bᵀ, both operands row-major with
 * the reduction dimension contiguous); the other layouts transpose first (O(n²) against the
 * product's O(n³)). Each output element is the binary64 sum of the exact float32×float32 products
 * (24+24 bits fit binary64's 53) over k = 0 … K−1 in increasing order, rounded once to float32
 * when stored. Register blocking (4×4 outputs per pass) changes which elements are computed
 * together, never the order of any element's sum, so the result is the same bits whatever the
 * blocking, engine or processor (see docs/modelfactory.md, "Determinism").
 */

/** C[M,N] = A[M,K]·B[N,K]ᵀ, or C += A·Bᵀ when `accumulate` (each element: one more rounding). */
export function matmulNT(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  K: number,
  N: number,
  accumulate = false,
): void {
  if (a.length < M * K || b.length < N * K || c.length < M * N) {
    throw new RangeError(`matmulNT: operands too small for ${M}×${K}·(${N}×${K})ᵀ`)
  }
  const acc = accumulate ? 1 : 0
  const M4 = M - (M % 4)
  const N4 = N - (N % 4)
  let i = 0
  for (; i < M4; i += 4) {
    const a0 = i * K
    const a1 = a0 + K
    const a2 = a1 + K
    const a3 = a2 + K
    let j = 0
    for (; j < N4; j += 4) {
      const b0 = j * K
      const b1 = b0 + K
      const b2 = b1 + K
      const b3 = b2 + K
      let s00 = 0
      let s01 = 0
      let s02 = 0
      let s03 = 0
      let s10 = 0
      let s11 = 0
      let s12 = 0
      let s13 = 0
      let s20 = 0
      let s21 = 0
      let s22 = 0
      let s23 = 0
      let s30 = 0
      let s31 = 0
      let s32 = 0
      let s33 = 0
      for (let k = 0; k < K; k++) {
        const w0 = b[b0 + k] as number
        const w1 = b[b1 + k] as number
        const w2 = b[b2 + k] as number
        const w3 = b[b3 + k] as number
        let x = a[a0 + k] as number
        s00 += x * w0
        s01 += x * w1
        s02 += x * w2
        s03 += x * w3
        x = a[a1 + k] as number
        s10 += x * w0
        s11 += x * w1
        s12 += x * w2
        s13 += x * w3
        x = a[a2 + k] as number
        s20 += x * w0
        s21 += x * w1
        s22 += x * w2
        s23 += x * w3
        x = a[a3 + k] as number
        s30 += x * w0
        s31 += x * w1
        s32 += x * w2
        s33 += x * w3
      }
      let o = i * N + j
      if (acc) {
        c[o] = (c[o] as number) + s00
        c[o + 1] = (c[o + 1] as number) + s01
        c[o + 2] = (c[o + 2] as number) + s02
        c[o + 3] = (c[o + 3] as number) + s03
        o += N
        c[o] = (c[o] as number) + s10
        c[o + 1] = (c[o + 1] as number) + s11
        c[o + 2] = (c[o + 2] as number) + s12
        c[o + 3] = (c[o + 3] as number) + s13
        o += N
        c[o] = (c[o] as number) + s20
        c[o + 1] = (c[o + 1] as number) + s21
        c[o + 2] = (c[o + 2] as number) + s22
        c[o + 3] = (c[o + 3] as number) + s23
        o += N
        c[o] = (c[o] as number) + s30
        c[o + 1] = (c[o + 1] as number) + s31
        c[o + 2] = (c[o + 2] as number) + s32
        c[o + 3] = (c[o + 3] as number) + s33
      } else {
        c[o] = s00
        c[o + 1] = s01
        c[o + 2] = s02
        c[o + 3] = s03
        o += N
        c[o] = s10
        c[o + 1] = s11
        c[o + 2] = s12
        c[o + 3] = s13
        o += N
        c[o] = s20
        c[o + 1] = s21
        c[o + 2] = s22
        c[o + 3] = s23
        o += N
        c[o] = s30
        c[o + 1] = s31
        c[o + 2] = s32
        c[o + 3] = s33
      }
    }
    for (; j < N; j++) {
      for (let r = 0; r < 4; r++) dotInto(a, (i + r) * K, b, j * K, K, c, (i + r) * N + j, acc)
    }
  }
  for (; i < M; i++) {
    const ai = i * K
    let j = 0
    for (; j < N4; j += 4) {
      const b0 = j * K
      const b1 = b0 + K
      const b2 = b1 + K
      const b3 = b2 + K
      let s0 = 0
      let s1 = 0
      let s2 = 0
      let s3 = 0
      for (let k = 0; k < K; k++) {
        const x = a[ai + k] as number
        s0 += x * (b[b0 + k] as number)
        s1 += x * (b[b1 + k] as number)
        s2 += x * (b[b2 + k] as number)
        s3 += x * (b[b3 + k] as number)
      }
      const o = i * N + j
      if (acc) {
        c[o] = (c[o] as number) + s0
        c[o + 1] = (c[o + 1] as number) + s1
        c[o + 2] = (c[o + 2] as number) + s2
        c[o + 3] = (c[o + 3] as number) + s3
      } else {
        c[o] = s0
        c[o + 1] = s1
        c[o + 2] = s2
        c[o + 3] = s3
      }
    }
    for (; j < N; j++) dotInto(a, ai, b, j * K, K, c, i * N + j, acc)
  }
}

function dotInto(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  K: number,
  c: Float32Array,
  co: number,
  acc: number,
): void {
  let s = 0
  for (let k = 0; k < K; k++) s += (a[ao + k] as number) * (b[bo + k] as number)
  c[co] = acc ? (c[co] as number) + s : s
}

/** dst[C,R] = src[R,C]ᵀ. */
export function transpose(src: Float32Array, dst: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * C
    for (let c = 0; c < C; c++) dst[c * R + r] = src[o + c] as number
  }
}

/** C[M,N] = A[M,K]·B[K,N] (transposes B into `scratch`, at least K·N long). */
export function matmulNN(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  K: number,
  N: number,
  scratch: Float32Array,
  accumulate = false,
): void {
  transpose(b, scratch, K, N)
  matmulNT(a, scratch, c, M, K, N, accumulate)
}

/** C[M,N] (+)= A[K,M]ᵀ·B[K,N] (transposes both into the scratch buffers). */
export function matmulTN(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  K: number,
  N: number,
  scratchA: Float32Array,
  scratchB: Float32Array,
  accumulate = false,
): void {
  transpose(a, scratchA, K, M)
  transpose(b, scratchB, K, N)
  matmulNT(scratchA, scratchB, c, M, K, N, accumulate)
}
