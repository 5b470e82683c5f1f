/**
 * Provider scenario of `pnpm bench` (issue 5): the demo world (shipped corpus, two datanets, the
 * built-in n-gram model) on an in-process dev chain, then
 *  - answers/s of `POST /v1/infer` (generate 64 tokens + span attribution + EIP-712 signature),
 *    one request at a time and 8 in flight;
 *  - paid answers/s end to end as `openledger infer` does it: ask, check the signature, settle on
 *    chain (automine) and wait for the receipt, one at a time.
 */

import { askProvider, checkAnswer, settleAnswer } from '@openledger/payable'
import { buildDemoWorld } from '../../packages/node/src/cli/demo.ts'
import { fmt, table } from './report.ts'

export interface ProviderBenchResult {
  answersPerSecond: number
  answersPerSecondConcurrent: number
  p50Ms: number
  paidAnswersPerSecond: number
}

const USER = 7

export async function providerScenario(opts: {
  quick: boolean
  skip: boolean
  log: (s?: string) => void
}): Promise<ProviderBenchResult | undefined> {
  if (opts.skip) return undefined
  opts.log('\nprovider: building the demo world (2 datanets, model, provider) …')
  const world = await buildDemoWorld()
  try {
    const prompts = world.manifest.prompts
    const n = opts.quick ? 40 : 200
    const lat: number[] = []
    let t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const s = performance.now()
      await askProvider(world.server.url, {
        prompt: prompts[i % prompts.length] as string,
        maxTokens: 64,
        seed: i,
      })
      lat.push(performance.now() - s)
    }
    const sequential = n / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < n; i = next++) {
          await askProvider(world.server.url, {
            prompt: prompts[i % prompts.length] as string,
            maxTokens: 64,
            seed: i,
          })
        }
      }),
    )
    const concurrent = n / ((performance.now() - t0) / 1000)
    const paid = opts.quick ? 10 : 50
    const user = world.ctx(USER)
    t0 = performance.now()
    for (let i = 0; i < paid; i++) {
      const a = await askProvider(world.server.url, {
        prompt: prompts[i % prompts.length] as string,
        maxTokens: 64,
        seed: i,
      })
      await checkAnswer(user, a, world.fee)
      await settleAnswer(user, a)
    }
    const paidRate = paid / ((performance.now() - t0) / 1000)
    lat.sort((a, b) => a - b)
    const r = {
      answersPerSecond: sequential,
      answersPerSecondConcurrent: concurrent,
      p50Ms: lat[Math.floor(lat.length / 2)] as number,
      paidAnswersPerSecond: paidRate,
    }
    opts.log(
      table(
        ['provider (built-in model, 64 tokens)', 'value'],
        [
          ['answers/s, 1 in flight', fmt(r.answersPerSecond, 1)],
          ['answers/s, 8 in flight', fmt(r.answersPerSecondConcurrent, 1)],
          ['answer latency p50 (ms)', fmt(r.p50Ms, 2)],
          ['paid answers/s end to end (ask + settle + mined)', fmt(r.paidAnswersPerSecond, 1)],
        ],
      ),
    )
    return r
  } finally {
    await world.close()
  }
}
