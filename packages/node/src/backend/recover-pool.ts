/**
 * Sender recovery for eth_sendRawTransaction off the main thread. The node is single-threaded JS,
 * and recovering a sender (keccak of the unsigned payload + secp256k1 recovery, ~100 µs) is a
 * large share of what admitting a transaction costs it. Under sustained load, raw transactions
 * are batched (everything that arrived in one event-loop turn, up to `maxBatch`) and posted to a
 * small pool of worker threads (recover-worker.mjs, raw-recover.mjs: plain JavaScript using the
 * runtime's own secp256k1 binding and keccak); the main thread then only adopts the sender key and
 * hash (`adoptRecovery`). Measured on 2 cores, interval bench: main-thread CPU for 5,000 raw
 * transfers 4.7–5.3 s → 2.8–3.9 s, and less process CPU overall (the worker's lean recovery is
 * cheaper than the EthereumJS re-encoding it replaces).
 *
 * The pool never decides whether a transaction is valid: `submit` answers `undefined` whenever it
 * cannot help (light load, workers starting or behind, a worker failed, closed, or the worker
 * could not recover that transaction) and the caller recovers in-thread as before, which also
 * produces the exact error for a bad signature.
 * Long file: one pool of workers whose queue, batches and three request kinds (raw transactions,
 * bulk sync recovery, commit seals) share the workers' state and failure handling.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { CRYPTO_MODULE_URL, type RawTxRecovery } from '@openledger/evm-runtime'

export interface RecoverPoolOptions {
  /** Worker threads (at least 1). Default: {@link defaultRecoverThreads}. */
  threads?: number
  /** Most transactions posted to a worker in one message. Default 64. */
  maxBatch?: number
  /** Raw transactions per second from which the workers are started. Below it, or for a node that
   * never sees such load (tests, light dev use), no thread is spawned and recovery stays in-thread
   * with no added latency. 0 starts the workers at once. Default 100. */
  startAtRate?: number
  /** Most transactions waiting on one worker; beyond it the worker is behind and the caller
   * recovers in-thread instead of queueing more. Default 1024. */
  maxInFlight?: number
  /** Closes the pool when aborted. */
  signal?: AbortSignal
  /** Called once when a worker fails (the pool then carries on without it). */
  onError?: (err: Error) => void
}

/** One fewer than the cores (the main thread keeps one), at least 1, at most 4. */
export function defaultRecoverThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

/**
 * The node's recovery workers (started lazily, see `startAtRate`), or undefined when `threads`
 * is 0. A worker failure is reported once as a process warning: recovery carries on in-thread.
 */
export function createRecoverPool(opts: Omit<RecoverPoolOptions, 'onError'>): RecoverPool | undefined {
  if ((opts.threads ?? defaultRecoverThreads()) === 0) return undefined
  return new RecoverPool({
    ...opts,
    onError: (err) =>
      process.emitWarning(`sender recovery worker failed, recovering in-thread: ${err.message}`),
  })
}

const RESULT_BYTES = 96
const WORKER_URL = new URL('./recover-worker.mjs', import.meta.url)

interface Request {
  raw: Uint8Array
  resolve: (r: RawTxRecovery | undefined) => void
}

interface Slot {
  worker: Worker
  ready: boolean
  dead: boolean
  inFlight: number
  /** Raw-transaction batches posted and not yet answered (see MAX_OUTSTANDING). */
  outstanding: number
  batches: Map<number, Request[]>
  /** Seal batches owed: how many entries, and who waits for the addresses. */
  seals: Map<number, { n: number; resolve: (r: Array<Uint8Array | undefined> | undefined) => void }>
}

/** A commit seal to recover: the digest it signs and the 65-byte r ‖ s ‖ recId signature. */
export interface SealToRecover {
  digest: Uint8Array
  seal: Uint8Array
}

const SEAL_BYTES = 97

