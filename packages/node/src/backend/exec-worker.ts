/**
 * One RPC execution worker (see exec-pool.ts): its own execution runtime, built from the node's
 * RuntimeSpec, over the node's LevelDB opened a second time in multithreading mode. It only reads:
 * every state root the main thread hands it is persisted (content-addressed trie nodes, never
 * pruned), so a root is a consistent snapshot. BLOCKHASH reads the canonical index as the node
 * does (ChainStore.canonicalHashReader).
 *
 * It runs one job at a time to completion, bounded by the job's budget (time limit, the cancel
 * flag the main thread sets in shared memory); no time slices: nothing else runs on this thread.
 * The thread lowers its own scheduling priority so that, on a busy machine, the main threads of
 * this and other nodes (consensus, block production) win the CPU.
 */
import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { createBlockFromRLP, createBlockHeaderFromRLP } from '@ethereumjs/block'
import { createExecutionRuntime } from '@openledger/evm-runtime'
import { Level } from 'level'
import { chainHistory } from '../attribution/history.ts'
import { runtimeOptionsFromSpec } from '../chain/runtime-spec.ts'
import { ChainStore } from '../store/index.ts'
import {
  type ExecJob,
  type ExecWorkerData,
  serializeError,
  type ToMain,
  type ToWorker,
} from './exec-protocol.ts'

const data = workerData as ExecWorkerData
const port = parentPort!
const cancel = new Int32Array(data.cancel)

try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
  // Relative to the process's own niceness (a node started under `nice` keeps the gap).
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + data.nice))
} catch {
  // Not Linux, or not permitted: the worker runs at the process's priority.
}

const send = (m: ToMain) => port.postMessage(m)

const db = new Level<Uint8Array, Uint8Array>(data.dbPath, { keyEncoding: 'view', valueEncoding: 'view' })
await db.open({ multithreading: true } as Parameters<typeof db.open>[0])
const sub = (name: string) =>
  db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' })
const runtime = await createExecutionRuntime({
  ...runtimeOptionsFromSpec(data.spec, chainHistory(sub('chain'))),
  db: sub('state'),
  getBlockHash: ChainStore.canonicalHashReader(sub('chain')),
  cache: data.cache,
})
const opts = runtime.blockOptions

async function run(job: ExecJob): Promise<unknown> {
  const signal = {
    get aborted() {
      return Atomics.load(cancel, 0) === job.id
    },
  }
  const limits = { ...job.limits, signal }
  if (job.kind === 'trace') {
    const block = createBlockFromRLP(job.block, opts)
    const parent = createBlockHeaderFromRLP(job.parent, opts)
    return runtime.traceTransaction(block, parent, job.txIndex, job.opts, limits)
  }
  const header = createBlockHeaderFromRLP(job.header, opts)
  const callOpts = { stateRoot: job.stateRoot, overrides: job.overrides, limits }
  switch (job.kind) {
    case 'call':
      return runtime.call(job.params, header, callOpts)
    case 'estimate':
      return runtime.estimateGas(job.params, header, callOpts)
    case 'accessList':
      return runtime.createAccessList(job.params, header, callOpts)
    case 'traceCall':
      return runtime.traceCall(job.params, header, callOpts, job.opts ?? {})
  }
}

port.on('message', (m: ToWorker) => {
  run(m.job).then(
    (value) => send({ type: 'result', id: m.job.id, value }),
    (err: unknown) => send({ type: 'error', id: m.job.id, error: serializeError(err) }),
  )
})
send({ type: 'ready' })
