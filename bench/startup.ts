/**
 * The start-up benchmark alone: `node --import tsx bench/startup.ts [--quick] [--rounds N]`
 * (needs the compiled build: `pnpm build`, which `pnpm install` runs). Also part of `pnpm bench`
 * (section i).
 */
import { cpus, loadavg } from 'node:os'
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
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
process.stdout.write(
  `start-up bench: ${cpus().length} CPUs, load average ${load()}, Node ${process.version}\n`,
)
await startupScenario(ROOT, { rounds, log: (l) => process.stdout.write(`${l}\n`) })
process.stdout.write(`load average at the end: ${load()}\n`)
process.exit(0)
