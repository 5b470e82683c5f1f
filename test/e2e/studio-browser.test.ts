/**
 * OpenLedger Studio in a real browser: Debian's chromium driven by puppeteer-core against a real
 * `openledger dev` process. By clicking and typing: explorer home → create a datanet → contribute
 * (a second account) → approve with a weight (the owner) → publish v1 → block, transaction and
 * address pages. Then a model is trained on that version and a paid question asked with the
 * `openledger` CLI and its provider process, and Studio shows the model's page, the receipt with
 * the fee split, and the contributor claims the reward by clicking. Every page's screenshot is
 * saved in test-output/studio/; any console error, page error or failed request fails the test.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deriveDevAccounts, hex } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, openBrowser, type StudioBrowser } from '../helpers/browser.ts'
import { BIN, type NodeProcess, runCli, spawnDevProcess, tempDir } from '../helpers/dev-node.ts'

/** Page-side callbacks run in the browser; this program is typed without the DOM library. */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null
  querySelector(s: string): unknown
}
declare const location: { hash: string }

const keys = deriveDevAccounts(4).map((a) => hex(a.privateKey))

describe.skipIf(!CHROMIUM)('Studio in chromium', () => {
  let node: NodeProcess
  let b: StudioBrowser
  let dir: { path: string; remove: () => Promise<void> }
  const children: ChildProcess[] = []

  beforeAll(async () => {
    dir = await tempDir()
    for (let i = 0; i < keys.length; i++) await writeFile(join(dir.path, `key${i}`), keys[i]!)
    node = await spawnDevProcess([])
    b = await openBrowser('dev')
  }, 180_000)

  afterAll(async () => {
    await b?.close()
    for (const c of children) c.kill('SIGKILL')
    node?.child.kill('SIGTERM')
    await node?.exited
    await dir?.remove()
  })

  /** `openledger …` against the dev node with dev key `key`, --json output parsed. */
  async function cli(args: string[], key: number): Promise<any> {
    const r = await runCli(
      [...args, '--rpc', node.rpcUrl, '--json', '--key-file', join(dir.path, `key${key}`)],
      {
        env: { ...process.env, OPENLEDGER_PRIVATE_KEY: '' },
        onSpawn: (c) => children.push(c),
      },
    )
    if (r.code !== 0) throw new Error(`openledger ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
    return JSON.parse(r.stdout)
  }

  it('explorer, the datanet flow, a model, a paid answer and its split, and a claim, by clicking', async () => {
    try {
      await flow()
    } catch (e) {
      await b.snap('failure').catch(() => undefined)
      const main = await b.page.$eval('#main', (m) => m.textContent).catch(() => '?')
      throw new Error(`${(e as Error).message}\nmain: ${main}\nproblems: ${b.problems.join('\n')}`)
    }
    expect(b.problems).toEqual([])
  }, 400_000)

  async function flow(): Promise<void> {
    const { page, snap, seeText } = b
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
    await seeText('v1')
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

    // A model trained on datanet 1 v1 (owner: account 0, provider: account 2), its provider
    // process, and a paid question from account 3: the CLI a user runs.
    const trained = await cli(
      [
        'model',
        'train',
        '--datanet',
        '1@1',
        '--name',
        'Fable bot',
        '--provider',
        accounts[2]!,
        '--out',
        join(dir.path, 'model'),
        '--min-fee',
        '0.01',
      ],
      0,
    )
    expect(trained).toMatchObject({ modelId: '1' })
    const serve = spawn(
      process.execPath,
      [
        BIN,
        'provider',
        'serve',
        '--model',
        '1',
        '--key',
        join(dir.path, 'key2'),
        '--port',
        '0',
        '--rpc',
        node.rpcUrl,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    children.push(serve)
    const providerUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      serve.stdout!.on('data', (c) => {
        out += c
        const m = /Provider listening on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      serve.on('exit', (code) => reject(new Error(`provider exited ${code}`)))
    })
    const answer = await cli(
      ['infer', '--provider', providerUrl, '--prompt', 'A famished Fox saw', '--max-tokens', '20'],
      3,
    )
    const receiptId = String(answer.receiptId)
    expect(receiptId).toMatch(/^0x[0-9a-f]{64}$/)

    // Studio: the model and its lineage.
    await page.click('header nav a[href="#/models"]')
    await seeText('Fable bot')
    await snap('models')
    await page.click('main table a[href="#/model/1"]')
    await seeText('Lineage')
    await seeText('datanet #1 v1')
    await snap('model')

    // The receipt: the payer's address page → the settlement transaction → the split.
    await page.type('#q', accounts[3]!)
    await page.keyboard.press('Enter')
    await seeText('Attribution.settle')
    await page.click('main table tbody tr:first-child a[href^="#/tx/"]')
    await seeText('Attribution.InferenceSettled')
    await page.click(`main a[href="#/receipt/${receiptId}"]`)
    await seeText('Where the fee went')
    await seeText('Contributors')
    expect(await page.$$eval('figure.split .bar-row', (rows) => rows.length)).toBeGreaterThanOrEqual(2)
    expect(await page.$eval('main', (m) => m.textContent)).toContain('#1 by')
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

    // The datanet module's address page and the on-chain explainer.
    await page.goto(`${node.rpcUrl}/studio/#/address/0x4f50454e00000000000000000000000000000001`)
    await seeText('Datanets module')
    await snap('module-address')
    await page.click('header nav a[href="#/about"]')
    await seeText('What is on-chain')
    await snap('about')
  }
})
