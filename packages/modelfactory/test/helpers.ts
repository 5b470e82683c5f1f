import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeText } from '../src/train/data.ts'

/** The Aesop fables of the shipped demo corpus (public domain), in file order, spam excluded. */
export function aesopRecords(): Uint8Array[] {
  const dir = fileURLToPath(new URL('../../../test/fixtures/corpus/aesop/', import.meta.url))
  return readdirSync(dir)
    .filter((f) => f !== 'spam.txt')
    .sort()
    .map((f) => encodeText(readFileSync(join(dir, f), 'utf8')))
}
