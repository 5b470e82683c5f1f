/**
 * Debian's chromium driven by puppeteer-core, for the Studio browser tests: launch, screenshots
 * into test-output/studio/, and every console error, page error or failed request collected.
 */
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

/** Page-side callbacks run in the browser; this program is typed without the DOM library. */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null
  querySelector(s: string): unknown
}
declare const location: { hash: string }

export const CHROMIUM: string | undefined =
  process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync)

export const SHOTS =
  process.env.STUDIO_SCREENSHOTS ?? fileURLToPath(new URL('../../test-output/studio/', import.meta.url))

if (!CHROMIUM)
  console.warn(
    'Studio browser tests skipped: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)',
  )

export interface StudioBrowser {
  browser: Browser
  page: Page
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[]
  snap(name: string): Promise<void>
  /** Waits (bounded) until the main region shows `text`. */
  seeText(text: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function openBrowser(prefix: string): Promise<StudioBrowser> {
  if (!CHROMIUM) throw new Error('no chromium')
  // Tests share the directory and run in parallel: each clears only its own screenshots.
  await mkdir(SHOTS, { recursive: true })
  for (const f of await readdir(SHOTS))
    if (f.startsWith(`${prefix}-`)) await rm(join(SHOTS, f), { force: true })
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 900 })
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`))
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`))
  let shot = 0
  return {
    browser,
    page,
    problems,
    snap: async (name) => {
      shot += 1
      await page.screenshot({
        path: join(SHOTS, `${prefix}-${String(shot).padStart(2, '0')}-${name}.png`),
        fullPage: true,
      })
    },
    seeText: async (text, timeoutMs = 30_000) => {
      await page.waitForFunction(
        (t) => document.getElementById('main')?.textContent?.includes(t),
        { timeout: timeoutMs, polling: 50 },
        text,
      )
    },
    close: () => browser.close(),
  }
}
