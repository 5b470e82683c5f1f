/**
 * Key files: one 32-byte secp256k1 private key as 0x-hex text, mode 0600. A validator's key is
 * also its libp2p identity (peer ids can be computed before any node starts); a full node without
 * a validator key keeps a generated identity in `<datadir>/node.key`.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { fromHex } from '../util/bytes.ts'

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyFileError'
  }
}

export function generatePrivateKey(): Uint8Array {
  for (;;) {
    const k = randomBytes(32)
    if (secp256k1.utils.isValidSecretKey(k)) return new Uint8Array(k)
  }
}

export function parsePrivateKey(text: string, source: string): Uint8Array {
  const t = text.trim()
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(t))
    throw new KeyFileError(`${source}: expected a 32-byte private key as 64 hex digits`)
  const k = fromHex(t)
  if (!secp256k1.utils.isValidSecretKey(k))
    throw new KeyFileError(`${source}: not a valid secp256k1 private key`)
  return k
}

export async function readKeyFile(path: string): Promise<Uint8Array> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`)
  }
  return parsePrivateKey(text, path)
}

/** Writes a new key file; refuses to overwrite an existing one. */
export async function writeKeyFile(path: string, key: Uint8Array): Promise<void> {
  try {
    await writeFile(path, `0x${Buffer.from(key).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`${path} already exists`)
    throw new KeyFileError(`cannot write key file ${path}: ${(e as Error).message}`)
  }
}

export async function loadOrCreateKey(path: string): Promise<Uint8Array> {
  try {
    return await readKeyFile(path)
  } catch (e) {
    if (!(e instanceof KeyFileError) || !/cannot read/.test(e.message)) throw e
  }
  const key = generatePrivateKey()
  await writeKeyFile(path, key)
  return key
}
