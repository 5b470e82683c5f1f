/**
 * OpenLedger Studio in a real browser: Debian's chromium driven by puppeteer-core against a real
 * `openledger dev` process. Clicks through the explorer and the datanet flow (create → contribute
 * → approve → publish), saves a screenshot of every page, and fails on any console error.
 * Screenshots: test-output/studio/ (or $STUDIO_SCREENSHOTS).
 */
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, spawnDevProcess } from '../helpers/dev-node.ts'

const CHROMIUM =
  process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync)
const SHOTS =
  process.env.STUDIO_SCREENSHOTS ?? fileURLToPath(new URL('../../test-output/studio/', import.meta.url))

if (!CHROMIUM)
  console.warn('studio browser test skipped: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)')

describe.skipIf(!CHROMIUM)('Studio in chromium', () => {
  let node: NodeProcess
  let browser: Browser
  let page: Page
  const problems: string[] = []
  let shot = 0

  const snap = async (name: string) => {
    shot += 1
    await page.screenshot({
      path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    })
  }
  /** Waits for text to appear in the main region (bounded). */
  const seeText = (text: string, timeout = 30_000) =>
    page.waitForFunction(
      (t) => document.getElementById('main')?.textContent.includes(t),
      { timeout, polling: 50 },
      text,
    )
  const hash = () => page.evaluate(() => location.hash)

  beforeAll(async () => {
    await rm(SHOTS, { recursive: true, force: true })
    await mkdir(SHOTS, { recursive: true })
    node = await spawnDevProcess([])
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    page = await browser.newPage()
    await page.setViewport({ width: 1280, height: 900 })
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`))
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`))
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    node?.child.kill('SIGTERM')
    await node?.exited
  })

  it('explorer home, then the datanet flow by clicking, then the explorer pages of its transactions', async () => {
    try {
      await flow()
    } catch (e) {
      await snap('failure').catch(() => undefined)
      throw new Error(
        `${(e as Error).message}\nmain: ${await page.$eval('#main', (m) => (m as HTMLElement).textContent).catch(() => '?')}\nconsole: ${problems.join('\n')}`,
      )
    }
    expect(problems).toEqual([])
  }, 300_000)

  async function flow(): Promise<void> {
    await page.goto(`${node.rpcUrl}/studio/`, { waitUntil: 'load' })
    await seeText('Latest blocks')
    expect(await page.$eval('#account', (e) => (e as HTMLElement).textContent)).toContain('dev signer')
    await snap('explorer-home')

    // Datanets: create.
    await page.click('header nav a[href="#/datanets"]')
    await seeText('Create a datanet')
    await snap('datanets-empty')
    await page.type('#dn-name', 'Medical Q&A')
    await page.type('#dn-uri', 'ipfs://bafy-medical')
    await page.click('#create-datanet button[type=submit]')
    await page.waitForFunction(() => location.hash === '#/datanet/1', { timeout: 30_000 })
    await seeText('Datanet #1: Medical Q&A')
    await snap('datanet-created')

    // Contribute inline text, as another dev account (a curator may not approve their own).
    const accounts = await page.$$eval('#account-select option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    )
    await page.select('#account-select', accounts[1]!)
    await page.type('#c-text', 'Q: What lowers fever? A: Paracetamol, rest and fluids.')
    await page.type('#c-uri', 'note://fever')
    await page.click('#contribute button[type=submit]')
    await seeText('pending')
    await seeText('Q: What lowers fever?')
    await snap('datanet-contributed')

    // Approve with a weight, as the datanet's owner.
    await page.select('#account-select', accounts[0]!)
    await page.$eval('input.weight', (e) => {
      ;(e as HTMLInputElement).value = '250'
    })
    await page.click('form[data-action=approve] button')
    await page.waitForFunction(() => !document.querySelector('form[data-action=approve]'), {
      timeout: 30_000,
    })
    await seeText('250')
    await snap('datanet-approved')

    // Publish version 1.
    await page.click('#publish button')
    await seeText('v1')
    await snap('datanet-published')

    // Explorer: the block that published it, its transaction with decoded call and logs.
    const blockLink = await page.$$eval('main table a[href^="#/block/"]', (as) =>
      as.map((a) => a.getAttribute('href')),
    )
    await page.click(`main a[href="${blockLink.at(-1)}"]`)
    await seeText('Transactions')
    await seeText('Datanets.publishVersion')
    await snap('block')
    await page.click('main table a[href^="#/tx/"]')
    await seeText('Datanets.VersionPublished')
    await seeText('success')
    await snap('transaction')

    // The sender's address page lists the four datanet transactions.
    await page.click('main dl a[href^="#/address/"]')
    await seeText('Account')
    await seeText('Datanets.publishVersion')
    const rows = await page.$$eval('main table tbody tr', (trs) => trs.length)
    expect(rows).toBeGreaterThanOrEqual(3)
    await snap('address')

    // Search by block number, from the header.
    await page.type('#q', '1')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => location.hash === '#/block/1', { timeout: 30_000 })
    await seeText('Block 1')
    await seeText('Datanets.createDatanet')
    expect(await hash()).toBe('#/block/1')
    await snap('search-block')

    // The datanet module's address page and the on-chain explainer.
    await page.goto(`${node.rpcUrl}/studio/#/address/0x4f50454e00000000000000000000000000000001`)
    await seeText('Datanets module')
    await snap('module-address')
    await page.click('header nav a[href="#/about"]')
    await seeText('What is on-chain')
    await snap('about')
  }
})
