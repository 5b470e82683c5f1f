/**
 * Studio's static serving: the exact in-memory table (no path reaches the file system), content
 * types, security headers, ETag revalidation, loopback-only by default, and the same through a
 * real dev node's RPC port (HEAD, traversal attempts, RPC untouched).
 */
import { request } from 'node:http'
import { buildStudio, type StudioAssets, studioPages } from '@openledger/studio'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDevNode } from '../helpers/dev-node.ts'

let assets: StudioAssets
beforeAll(async () => {
  assets = await buildStudio()
}, 60_000)

const local = (path: string, ifNoneMatch?: string) => ({ path, remoteAddress: '127.0.0.1', ifNoneMatch })

describe('studioPages', () => {
  it('serves the page, script and style with their types and a strict CSP', () => {
    const pages = studioPages(assets)
    const html = pages(local('/studio/'))!
    expect(html.status).toBe(200)
    expect(html.headers['Content-Type']).toBe('text/html; charset=utf-8')
    expect(html.headers['Content-Security-Policy']).toContain("script-src 'self'")
    expect(html.headers['X-Content-Type-Options']).toBe('nosniff')
    expect(new TextDecoder().decode(html.body)).toContain('<script type="module" src="/studio/app.js">')
    const js = pages(local('/studio/app.js?v=1'))!
    expect(js.headers['Content-Type']).toBe('text/javascript; charset=utf-8')
    expect(js.body.length).toBeGreaterThan(10_000)
    // Nothing fetched from elsewhere (the SVG namespace name is an identifier, never fetched).
    expect(new TextDecoder().decode(js.body).replaceAll('"http://www.w3.org/2000/svg"', '')).not.toMatch(
      /https?:\/\/(?!localhost)[a-z0-9.-]+\.(com|io|org|net)\//i,
    )
    expect(pages(local('/studio/app.css'))!.headers['Content-Type']).toBe('text/css; charset=utf-8')
  })

  it('answers 404 for every other path, including traversal attempts, and leaves non-studio paths alone', () => {
    const pages = studioPages(assets)
    for (const p of [
      '/studio/../package.json',
      '/studio/%2e%2e/%2e%2e/etc/passwd',
      '/studio/..%2fsrc/index.ts',
      '/studio//etc/passwd',
      '/studio/main.ts',
      '/studio/index.html/',
      '/studio/app.js/..',
    ])
      expect(pages(local(p))!.status, p).toBe(404)
    expect(pages(local('/'))).toBeUndefined()
    expect(pages(local('/studiox'))).toBeUndefined()
    expect(pages(local('/studio'))!.status).toBe(308)
    expect(pages(local('/studio'))!.headers.Location).toBe('/studio/')
  })

  it('revalidates with ETag and refuses remote clients unless allowed', () => {
    const pages = studioPages(assets)
    const first = pages(local('/studio/app.js'))!
    expect(pages(local('/studio/app.js', first.headers.ETag))!.status).toBe(304)
    for (const remoteAddress of ['10.0.0.2', '192.168.1.5', '::ffff:10.0.0.1', undefined])
      expect(pages({ path: '/studio/', remoteAddress, ifNoneMatch: undefined })!.status).toBe(403)
    expect(pages({ path: '/studio/', remoteAddress: '::1', ifNoneMatch: undefined })!.status).toBe(200)
    const open = studioPages(assets, { allowRemote: true })
    expect(open({ path: '/studio/', remoteAddress: '10.0.0.2', ifNoneMatch: undefined })!.status).toBe(200)
  })
})

describe('Studio on a dev node', () => {
  let node: Awaited<ReturnType<typeof startDevNode>>
  beforeAll(async () => {
    node = await startDevNode()
  }, 60_000)
  afterAll(() => node?.close())

  /** A raw request (fetch normalises ../ away; a client need not). */
  const raw = (method: string, path: string) =>
    new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
      const url = new URL(node.rpcUrl)
      const req = request({ host: url.hostname, port: url.port, method, path }, (res) => {
        let body = ''
        res.on('data', (d) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }))
      })
      req.on('error', reject)
      req.end()
    })

  it('serves /studio/ on the RPC port, keeps the liveness probe and JSON-RPC', async () => {
    const page = await raw('GET', '/studio/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('OpenLedger Studio')
    const head = await raw('HEAD', '/studio/app.js')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.type).toBe('text/javascript; charset=utf-8')
    for (const p of [
      '/studio/../package.json',
      '/studio/%2e%2e/%2e%2e/etc/passwd',
      '/studio/../../../../etc/passwd',
    ])
      expect((await raw('GET', p)).status, p).toBe(404)
    expect((await raw('GET', `/studio/${'a'.repeat(10_000)}`)).status).toBe(404)
    const probe = await raw('GET', '/')
    expect(JSON.parse(probe.body)).toMatchObject({ status: 'ok' })
    const res = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ots_getApiLevel', params: [] }),
    })
    expect(((await res.json()) as { result: number }).result).toBe(8)
  })
})
