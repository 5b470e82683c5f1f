/**
 * The compiled, publishable build (issue 12): `pnpm build` compiles every package to dist/; the
 * `openledger` binary runs that JavaScript with no TypeScript loader; `pnpm pack` of the SDK
 * package (and the module kit it depends on), installed into a plain `npm init` project, is
 * imported there by a plain Node script and a type-checked TypeScript consumer, which read `ol_*`
 * data from a running compiled `openledger dev`.
 *
 * The rest of the suite runs the sources (the `@openledger/source` export condition, set in
 * vitest.config.ts); these processes run with that condition removed, as users run them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, realpathSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_KEYS, tempDir } from '../helpers/dev-node.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const BIN = join(ROOT, 'packages/node/bin/openledger.mjs')
/** The test process's environment without the source condition: what a user's shell has. */
const USER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replace(/--conditions=@openledger\/source/g, '').trim(),
}
/**
 * Fails the process the moment anything resolves tsx (the binary runs compiled JavaScript) or the
 * CLI's unbundled entry (it runs the bundle of dist/bundle/, scripts/bundle-cli.mjs).
 */
const NO_TSX = `data:text/javascript,import{register}from"node:module";register(${encodeURIComponent(
  JSON.stringify(
    'data:text/javascript,export async function resolve(s,c,n){if(/(^|\\/)tsx(\\/|$)/.test(s))throw new Error("tsx loaded at run time: "+s);return n(s,c)}export async function load(u,c,n){if(/\\/packages\\/node\\/dist\\/cli\\/main\\.js$/.test(u))throw new Error("unbundled CLI loaded: "+u);return n(u,c)}',
  ),
)})`

function run(cmd: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: USER_ENV, encoding: 'utf8', timeout: 600_000 })
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  }
  return { stdout: r.stdout, stderr: r.stderr }
}

/** Where the workspace installed `dep` for `pkg` (pnpm links it into the package's node_modules). */
function installedDir(pkg: string, dep: string): string {
  return realpathSync(join(ROOT, 'packages', pkg, 'node_modules', dep))
}

