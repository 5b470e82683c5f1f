/**
 * Rebuilds the exact records of a datanet version from chain data: the approved contributions of
 * that version in approval order (checked against the version's Merkle root), with their content
 * from the calldata of the contribute transactions (inline contributions) or, for contributions
 * referenced by hash, from a local content directory or their file:/http(s): URI — every byte
 * checked against the on-chain content hash.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type CorpusRecord,
  computeContributionsRoot,
  contributionLeaf,
  type DatanetShare,
  extractInlineContent,
} from '@openledger/attribution'
import {
  DATANETS,
  datanetsAbi,
  getApprovedContributionAt,
  getContribution,
  getDatanetVersion,
  getModel,
  getModelVersion,
} from '@openledger/attribution/sdk'
import { type Address, getAbiItem, type Hex, hexToBytes, keccak256, toHex } from 'viem'
import type { ChainContext } from './chain.ts'
import { describeChainError, PayableError } from './errors.ts'

/** Largest referenced content fetched from a URI (inline content is at most 96 KiB on chain). */
const MAX_FETCHED_BYTES = 16 * 1024 * 1024

export interface ChainRecord {
  datanetId: bigint
  contributionId: bigint
  contributor: Address
  contentHash: Hex
  size: bigint
  weight: bigint
  approvalIndex: bigint
  inlined: boolean
  metadataURI: string
  /** Where the bytes came from. */
  source: 'calldata' | 'content-dir' | 'uri'
  /** Transaction that submitted the contribution (inline ones). */
  txHash?: Hex
  text: string
  /** The content's bytes (hash-checked); `text` is their UTF-8 decoding. */
  bytes: Uint8Array
}

export interface DatanetVersionRecords {
  datanetId: bigint
  version: bigint
  root: Hex
  count: bigint
  records: ChainRecord[]
}

export interface ReadOptions {
  /** Directory holding the content of contributions referenced by hash (any file names). */
  contentDir?: string
  /** Called after each record is rebuilt. */
  onProgress?: (done: number, total: number) => void
}

/** Content of by-hash contributions, keyed by keccak256, from a directory (read once, lazily). */
class ContentStore {
  private byHash: Map<string, Uint8Array> | undefined
  constructor(private readonly dir: string | undefined) {}

  async get(hash: Hex): Promise<Uint8Array | undefined> {
    if (this.dir === undefined) return undefined
    if (this.byHash === undefined) {
      this.byHash = new Map()
      let names: string[]
      try {
        names = await readdir(this.dir, { recursive: true })
      } catch (err) {
        throw new PayableError(`cannot read --content-dir ${this.dir}: ${(err as Error).message}`)
      }
      for (const name of names.sort()) {
        const path = join(this.dir, name)
        if (!(await stat(path)).isFile()) continue
        const bytes = new Uint8Array(await readFile(path))
        this.byHash.set(keccak256(bytes), bytes)
      }
    }
    return this.byHash.get(hash.toLowerCase())
  }
}

async function fetchUri(uri: string): Promise<Uint8Array | undefined> {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  if (url.protocol === 'file:') {
    try {
      return new Uint8Array(await readFile(fileURLToPath(url)))
    } catch {
      return undefined
    }
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) })
      if (!res.ok) return undefined
      const bytes = new Uint8Array(await res.arrayBuffer())
      return bytes.length <= MAX_FETCHED_BYTES ? bytes : undefined
    } catch {
      return undefined
    }
  }
  return undefined
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeText(bytes: Uint8Array, datanetId: bigint, contributionId: bigint): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new PayableError(
      `contribution ${contributionId} of datanet ${datanetId} is not UTF-8 text: the built-in attribution indexes text only`,
    )
  }
}

const submittedEvent = getAbiItem({ abi: datanetsAbi, name: 'ContributionSubmitted' })

