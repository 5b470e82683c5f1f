// Worker thread of RecoverPool (recover-pool.ts): recovers senders and hashes of raw transactions,
// and the signers of commit seals (block sync), in batches off the node's main thread. Plain
// JavaScript with no TypeScript loader, so it starts in ~0.2 s of CPU (see raw-recover.mjs).
import { parentPort, workerData } from 'node:worker_threads'
import { loadRawRecover } from './raw-recover.mjs'

const recover = await loadRawRecover(workerData.cryptoModule)
const RESULT_BYTES = 96 // 64-byte public key, 32-byte hash

// A seal batch ({kind: 'seals'}) is n entries of a 32-byte digest and a 65-byte signature; the
// answer is n 20-byte signer addresses and an ok flag per entry.
const SEAL_BYTES = 97
function answerSeals({ id, data, n }) {
  const bytes = new Uint8Array(data)
  const out = new Uint8Array(n * 20)
  const ok = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const at = i * SEAL_BYTES
    try {
      out.set(recover.signer(bytes.subarray(at, at + 32), bytes.subarray(at + 32, at + SEAL_BYTES)), i * 20)
      ok[i] = 1
    } catch {
      ok[i] = 0
    }
  }
  parentPort.postMessage({ id, out: out.buffer, ok: ok.buffer }, [out.buffer, ok.buffer])
}

// A batch is one buffer of concatenated raw transactions with n+1 offsets; the answer is one
// buffer of n fixed-size results and an ok flag per transaction (0: not recoverable here, the
// main thread then recovers in-thread and reports the exact error).
parentPort.on('message', (msg) => {
  if (msg.kind === 'seals') return answerSeals(msg)
  const { id, data, offsets } = msg
  const bytes = new Uint8Array(data)
  const n = offsets.length - 1
  const out = new Uint8Array(n * RESULT_BYTES)
  const ok = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    try {
      const rec = recover(bytes.subarray(offsets[i], offsets[i + 1]))
      out.set(rec.publicKey, i * RESULT_BYTES)
      out.set(rec.hash, i * RESULT_BYTES + 64)
      ok[i] = 1
    } catch {
      ok[i] = 0
    }
  }
  parentPort.postMessage({ id, out: out.buffer, ok: ok.buffer }, [out.buffer, ok.buffer])
})
parentPort.postMessage({ ready: true })
