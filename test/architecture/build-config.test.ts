/**
 * The compiled build stays complete as packages change (decisions.md, "Compiled, publishable
 * packages"): every package is a `tsc -b` project of the root build, references exactly the
 * workspace packages it depends on (so they build first and its .d.ts see theirs), and every export
 * gives the sources under `@openledger/source` and dist/ with types otherwise.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((p) =>
  existsSync(join(ROOT, 'packages', p, 'package.json')),
)
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'))

describe('build configuration', () => {
  it('the root build references every package', () => {
    const refs = json(join(ROOT, 'tsconfig.build.json')).references.map((r: { path: string }) => r.path)
    expect([...refs].sort()).toEqual(PACKAGES.map((p) => `packages/${p}/tsconfig.build.json`).sort())
  })

  for (const pkg of PACKAGES) {
    it(`${pkg}: project references match its workspace dependencies; exports point at dist`, () => {
      const manifest = json(join(ROOT, 'packages', pkg, 'package.json'))
      const config = json(join(ROOT, 'packages', pkg, 'tsconfig.build.json'))
      const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
        .filter((d) => d.startsWith('@openledger/'))
        .map((d) => `../${d.slice('@openledger/'.length)}/tsconfig.build.json`)
      const refs = (config.references ?? []).map((r: { path: string }) => r.path)
      expect([...refs].sort()).toEqual(deps.sort())
      expect(config.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' })
      for (const [name, entry] of Object.entries<Record<string, string>>(manifest.exports)) {
        const src = entry['@openledger/source']
        expect(src, `${pkg} exports ${name}`).toMatch(/^\.\/src\/.+\.ts$/)
        const base = src!.slice('./src/'.length, -'.ts'.length)
        expect(entry, `${pkg} exports ${name}`).toEqual({
          '@openledger/source': src,
          types: `./dist/${base}.d.ts`,
          default: `./dist/${base}.js`,
        })
        expect(Object.keys(entry)[0], 'the source condition must come first').toBe('@openledger/source')
      }
    })
  }
})
