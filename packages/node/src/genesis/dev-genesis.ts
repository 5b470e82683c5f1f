/** The genesis of `openledger dev`: genesis/devnet.json, adjusted by the dev flags. */
import { readFile } from 'node:fs/promises'
import { type DevAccount, deriveDevAccounts } from '../keys/dev-accounts.ts'
import { hex } from '../util/bytes.ts'

export const DEVNET_GENESIS_URL = new URL('../../../../genesis/devnet.json', import.meta.url)

export interface DevGenesisOptions {
  /** A genesis file to start from instead of genesis/devnet.json. */
  genesisPath?: string
  accounts?: number
  /** Balance of each dev account, in wei. */
  balance?: bigint
  chainId?: number
  /** Block gas limit; replaces the file's. */
  gasLimit?: bigint
  mnemonic?: string
  /** EVM rules from genesis on (`prague`, `osaka`); replaces the file's hardfork schedule. */
  hardfork?: string
}

export async function loadJson(path: string | URL): Promise<unknown> {
  const text = await readFile(path, 'utf8')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new Error(`${String(path)}: not valid JSON: ${(err as Error).message}`)
  }
}

/** Returns the genesis JSON and the unlocked dev accounts it funds. Flags that are not given
 * leave the file's values untouched, so a custom genesis is used as written. */
export async function buildDevGenesis(
  opts: DevGenesisOptions,
): Promise<{ json: Record<string, unknown>; accounts: DevAccount[] }> {
  const json = (await loadJson(opts.genesisPath ?? DEVNET_GENESIS_URL)) as Record<string, unknown>
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error('genesis: expected a JSON object')
  const count = opts.accounts ?? 20
  const accounts = deriveDevAccounts(count, opts.mnemonic)
  const custom = opts.accounts !== undefined || opts.balance !== undefined || opts.mnemonic !== undefined
  if (custom) {
    const alloc = { ...((json.alloc as Record<string, unknown>) ?? {}) }
    // Drop the default dev accounts so `--accounts 3` really funds three.
    for (const d of deriveDevAccounts(20)) delete alloc[hex(d.address)]
    const balance = opts.balance ?? 10_000n * 10n ** 18n
    for (const a of accounts) alloc[hex(a.address)] = { balance: balance.toString() }
    json.alloc = alloc
  }
  if (opts.chainId !== undefined) json.chainId = opts.chainId
  if (opts.gasLimit !== undefined) json.gasLimit = opts.gasLimit.toString()
  if (opts.hardfork !== undefined) {
    json.hardfork = opts.hardfork
    delete json.hardforks
  }
  return { json, accounts }
}
