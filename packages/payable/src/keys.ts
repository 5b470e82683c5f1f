/** Loading the signing key of a command: `--key-file F` or `OPENLEDGER_PRIVATE_KEY`. The key is
 * never printed: errors name the source, not the content. */
import { readFile } from 'node:fs/promises'
import type { Hex } from 'viem'
import { PayableError } from './errors.ts'

export const KEY_ENV = 'OPENLEDGER_PRIVATE_KEY'
const KEY_RE = /^(0x)?[0-9a-fA-F]{64}$/
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

function parseKey(raw: string, source: string): Hex {
  const text = raw.trim()
  if (!KEY_RE.test(text)) throw new PayableError(`${source} does not hold a 32-byte hex private key`)
  const key = (text.startsWith('0x') ? text : `0x${text}`).toLowerCase() as Hex
  const n = BigInt(key)
  if (n === 0n || n >= SECP256K1_N)
    throw new PayableError(`${source} does not hold a valid secp256k1 private key`)
  return key
}

/** The key from `keyFile` if given, else from the environment; undefined when neither is set. */
export async function loadPrivateKey(keyFile?: string, env = process.env): Promise<Hex | undefined> {
  if (keyFile !== undefined) {
    let raw: string
    try {
      raw = await readFile(keyFile, 'utf8')
    } catch (err) {
      throw new PayableError(
        `cannot read key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      )
    }
    return parseKey(raw, `key file ${keyFile}`)
  }
  const fromEnv = env[KEY_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return parseKey(fromEnv, KEY_ENV)
  return undefined
}

export async function requirePrivateKey(keyFile?: string, env = process.env): Promise<Hex> {
  const key = await loadPrivateKey(keyFile, env)
  if (key === undefined) {
    throw new PayableError(`this command signs transactions: pass --key-file <file> or set ${KEY_ENV}`)
  }
  return key
}
