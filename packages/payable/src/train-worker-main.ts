/** Body of train-worker.mjs: trains the adapter a config describes and sends back the result. */
import { parentPort, workerData } from 'node:worker_threads'
import { type AdapterTrainingConfig, type TrainingRecord, trainAdapter } from '@openledger/modelfactory'

const { config, base, records } = workerData as {
  config: AdapterTrainingConfig
  base: Uint8Array
  records: TrainingRecord[]
}
try {
  const t = trainAdapter(config, base, records)
  parentPort?.postMessage({ ok: true, result: { ...t, checkpoint: undefined } })
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).message })
}
