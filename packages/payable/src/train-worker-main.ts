/**
 * Body of train-worker.mjs: runs one training (an adapter a config describes, or a base model
 * pre-trained on the public-domain corpus) and sends back the result; with `progress`, each step's
 * report too (Studio's loss curve).
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  type AdapterTrainingConfig,
  type BaseRecipe,
  loadSotuCorpus,
  type StepReport,
  type TrainingRecord,
  trainAdapter,
  trainBase,
} from '@openledger/modelfactory'

type Job =
  | { kind?: 'adapter'; config: AdapterTrainingConfig; base: Uint8Array; records: TrainingRecord[] }
  | { kind: 'base'; recipe: BaseRecipe; corpusDocs?: number }

const job = workerData as Job & { progress?: boolean }
const onStep = job.progress
  ? (r: StepReport) => parentPort?.postMessage({ step: { step: r.step, steps: r.steps, loss: r.loss } })
  : undefined
try {
  const t =
    job.kind === 'base'
      ? trainBase(
          job.recipe,
          loadSotuCorpus(job.corpusDocs === undefined ? {} : { maxDocs: job.corpusDocs }),
          onStep,
        )
      : trainAdapter(job.config, job.base, job.records, onStep)
  parentPort?.postMessage({ ok: true, result: { ...t, checkpoint: undefined } })
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).message })
}
