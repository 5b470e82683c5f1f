/**
 * Suffix array construction by SA-IS (Nong, Zhang & Chan 2009): induced sorting, O(n) time whatever
 * the repeats in the text (duplicate records are common in datanets, and prefix doubling degrades
 * to one full pass per doubling of the longest repeat). Typed arrays only: about 9 bytes per symbol
 * of working memory on top of the text.
 *
 * `buildSuffixArray(text, alphabetSize)`: symbols are integers in [0, alphabetSize); the end of the
 * text sorts before every symbol (a virtual sentinel).
 */
export function buildSuffixArray(text: Int32Array, alphabetSize: number): Int32Array {
  const n = text.length
  if (n === 0) return new Int32Array(0)
  // Shift symbols up by one and append the unique smallest sentinel 0 that SA-IS needs.
  const t = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) t[i] = text[i]! + 1
  const sa = new Int32Array(n + 1)
  sais(t, sa, n + 1, alphabetSize + 1)
  // sa[0] is the sentinel; the rest is the answer for `text`.
  return sa.subarray(1)
}

/** Bucket starts (ends = false) or exclusive ends (ends = true) from per-symbol counts. */
function buckets(cnt: Int32Array, k: number, ends: boolean, bkt: Int32Array): void {
  let sum = 0
  for (let c = 0; c < k; c++) {
    const x = cnt[c]!
    sum += x
    bkt[c] = ends ? sum : sum - x
  }
}

function induce(
  t: Int32Array,
  sa: Int32Array,
  n: number,
  k: number,
  stype: Uint8Array,
  cnt: Int32Array,
  bkt: Int32Array,
): void {
  // L-type suffixes, left to right from bucket starts.
  buckets(cnt, k, false, bkt)
  for (let i = 0; i < n; i++) {
    const j = sa[i]! - 1
    if (j >= 0 && stype[j] === 0) sa[bkt[t[j]!]!++] = j
  }
  // S-type suffixes, right to left from bucket ends.
  buckets(cnt, k, true, bkt)
  for (let i = n - 1; i >= 0; i--) {
    const j = sa[i]! - 1
    if (j >= 0 && stype[j] === 1) sa[--bkt[t[j]!]!] = j
  }
}

/** SA-IS on t[0..n) whose last symbol is a unique minimum; symbols in [0, k). */
function sais(t: Int32Array, sa: Int32Array, n: number, k: number): void {
  if (n === 1) {
    sa[0] = 0
    return
  }
  // Suffix types: 1 = S (smaller than its successor), 0 = L.
  const stype = new Uint8Array(n)
  stype[n - 1] = 1
  for (let i = n - 2; i >= 0; i--) {
    const a = t[i]!
    const b = t[i + 1]!
    stype[i] = a < b || (a === b && stype[i + 1] === 1) ? 1 : 0
  }
  const isLms = (i: number) => i > 0 && stype[i] === 1 && stype[i - 1] === 0
  const cnt = new Int32Array(k)
  for (let i = 0; i < n; i++) cnt[t[i]!]!++
  const bkt = new Int32Array(k)

  // 1. Sort the LMS substrings by inducing from LMS positions dropped at their bucket ends.
  sa.fill(-1)
  buckets(cnt, k, true, bkt)
  for (let i = 1; i < n; i++) if (isLms(i)) sa[--bkt[t[i]!]!] = i
  induce(t, sa, n, k, stype, cnt, bkt)

  // 2. Compact the sorted LMS positions and name the LMS substrings (equal substrings, same name).
  let n1 = 0
  for (let i = 0; i < n; i++) {
    const p = sa[i]!
    if (isLms(p)) sa[n1++] = p
  }
  sa.fill(-1, n1, n)
  let name = 0
  let prev = -1
  for (let i = 0; i < n1; i++) {
    const pos = sa[i]!
    let diff = false
    for (let d = 0; ; d++) {
      if (prev === -1 || t[pos + d] !== t[prev + d] || stype[pos + d] !== stype[prev + d]) {
        diff = true
        break
      }
      if (d > 0 && (isLms(pos + d) || isLms(prev + d))) break
    }
    if (diff) {
      name++
      prev = pos
    }
    // LMS positions are at least two apart, so pos >> 1 is a collision-free slot.
    sa[n1 + (pos >> 1)] = name - 1
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) if (sa[i]! >= 0) sa[j--] = sa[i]!

  // 3. Sort the reduced string (names in text order), recursively if names repeat.
  const s1 = sa.subarray(n - n1, n)
  const sa1 = sa.subarray(0, n1)
  if (name < n1) sais(s1, sa1, n1, name)
  else for (let i = 0; i < n1; i++) sa1[s1[i]!] = i

  // 4. Induce the full order from the sorted LMS suffixes.
  for (let i = 1, j = 0; i < n; i++) if (isLms(i)) s1[j++] = i
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]!]!
  sa.fill(-1, n1, n)
  buckets(cnt, k, true, bkt)
  for (let i = n1 - 1; i >= 0; i--) {
    const j = sa[i]!
    sa[i] = -1
    sa[--bkt[t[j]!]!] = j
  }
  induce(t, sa, n, k, stype, cnt, bkt)
}
