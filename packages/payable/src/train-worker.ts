/** Runs a training in a worker thread (see train-worker.mjs), off the caller's event loop. */
import { Worker } from 'node:worker_threads'
import {
  type AdapterTrainingConfig,
  type BaseRecipe,
  decodeCheckpoint,
  type StepReport,
  type TrainedAdapter,
  type TrainedBase,
  type TrainingRecord,
} from '@openledger/modelfactory'
import { PayableError } from './errors.ts'

// Compiled (dist/), the worker is train-worker-main.js itself; run from the TypeScript sources
// (tests), train-worker.mjs first loads tsx in the worker thread.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './train-worker.mjs' : './train-worker-main.js',
  import.meta.url,
)

export interface WorkerTrainOptions {
  /** Each step's loss (posted by the worker). */
  onStep?: (r: Pick<StepReport, 'step' | 'steps' | 'loss'>) => void
  /** Aborting terminates the worker (the promise rejects). */
  signal?: AbortSignal
  /** V8 old-generation limit of the worker, MiB (a training past it fails, the caller lives). */
  maxMemoryMb?: number
}

function run<T>(data: object, o: WorkerTrainOptions, finish: (result: T) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new PayableError('training cancelled'))
      return
    }
    const worker = new Worker(WORKER_URL, {
      workerData: { ...data, progress: o.onStep !== undefined },
      ...(o.maxMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: o.maxMemoryMb } } : {}),
    })
    let settled = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      o.signal?.removeEventListener('abort', abort)
      fn()
      void worker.terminate()
    }
    const abort = () => settle(() => reject(new PayableError('training cancelled')))
    o.signal?.addEventListener('abort', abort, { once: true })
    worker.on(
      'message',
      (msg: {
        step?: Pick<StepReport, 'step' | 'steps' | 'loss'>
        ok?: boolean
        result?: T
        error?: string
      }) => {
        if (msg.step !== undefined) {
          if (!settled) o.onStep?.(msg.step)
          return
        }
        settle(() => {
          if (!msg.ok || msg.result === undefined) reject(new PayableError(`training failed: ${msg.error}`))
          else {
            try {
              resolve(finish(msg.result))
            } catch (err) {
              reject(err)
            }
          }
        })
      },
    )
    worker.once('error', (err) =>
      settle(() => reject(new PayableError(`training worker failed: ${err.message}`))),
    )
    worker.once('exit', (code) =>
      settle(() => reject(new PayableError(`training worker exited with code ${code}`))),
    )
  })
}

export function trainInWorker(
  config: AdapterTrainingConfig,
  base: Uint8Array,
  records: TrainingRecord[],
  o: WorkerTrainOptions = {},
): Promise<TrainedAdapter> {
  return run<TrainedAdapter>({ kind: 'adapter', config, base, records }, o, (result) => {
    const checkpoint = decodeCheckpoint(result.artifact)
    if (checkpoint.kind !== 'lora') throw new PayableError('training produced no adapter')
    return { ...result, checkpoint }
  })
}

/** Pre-trains a base model in a worker (the worker reads the corpus, `corpusDocs` documents). */
export function trainBaseInWorker(
  recipe: BaseRecipe,
  corpusDocs: number | undefined,
  o: WorkerTrainOptions = {},
): Promise<TrainedBase> {
  return run<TrainedBase>({ kind: 'base', recipe, corpusDocs }, o, (result) => {
    const checkpoint = decodeCheckpoint(result.artifact)
    if (checkpoint.kind !== 'base') throw new PayableError('training produced no base model')
    return { ...result, checkpoint }
  })
}
