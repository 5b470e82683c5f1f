/** Plain-text tables for the terminal. */
import type { TimeCounters } from './metrics.ts'

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b

export const mib = (bytes: number | undefined): string =>
  bytes === undefined ? '—' : `${fmt(bytes / 2 ** 20)} MiB`

const PHASES = ['recovery', 'txpool', 'execution', 'roots', 'storage']

/** Phase seconds as % of the run's wall time, then RPC time per method. RPC seconds are summed over
 * concurrent requests (32 in flight), so they are shown per call rather than as a share of wall time. */
export function timeBreakdown(time: TimeCounters, wallSeconds: number): string {
  const pct = (s: number) => `${fmt((100 * s) / wallSeconds, 1)} %`
  const phases = [...PHASES, ...Object.keys(time.phases).filter((p) => !PHASES.includes(p))]
  const rows = phases.map((p) => [p, fmt(time.phases[p] ?? 0, 3), pct(time.phases[p] ?? 0)])
  // commit_wait is automine waiting on storage + observers (already counted), not a phase of its own.
  const total = Object.entries(time.phases).reduce((a, [p, s]) => (p === 'commit_wait' ? a : a + s), 0)
  rows.push(['all phases', fmt(total, 3), pct(total)])
  const rpc = Object.entries(time.rpc)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([method, s]) => {
      const calls = time.calls[method] ?? 0
      return [method, fmt(calls), fmt(s, 3), calls > 0 ? fmt((1000 * s) / calls, 3) : '—']
    })
  return [
    table(['phase', 'seconds', '% of wall'], rows),
    '',
    table(['rpc method', 'calls', 'seconds (summed)', 'mean ms/call'], rpc),
  ].join('\n')
}
