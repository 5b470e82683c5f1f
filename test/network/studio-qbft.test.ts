/**
 * Studio on a 4-validator QBFT devnet (real `openledger node --studio` processes): a block page
 * shows the block's validators and its commit seals, and the explorer home follows new heads over
 * the node's WebSocket. Screenshots in test-output/studio/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, openBrowser, type StudioBrowser } from '../helpers/browser.ts'
import { call } from '../helpers/dev-node.ts'
import { TestNetwork } from '../helpers/network.ts'

/** Page-side callbacks run in the browser; this program is typed without the DOM library. */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null
  querySelector(s: string): unknown
}
declare const location: { hash: string }

describe.skipIf(!CHROMIUM)('Studio on a QBFT network', () => {
  let net: TestNetwork
  let b: StudioBrowser

  beforeAll(async () => {
    net = await TestNetwork.create({ validators: 4, nodeArgs: ['--studio'] })
    await net.startAll()
    await net.waitHeight(3n)
    b = await openBrowser('qbft')
  }, 180_000)

  afterAll(async () => {
    await b?.close()
    await net?.close()
  })

  it('shows a block with its 4 validators and its commit seals, and follows new heads', async () => {
    const url = net.nodes[0]!.rpcUrl
    const validators = (await call(url, 'qbft_getValidatorsByBlockNumber', ['0x2'])) as string[]
    expect(validators).toHaveLength(4)
    await b.page.goto(`${url}/studio/#/block/2`, { waitUntil: 'load' })
    await b.seeText('Consensus (QBFT)')
    const listed = await b.page.$$eval('ul.validators li a', (as) => as.map((a) => a.getAttribute('href')))
    expect(listed.map((h) => h!.replace('#/address/', '').toLowerCase()).sort()).toEqual(
      validators.map((v) => v.toLowerCase()).sort(),
    )
    const seals = await b.page.$eval('#main', (m) =>
      /Commit seals\s*(\d+) of (\d+) validators/.exec(m.textContent ?? ''),
    )
    expect(seals, 'commit seals line').not.toBeNull()
    expect(Number(seals![1])).toBeGreaterThanOrEqual(3) // a quorum of 4
    expect(Number(seals![2])).toBe(4)
    expect(await b.page.$eval('#account', (e) => e.textContent)).toContain('read-only')
    await b.snap('block-validators-seals')

    // Home: the head shown moves on without a reload (eth_subscribe newHeads over WebSocket).
    await b.page.goto(`${url}/studio/#/`, { waitUntil: 'load' })
    await b.seeText('Latest blocks')
    const head = async () =>
      Number(
        /Head: block (\d+)/.exec((await b.page.$eval('#head-status', (e) => e.textContent)) ?? '')?.[1] ?? -1,
      )
    const first = await head()
    await b.page.waitForFunction(
      (n) =>
        Number(
          /Head: block (\d+)/.exec(document.getElementById('head-status')?.textContent ?? '')?.[1] ?? -1,
        ) > n,
      { timeout: 30_000, polling: 100 },
      first,
    )
    expect(await head()).toBeGreaterThan(first)
    await b.snap('home-live')
    expect(b.problems).toEqual([])
  }, 120_000)
})
