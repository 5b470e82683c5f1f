import { describe, expect, it } from 'vitest'
import { CycleTimings } from '../src/consensus/cycle-timings.ts'

describe('CycleTimings', () => {
  it('keeps the first time of each step, the highest round, and a bounded number of heights', () => {
    let now = 1000
    const t = new CycleTimings(3, () => now)
    t.mark(5n, 'roundStart')
    now = 1200
    t.mark(5n, 'roundStart') // a later round start does not move round 0's
    t.round(5n, 1)
    t.round(5n, 0)
    t.mark(5n, 'decided', 1500)
    t.txs(5n, 7)
    t.txs(5n, 9)
    expect(t.range(5n, 5n)).toEqual([
      { height: 5n, round: 1, txs: 7, at: { roundStart: 1000, decided: 1500 } },
    ])
    for (const h of [6n, 7n, 8n]) t.mark(h, 'imported')
    expect(t.range(0n, 100n).map((r) => r.height)).toEqual([6n, 7n, 8n])
    expect(t.range(7n, 7n)).toHaveLength(1)
  })
})
