/**
 * RPC execution on worker threads (exec-worker.ts): eth_call, eth_estimateGas and traces run off
 * the main thread, so block production, consensus messages and cheap requests never wait behind
 * them, and a second core works on them. Each worker has its own runtime over the node's LevelDB
 * (multithreading mode) and executes at a state root the main thread names; roots are persisted
 * and never pruned, so a root is a snapshot.
 *
 * A job's budget is enforced inside the worker's interpreter (time limit; cancellation through a
 * flag in shared memory, since the worker's thread is busy and reads no messages meanwhile). As a
 * backstop against anything that ignores it (a library bug, a precompile that never returns), a
 * worker that has not answered `graceMs` after its job's time limit is terminated and replaced.
 *
 * Workers start on the first request; until one is ready, or if they keep failing, the caller
 * executes in-thread (time-sliced), so the pool never makes a request fail that would otherwise work.
 */
import { Worker } from 'node:worker_threads'
import { ExecutionAborted, ExecutionFault } from '@openledger/evm-runtime'
import type { RuntimeSpec } from '../chain/runtime-spec.ts'
import {
  deserializeError,
  type ExecJob,
  type ExecWorkerData,
  type JobSpec,
  type ToMain,
  type ToWorker,
} from './exec-protocol.ts'

export interface ExecPoolOptions {
  threads: number
  dbPath: string
  spec: RuntimeSpec
  /** After a job's time limit, how long its worker may still take before it is replaced (ms). */
  graceMs?: number
  /** Niceness added to the worker threads' (Linux; default 10: consensus work on main threads first). */
  nice?: number
  /** Told once when workers fail and execution falls back to the main thread. */
  onError?: (err: Error) => void
}

// Compiled (dist/), the worker is exec-worker.js itself; run from the TypeScript sources (tests),
// exec-worker.mjs first loads tsx in the worker thread.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './exec-worker.mjs' : './exec-worker.js',
  import.meta.url,
)
/** Worker failures (crashes, backstop terminations) in a row after which the pool gives up. */
const MAX_FAILURES = 5

interface Task {
  job: ExecJob
  signal?: { readonly aborted: boolean } & Partial<
    Pick<AbortSignal, 'addEventListener' | 'removeEventListener'>
  >
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
  onAbort?: () => void
}

interface Slot {
  worker: Worker
  ready: boolean
  cancel: Int32Array
  task?: Task
  backstop?: NodeJS.Timeout
}

export class ExecPool {
  private readonly slots: Slot[] = []
  private readonly queue: Task[] = []
  private started = false
  private closed = false
  private failures = 0
  private nextId = 1
  private reported = false
  private completed = 0

