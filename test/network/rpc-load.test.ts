/**
 * One request must never stall a validator: a 4-validator devnet of real `openledger node`
 * processes keeps producing blocks while every validator receives heavy `eth_call`s continuously
 * (each a 30M-gas endless loop, 4 in flight per validator, re-sent as soon as answered) for 60 s.
 * Blocks are counted on a validator's chain against the 1 s slots of the window.
 */
import { Agent, request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call } from '../helpers/dev-node.ts'
import { TestNetwork } from '../helpers/network.ts'

const WINDOW_S = 60
const IN_FLIGHT = 4
const LOOP = `0x${'00'.repeat(17)}c0ffee`
const HEAVY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'eth_call',
  params: [{ to: LOOP, gas: '0x1c9c380' }, 'latest', { [LOOP]: { code: '0x5b600056' } }],
})

function post(
  agent: Agent,
  url: string,
  body: string,
): Promise<{ error?: { code: number; message: string } }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => resolve(JSON.parse(text)))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

let net: TestNetwork
beforeAll(async () => {
  net = await TestNetwork.create({ validators: 4, blockPeriodSeconds: 1 })
  await net.startAll()
  await net.waitHeight(3n, [0, 1, 2, 3], 120_000)
}, 240_000)
afterAll(async () => {
  await net?.close()
})

describe('a devnet under heavy eth_calls', () => {
  it('produces at least 90 % of its slots while every validator executes heavy calls for 60 s', async () => {
    const agents = net.nodes.map(() => new Agent({ keepAlive: true, maxSockets: IN_FLIGHT }))
    let running = true
    const answered = { ok: 0, errors: new Map<string, number>() }
    const load = net.nodes.flatMap((n, i) =>
      Array.from({ length: IN_FLIGHT }, async () => {
        while (running) {
          const r = await post(agents[i]!, n.rpcUrl, HEAVY).catch((e: Error) => ({
            error: { code: 0, message: e.message },
          }))
          // The loop is cut by the gas cap or the time limit: either is an answer.
          if (r.error && r.error.code === -32000) answered.ok++
          else
            answered.errors.set(
              r.error?.message ?? 'result',
              (answered.errors.get(r.error?.message ?? 'result') ?? 0) + 1,
            )
        }
      }),
    )
    const start = BigInt(await call(net.nodes[0]!.rpcUrl, 'eth_blockNumber'))
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000))
    const end = BigInt(await call(net.nodes[0]!.rpcUrl, 'eth_blockNumber'))
    const seconds = (performance.now() - t0) / 1000
    running = false
    await Promise.all(load)
    for (const a of agents) a.destroy()
    const produced = Number(end - start)
    const slots = Math.floor(seconds)
    process.stdout.write(
      `devnet under load: ${produced} blocks in ${seconds.toFixed(1)} s (${slots} slots); ${answered.ok} heavy calls answered\n`,
    )
    expect([...answered.errors.entries()]).toEqual([])
    // Every validator was kept busy: each answered many heavy calls.
    expect(answered.ok).toBeGreaterThan(net.nodes.length * IN_FLIGHT)
    expect(produced).toBeGreaterThanOrEqual(Math.ceil(0.9 * slots))
    // All validators agree on the chain they produced meanwhile.
    const tag = `0x${end.toString(16)}`
    const hashes = await Promise.all(
      net.nodes.map(async (n) => (await call(n.rpcUrl, 'eth_getBlockByNumber', [tag, false]))?.hash),
    )
    expect(new Set(hashes).size).toBe(1)
  }, 240_000)
})
