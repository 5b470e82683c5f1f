/** Scraping our node's Prometheus counters, to say where the time of a run went. */

export interface TimeCounters {
  /** node_phase_seconds_total by phase. */
  phases: Record<string, number>
  /** rpc_request_seconds_total by method (summed over concurrent requests, so it can exceed wall time). */
  rpc: Record<string, number>
  /** rpc_requests_total by method, all result codes together. */
  calls: Record<string, number>
}

const LINE = /^(node_phase_seconds_total|rpc_request_seconds_total|rpc_requests_total)\{([^}]*)\}\s+(\S+)/

/** Parses the phase and RPC counters out of a Prometheus text exposition. */
export function parseCounters(text: string): TimeCounters {
  const out: TimeCounters = { phases: {}, rpc: {}, calls: {} }
  for (const line of text.split('\n')) {
    const m = LINE.exec(line)
    if (!m) continue
    const label = /(?:phase|method)="([^"]*)"/.exec(m[2]!)
    const value = Number(m[3])
    if (!label || !Number.isFinite(value)) continue
    const bucket =
      m[1] === 'node_phase_seconds_total' ? out.phases : m[1] === 'rpc_requests_total' ? out.calls : out.rpc
    // rpc_requests_total has one series per (method, code): add them up per method.
    bucket[label[1]!] = (bucket[label[1]!] ?? 0) + value
  }
  return out
}

export async function scrape(url: string): Promise<TimeCounters> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return parseCounters(await res.text())
}

/** after − before, per label (labels first seen in `after` count from zero). */
export function diffCounters(before: TimeCounters, after: TimeCounters): TimeCounters {
  const sub = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]))
  return {
    phases: sub(after.phases, before.phases),
    rpc: sub(after.rpc, before.rpc),
    calls: sub(after.calls, before.calls),
  }
}
