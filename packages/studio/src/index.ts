/**
 * @openledger/studio: the web app the node serves at /studio/ on its JSON-RPC port.
 *
 * The app (app/*.ts) is bundled in memory with esbuild (from the lockfile) when the node starts:
 * nothing is fetched at run time and no build output can go stale. The files are served from a
 * fixed in-memory table, so no request path ever reaches the file system (no traversal).
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export interface StudioFile {
  type: string
  body: Uint8Array
  etag: string
}

/** Path → file; paths are exact (`/studio/`, `/studio/app.js`, `/studio/app.css`). */
export type StudioAssets = ReadonlyMap<string, StudioFile>

export interface PageResponse {
  status: number
  headers: Record<string, string>
  body: Uint8Array
}

const APP = fileURLToPath(new URL('../app/', import.meta.url))

function file(type: string, body: Uint8Array): StudioFile {
  let h = 0x811c9dc5
  for (const b of body) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return { type, body, etag: `"${body.length.toString(16)}-${h.toString(16)}"` }
}

/** Bundles the app (TypeScript → one ES module) and loads the page and style sheet. */
export async function buildStudio(opts: { minify?: boolean } = {}): Promise<StudioAssets> {
  const out = await build({
    entryPoints: [`${APP}main.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    // Bundle the workspace packages the app imports from their sources, not their dist/ builds.
    conditions: ['@openledger/source'],
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  })
  const js = out.outputFiles[0]
  if (!js) throw new Error('studio: esbuild produced no output')
  const html = await readFile(`${APP}index.html`)
  const css = await readFile(`${APP}style.css`)
  const page = file('text/html; charset=utf-8', html)
  return new Map([
    ['/studio/', page],
    ['/studio/index.html', page],
    ['/studio/app.js', file('text/javascript; charset=utf-8', js.contents)],
    ['/studio/app.css', file('text/css; charset=utf-8', css)],
  ])
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/

const SECURITY_HEADERS = {
  // Only the node itself: scripts, styles, RPC over fetch and WebSocket.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-cache',
}

const text = (status: number, message: string, extra: Record<string, string> = {}): PageResponse => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...extra },
  body: new TextEncoder().encode(`${message}\n`),
})

/**
 * The GET handler the RPC server calls: answers paths under /studio, undefined for the rest
 * (the RPC liveness probe). Remote clients are refused unless `allowRemote`.
 */
export function studioPages(
  assets: StudioAssets,
  opts: { allowRemote?: boolean } = {},
): (request: {
  path: string
  remoteAddress: string | undefined
  ifNoneMatch?: string
}) => PageResponse | undefined {
  return ({ path, remoteAddress, ifNoneMatch }) => {
    const q = path.indexOf('?')
    const p = q >= 0 ? path.slice(0, q) : path
    if (p !== '/studio' && !p.startsWith('/studio/')) return undefined
    if (!opts.allowRemote && !LOOPBACK.test(remoteAddress ?? ''))
      return text(
        403,
        'Studio is served to loopback clients only (start the node with --studio.remote to allow others).',
      )
    if (p === '/studio') return text(308, 'Moved to /studio/', { Location: '/studio/' })
    const f = assets.get(p)
    if (!f) return text(404, 'Not found')
    const headers = { ...SECURITY_HEADERS, 'Content-Type': f.type, ETag: f.etag }
    if (ifNoneMatch === f.etag) return { status: 304, headers, body: new Uint8Array() }
    return { status: 200, headers, body: f.body }
  }
}
