import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { bytesEqual, toHex } from '../src/bytes.ts'
import { verifyEquivocation } from '../src/qbft.ts'
import { selectProposer, sortValidators } from '../src/types.ts'
import { testBlocks } from './helpers.ts'
import { CHAIN_ID, type SimOptions, type SimResult, Simulation } from './sim.ts'

function expectSafe(r: SimResult): void {
  expect(r.safetyViolations).toEqual([])
  expect(r.doubleSigns).toEqual([])
  for (const [, ids] of r.decided) expect(ids.size).toBe(1)
}

const adverse = (n: number, seed: number, extra: Partial<SimOptions> = {}): SimOptions => ({
  n,
  seed,
  gst: 20_000,
  dropRate: 0.3,
  dupRate: 0.1,
  maxDelayBeforeGst: 1500,
  partitions: [{ groups: [[0, 1], [2, 3, 4, 5, 6].filter((i) => i < n)], from: 2_000, to: 12_000 }],
  targetHeight: 12,
  maxTime: 2_000_000,
  ...extra,
})

describe('simulated network', () => {
  test.each([1, 4, 7])(
    'n=%i: steady network commits every height at round 0 with one block per height',
    (n) => {
      const r = new Simulation({ n, seed: 7, targetHeight: 10, maxTime: 100_000 }).run()
      expectSafe(r)
      expect(r.heights).toEqual(Array(n).fill(10))
      expect(r.commitRounds.every((x) => x === 0)).toBe(true)
      // Besu rotation: round-0 proposers take turns block after block.
      const builders = [...r.builders.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b)
      if (n > 1) expect(new Set(builders.slice(0, n)).size).toBe(n)
    },
  )

  test('n=4 with real secp256k1 signatures over the wire', () => {
    const r = new Simulation({ n: 4, seed: 3, targetHeight: 3, maxTime: 100_000, realCrypto: true }).run()
    expectSafe(r)
    expect(r.heights).toEqual([3, 3, 3, 3])
  })

  test.each([4, 7])(
    'n=%i: drops, duplicates, reordering and a healing partition: safe, then live after GST',
    (n) => {
      for (let seed = 1; seed <= 4; seed++) {
        const r = new Simulation(adverse(n, seed)).run()
        expectSafe(r)
        // Liveness after stabilisation: everyone reaches the target well after GST.
        expect(Math.min(...r.honestHeights)).toBeGreaterThanOrEqual(12)
        expect(r.maxRound).toBeGreaterThan(0) // the adversity really forced round changes
      }
    },
  )

  test.each([4, 7])(
    'n=%i: f equivocating validators cannot break safety; evidence is emitted and verifiable',
    (n) => {
      const f = Math.floor((n - 1) / 3)
      let evidence = 0
      for (let seed = 1; seed <= 4; seed++) {
        const byzantine = Array.from({ length: f }, (_, i) => (seed + i) % n)
        const sim = new Simulation(adverse(n, seed, { byzantine }))
        const r = sim.run()
        expectSafe(r)
        expect(Math.min(...r.honestHeights)).toBeGreaterThanOrEqual(12)
        for (const ev of r.evidence) {
          expect(byzantine.some((b) => bytesEqual(sim.validators[b] as Uint8Array, ev.author))).toBe(true)
          expect(
            verifyEquivocation(ev, { chainId: CHAIN_ID, blocks: testBlocks, recover: sim.keyring.recover }),
          ).toBe(true)
        }
        evidence += r.evidence.length
      }
      expect(evidence).toBeGreaterThan(0)
    },
  )

  test('round change when the proposer is down', () => {
    const probe = new Simulation({ n: 4, seed: 11, targetHeight: 1, maxTime: 1 })
    // The round-0 proposer of height 1 (genesis coinbase 0x0 → first validator above it).
    const first = selectProposer(sortValidators(probe.validators), new Uint8Array(20), 0)
    const down = probe.validators.findIndex((v) => bytesEqual(v, first))
    const r = new Simulation({
      n: 4,
      seed: 11,
      crashes: [{ node: down, at: 0 }],
      targetHeight: 3,
      maxTime: 200_000,
    }).run()
    expectSafe(r)
    expect(r.heights.filter((_, i) => i !== down)).toEqual([3, 3, 3])
    expect(r.commitRounds[0]).toBeGreaterThanOrEqual(1)
    expect(r.builders.get(1)).not.toBe(toHex(first))
  })

  test('crash + restart from the WAL at many moments never double-signs', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const at = 200 + ((seed * 977) % 5000)
      const r = new Simulation({
        n: 4,
        seed,
        gst: 8_000,
        dropRate: 0.2,
        crashes: [
          { node: seed % 4, at, restartAt: at + 300 + ((seed * 131) % 3000) },
          { node: (seed + 1) % 4, at: at + 4000, restartAt: at + 4100 },
        ],
        targetHeight: 8,
        maxTime: 1_000_000,
      }).run()
      expectSafe(r)
      expect(Math.min(...r.heights)).toBeGreaterThanOrEqual(8)
    }
  })

  test('two of four crashed: nothing is committed and nothing forks; after restart it resumes', () => {
    const r = new Simulation({
      n: 4,
      seed: 5,
      crashes: [
        { node: 0, at: 3_000, restartAt: 60_000 },
        { node: 1, at: 3_000, restartAt: 60_000 },
      ],
      targetHeight: 10,
      maxTime: 400_000,
    }).run()
    expectSafe(r)
    // In-flight decisions land within a few message delays of the crash; then nothing until restart.
    expect(r.commitTimes.filter((t) => t > 4_000 && t < 60_000)).toEqual([])
    expect(r.commitTimes.filter((t) => t <= 4_000).length).toBeGreaterThan(0)
    expect(Math.min(...r.heights)).toBeGreaterThanOrEqual(10)
  })

  test('property: safety under random schedules with ≤ f byzantine validators', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          n: fc.constantFrom(4, 7),
          drop: fc.double({ min: 0, max: 0.5, noNaN: true }),
          dup: fc.double({ min: 0, max: 0.3, noNaN: true }),
          delay: fc.integer({ min: 10, max: 3000 }),
          withByz: fc.boolean(),
          cut: fc.integer({ min: 1, max: 5 }),
        }),
        ({ seed, n, drop, dup, delay, withByz, cut }) => {
          const f = Math.floor((n - 1) / 3)
          const r = new Simulation({
            n,
            seed,
            byzantine: withByz ? Array.from({ length: f }, (_, i) => (seed + i) % n) : [],
            gst: 15_000,
            dropRate: drop,
            dupRate: dup,
            maxDelayBeforeGst: delay,
            partitions: [
              {
                groups: [
                  Array.from({ length: cut }, (_, i) => i),
                  Array.from({ length: n - cut }, (_, i) => i + cut),
                ],
                from: 1_000,
                to: 9_000,
              },
            ],
            targetHeight: 6,
            maxTime: 1_000_000,
          }).run()
          expectSafe(r)
          expect(Math.min(...r.honestHeights)).toBeGreaterThanOrEqual(6)
        },
      ),
      { numRuns: 25, seed: 20240601 },
    )
  })
})
