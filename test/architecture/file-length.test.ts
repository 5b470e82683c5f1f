/**
 * The size rule of the style guide (issue 12): no non-generated source file of a package (src/)
 * is over 400 lines unless its header comment says why, on a line starting with `Long file:`
 * (e.g. one cohesive state machine, a table, a module whose handlers share one storage layout).
 * Generated files start with `// Generated`. Split by job instead where the reason would be weak.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, test } from 'vitest'
import { walk } from './source-files.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const LIMIT = 400
const SOURCE = /\.(ts|mts)$/

/** The comment lines before the first statement. */
function header(text: string): string {
  const lines = text.split('\n')
  const out: string[] = []
  for (const line of lines) {
    const t = line.trim()
    if (t === '' || t.startsWith('//') || t.startsWith('/*') || t.startsWith('*')) out.push(t)
    else break
  }
  return out.join('\n')
}

const files = readdirSync(join(ROOT, 'packages')).flatMap((p) =>
  walk(join(ROOT, 'packages', p, 'src'), SOURCE),
)

describe('source file length', () => {
  test('every package source file over 400 lines is generated or says why at its top', () => {
    const unexplained: string[] = []
    for (const f of files) {
      const text = readFileSync(f, 'utf8')
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
      if (lines <= LIMIT) continue
      const head = header(text)
      if (head.startsWith('// Generated')) continue
      if (!/^(\*|\/\/)\s*Long file: \S/m.test(head)) unexplained.push(`${relative(ROOT, f)} (${lines} lines)`)
    }
    expect(unexplained).toEqual([])
  })

  test('the rule sees the sources (guards against a walk that finds nothing)', () => {
    expect(files.length).toBeGreaterThan(200)
  })
})
