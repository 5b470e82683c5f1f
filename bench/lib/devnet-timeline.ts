/**
 * The devnet load second by second (`bench/devnet.ts --timeline`): sends answered, transactions
 * committed (blocks seen sealed on node 0), and the CPU the four validators used — their main
 * threads apart from every other thread (the sender-recovery workers, V8's compiler and GC
 * helpers, libuv) — and the load generator's own. CPU per answered send, second by second, shows
 * whether a slow start is the nodes' CPU per transaction (warm-up: lazy compilation, optimisation,
 * young-generation sizing) on a saturated machine, or a wait with CPU to spare.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface TimelineRow {
  /** Seconds since the load started (end of this one-second step). */
  s: number
  sent: number
  committed: number
  /** CPU ms of the validators' main threads, and of all their other threads, in this step. */
  mainMs: number
  otherMs: number
  /** CPU ms of the load generator (this process). */
  clientMs: number
}

/** USER_HZ of Linux's /proc times. */
const TICK_MS = 10

/** CPU ms of `pid`'s main thread and of its other threads together (Linux; zeros elsewhere). */
function threadCpuMs(pid: number): [number, number] {
  let main = 0
  let other = 0
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return [0, 0]
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ms = (Number(f[11]) + Number(f[12])) * TICK_MS
      if (tid === String(pid)) main += ms
      else other += ms
    } catch {
      // The thread ended meanwhile.
    }
  }
  return [main, other]
}

export class Timeline {
  sent = 0
  committed = 0
  readonly rows: TimelineRow[] = []
  #timer: NodeJS.Timeout | undefined

  constructor(private readonly pids: readonly number[]) {}

  #sample(): { main: number; other: number; client: number } {
    let main = 0
    let other = 0
    for (const pid of this.pids) {
      const [m, o] = threadCpuMs(pid)
      main += m
      other += o
    }
    const u = process.cpuUsage()
    return { main, other, client: (u.user + u.system) / 1000 }
  }

  start(): void {
    const t0 = performance.now()
    let last = { ...this.#sample(), sent: 0, committed: 0 }
    this.#timer = setInterval(() => {
      const now = { ...this.#sample(), sent: this.sent, committed: this.committed }
      this.rows.push({
        s: Math.round((performance.now() - t0) / 1000),
        sent: now.sent - last.sent,
        committed: now.committed - last.committed,
        mainMs: now.main - last.main,
        otherMs: now.other - last.other,
        clientMs: Math.round(now.client - last.client),
      })
      last = now
    }, 1000)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

export function formatTimeline(rows: readonly TimelineRow[], indent: string): string[] {
  const perTx = (ms: number, n: number) => (n > 0 ? (ms / n).toFixed(2) : '-')
  return [
    `${indent}timeline (per second: sends answered, txs committed, CPU ms of the validators' main threads / other threads, of the load generator; validators' CPU ms per answered send):`,
    ...rows.map(
      (r) =>
        `${indent}  ${String(r.s).padStart(3)} s  sent ${String(r.sent).padStart(4)}  committed ${String(r.committed).padStart(4)}  CPU ${String(r.mainMs).padStart(4)} / ${String(r.otherMs).padStart(4)} / ${String(r.clientMs).padStart(3)}  per send ${perTx(r.mainMs + r.otherMs, r.sent)}`,
    ),
  ]
}
