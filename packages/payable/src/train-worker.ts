/** Runs an adapter training in a worker thread (see train-worker.mjs). */
import { Worker } from 'node:worker_threads'
import {
  type AdapterTrainingConfig,
  decodeCheckpoint,
  type TrainedAdapter,
  type TrainingRecord,
} from '@openledger/modelfactory'
import { PayableError } from './errors.ts'

// Compiled (dist/), the worker is train-worker-main.js itself; run from the TypeScript sources
// (tests), train-worker.mjs first loads tsx in the worker thread.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './train-worker.mjs' : './train-worker-main.js',
  import.meta.url,
)

export function trainInWorker(
  config: AdapterTrainingConfig,
  base: Uint8Array,
  records: TrainingRecord[],
): Promise<TrainedAdapter> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { config, base, records } })
    let settled = false
    worker.once(
      'message',
      (msg: { ok: boolean; result?: Omit<TrainedAdapter, 'checkpoint'>; error?: string }) => {
        settled = true
        if (!msg.ok || msg.result === undefined) reject(new PayableError(`training failed: ${msg.error}`))
        else {
          const checkpoint = decodeCheckpoint(msg.result.artifact)
          if (checkpoint.kind !== 'lora') reject(new PayableError('training produced no adapter'))
          else resolve({ ...msg.result, checkpoint })
        }
        void worker.terminate()
      },
    )
    worker.once('error', (err) => {
      if (!settled) reject(new PayableError(`training worker failed: ${err.message}`))
      settled = true
    })
    worker.once('exit', (code) => {
      if (!settled) reject(new PayableError(`training worker exited with code ${code}`))
    })
  })
}
