/**
 * One worker of `openledger evm statetest --jobs N`: runs the fixture files the main thread hands
 * it, one at a time, through the same runStateTests as a single-threaded run (its own runner, so
 * its own VMs), and posts every event back; then asks for the next file.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runStateTests, type StateTestFilter, StateTestRunner } from '@openledger/evm-runtime/statetest'
import type { FromStateTestWorker, StateTestWorkerData, ToStateTestWorker } from './statetest.ts'

const data = workerData as StateTestWorkerData
const port = parentPort!
const filter: StateTestFilter = {
  fork: data.fork,
  run: data.run === undefined ? undefined : new RegExp(data.run),
  exclusions: data.exclusions,
}
const send = (m: FromStateTestWorker) => port.postMessage(m)
// One runner (one VM per fork) for every file this worker runs, as in a single-threaded run.
const runner = new StateTestRunner()

port.on('message', async (m: ToStateTestWorker) => {
  for await (const event of runStateTests([m.file], filter, runner))
    send({ type: 'event', index: m.index, event })
  send({ type: 'done', index: m.index })
})
send({ type: 'ready' })
