/**
 * Training jobs of a dev node (studio_* methods): start one, follow it (bounded polling of
 * studio_trainingJob for the new losses only) and draw its loss curve as an SVG line.
 */
import { h } from './dom.ts'
import { RpcError, rpc } from './rpc.ts'

export interface Job {
  id: number
  kind: 'base' | 'adapter' | 'verify'
  state: 'preparing' | 'training' | 'done' | 'failed'
  detail: string
  step: number
  steps: number
  losses: number[]
  lossesFrom: number
  error?: string
  result?: Record<string, unknown>
}

/** Says that a page needs a dev node when the node does not serve studio_* (-32601). */
export function devOnly(e: unknown): Error {
  if (e instanceof RpcError && e.code === -32601)
    return new Error(
      'Training and the playground are served by `openledger dev` (the dev node trains and answers for its dev accounts). On other nodes use `openledger model train` and a provider.',
    )
  return e as Error
}

const SVG = 'http://www.w3.org/2000/svg'
const svg = (tag: string, attrs: Record<string, string | number>) => {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  return el
}

/** Per-step batch losses are noisy: plot the mean of each window (at most 60 points). */
function smooth(losses: readonly number[]): number[] {
  const w = Math.max(1, Math.ceil(losses.length / 60))
  const out: number[] = []
  for (let i = 0; i < losses.length; i += w) {
    const part = losses.slice(i, i + w)
    out.push(part.reduce((a, b) => a + b, 0) / part.length)
  }
  return out
}

export function lossChart(losses: readonly number[], steps: number): SVGSVGElement {
  const W = 480
  const H = 160
  const pad = 32
  const pts = smooth(losses)
  const lo = pts.length ? Math.min(...pts) : 0
  const hi = pts.length ? Math.max(...pts) : 1
  const span = hi - lo || 1
  const per = losses.length / Math.max(1, pts.length)
  const x = (i: number) => pad + ((i * per + per / 2) / Math.max(1, steps)) * (W - 2 * pad)
  const y = (v: number) => pad / 2 + (1 - (v - lo) / span) * (H - 1.5 * pad)
  const last = losses.at(-1)
  const chart = svg('svg', {
    class: 'loss',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label':
      last === undefined
        ? 'Loss curve: no steps yet'
        : `Loss curve: ${losses[0]?.toFixed(3)} at step 1, ${last.toFixed(3)} at step ${losses.length} of ${steps}`,
  }) as SVGSVGElement
  chart.append(
    svg('line', { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: 'axis' }),
    svg('line', { x1: pad, y1: pad / 2, x2: pad, y2: H - pad, class: 'axis' }),
    Object.assign(svg('text', { x: 2, y: pad / 2 + 4 }), { textContent: hi.toFixed(2) }),
    Object.assign(svg('text', { x: 2, y: H - pad }), { textContent: lo.toFixed(2) }),
    Object.assign(svg('text', { x: W - pad, y: H - 8, 'text-anchor': 'end' }), {
      textContent: `step ${steps}`,
    }),
    svg('polyline', { points: pts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }),
  )
  return chart
}

/**
 * Follows a job until it ends, calling `show` after each poll with all losses so far. Polls every
 * 400 ms; gives up (throws) after `timeoutMs` or when `stopped()` says the page was left.
 */
export async function followJob(
  id: number,
  show: (job: Job) => void,
  stopped: () => boolean,
  timeoutMs = 15 * 60_000,
): Promise<Job> {
  const losses: number[] = []
  const end = Date.now() + timeoutMs
  for (;;) {
    const job = await rpc<Job>('studio_trainingJob', [id, losses.length])
    losses.splice(job.lossesFrom, losses.length - job.lossesFrom, ...job.losses)
    const full = { ...job, losses: [...losses] }
    if (stopped()) return full
    show(full)
    if (job.state === 'done') return full
    if (job.state === 'failed') throw new Error(job.error ?? 'training failed')
    if (Date.now() > end) throw new Error(`job ${id} did not finish within ${timeoutMs / 60_000} min`)
    await new Promise((r) => setTimeout(r, 400))
  }
}

/** Progress bar, step counter and loss curve of a job. */
export function jobView(job: Job): HTMLElement {
  const pct = job.steps > 0 ? Math.round((100 * job.step) / job.steps) : 0
  return h(
    'div',
    { class: 'job', 'data-state': job.state },
    h(
      'p',
      {},
      h('progress', { max: 100, value: pct, 'aria-label': 'Training progress' }),
      ' ',
      h('span', { class: 'job-step' }, job.steps > 0 ? `step ${job.step} / ${job.steps}` : ''),
      ' · ',
      h('span', { class: 'job-state' }, job.state === 'done' ? 'done' : job.detail),
      job.losses.length > 0 ? ` · loss ${job.losses.at(-1)?.toFixed(3)}` : '',
    ),
    job.steps > 0 ? lossChart(job.losses, job.steps) : null,
  )
}
