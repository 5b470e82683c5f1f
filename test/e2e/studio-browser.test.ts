/**
 * OpenLedger Studio in a real browser: Debian's chromium driven by puppeteer-core against a real
 * `openledger dev` process. All by clicking and typing: explorer home → create a datanet →
 * contribute (a second account) → approve with a weight (the owner) → publish v1 → block,
 * transaction and address pages → ModelFactory: pre-train and register a base model, fine-tune an
 * adapter on datanet 1 v1 (loss curve), register it → verify it (re-training) → playground: ask,
 * pay, the split, verify the attribution → the settlement in the explorer → the contributor
 * claims. Every page's screenshot is saved in test-output/studio/; any console error, page error
 * or failed request fails the test.
 */
import { stakingAbi } from '@openledger/staking'
import { encodeFunctionData, parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, openBrowser, type StudioBrowser } from '../helpers/browser.ts'
import { type NodeProcess, spawnDevProcess } from '../helpers/dev-node.ts'

/** Page-side callbacks run in the browser; this program is typed without the DOM library. */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null
  querySelector(s: string): unknown
}
declare const location: { hash: string }

describe.skipIf(!CHROMIUM)('Studio in chromium', () => {
  let node: NodeProcess
  let b: StudioBrowser

  beforeAll(async () => {
    node = await spawnDevProcess([])
    b = await openBrowser('dev')
  }, 180_000)

  afterAll(async () => {
    await b?.close()
    node?.child.kill('SIGTERM')
    await node?.exited
  })

  it('explorer, the datanet flow, a model, a paid answer and its split, and a claim, by clicking', async () => {
    try {
      await flow()
    } catch (e) {
      await b.snap('failure').catch(() => undefined)
      const main = await b.page.$eval('#main', (m) => m.textContent).catch(() => '?')
      throw new Error(`${(e as Error).message}\nmain: ${main}\nproblems: ${b.problems.join('\n')}`)
    }
    expect(b.problems).toEqual([])
  }, 900_000)

  async function flow(): Promise<void> {
    const { page, snap, seeText } = b
    const setValue = (selector: string, value: string) =>
      page.$eval(
        selector,
        (e, v) => {
          ;(e as unknown as { value: string }).value = v
        },
        value,
      )
    await page.goto(`${node.rpcUrl}/studio/`, { waitUntil: 'load' })
    await seeText('Latest blocks')
    expect(await page.$eval('#account', (e) => e.textContent)).toContain('dev signer')
    await snap('explorer-home')

    // Datanets: create.
    await page.click('header nav a[href="#/datanets"]')
    await seeText('Create a datanet')
    await snap('datanets-empty')
    await page.type('#dn-name', 'Fables')
    await page.type('#dn-uri', 'ipfs://bafy-fables')
    await page.click('#create-datanet button[type=submit]')
    await page.waitForFunction(() => location.hash === '#/datanet/1', { timeout: 30_000 })
    await seeText('Datanet #1: Fables')
    await snap('datanet-created')

    // Contribute inline text, as another dev account (a curator may not approve their own).
    const accounts = await page.$$eval('#account-select option', (os) =>
      os.map((o) => (o as unknown as { value: string }).value),
    )
    await page.select('#account-select', accounts[1]!)
    await page.type(
      '#c-text',
      'A famished Fox saw some clusters of ripe black grapes hanging from a trellised vine. She resorted to all her tricks to get at them, but wearied herself in vain, for she could not reach them. At last she turned away, hiding her disappointment and saying: The Grapes are sour, and not ripe as I thought.',
    )
    await page.type('#c-uri', 'note://fox')
    await page.click('#contribute button[type=submit]')
    await seeText('pending')
    await seeText('A famished Fox')
    await snap('datanet-contributed')

    // Approve with a weight, as the datanet's owner.
    await page.select('#account-select', accounts[0]!)
    await page.$eval('input.weight', (e) => {
      ;(e as unknown as { value: string }).value = '250'
    })
    await page.click('form[data-action=approve] button')
    await page.waitForFunction(() => !document.querySelector('form[data-action=approve]'), {
      timeout: 30_000,
    })
    await seeText('250')
    await snap('datanet-approved')

    // Publish version 1.
    await page.click('#publish button')
    await page.waitForSelector('main table a[href^="#/block/"]', { timeout: 30_000 })
    await snap('datanet-published')

    // Explorer: the block that published it, its transaction with decoded call and logs.
    const blockLinks = await page.$$eval('main table a[href^="#/block/"]', (as) =>
      as.map((a) => a.getAttribute('href')),
    )
    await page.click(`main a[href="${blockLinks.at(-1)}"]`)
    await seeText('Datanets.publishVersion')
    await snap('block')
    await page.click('main table a[href^="#/tx/"]')
    await seeText('Datanets.VersionPublished')
    await seeText('success')
    await snap('transaction')

    // The sender's address page lists its datanet transactions.
    await page.click('main dl a[href^="#/address/"]')
    await seeText('Account')
    await seeText('Datanets.publishVersion')
    expect(await page.$$eval('main table tbody tr', (trs) => trs.length)).toBeGreaterThanOrEqual(3)
    await snap('address')

    // Search by block number, from the header.
    await page.type('#q', '1')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => location.hash === '#/block/1', { timeout: 30_000 })
    await seeText('Datanets.createDatanet')
    await snap('search-block')

    // ModelFactory, by clicking: pre-train the base model (micro, real training in the node's
    // worker thread), register it, fine-tune an adapter on datanet 1 v1 with a loss curve, and
    // register it (owner: account 0, provider: account 2, a dev account the node answers for).
    await page.click('header nav a[href="#/factory"]')
    await seeText('No base model registered yet')
    await snap('factory-empty')
    await page.click('#pretrain button[type=submit]')
    await page.waitForSelector('#pt-register', { timeout: 180_000 })
    await snap('base-trained')
    await page.click('#pt-register')
    await page.waitForFunction(() => location.hash === '#/model/1', { timeout: 30_000 })
    await seeText('ol-tfm-v1 micro')
    await snap('base-model')
    await page.click('header nav a[href="#/factory"]')
    await seeText('Start fine-tuning')
    expect(await page.$eval('#ft-dn-1', (e) => (e as unknown as { value: string }).value)).toBe('1')
    await setValue('#ft-steps', '300')
    await page.click('#finetune button[type=submit]')
    await page.waitForSelector('#ft-job svg.loss polyline', { timeout: 60_000 })
    await page.waitForSelector('#register', { timeout: 180_000 })
    const curve = await page.$eval('#ft-job svg.loss polyline', (e) => e.getAttribute('points') ?? '')
    expect(curve.split(' ').length).toBeGreaterThanOrEqual(50)
    expect(await page.$eval('#ft-job .job-step', (e) => e.textContent)).toBe('step 300 / 300')
    await page.type('#rg-name', 'Fable bot')
    await page.select('#rg-provider', accounts[2]!)
    await snap('finetuned')
    await page.click('#register button[type=submit]')
    await page.waitForFunction(() => location.hash === '#/model/2', { timeout: 30_000 })
    await seeText('Lineage')
    await seeText('datanet #1 v1')
    await snap('model')
    await page.click('#verify-model')
    await page.waitForSelector('#verify-model-ok', { timeout: 180_000 })
    await snap('model-verified')
    await page.click('header nav a[href="#/models"]')
    await seeText('Fable bot')
    await snap('models')

    // The playground, as account 3: ask, pay, see the split, verify the attribution.
    await page.select('#account-select', accounts[3]!)
    await page.click('header nav a[href="#/playground"]')
    await seeText('Ask a model')
    await page.select('#ask-model', '2')
    await page.type('#ask-prompt', 'A famished Fox saw')
    await page.click('#ask button[type=submit]')
    await page.waitForSelector('#pay', { timeout: 60_000 })
    await snap('answer')
    await page.click('#pay')
    await page.waitForSelector('#settled figure.split', { timeout: 60_000 })
    await seeText('Where the fee went')
    expect(await page.$$eval('figure.split .bar-row', (rows) => rows.length)).toBeGreaterThanOrEqual(2)
    // Datanet 1 v1 is paid: per contribution for the spans the answer quotes, the rest to the
    // version's shareholders (the micro model rarely quotes 6 bytes in a row).
    expect(await page.$eval('#settled table', (m) => m.textContent)).toContain('datanet #1 v1')
    const receiptHref = await page.$eval('#settled a[href^="#/receipt/"]', (a) => a.getAttribute('href'))
    await snap('paid-split')
    await page.click('#verify-attribution button[type=submit]')
    await page.waitForSelector('#verify-ok', { timeout: 60_000 })
    await snap('attribution-verified')
    // Another text is not what the receipt committed to.
    await page.type('#v-output', ' (edited)')
    await page.click('#verify-attribution button[type=submit]')
    await page.waitForSelector('#verify-failed', { timeout: 60_000 })
    expect(await page.$eval('#verify-result', (e) => e.textContent)).toContain('OUTPUT_HASH_MISMATCH')

    // The explorer finds it too: the payer's address page → the settlement transaction → receipt.
    await page.type('#q', accounts[3]!)
    await page.keyboard.press('Enter')
    await seeText('Attribution.settle')
    await page.click('main table tbody tr:first-child a[href^="#/tx/"]')
    await seeText('Attribution.InferenceSettled')
    await page.click(`main a[href="${receiptHref}"]`)
    await seeText('Where the fee went')
    await seeText('Contributors')
    await snap('receipt-split')

    // Rewards: the contributor (account 1) claims by clicking.
    await page.select('#account-select', accounts[1]!)
    await page.click('header nav a[href="#/rewards"]')
    await seeText('Claimable')
    const before = await page.$eval('#claimable', (e) => e.textContent)
    expect(before).not.toBe('0 OPEN')
    await snap('rewards-before')
    await page.click('#claim button')
    await page.waitForFunction(() => document.getElementById('claimable')?.textContent === '0 OPEN', {
      timeout: 30_000,
    })
    expect(await page.$$eval('main table tbody tr', (trs) => trs.length)).toBeGreaterThanOrEqual(1)
    await snap('rewards-claimed')

    // Share holders of the datanet, and a transfer of shares by the contributor (account 1).
    await page.click('header nav a[href="#/datanets"]')
    await page.waitForSelector('main table a[href="#/datanet/1"]', { timeout: 30_000 })
    await page.click('main table a[href="#/datanet/1"]')
    await seeText('Share holders')
    expect(await page.$eval('#shares table', (t) => t.textContent)).toContain('v1')
    await page.type('#ts-to', accounts[5]!)
    await page.type('#ts-amount', '100')
    await page.click('#transfer-shares button[type=submit]')
    await page.waitForSelector(`#shares a[href="#/address/${accounts[5]!.toLowerCase()}"]`, {
      timeout: 30_000,
    })
    await snap('shares-transferred')

    // Validators and epochs: account 4 creates a validator (as `openledger stake` would).
    const operator = accounts[4]!
    const created = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendTransaction',
        params: [
          {
            from: operator,
            to: '0x4f50454e00000000000000000000000000000004',
            value: toHex(parseEther('2')),
            data: encodeFunctionData({
              abi: stakingAbi,
              functionName: 'createValidator',
              args: [
                { moniker: 'Studio validator', identity: '', website: '', securityContact: '', details: '' },
                1000,
                2000,
                100,
                parseEther('1'),
                '0x00000000000000000000000000000000000000aa',
              ],
            }),
          },
        ],
      }),
    }).then((r) => r.json() as Promise<{ result?: string; error?: unknown }>)
    expect(created.error).toBeUndefined()
    await page.click('header nav a[href="#/validators"]')
    await seeText('Studio validator')
    await seeText('Epoch 0')
    expect(await page.$eval('main', (m) => m.textContent)).toContain('unbonded')
    await snap('validators')

    // The datanet module's address page and the on-chain explainer.
    await page.goto(`${node.rpcUrl}/studio/#/address/0x4f50454e00000000000000000000000000000001`)
    await seeText('Datanets module')
    await snap('module-address')
    await page.click('header nav a[href="#/about"]')
    await seeText('What is on-chain')
    await snap('about')
  }
})
