/**
 * Where a devnet block cycle goes: the validators' `qbft_getCycleTimings` (wall-clock ms per step
 * per height, see packages/node/src/consensus/cycle-timings.ts) lined up across nodes. All nodes
 * run on this machine, so their clocks agree and cross-node gaps (the proposal's gossip) are real.
 */
import type { RpcClient } from './rpc.ts'

type Step =
  | 'roundStart'
  | 'buildStart'
  | 'built'
  | 'proposalWal'
  | 'proposalSent'
  | 'validateStart'
  | 'validated'
  | 'prepareWal'
  | 'prepareSent'
  | 'commitWal'
  | 'commitSent'
  | 'decided'
  | 'imported'

export interface CycleRecordJson {
  height: string
  round: number
  txs: number | null
  at: Partial<Record<Step, number>>
}

export interface PhaseStat {
  phase: string
  p50Ms: number
  meanMs: number
  samples: number
}

export interface CycleBreakdown {
  heights: number
  /** Heights where some validator left round 0. */
  heightsWithRoundChanges: number
  /** Node 0: import of h-1 → import of h. */
  interval: PhaseStat
  phases: PhaseStat[]
}

export async function fetchCycleTimings(
  rpcs: RpcClient[],
  from: number,
  to: number,
): Promise<CycleRecordJson[][]> {
  const hx = (n: number) => `0x${n.toString(16)}`
  return Promise.all(rpcs.map((r) => r.call<CycleRecordJson[]>('qbft_getCycleTimings', [hx(from), hx(to)])))
}

function stat(phase: string, xs: number[]): PhaseStat {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN
  return {
    phase,
    p50Ms: s.length ? s[Math.floor(s.length / 2)]! : Number.NaN,
    meanMs: mean,
    samples: s.length,
  }
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN
}

const gap = (r: CycleRecordJson | undefined, a: Step, b: Step) => {
  const x = r?.at[a]
  const y = r?.at[b]
  return x === undefined || y === undefined ? Number.NaN : y - x
}

/** Phase durations per height (median across validators where every validator does the step). */
export function cycleBreakdown(perNode: CycleRecordJson[][]): CycleBreakdown {
  const byHeight = new Map<number, CycleRecordJson[]>()
  for (const list of perNode)
    for (const r of list) {
      const h = Number.parseInt(r.height, 16)
      const arr = byHeight.get(h) ?? []
      arr.push(r)
      byHeight.set(h, arr)
    }
  const cols: Record<string, number[]> = {}
  const push = (name: string, v: number) => {
    cols[name] ??= []
    cols[name].push(v)
  }
  const interval: number[] = []
  const node0 = new Map(perNode[0]?.map((r) => [Number.parseInt(r.height, 16), r]))
  let withRc = 0
  for (const [h, recs] of [...byHeight].sort((a, b) => a[0] - b[0])) {
    const prev = node0.get(h - 1)?.at.imported
    const cur = node0.get(h)?.at.imported
    if (prev !== undefined && cur !== undefined) interval.push(cur - prev)
    if (recs.some((r) => r.round > 0)) {
      withRc++
      continue // a round change's timeout dwarfs every phase: counted, not averaged in
    }
    const proposer = recs.find((r) => r.at.built !== undefined)
    const others = recs.filter((r) => r !== proposer)
    if (proposer) {
      push('period wait (round start → build)', gap(proposer, 'roundStart', 'buildStart'))
      push('build (proposer)', gap(proposer, 'buildStart', 'built'))
      push('proposal WAL fsync', gap(proposer, 'proposalWal', 'proposalSent'))
      const sent = proposer.at.proposalSent
      if (sent !== undefined)
        push('proposal gossip + decode', median(others.map((r) => (r.at.validateStart ?? Number.NaN) - sent)))
    }
    push('validation (re-execution)', median(others.map((r) => gap(r, 'validateStart', 'validated'))))
    push('prepare WAL fsync', median(recs.map((r) => gap(r, 'prepareWal', 'prepareSent'))))
    push('prepare quorum wait', median(recs.map((r) => gap(r, 'prepareSent', 'commitWal'))))
    push('commit WAL fsync', median(recs.map((r) => gap(r, 'commitWal', 'commitSent'))))
    push('commit quorum wait', median(recs.map((r) => gap(r, 'commitSent', 'decided'))))
    push('import (store + observers)', median(recs.map((r) => gap(r, 'decided', 'imported'))))
    push('round start → decided', median(recs.map((r) => gap(r, 'roundStart', 'decided'))))
    push('txs per block', proposer?.txs ?? Number.NaN)
  }
  return {
    heights: byHeight.size,
    heightsWithRoundChanges: withRc,
    interval: stat('block interval (node 0 import → import)', interval),
    phases: Object.entries(cols).map(([k, v]) => stat(k, v)),
  }
}

export function formatBreakdown(b: CycleBreakdown, indent = '    '): string[] {
  const f = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
  const rows = [b.interval, ...b.phases]
  const w = Math.max(...rows.map((r) => r.phase.length))
  return [
    `${indent}block cycle breakdown over ${b.heights} heights (${b.heightsWithRoundChanges} with round changes, left out of the phases); p50 / mean ms:`,
    ...rows.map(
      (r) => `${indent}  ${r.phase.padEnd(w)}  ${f(r.p50Ms).padStart(6)} / ${f(r.meanMs).padStart(6)}`,
    ),
  ]
}
