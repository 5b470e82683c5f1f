/**
 * The bounded queue of requests that execute EVM code (eth_call, eth_estimateGas,
 * eth_createAccessList, debug_trace*, ol_* simulations). At most `concurrency` run at once; the
 * others wait in one FIFO per client, served round-robin, so a client with many queued calls
 * delays others by at most one execution per turn. Admission is bounded overall and per client
 * (-32005 when full), and a waiting request whose client went away leaves the queue at once.
 */
import { limitExceeded, RpcError } from './errors.ts'

export interface ExecutionQueueLimits {
  /** Executions running at the same time (the backend's execution slots). */
  concurrency: number
  /** Requests admitted (running + waiting), all clients together. */
  maxPending: number
  /** Requests admitted (running + waiting) for one client. */
  maxPendingPerClient: number
}

interface Job {
  client: string
  start: () => void
  cancel: () => void
}

/** The error a cancelled request gets (nobody is left to read it, but logs and metrics see it). */
export function requestCancelled(): RpcError {
  return new RpcError(-32000, 'request cancelled: the client disconnected')
}

export class ExecutionQueue {
  private readonly waiting = new Map<string, Job[]>()
  private readonly admitted = new Map<string, number>()
  /** Clients with waiting jobs, in round-robin order. */
  private readonly turn: string[] = []
  private running = 0
  private total = 0

  constructor(private readonly limits: ExecutionQueueLimits) {}

  /** Running and waiting executions (for metrics and tests). */
  stats(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.total - this.running }
  }

  /**
   * Runs `task` when a slot is free. Throws -32005 when the client or the node has too many
   * admitted, and the cancellation error when `signal` fires while waiting (a running task
   * sees the signal itself).
   */
  run<T>(client: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    if (signal?.aborted) return Promise.reject(requestCancelled())
    const mine = this.admitted.get(client) ?? 0
    if (mine >= this.limits.maxPendingPerClient)
      return Promise.reject(
        limitExceeded(
          `too many executing requests from this client (max ${this.limits.maxPendingPerClient}); retry later`,
        ),
      )
    if (this.total >= this.limits.maxPending)
      return Promise.reject(
        limitExceeded(`too many executing requests (max ${this.limits.maxPending}); retry later`),
      )
    this.admitted.set(client, mine + 1)
    this.total++
    // A free slot and nobody waiting: the task starts now, so there is no queue entry to cancel
    // and no abort listener (a running task sees the signal itself). This is every request of a
    // node that is not saturated; it skips the job, its closures and the listener (EventTarget
    // add/remove was ~2 % of an eth_call's main-thread time).
    if (this.running < this.limits.concurrency && this.turn.length === 0) return this.startNow(client, task)
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const release = () => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        this.leave(client)
      }
      const job: Job = {
        client,
        start: () => {
          this.running++
          signal?.removeEventListener('abort', onAbort)
          invoke(task)
            .then(resolve, reject)
            .finally(() => {
              this.running--
              release()
              this.pump()
            })
        },
        cancel: () => {
          release()
          reject(requestCancelled())
        },
      }
      const onAbort = () => {
        if (this.remove(job)) job.cancel()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.enqueue(job)
      this.pump()
    })
  }

  private startNow<T>(client: string, task: () => Promise<T>): Promise<T> {
    this.running++
    return invoke(task).finally(() => {
      this.running--
      this.leave(client)
      this.pump()
    })
  }

  /** An admitted execution of `client` is over (ran, failed or was cancelled). */
  private leave(client: string): void {
    const n = (this.admitted.get(client) ?? 1) - 1
    if (n === 0) this.admitted.delete(client)
    else this.admitted.set(client, n)
    this.total--
  }

  private enqueue(job: Job): void {
    const q = this.waiting.get(job.client)
    if (q) q.push(job)
    else {
      this.waiting.set(job.client, [job])
      this.turn.push(job.client)
    }
  }

  private remove(job: Job): boolean {
    const q = this.waiting.get(job.client)
    const i = q?.indexOf(job) ?? -1
    if (q === undefined || i < 0) return false
    q.splice(i, 1)
    if (q.length === 0) this.dropClient(job.client)
    return true
  }

  private dropClient(client: string): void {
    this.waiting.delete(client)
    const i = this.turn.indexOf(client)
    if (i >= 0) this.turn.splice(i, 1)
  }

  private pump(): void {
    while (this.running < this.limits.concurrency && this.turn.length > 0) {
      const client = this.turn.shift()!
      const q = this.waiting.get(client)!
      const job = q.shift()!
      if (q.length === 0) this.waiting.delete(client)
      else this.turn.push(client)
      job.start()
    }
  }
}

/** `task()`, with a synchronous throw turned into a rejection. */
function invoke<T>(task: () => Promise<T>): Promise<T> {
  try {
    return task()
  } catch (e) {
    return Promise.reject(e)
  }
}
