/**
 * The start-up benchmark alone: `node --import tsx bench/startup.ts [--quick] [--rounds N]`
 * (needs the compiled build: `pnpm build`, which `pnpm install` runs). Also part of `pnpm bench`
 * (section i).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from './lib/proc.ts'
import { startupScenario } from './lib/startup.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const at = process.argv.indexOf('--rounds')
const rounds = at > 0 ? Number(process.argv[at + 1]) : process.argv.includes('--quick') ? 1 : 5
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: node --import tsx bench/startup.ts [--quick] [--rounds N]\n')
  process.exit(2)
}
installCleanup()
await startupScenario(ROOT, { rounds, log: (l) => process.stdout.write(`${l}\n`) })
process.exit(0)
