/**
 * (g) The off-chain attribution engine (packages/attribution/bench/engine.ts) run as a child
 * process with --expose-gc, so its memory figures are its own. Its output is relayed as is.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'

export async function engineScenario(
  root: string,
  opts: { quick: boolean; skip: boolean; log: (s: string) => void },
): Promise<{ status: 'ok' | 'failed' | 'skipped'; output: string[] }> {
  if (opts.skip) return { status: 'skipped', output: [] }
  opts.log('\n(g) attribution engine: span index build and query latency …')
  const args = ['--expose-gc', '--import', 'tsx', join(root, 'packages/attribution/bench/engine.ts')]
  if (opts.quick) args.push('--mb', '1', '--queries', '50', '--dup-mb', '0')
  const output: string[] = []
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    const relay = (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) {
        if (!line.trim()) continue
        output.push(line)
        opts.log(`  ${line}`)
      }
    }
    child.stdout.on('data', relay)
    child.stderr.on('data', relay)
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  if (code !== 0) opts.log(`  FAILED: engine bench exited with ${code}`)
  return { status: code === 0 ? 'ok' : 'failed', output }
}