/** Inline content from the calldata of the transaction that emitted the ContributionSubmitted log. */
async function inlineFromCalldata(
  ctx: ChainContext,
  datanetId: bigint,
  contributionId: bigint,
  block: bigint,
  contentHash: Hex,
): Promise<{ bytes: Uint8Array; txHash: Hex }> {
  const logs = await ctx.client.getLogs({
    address: DATANETS,
    event: submittedEvent,
    args: { datanetId, contributionId },
    fromBlock: block,
    toBlock: block,
  })
  const log = logs[0]
  if (log === undefined) {
    throw new PayableError(
      `no ContributionSubmitted log for contribution ${contributionId} of datanet ${datanetId} in block ${block}`,
    )
  }
  const tx = await ctx.client.getTransaction({ hash: log.transactionHash })
  const found = extractInlineContent(hexToBytes(tx.input))
  if (
    found === undefined ||
    found.datanetId !== datanetId ||
    found.contentHash.toLowerCase() !== contentHash.toLowerCase()
  ) {
    throw new PayableError(
      `contribution ${contributionId} of datanet ${datanetId} was submitted by a contract (tx ${log.transactionHash}): its inline content is not in the transaction's calldata; put the content in --content-dir`,
    )
  }
  return { bytes: found.content, txHash: log.transactionHash }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i)
  })
  await Promise.all(workers)
  return out
}

async function chainRead<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (err) {
    throw new PayableError(`${what}: ${describeChainError(err)}`)
  }
}

/** The records of datanet `datanetId` at `version`, verified against the version's Merkle root. */
export async function readDatanetVersionRecords(
  ctx: ChainContext,
  datanetId: bigint,
  version: bigint,
  opts: ReadOptions = {},
  store = new ContentStore(opts.contentDir),
): Promise<DatanetVersionRecords> {
  const v = await chainRead(
    `datanet ${datanetId} version ${version}`,
    getDatanetVersion(ctx.client, { datanetId, version }),
  )
  const count = v.count
  const indexes = Array.from({ length: Number(count) }, (_, i) => BigInt(i))
  let done = 0
  const records = await mapLimit(indexes, 8, async (approvalIndex) => {
    const contributionId = await getApprovedContributionAt(ctx.client, { datanetId, approvalIndex })
    const c = await getContribution(ctx.client, { datanetId, contributionId })
    let bytes: Uint8Array | undefined
    let source: ChainRecord['source']
    let txHash: Hex | undefined
    if (c.inlined) {
      const found = await inlineFromCalldata(
        ctx,
        datanetId,
        contributionId,
        c.submittedAtBlock,
        c.contentHash,
      )
      bytes = found.bytes
      txHash = found.txHash
      source = 'calldata'
    } else {
      bytes = await store.get(c.contentHash)
      source = 'content-dir'
      if (bytes === undefined) {
        bytes = await fetchUri(c.metadataURI)
        source = 'uri'
      }
      if (bytes === undefined || keccak256(bytes) !== c.contentHash.toLowerCase()) {
        throw new PayableError(
          `content of contribution ${contributionId} of datanet ${datanetId} (hash ${c.contentHash}) is not on chain and was not found in --content-dir${c.metadataURI ? ` nor at ${c.metadataURI}` : ''}`,
        )
      }
    }
    if (BigInt(bytes.length) !== c.size) {
      throw new PayableError(
        `contribution ${contributionId} of datanet ${datanetId}: size ${bytes.length} differs from the recorded ${c.size}`,
      )
    }
    const record: ChainRecord = {
      datanetId,
      contributionId,
      contributor: c.contributor,
      contentHash: c.contentHash,
      size: c.size,
      weight: c.weight,
      approvalIndex,
      inlined: c.inlined,
      metadataURI: c.metadataURI,
      source,
      txHash,
      text: decodeText(bytes, datanetId, contributionId),
      bytes,
    }
    opts.onProgress?.(++done, indexes.length)
    return record
  })
  // The Merkle root commits to (id, contributor, contentHash, size, weight) of every approval in
  // order: recomputing it proves this is exactly the published version.
  const root = computeContributionsRoot(
    records.map((r) =>
      contributionLeaf({
        datanetId,
        contributionId: r.contributionId,
        contributor: hexToBytes(r.contributor),
        contentHash: hexToBytes(r.contentHash),
        size: r.size,
        weight: r.weight,
      }),
    ),
  )
  if (toHex(root) !== v.root.toLowerCase()) {
    throw new PayableError(
      `datanet ${datanetId} version ${version}: recomputed Merkle root ${toHex(root)} differs from the published ${v.root}`,
    )
  }
  return { datanetId, version, root: v.root, count, records }
}

