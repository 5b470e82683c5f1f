/**
 * The studio_* methods of `openledger dev` (Studio's ModelFactory and playground) at the JSON-RPC
 * boundary: malformed requests get -32602 naming the argument, limits are enforced, one training
 * runs at a time, a job that cannot run fails with the reason, and a real pre-training in the
 * node's worker thread is deterministic (the same request gives the same artifact hash, with
 * every step's loss reported). `openledger dev --no-studio` does not serve them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, rpc, spawnDevProcess } from '../helpers/dev-node.ts'

let node: NodeProcess
let id = 1
const call = async (method: string, params: unknown[]) =>
  (await rpc(node.rpcUrl, { jsonrpc: '2.0', id: id++, method, params })).json as {
    result?: any
    error?: { code: number; message: string }
  }

/** Polls a job (bounded) until it ends. */
async function finished(jobId: number, timeoutMs = 120_000): Promise<any> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const r = await call('studio_trainingJob', [jobId])
    if (r.result.state === 'done' || r.result.state === 'failed') return r.result
    if (Date.now() > end) throw new Error(`job ${jobId} still ${r.result.state}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

beforeAll(async () => {
  node = await spawnDevProcess([])
}, 120_000)

afterAll(async () => {
  node?.child.kill('SIGTERM')
  await node?.exited
})

describe('studio_* on openledger dev', () => {
  it('answers malformed requests with -32602 naming the argument', async () => {
    const bad: Array<[string, unknown[], RegExp]> = [
      ['studio_trainBase', [], /missing value/],
      ['studio_trainBase', ['micro'], /request: expected an object/],
      ['studio_trainBase', [{ preset: 'small' }], /preset/],
      ['studio_trainBase', [{ preset: 'micro', steps: 5000 }], /steps: 5000 exceeds maximum 2000/],
      ['studio_trainBase', [{ preset: 'micro', corpusDocs: 10 }], /corpusDocs: at least 11/],
      ['studio_trainAdapter', [{ baseModelId: 1, datanets: [] }], /datanets/],
      ['studio_trainAdapter', [{ baseModelId: 1, datanets: [{ datanetId: 1 }] }], /version/],
      ['studio_trainAdapter', [{ baseModelId: 1, datanets: [{ datanetId: 1, version: 1 }], lr: 9 }], /lr/],
      [
        'studio_trainAdapter',
        [{ baseModelId: 1, datanets: [{ datanetId: 1, version: 1 }], targets: ['wz'] }],
        /targets/,
      ],
      [
        'studio_trainAdapter',
        [{ baseModelId: 1, datanets: [{ datanetId: 1, version: 1 }], seed: '-1' }],
        /seed/,
      ],
      ['studio_trainingJob', ['x'], /jobId/],
      ['studio_ask', [{ modelId: 1, prompt: '', payer: `0x${'11'.repeat(20)}` }], /prompt/],
      ['studio_ask', [{ modelId: 1, prompt: 'hi', payer: '0x1234' }], /payer/],
      [
        'studio_ask',
        [{ modelId: 1, prompt: 'hi', payer: `0x${'11'.repeat(20)}`, maxTokens: 100_000 }],
        /maxTokens/,
      ],
      [
        'studio_ask',
        [{ modelId: 1, prompt: 'hi', payer: `0x${'11'.repeat(20)}`, temperature: -1 }],
        /temperature/,
      ],
      ['studio_verifyAttribution', ['0x12', 'text'], /receiptId/],
      ['studio_verifyAttribution', [`0x${'11'.repeat(32)}`, 7], /output/],
    ]
    for (const [method, params, message] of bad) {
      const r = await call(method, params)
      expect(r.error?.code, `${method} ${JSON.stringify(params)}`).toBe(-32602)
      expect(r.error?.message, `${method} ${JSON.stringify(params)}`).toMatch(message)
    }
    expect((await call('studio_trainingJob', [999])).error).toMatchObject({ code: -32001 })
  })

  it('says why a model cannot be asked, and fails a fine-tuning of an unknown base with the reason', async () => {
    const ask = await call('studio_ask', [{ modelId: 5, prompt: 'hi', payer: `0x${'11'.repeat(20)}` }])
    expect(ask.error?.code).toBe(-32000)
    expect(ask.error?.message).toMatch(/model 5/)
    const started = await call('studio_trainAdapter', [
      { baseModelId: 7, datanets: [{ datanetId: 1, version: 1 }] },
    ])
    const job = await finished(started.result.id)
    expect(job.state).toBe('failed')
    expect(job.error).toMatch(/model 7/)
  })

  it('pre-trains a base model in a worker, one job at a time, deterministically', async () => {
    const request = { preset: 'micro', steps: 40, corpusDocs: 12 }
    const first = await call('studio_trainBase', [request])
    expect(first.result).toMatchObject({ kind: 'base', steps: 40 })
    const busy = await call('studio_trainBase', [request])
    expect(busy.error?.code).toBe(-32000)
    expect(busy.error?.message).toMatch(/already running/)
    // The node keeps answering while the worker trains.
    expect((await call('eth_blockNumber', [])).result).toBe('0x0')
    const a = await finished(first.result.id)
    expect(a).toMatchObject({ state: 'done' })
    expect(a.losses).toHaveLength(40)
    expect(a.losses.every((l: number) => Number.isFinite(l) && l > 0)).toBe(true)
    expect(a.result.artifactHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(a.result.artifactURI).toMatch(/^file:\/\//)
    // Polling for new losses only.
    const tail = (await call('studio_trainingJob', [first.result.id, 35])).result
    expect(tail.lossesFrom).toBe(35)
    expect(tail.losses).toEqual(a.losses.slice(35))
    const again = await finished((await call('studio_trainBase', [request])).result.id)
    expect(again.result.artifactHash).toBe(a.result.artifactHash)
    expect(again.result.trainingConfigHash).toBe(a.result.trainingConfigHash)
    expect(again.result.trainingLogHash).toBe(a.result.trainingLogHash)
  }, 240_000)
})

describe('openledger dev --no-studio', () => {
  it('does not serve studio_*', async () => {
    const other = await spawnDevProcess(['--no-studio'])
    try {
      const r = await rpc(other.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'studio_trainBase', params: [{}] })
      expect(r.json.error.code).toBe(-32601)
    } finally {
      other.child.kill('SIGTERM')
      await other.exited
    }
  }, 120_000)
})