/** Raw-transaction batches one worker may owe at a time. A worker runs its messages one after
 * another, so a third batch posted while two are owed would only wait in its queue; keeping it in
 * ours instead lets everything that arrives meanwhile go in one message when a batch is answered.
 * Each message costs both threads a fixed price (postMessage, a wake-up), which dominated with
 * 32 requests in flight (batches of a few transactions). Two, not one: the worker never idles
 * while the main thread is busy before it takes an answer. */
const MAX_OUTSTANDING = 2

interface WorkerReply {
  ready?: true
  id?: number
  out?: ArrayBuffer
  ok?: ArrayBuffer
}

export class RecoverPool {
  private readonly threads: number
  private readonly maxBatch: number
  private readonly startAtRate: number
  private readonly maxInFlight: number
  private readonly onError?: (err: Error) => void
  private readonly slots: Slot[] = []
  private queue: Request[] = []
  private flushScheduled = false
  private readyWaiters: Array<(ok: boolean) => void> = []
  private started = false
  private closed = false
  private reportedError = false
  private nextId = 1
  private answered = 0
  private windowStart = 0
  private windowCount = 0

  constructor(opts: RecoverPoolOptions = {}) {
    this.threads = positiveInt(opts.threads ?? defaultRecoverThreads(), 'threads')
    this.maxBatch = positiveInt(opts.maxBatch ?? 64, 'maxBatch')
    this.maxInFlight = positiveInt(opts.maxInFlight ?? 1024, 'maxInFlight')
    const rate = opts.startAtRate ?? 100
    if (!Number.isInteger(rate) || rate < 0)
      throw new RangeError(`startAtRate must be a non-negative integer, got ${rate}`)
    this.startAtRate = rate
    this.onError = opts.onError
    if (opts.signal) {
      if (opts.signal.aborted) this.closed = true
      else opts.signal.addEventListener('abort', () => void this.close(), { once: true })
    }
    if (rate === 0 && !this.closed) this.start()
  }

  /** Transactions whose recovery a worker answered. */
  get offloaded(): number {
    return this.answered
  }

  /** Whether workers were spawned and at least one is ready and alive. */
  get ready(): boolean {
    return this.slots.some((s) => s.ready && !s.dead)
  }

  /**
   * Queues `raw` for recovery in a worker. Returns `undefined` when the pool will not handle it
   * (recover in-thread now), else a promise that never rejects: the recovery, or `undefined` if
   * the worker could not recover it or the pool closed meanwhile.
   */
  submit(raw: Uint8Array): Promise<RawTxRecovery | undefined> | undefined {
    if (this.closed) return undefined
    if (!this.started && !this.noteLoad()) return undefined
    let capacity = 0
    for (const s of this.slots) if (s.ready && !s.dead) capacity += this.maxInFlight - s.inFlight
    if (capacity <= this.queue.length) return undefined
    return new Promise((resolve) => {
      this.queue.push({ raw, resolve })
      if (this.queue.length >= this.maxBatch) this.flush()
      else if (!this.flushScheduled) {
        this.flushScheduled = true
        // After this turn's I/O callbacks: every request that arrived together goes in one message.
        setImmediate(() => this.flush())
      }
    })
  }

  /**
   * Recovers the signer addresses of many commit seals in one worker message (block sync verifies
   * a quorum per block). Starts the workers if needed. Resolves `undefined` — recover in-thread —
   * when no worker is ready; an `undefined` entry is a seal the worker could not recover (the
   * caller's own recovery then reports why). The caller checks signature shape (low s, recovery
   * id) itself: the worker only runs secp256k1 recovery.
   */
  recoverSeals(items: readonly SealToRecover[]): Promise<Array<Uint8Array | undefined> | undefined> {
    if (this.closed || items.length === 0) return Promise.resolve(undefined)
    this.start()
    const slot = this.leastBusy()
    if (!slot) return Promise.resolve(undefined)
    const data = new Uint8Array(items.length * SEAL_BYTES)
    for (let i = 0; i < items.length; i++) {
      const { digest, seal } = items[i]!
      if (digest.length !== 32 || seal.length !== 65)
        throw new RangeError('seal digest must be 32 bytes, seal 65')
      data.set(digest, i * SEAL_BYTES)
      data.set(seal, i * SEAL_BYTES + 32)
    }
    const id = this.nextId++
    return new Promise((resolve) => {
      slot.seals.set(id, { n: items.length, resolve })
      if (slot.inFlight === 0) slot.worker.ref()
      slot.inFlight += items.length
      slot.worker.postMessage({ kind: 'seals', id, data: data.buffer, n: items.length }, [data.buffer])
    })
  }