describe('compiled build', () => {
  let node: ChildProcess | undefined
  let rpcUrl = ''
  let stderr = ''
  const dirs: Array<{ remove: () => Promise<void> }> = []

  beforeAll(async () => {
    // Incremental: only what changed since the last build (pnpm install builds everything).
    run(process.execPath, [join(ROOT, 'scripts/build.mjs')], ROOT)
    node = spawn(process.execPath, ['--import', NO_TSX, BIN, 'dev', '--port', '0'], {
      cwd: ROOT,
      env: USER_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    node.stderr!.on('data', (d) => {
      stderr += d
    })
    rpcUrl = await new Promise<string>((ok, fail) => {
      let out = ''
      node!.stdout!.on('data', (d) => {
        out += d
        const m = /Listening on (http:\/\/\S+)/.exec(out)
        if (m) ok(m[1]!)
      })
      node!.once('exit', (code) => fail(new Error(`openledger dev exited with ${code}:\n${out}\n${stderr}`)))
    })
  }, 900_000)

  afterAll(async () => {
    if (node && node.exitCode === null) {
      const gone = new Promise((r) => node!.once('exit', r))
      node.kill('SIGTERM')
      await gone
    }
    for (const d of dirs) await d.remove()
  })

  it('the openledger binary runs dist/ JavaScript without tsx and answers JSON-RPC', async () => {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
    expect(await res.json()).toMatchObject({ result: '0x7a69' })
    // An RPC execution runs in the compiled worker thread (exec-worker.js) as well.
    const call = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'eth_call',
        params: [{ to: '0x0000000000000000000000000000000000000001', data: '0x' }, 'latest'],
      }),
    })
    expect(await call.json()).toMatchObject({ result: '0x' })
    expect(stderr).not.toMatch(/tsx loaded at run time|unbundled CLI loaded/)
    const resolved = run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('@openledger/node/cli'))"],
      join(ROOT, 'packages/node'),
    )
    expect(resolved.stdout.trim()).toMatch(/\/packages\/node\/dist\/cli\/main\.js$/)
  })

  it('the bundled binary runs every command group: help lists them, keys new loads the network code', () => {
    const help = run(process.execPath, ['--import', NO_TSX, BIN, '--help'], ROOT).stdout
    for (const group of [
      'dev',
      'node',
      'devnet',
      'datanet',
      'model',
      'infer',
      'stake',
      'gov',
      'bridge',
      'demo',
    ])
      expect(help).toMatch(new RegExp(`^  ${group}\\b`, 'm'))
    const key = run(process.execPath, ['--import', NO_TSX, BIN, 'keys', 'new'], ROOT).stdout
    expect(key).toMatch(/0x[0-9a-f]{40}/)
    expect(key).toMatch(/16Uiu2/)
  })

  it('pnpm pack of the SDK installs into a plain npm project, which imports it and reads ol_* data', async () => {
    const work = await tempDir('ol-pack-')
    dirs.push(work)
    const out = join(work.path, 'tarballs')
    for (const pkg of ['module-kit', 'attribution']) {
      const [cmd, ...pre] = pnpmCommand()
      run(cmd!, [...pre, 'pack', '--pack-destination', out], join(ROOT, 'packages', pkg))
    }
    const tarballs = readdirSync(out).map((f) => join(out, f))
    expect(tarballs.map((t) => t.slice(out.length + 1)).sort()).toEqual([
      'openledger-attribution-0.1.0.tgz',
      'openledger-module-kit-0.1.0.tgz',
    ])
    const listing = run('tar', ['tzf', tarballs.find((t) => t.includes('attribution'))!], work.path).stdout
    expect(listing).toContain('package/dist/sdk/index.js')
    expect(listing).toContain('package/dist/sdk/index.d.ts')
    expect(listing).not.toContain('tsbuildinfo')

    const proj = join(work.path, 'app')
    run('mkdir', ['-p', proj], work.path)
    run('npm', ['init', '-y'], proj)
    // The packages' registry dependencies come from the workspace's own install (linked, offline),
    // so the test needs no network; the two tarballs are installed as a user would.
    const deps = [
      ['attribution', 'viem'],
      ['attribution', '@noble/curves'],
      ['attribution', '@noble/hashes'],
      ['attribution', 'secp256k1'],
      ['module-kit', 'hash-wasm'],
    ].map(([pkg, dep]) => installedDir(pkg!, dep!))
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs, ...deps], proj)

    writeFileSync(
      join(proj, 'read.mjs'),
      `import { createDatanet, getDatanetCount, DATANETS } from '@openledger/attribution/sdk'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
const [url, key] = process.argv.slice(2)
const wallet = createWalletClient({ account: privateKeyToAccount(key), transport: http(url) })
const client = createPublicClient({ transport: http(url) })
const hash = await createDatanet(wallet, { name: 'From npm', metadataURI: 'ipfs://npm', open: true, curators: [] })
const { status } = await client.waitForTransactionReceipt({ hash })
const count = await getDatanetCount(client, {})
const datanet = await client.request({ method: 'ol_getDatanet', params: ['0x' + count.toString(16)] })
console.log(JSON.stringify({ status, count: count.toString(), module: DATANETS, datanet }))
`,
    )
    const answer = JSON.parse(run(process.execPath, ['read.mjs', rpcUrl, DEV_KEYS[0]!], proj).stdout)
    expect(answer).toMatchObject({
      status: 'success',
      module: '0x4f50454e00000000000000000000000000000001',
      datanet: { name: 'From npm', metadataURI: 'ipfs://npm', open: true },
    })
    expect(BigInt(answer.count)).toBeGreaterThanOrEqual(1n)

    // The exports carry types: a TypeScript consumer type-checks against dist/*.d.ts.
    writeFileSync(
      join(proj, 'check.ts'),
      `import { getDatanet, shareTokenId } from '@openledger/attribution/sdk'
export const id: bigint = shareTokenId(1n, 2n)
export type Datanet = Awaited<ReturnType<typeof getDatanet>>
// @ts-expect-error: the SDK's types reject a string where a bigint is required
shareTokenId('1', 2n)
`,
    )
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
    run(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', 'check.ts'],
      proj,
    )
  })
})

/** The pnpm that runs this suite (`npx -y pnpm@10 …` sets npm_execpath), else pnpm 10 through npx. */
function pnpmCommand(): string[] {
  const exec = process.env.npm_execpath
  if (exec !== undefined && /pnpm/.test(exec)) return [process.execPath, exec]
  return ['npx', '-y', 'pnpm@10']
}
