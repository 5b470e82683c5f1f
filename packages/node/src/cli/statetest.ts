/**
 * `openledger evm statetest <file|dir> [--fork NAME] [--run REGEX] [--json] [--jobs N]`: Ethereum
 * GeneralStateTests through the chain's own block execution (evm-runtime/src/statetest). One line
 * per case (`--json`: go-ethereum's `evm statetest` result objects, one per line), progress and a
 * summary on stderr with cases/s, exit status 1 when any case fails or a file cannot be read.
 * `--jobs N` runs files on N worker threads (statetest-worker.ts); the output is the same, in the
 * same order, as a single-threaded run.
 */
import { Worker } from 'node:worker_threads'
import { fixtureFiles, runStateTests, type StateTestEvent } from '@openledger/evm-runtime/statetest'

/** What a worker needs to filter cases as the main thread would. */
export interface StateTestWorkerData {
  fork?: string
  /** RegExp source. */
  run?: string
  exclusions: boolean
}
export type ToStateTestWorker = { index: number; file: string }
export type FromStateTestWorker =
  | { type: 'ready' }
  | { type: 'event'; index: number; event: StateTestEvent }
  | { type: 'done'; index: number }

// From the sources, a shim that registers tsx first; compiled, the worker's own JavaScript.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './statetest-worker.mjs' : './statetest-worker.js',
  import.meta.url,
)
/** Seconds between two progress lines on stderr. */
const PROGRESS_EVERY_S = 10

export interface StateTestCliOptions {
  path: string
  fork?: string
  run?: string
  json?: boolean
  /** Run cases on the exclusion list too. */
  all?: boolean
  /** Worker threads (default 1: in this thread). */
  jobs?: number
}

/**
 * Runs `files` on `jobs` workers, each taking the next file when done with one, and yields their
 * events in file order (a file's events as soon as every earlier file is finished).
 */
async function* runInWorkers(
  files: readonly string[],
  data: StateTestWorkerData,
  jobs: number,
): AsyncGenerator<StateTestEvent> {
  const events = new Map<number, StateTestEvent[]>()
  const finished = new Set<number>()
  let handed = 0
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const workers: Worker[] = []
  for (let i = 0; i < Math.min(jobs, files.length); i++) {
    const w = new Worker(WORKER_URL, { workerData: data })
    workers.push(w)
    const handOut = () => {
      if (handed < files.length) w.postMessage({ index: handed, file: files[handed++]! } as ToStateTestWorker)
    }
    w.on('message', (m: FromStateTestWorker) => {
      if (m.type === 'ready') handOut()
      else if (m.type === 'event') {
        const list = events.get(m.index) ?? []
        list.push(m.event)
        events.set(m.index, list)
      } else {
        finished.add(m.index)
        handOut()
      }
      wake?.()
    })
    w.on('error', (e) => {
      failure ??= e
      wake?.()
    })
    w.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`statetest worker exited with code ${code}`)
      wake?.()
    })
  }
  try {
    let next = 0
    while (next < files.length) {
      const ready = events.get(next)
      if (ready !== undefined && ready.length > 0) {
        yield* ready.splice(0)
        continue
      }
      if (finished.has(next)) {
        events.delete(next)
        next++
        continue
      }
      if (failure !== undefined) throw failure
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = undefined
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

export async function runStateTestCli(
  o: StateTestCliOptions,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let run: RegExp | undefined
  if (o.run !== undefined) {
    try {
      run = new RegExp(o.run)
    } catch (e) {
      err(`--run: invalid regular expression: ${(e as Error).message}`)
      return 2
    }
  }
  let files: string[]
  try {
    files = await fixtureFiles(o.path)
  } catch (e) {
    err(`cannot read ${o.path}: ${(e as Error).message}`)
    return 2
  }
  const t0 = performance.now()
  let cases = 0
  let passed = 0
  let skipped = 0
  let unreadable = 0
  const print = (ev: StateTestEvent) => {
    if (ev.kind === 'error') {
      unreadable++
      err(`error ${ev.file}: ${ev.error}`)
    } else if (ev.kind === 'skip') {
      skipped++
      if (!o.json) out(`skip ${ev.name} (${ev.reason})`)
    } else {
      cases++
      if (ev.result.pass) passed++
      if (o.json) out(JSON.stringify(ev.result))
      else
        out(
          `${ev.result.pass ? 'pass' : 'FAIL'} ${ev.result.name}${ev.result.error ? `: ${ev.result.error}` : ''}`,
        )
    }
  }
  const jobs = o.jobs ?? 1
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 256) {
    err('--jobs: expected a whole number from 1 to 256')
    return 2
  }
  const events =
    jobs > 1
      ? runInWorkers(files, { fork: o.fork, run: o.run, exclusions: o.all !== true }, jobs)
      : runStateTests(files, { fork: o.fork, run, exclusions: o.all !== true })
  const fileIndex = new Map(files.map((f, i) => [f, i]))
  let lastProgress = t0
  for await (const ev of events) {
    print(ev)
    const now = performance.now()
    if (now - lastProgress >= PROGRESS_EVERY_S * 1000) {
      lastProgress = now
      const s = (now - t0) / 1000
      err(
        `progress: ${cases} cases, ${cases - passed} failed, file ${(fileIndex.get(ev.file) ?? 0) + 1}/${files.length}, ` +
          `${s.toFixed(0)} s, ${(cases / s).toFixed(1)} cases/s`,
      )
    }
  }
  const seconds = (performance.now() - t0) / 1000
  err(
    `${cases} cases, ${passed} passed, ${cases - passed} failed, ${skipped} excluded, ${files.length} files` +
      `${unreadable > 0 ? ` (${unreadable} unreadable)` : ''}, ${seconds.toFixed(1)} s, ` +
      `${(cases / Math.max(seconds, 1e-9)).toFixed(1)} cases/s`,
  )
  return passed === cases && unreadable === 0 ? 0 : 1
}