  /**
   * Recovers the senders of many raw transactions at once (block sync: every transaction of a
   * fetched range), spread over the workers in batches of `maxBatch`, with no load gate or
   * capacity limit: the caller awaits the whole set. Starts the workers if needed. Resolves
   * `undefined` — recover in-thread — when no worker is ready; an `undefined` entry is a
   * transaction a worker could not recover (in-thread recovery then reports why).
   */
  async recoverMany(raws: readonly Uint8Array[]): Promise<Array<RawTxRecovery | undefined> | undefined> {
    if (raws.length === 0 || !(await this.whenReady())) return undefined
    const answers = raws.map(
      (raw) => new Promise<RawTxRecovery | undefined>((resolve) => this.queue.push({ raw, resolve })),
    )
    this.flush()
    return Promise.all(answers)
  }

  /**
   * Starts the workers if needed and resolves true once one is ready, false when none can be
   * (closed, or every worker failed). Block sync waits for this once (a worker starts in ~0.2 s
   * of CPU) rather than recovering its first range in-thread.
   */
  whenReady(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    this.start()
    if (this.ready) return Promise.resolve(true)
    if (this.slots.every((s) => s.dead)) return Promise.resolve(false)
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  private settleReady(ok: boolean): void {
    const waiters = this.readyWaiters
    this.readyWaiters = []
    for (const w of waiters) w(ok)
  }

  /** Terminates the workers; pending requests resolve `undefined`. Idempotent. */
  async close(): Promise<void> {
    this.settleReady(false)
    if (this.closed && this.slots.length === 0) return
    this.closed = true
    const queued = this.queue
    this.queue = []
    for (const r of queued) r.resolve(undefined)
    const slots = this.slots.splice(0)
    for (const s of slots) this.fail(s)
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)))
  }

  /** Counts the request in a one-second window; starts the workers once the rate is reached. */
  private noteLoad(): boolean {
    const now = performance.now()
    if (now - this.windowStart > 1000) {
      this.windowStart = now
      this.windowCount = 0
    }
    if (++this.windowCount >= this.startAtRate) this.start()
    return this.started
  }

  private start(): void {
    if (this.started) return
    this.started = true
    for (let i = 0; i < this.threads; i++) this.spawn()
  }

  private spawn(): void {
    let worker: Worker
    try {
      worker = new Worker(WORKER_URL, {
        workerData: { cryptoModule: CRYPTO_MODULE_URL },
        execArgv: workerExecArgv(),
      })
    } catch (err) {
      this.report(err)
      return
    }
    const slot: Slot = {
      worker,
      ready: false,
      dead: false,
      inFlight: 0,
      outstanding: 0,
      batches: new Map(),
      seals: new Map(),
    }
    worker.on('message', (msg: WorkerReply) => this.onReply(slot, msg))
    worker.on('error', (err) => {
      this.report(err)
      this.fail(slot)
    })
    worker.on('exit', (code) => {
      if (!slot.dead && !this.closed) this.report(new Error(`recovery worker exited with code ${code}`))
      this.fail(slot)
    })
    // An idle worker must not keep the process alive; it is ref'd only while it owes answers.
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref()
    this.slots.push(slot)
  }

  private flush(): void {
    this.flushScheduled = false
    while (this.queue.length > 0) {
      if (!this.leastBusy()) {
        const queued = this.queue
        this.queue = []
        for (const r of queued) r.resolve(undefined)
        return
      }
      const slot = this.leastBusy(MAX_OUTSTANDING)
      // Every worker owes enough: what is queued goes out when one answers (onReply flushes).
      if (!slot) return
      const batch = this.queue.splice(0, this.maxBatch)
      let total = 0
      for (const r of batch) total += r.raw.length
      const data = new Uint8Array(total)
      const offsets = new Uint32Array(batch.length + 1)
      let at = 0
      for (let i = 0; i < batch.length; i++) {
        data.set(batch[i]!.raw, at)
        at += batch[i]!.raw.length
        offsets[i + 1] = at
      }
      const id = this.nextId++
      slot.batches.set(id, batch)
      if (slot.inFlight === 0) slot.worker.ref()
      slot.inFlight += batch.length
      slot.outstanding++
      slot.worker.postMessage({ id, data: data.buffer, offsets }, [data.buffer])
    }
  }

  /** The live worker owing the fewest transactions, among those owing fewer than `maxOutstanding`
   * raw-transaction batches when given. */
  private leastBusy(maxOutstanding = Number.POSITIVE_INFINITY): Slot | undefined {
    let best: Slot | undefined
    for (const s of this.slots) {
      if (!s.ready || s.dead || s.outstanding >= maxOutstanding) continue
      if (best === undefined || s.inFlight < best.inFlight) best = s
    }
    return best
  }

  private onReply(slot: Slot, msg: WorkerReply): void {
    if (msg.ready) {
      slot.ready = true
      this.settleReady(true)
      return
    }
    const sealBatch = msg.id === undefined ? undefined : slot.seals.get(msg.id)
    if (sealBatch && msg.out && msg.ok) {
      slot.seals.delete(msg.id!)
      slot.inFlight -= sealBatch.n
      if (slot.inFlight === 0) slot.worker.unref()
      const out = new Uint8Array(msg.out)
      const ok = new Uint8Array(msg.ok)
      const addresses: Array<Uint8Array | undefined> = []
      for (let i = 0; i < sealBatch.n; i++)
        addresses.push(ok[i] === 1 ? out.slice(i * 20, i * 20 + 20) : undefined)
      sealBatch.resolve(addresses)
      return
    }
    const batch = msg.id === undefined ? undefined : slot.batches.get(msg.id)
    if (!batch || !msg.out || !msg.ok) return
    slot.batches.delete(msg.id!)
    slot.inFlight -= batch.length
    slot.outstanding--
    // What waited for this answer goes out now, before the answered transactions resume.
    if (this.queue.length > 0) this.flush()
    if (slot.inFlight === 0) slot.worker.unref()
    const out = new Uint8Array(msg.out)
    const ok = new Uint8Array(msg.ok)
    for (let i = 0; i < batch.length; i++) {
      if (ok[i] !== 1) {
        batch[i]!.resolve(undefined)
        continue
      }
      const base = i * RESULT_BYTES
      this.answered++
      batch[i]!.resolve({ publicKey: out.slice(base, base + 64), hash: out.slice(base + 64, base + 96) })
    }
  }

  /** Takes a worker out of service, answering what it owed with `undefined`. */
  private fail(slot: Slot): void {
    if (slot.dead) return
    slot.dead = true
    for (const batch of slot.batches.values()) for (const r of batch) r.resolve(undefined)
    slot.batches.clear()
    for (const s of slot.seals.values()) s.resolve(undefined)
    slot.seals.clear()
    slot.inFlight = 0
    slot.outstanding = 0
    slot.worker.unref()
    if (this.slots.every((s) => s.dead)) this.settleReady(false)
    // Transactions held for this worker's answer go to another worker, or back to their callers.
    if (this.queue.length > 0) this.flush()
  }

  private report(err: unknown): void {
    if (this.reportedError || this.closed) return
    this.reportedError = true
    this.onError?.(err instanceof Error ? err : new Error(String(err)))
  }
}

/** The process's Node options minus those a worker refuses (--input-type is only valid for
 * --eval/stdin entry points, and a worker started from `node --input-type=module -e` inherits it). */
function workerExecArgv(): string[] {
  const out: string[] = []
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a.startsWith('--input-type=')) continue
    if (a === '--input-type') {
      i++
      continue
    }
    out.push(a)
  }
  return out
}

function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`)
  return n
}