  constructor(private readonly opts: ExecPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1)
      throw new RangeError(`exec pool threads must be a positive integer, got ${opts.threads}`)
  }

  get threads(): number {
    return this.opts.threads
  }

  /** Whether requests go to the workers now (started, one ready, not given up). */
  get ready(): boolean {
    return !this.closed && this.failures < MAX_FAILURES && this.slots.some((s) => s.ready)
  }

  /** Jobs running on workers, waiting for one, and answered by one so far. */
  stats(): { running: number; waiting: number; completed: number } {
    return {
      running: this.slots.filter((s) => s.task).length,
      waiting: this.queue.length,
      completed: this.completed,
    }
  }

  /** Spawns the workers (idempotent). */
  start(): void {
    if (this.started || this.closed) return
    this.started = true
    for (let i = 0; i < this.opts.threads; i++) this.spawn()
  }

  private spawn(): void {
    const cancel = new SharedArrayBuffer(4)
    const data: ExecWorkerData = {
      dbPath: this.opts.dbPath,
      spec: this.opts.spec,
      cancel,
      nice: this.opts.nice ?? 10,
      cache: { accounts: 20_000, storage: 20_000, code: 2_000, trieNodes: 50_000 },
    }
    // A trace or call that grows the heap past this kills the worker only (the job fails, a new
    // worker starts), never the node.
    const worker = new Worker(WORKER_URL, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    })
    const slot: Slot = { worker, ready: false, cancel: new Int32Array(cancel) }
    this.slots.push(slot)
    worker.on('message', (m: ToMain) => this.onMessage(slot, m))
    worker.on('error', (err) => this.fail(slot, err))
    worker.on('exit', (code) => this.fail(slot, new Error(`execution worker exited with code ${code}`)))
  }

  private onMessage(slot: Slot, m: ToMain): void {
    switch (m.type) {
      case 'ready':
        slot.ready = true
        this.pump()
        return
      case 'result':
      case 'error': {
        const task = slot.task
        if (task === undefined || task.job.id !== m.id) return
        this.finish(slot)
        this.failures = 0
        this.completed++
        if (m.type === 'result') task.resolve(m.value)
        else task.reject(deserializeError(m.error))
        this.pump()
      }
    }
  }

  /** A worker died or was terminated: its job fails, a replacement starts (unless given up). */
  private fail(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot)
    if (i < 0) return
    this.slots.splice(i, 1)
    const task = slot.task
    this.finish(slot)
    slot.worker.removeAllListeners()
    void slot.worker.terminate()
    if (this.closed) {
      task?.reject(new ExecutionFault(new Error('the node is shutting down')))
      return
    }
    this.failures++
    if (task !== undefined) task.reject(new ExecutionFault(err))
    if (this.failures >= MAX_FAILURES) {
      if (!this.reported) {
        this.reported = true
        this.opts.onError?.(err)
      }
      // Queued jobs are not lost: the caller retries them in-thread.
      for (const t of this.queue.splice(0)) {
        unlisten(t)
        t.reject(new PoolUnavailable())
      }
      return
    }
    this.spawn()
  }

  private finish(slot: Slot): void {
    if (slot.backstop) clearTimeout(slot.backstop)
    slot.backstop = undefined
    const task = slot.task
    slot.task = undefined
    if (task !== undefined) unlisten(task)
  }

  /** Runs a job on a worker. Rejects with PoolUnavailable when no worker will take it. */
  run(spec: JobSpec, signal?: Task['signal']): Promise<unknown> {
    if (!this.ready) return Promise.reject(new PoolUnavailable())
    // Block hooks replay only on the main thread (RuntimeSpec.blockHooks).
    if (spec.kind === 'trace' && this.opts.spec.blockHooks === true)
      return Promise.reject(new PoolUnavailable())
    if (signal?.aborted) return Promise.reject(new ExecutionAborted('cancelled'))
    const job = { ...spec, id: this.nextId++ } as ExecJob
    return new Promise((resolve, reject) => {
      const task: Task = { job, signal, resolve, reject }
      if (signal?.addEventListener) {
        task.onAbort = () => this.cancel(task)
        signal.addEventListener('abort', task.onAbort, { once: true })
      }
      this.queue.push(task)
      this.pump()
    })
  }

  private cancel(task: Task): void {
    const i = this.queue.indexOf(task)
    if (i >= 0) {
      this.queue.splice(i, 1)
      unlisten(task)
      task.reject(new ExecutionAborted('cancelled'))
      return
    }
    const slot = this.slots.find((s) => s.task === task)
    if (slot) Atomics.store(slot.cancel, 0, task.job.id)
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.task !== undefined) continue
      const task = this.queue.shift()
      if (task === undefined) return
      slot.task = task
      Atomics.store(slot.cancel, 0, 0)
      const timeout = task.job.limits.timeoutMs
      if (timeout !== undefined && timeout > 0) {
        slot.backstop = setTimeout(
          () => {
            // The worker ignored its budget: replace it; the job fails as a timeout would.
            const t = slot.task
            this.finish(slot)
            t?.reject(new ExecutionAborted('timeout', timeout))
            this.fail(
              slot,
              new Error(`execution worker did not stop ${this.opts.graceMs ?? 2000} ms after its time limit`),
            )
          },
          timeout + (this.opts.graceMs ?? 2000),
        )
      }
      slot.worker.postMessage({ type: 'job', job: task.job } satisfies ToWorker)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.queue.splice(0)) {
      unlisten(t)
      t.reject(new ExecutionFault(new Error('the node is shutting down')))
    }
    await Promise.all([...this.slots].map((s) => s.worker.terminate()))
  }
}

/** No worker can take the job (not started yet, or given up): execute it in-thread instead. */
export class PoolUnavailable extends Error {
  constructor() {
    super('execution workers unavailable')
    this.name = 'PoolUnavailable'
  }
}

/** A task's abort listener goes when it leaves the pool: an HTTP connection's signal outlives it. */
function unlisten(task: Task): void {
  if (task.onAbort) task.signal?.removeEventListener?.('abort', task.onAbort)
}
