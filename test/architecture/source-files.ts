/** Source files of a folder for the architecture tests: recursive, without node_modules, dist and dotfiles. */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Files under `dir` whose name matches `pattern`, declaration files excluded; none if `dir` is absent. */
export function walk(dir: string, pattern: RegExp, out: string[] = []): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, pattern, out)
    else if (pattern.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.d.mts')) out.push(p)
  }
  return out
}