export interface DatanetVersionRef {
  datanetId: bigint
  version: bigint
}

export interface Corpus {
  datanets: DatanetVersionRecords[]
  /** Engine input: one record per approved contribution of every datanet version. */
  records: CorpusRecord[]
  /** datanetId → version, for receipt entries. */
  versions: Map<bigint, bigint>
  /** Fallback of the span engine when nothing matches: the shares minted by each version's
   * approvals (fixed by the version, so a verifier recomputes the same weights later). */
  fallbackShares: DatanetShare[]
}

/** Records of several datanet versions (one version per datanet). */
export async function readCorpus(
  ctx: ChainContext,
  refs: readonly DatanetVersionRef[],
  opts: ReadOptions = {},
): Promise<Corpus> {
  const seen = new Set<bigint>()
  for (const r of refs) {
    if (seen.has(r.datanetId)) {
      throw new PayableError(
        `datanet ${r.datanetId} is named in several versions: span attribution needs one version per datanet`,
      )
    }
    seen.add(r.datanetId)
  }
  const store = new ContentStore(opts.contentDir)
  const total = { done: 0, all: 0 }
  const datanets: DatanetVersionRecords[] = []
  for (const ref of refs) {
    datanets.push(
      await readDatanetVersionRecords(
        ctx,
        ref.datanetId,
        ref.version,
        {
          contentDir: opts.contentDir,
          onProgress: opts.onProgress && ((d, t) => opts.onProgress?.(total.done + d, total.all + t)),
        },
        store,
      ),
    )
    total.done += Number(datanets.at(-1)?.count ?? 0n)
    total.all = total.done
  }
  return {
    datanets,
    records: datanets.flatMap((d) =>
      d.records.map((r) => ({ datanetId: r.datanetId, contributionId: r.contributionId, text: r.text })),
    ),
    versions: new Map(datanets.map((d) => [d.datanetId, d.version])),
    fallbackShares: datanets.map((d) => ({
      datanetId: d.datanetId,
      shares: d.records.reduce((s, r) => s + r.weight, 0n),
    })),
  }
}

export interface ModelOnChain {
  id: bigint
  owner: Address
  name: string
  baseModel: string
  parentId: bigint
  provider: Address
  minFeePerInference: bigint
  ownerShareBps: number
  versionCount: number
  version: number
  artifactHash: Hex
  artifactURI: string
  trainingConfigHash: Hex
  trainingLogHash: Hex
  datanets: DatanetVersionRef[]
}

/** A model and one of its versions (default: the latest). */
export async function readModel(ctx: ChainContext, modelId: bigint, version?: number): Promise<ModelOnChain> {
  const m = await chainRead(`model ${modelId}`, getModel(ctx.client, { modelId }))
  const v = version ?? m.versionCount
  const mv = await chainRead(
    `model ${modelId} version ${v}`,
    getModelVersion(ctx.client, { modelId, version: v }),
  )
  return {
    id: modelId,
    owner: m.owner,
    name: m.name,
    baseModel: m.baseModel,
    parentId: m.parentId,
    provider: m.provider,
    minFeePerInference: m.minFeePerInference,
    ownerShareBps: m.ownerShareBps,
    versionCount: m.versionCount,
    version: v,
    artifactHash: mv.artifactHash,
    artifactURI: mv.artifactURI,
    trainingConfigHash: mv.trainingConfigHash,
    trainingLogHash: mv.trainingLogHash,
    datanets: mv.datanets.map((d) => ({ datanetId: d.datanetId, version: d.version })),
  }
}
