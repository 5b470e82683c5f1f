/** What the payable-AI commands share: the common flags, the chain connection, output, id args. */
import type { Command } from 'commander'
import { type ChainContext, connect, DEFAULT_RPC } from './chain.ts'
import { PayableError } from './errors.ts'
import { toJson } from './format.ts'
import { KEY_ENV, loadPrivateKey, requirePrivateKey } from './keys.ts'
import { parseId } from './parse.ts'

export interface CommonOpts {
  rpc: string
  keyFile?: string
  json: boolean
}

export const STATUS = ['none', 'pending', 'approved', 'rejected']

export function common(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
    .option('--key-file <file>', `file holding the private key (default: $${KEY_ENV})`)
    .option('--json', 'print JSON for scripts instead of tables', false)
}

export async function chainFor(o: CommonOpts, needsKey: boolean): Promise<ChainContext> {
  const key = needsKey ? await requirePrivateKey(o.keyFile) : await loadPrivateKey(o.keyFile)
  return connect(o.rpc, key)
}

export function print(o: { json: boolean }, json: unknown, human: () => string): void {
  process.stdout.write(`${o.json ? toJson(json) : human()}\n`)
}

export function parseIdArg(value: string, what: string): bigint {
  try {
    return parseId(value)
  } catch {
    throw new PayableError(`<${what}>: expected a positive integer id, got "${value}"`)
  }
}

/** Ids first…last, at most `limit` of them. */
export function ids(first: bigint, last: bigint, limit: number): bigint[] {
  const out: bigint[] = []
  for (let i = first; i <= last && out.length < limit; i++) out.push(i)
  return out
}
