/**
 * (a) The raw EthereumJS execution ceiling, measured by packages/evm-runtime/bench/exec-ceiling.ts
 * (owned by the evm-runtime engineer). It runs as a child process so its heap and JIT state do not
 * skew this process, and so a hang is bounded by a timeout; its printed figures are kept verbatim.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startChild, withTimeout } from './proc.ts'

export interface CeilingResult {
  script: string
  status: 'ok' | 'missing' | 'failed'
  /** Lines the script printed. */
  output: string[]
  /** The last "<number> tx/s" figure it printed (its summary line). */
  txPerSec?: number
  error?: string
}

const SCRIPT = 'packages/evm-runtime/bench/exec-ceiling.ts'

/** Runs the script on `txs` transfers from `senders` senders (its two positional arguments). */
export async function execCeiling(
  root: string,
  txs: number,
  senders: number,
  timeoutMs: number,
): Promise<CeilingResult> {
  const path = join(root, SCRIPT)
  if (!existsSync(path)) return { script: SCRIPT, status: 'missing', output: [] }
  const output: string[] = []
  const child = startChild(process.execPath, ['--import', 'tsx', path, String(txs), String(senders)], {
    cwd: root,
    name: 'exec-ceiling',
    onLine: (l) => output.push(l),
  })
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c))),
    timeoutMs,
    'exec-ceiling',
  ).catch(async (err: Error) => {
    await child.stop()
    return err
  })
  const figures = [...output.join('\n').matchAll(/([\d,]+(?:\.\d+)?)\s*tx\/s/g)]
  const txPerSec = figures.length > 0 ? Number(figures.at(-1)![1]!.replace(/,/g, '')) : undefined
  if (code instanceof Error)
    return { script: SCRIPT, status: 'failed', output, txPerSec, error: code.message }
  if (code !== 0) return { script: SCRIPT, status: 'failed', output, txPerSec, error: `exit code ${code}` }
  return { script: SCRIPT, status: 'ok', output, txPerSec }
}
