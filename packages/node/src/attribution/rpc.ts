/**
 * The `ol_*` JSON-RPC namespace: decoded reads of the Datanets, Models and Attribution system
 * modules at any block. State is read from the module accounts' storage at the selected block's
 * state root (the head's working root for "latest", as eth_getStorageAt); history that storage
 * does not keep (inline contribution content, a receipt's attribution entries and per-party
 * amounts) is rebuilt from the transaction calldata and logs of the block that wrote it.
 *
 * Output: integers as minimal 0x quantities, bytes and addresses as lowercase 0x hex, strings as
 * JSON strings. Unknown ids answer null; malformed params answer -32602; an unknown block -32001.
 * Long file: one parameter parser and formatter per ol_* method, all over the same module reads.
 */
import type { Block } from '@ethereumjs/block'
import {
  ATTRIBUTION_ADDRESS,
  type AttributionEvent,
  DATANETS_ADDRESS,
  decodeAttributionLog,
  decodeSettleCall,
  EVENT_TOPICS,
  extractInlineContent,
  listDatanets,
  listModels,
  type ModuleParams,
  type ReceiptEntry,
  readContribution,
  readDatanet,
  readDatanetCount,
  readDatanetTerms,
  readDatanetVersion,
  reader,
  readJob,
  readModel,
  readModelCount,
  readModelTerms,
  readModelVersion,
  readParameters,
  readReceipt,
  readRewards,
  readTrainingSpec,
  receiptDigest,
} from '@openledger/attribution'
import type { ExecutionRuntime } from '@openledger/evm-runtime'
import {
  type BlockRef,
  expectParams,
  type Json,
  parseAddress,
  parseBlockRef,
  parseHash,
  parseIndex,
  parseQuantity,
  quantity,
  type RequestContext,
  type RpcBackend,
  type RpcMethods,
  resourceNotFound,
} from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import { bytesEqual, fromHex, hex } from '../util/bytes.ts'

/** Page size of ol_listDatanets / ol_listModels when none is given, and its upper bound. */
export const OL_LIST_DEFAULT_LIMIT = 20
export const OL_LIST_MAX_LIMIT = 100

export interface AttributionRpcDeps {
  chain: Chain
  runtime: ExecutionRuntime
  backend: RpcBackend
  /** The genesis module parameters (what Governance has not changed is still these). */
  params: ModuleParams
}

type StateReader = { getStorage(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array> }

/** Read-API records → wire JSON: bigint and number → quantity; everything else kept. */
function toJson(v: unknown): Json {
  if (typeof v === 'bigint') return quantity(v)
  if (typeof v === 'number') return quantity(v)
  if (v === null || v === undefined) return null
  if (Array.isArray(v)) return v.map(toJson)
  if (v instanceof Uint8Array) return hex(v)
  if (typeof v === 'object') {
    const out: Record<string, Json> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJson(x)
    return out
  }
  return v as Json
}

const STATUS_NAMES = ['none', 'pending', 'approved', 'rejected'] as const

export function attributionRpcMethods(deps: AttributionRpcDeps): RpcMethods {
  const { chain, runtime, backend, params } = deps

  /** The block behind a selector and a storage reader pinned to its state root. */
  async function stateAt(ref: BlockRef): Promise<{ block: Block; state: StateReader }> {
    const block = await backend.getBlock(ref)
    if (block === undefined) {
      if ('hash' in ref) throw resourceNotFound(`block ${hex(ref.hash)} not found`)
      throw resourceNotFound('header not found')
    }
    const head = chain.head
    // "latest" covers dev-mode state edits made since the head was sealed, as eth_getStorageAt.
    const root =
      block.header.number === head.header.number && bytesEqual(block.hash(), head.hash())
        ? chain.workingStateRoot
        : block.header.stateRoot
    return { block, state: { getStorage: (a, s) => runtime.getStorage(root, a, s) } }
  }

  /** Logs of one module in one block matching topic filters (positions after topic0 optional). */
  function logsAt(blockNumber: bigint, address: Uint8Array, topics: Array<Uint8Array[] | null>) {
    return backend.getLogs({
      fromBlock: blockNumber,
      toBlock: blockNumber,
      addresses: [address],
      topics,
      limit: 10_000,
    })
  }

  /** Call traces re-execute a block prefix: through the RPC server's bounded execution queue. */
  const tracer =
    (ctx: RequestContext): CallTrace =>
    (txHash) =>
      ctx.execute(
        () =>
          backend.traceTransaction(
            txHash,
            { tracer: 'callTracer' },
            { signal: ctx.signal },
          ) as Promise<CallFrame>,
      )

  /** Inputs of every call made to `to` while executing `txHash` (top call included), in order.
   * The top-level input comes from the transaction; internal ones from a call trace, which
   * re-executes the block up to the transaction, so it is only done when needed. */
  async function callInputs(
    txHash: Uint8Array,
    to: Uint8Array,
    topLevelOnly: boolean,
    trace: CallTrace,
  ): Promise<Uint8Array[]> {
    const loc = await backend.getTransaction(txHash)
    if (loc === undefined) return []
    const out: Uint8Array[] = []
    const txTo = loc.tx.to?.bytes
    if (txTo !== undefined && bytesEqual(txTo, to)) out.push(loc.tx.data)
    if (topLevelOnly) return out
    const frames = await trace(txHash)
    const target = hex(to)
    const walk = (f: CallFrame, depth: number) => {
      if (depth > 0 && f.to?.toLowerCase() === target && f.type === 'CALL') out.push(hexBytes(f.input))
      for (const c of f.calls ?? []) walk(c, depth + 1)
    }
    walk(frames, 0)
    return out
  }

  async function contributionContent(
    datanetId: bigint,
    contributionId: bigint,
    atBlock: bigint,
    contentHash: string,
    inlined: boolean,
    trace: CallTrace,
  ): Promise<{ transactionHash: string | null; content: string | null }> {
    const logs = await logsAt(atBlock, DATANETS_ADDRESS, [
      [EVENT_TOPICS.ContributionSubmitted],
      [u256(datanetId)],
      [u256(contributionId)],
    ])
    const log = logs[0]
    if (log === undefined) return { transactionHash: null, content: null }
    const txHash = log.transactionHash
    if (!inlined) return { transactionHash: hex(txHash), content: null }
    const tryInputs = async (topLevelOnly: boolean) => {
      for (const input of await callInputs(txHash, DATANETS_ADDRESS, topLevelOnly, trace)) {
        const c = extractInlineContent(input)
        if (c !== undefined && c.datanetId === datanetId && c.contentHash.toLowerCase() === contentHash)
          return hex(c.content)
      }
      return null
    }
    // Direct transactions first; a contribution made by a contract needs the call trace.
    const content = (await tryInputs(true)) ?? (await tryInputs(false))
    return { transactionHash: hex(txHash), content }
  }

  async function attribution(state: StateReader, receiptId: Uint8Array, trace: CallTrace): Promise<Json> {
    const rec = await readReceipt(state, receiptId)
    if (rec === undefined) return null
    const byReceipt = await logsAt(rec.settledAtBlock, ATTRIBUTION_ADDRESS, [null, [receiptId]])
    const settled = byReceipt.find((l) =>
      bytesEqual(l.topics[0] as Uint8Array, EVENT_TOPICS.InferenceSettled),
    )
    const txHash = settled?.transactionHash
    const events: AttributionEvent[] = []
    for (const l of byReceipt) {
      if (txHash === undefined || !bytesEqual(l.transactionHash, txHash)) continue
      const e = decodeAttributionLog(l.topics, l.data)
      if (e !== undefined) events.push(e)
    }
    const split = events.find((e) => e.eventName === 'FeeSplit')
    const providerPaid = events.find((e) => e.eventName === 'ProviderPaid')
    const paid = events.filter((e) => e.eventName === 'AttributionPaid')
    const named = events.filter((e) => e.eventName === 'ContributionPaid')
    const pools = events.filter((e) => e.eventName === 'VersionPoolPaid')

    // Weights are only in the signed receipt: find the settle call whose digest is this id.
    let entries: readonly ReceiptEntry[] = []
    if (txHash !== undefined) {
      const find = async (topLevelOnly: boolean) => {
        for (const input of await callInputs(txHash, ATTRIBUTION_ADDRESS, topLevelOnly, trace)) {
          const call = decodeSettleCall(input)
          if (
            call &&
            bytesEqual(receiptDigest(call.receipt, backend.chainId, ATTRIBUTION_ADDRESS), receiptId)
          )
            return call.receipt.entries
        }
        return undefined
      }
      entries = (await find(true)) ?? (await find(false)) ?? []
    }

    // Recipients as they were when the receipt settled.
    const atSettle = await stateAt({ number: rec.settledAtBlock })
    const inForce = await readParameters(atSettle.state, params)
    const model = await readModel(atSettle.state, rec.modelId)
    const parent =
      model !== undefined && model.parentId !== 0n
        ? await readModel(atSettle.state, model.parentId)
        : undefined

    let namedIndex = 0
    const entryJson = paid.map((p, i) => {
      const e = entries[i]
      const matches = e !== undefined && e.datanetId === p.datanetId && e.datanetVersion === p.datanetVersion
      const contributions = (matches ? e.contributionIds : []).map((cid, j) => {
        const n = named[namedIndex++]
        return {
          contributionId: cid,
          weight: e?.contributionWeights[j] ?? null,
          contributor: n?.contributor.toLowerCase() ?? null,
          amount: n?.amount ?? null,
        }
      })
      const pool =
        contributions.length > 0
          ? undefined
          : pools.find((x) => x.datanetId === p.datanetId && x.version === p.datanetVersion)
      return {
        datanetId: p.datanetId,
        datanetVersion: p.datanetVersion,
        weight: matches ? e.weight : null,
        amount: p.amount,
        // Without named contributions the amount went to the holders of the shares of the
        // contributions that version holds (shares of versions ≤ it), pro rata.
        paidTo: contributions.length > 0 ? 'contributions' : 'shareholders',
        rewardIndexIncrease: pool?.rewardIndexIncrease ?? null,
        contributions,
      }
    })

    return toJson({
      receiptId: hex(receiptId),
      modelId: rec.modelId,
      modelVersion: rec.modelVersion,
      payer: rec.payer,
      fee: rec.fee,
      settledAtBlock: rec.settledAtBlock,
      transactionHash: txHash === undefined ? null : hex(txHash),
      split:
        split === undefined
          ? null
          : {
              protocol: split.protocol,
              stakers: split.stakers,
              owner: split.owner,
              parentRoyalty: split.parentRoyalty,
              contributors: split.contributors,
              dust: split.dust,
              provider: providerPaid?.amount ?? 0n,
            },
      recipients: {
        treasury: hex(inForce.treasury),
        stakersPool: hex(inForce.stakersPool),
        provider: model?.provider ?? null,
        owner: model?.owner ?? null,
        parentOwner: parent?.owner ?? null,
      },
      entries: entryJson,
    })
  }

  async function list(
    raw: unknown,
    count: (s: StateReader) => Promise<bigint>,
    page: (s: StateReader, offset: bigint, limit: number) => Promise<unknown[]>,
  ): Promise<Json> {
    const [o, l, b] = expectParams(raw, 0, 3)
    const offset = o === undefined ? 0n : parseQuantity(o, 'offset', 64)
    const limit = l === undefined ? OL_LIST_DEFAULT_LIMIT : parseIndex(l, 'limit', OL_LIST_MAX_LIMIT)
    const { state } = await stateAt(parseBlockRef(b, 'block'))
    const total = await count(state)
    const items = await page(state, offset, limit)
    return toJson({ total, offset, items })
  }

  return {
    ol_getDatanet: async (raw) => {
      const [id, b] = expectParams(raw, 1, 2)
      const datanetId = parseQuantity(id, 'datanetId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      const d = await readDatanet(state, datanetId)
      if (d === undefined) return null
      return toJson({ ...d, terms: await readDatanetTerms(state, datanetId) })
    },

    ol_getDatanetVersion: async (raw) => {
      const [id, v, b] = expectParams(raw, 2, 3)
      const datanetId = parseQuantity(id, 'datanetId')
      const version = parseQuantity(v, 'version', 64)
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      return toJson((await readDatanetVersion(state, datanetId, version)) ?? null)
    },

    ol_getContribution: async (raw, ctx) => {
      const [id, c, b] = expectParams(raw, 2, 3)
      const datanetId = parseQuantity(id, 'datanetId')
      const contributionId = parseQuantity(c, 'contributionId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      const info = await readContribution(state, datanetId, contributionId)
      if (info === undefined) return null
      const { transactionHash, content } = await contributionContent(
        datanetId,
        contributionId,
        info.submittedAtBlock,
        info.contentHash.toLowerCase(),
        info.inlined,
        tracer(ctx),
      )
      return toJson({
        ...info,
        statusName: STATUS_NAMES[info.status] ?? 'unknown',
        transactionHash,
        content,
      })
    },

    ol_getModel: async (raw) => {
      const [id, b] = expectParams(raw, 1, 2)
      const modelId = parseQuantity(id, 'modelId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      const model = await readModel(state, modelId)
      if (model === undefined) return null
      // The latest version carries the training data receipts may attribute to.
      const latest = await readModelVersion(state, modelId, model.versionCount)
      const terms = await readModelTerms(state, params, modelId)
      return toJson({ ...model, terms, latestVersion: latest ?? null })
    },

    ol_getModelVersion: async (raw) => {
      const [id, v, b] = expectParams(raw, 2, 3)
      const modelId = parseQuantity(id, 'modelId')
      const version = parseIndex(v, 'version', 0xffffffff)
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      const info = await readModelVersion(state, modelId, version)
      if (info === undefined) return null
      // ModelFactory: how the version was trained (kind 0 when registered without a spec).
      const trainingSpec = await readTrainingSpec(reader(state), modelId, BigInt(version))
      return toJson({ ...info, trainingSpec })
    },

    ol_getJob: async (raw) => {
      const [id, b] = expectParams(raw, 1, 2)
      const jobId = parseQuantity(id, 'jobId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      const job = await readJob(reader(state), jobId)
      return toJson(
        job === undefined ? null : { ...job, statusName: JOB_STATUS_NAMES[job.status] ?? 'unknown' },
      )
    },

    ol_getInferenceReceipt: async (raw) => {
      const [id, b] = expectParams(raw, 1, 2)
      const receiptId = parseHash(id, 'receiptId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      return toJson((await readReceipt(state, receiptId)) ?? null)
    },

    ol_getAttribution: async (raw, ctx) => {
      const [id, b] = expectParams(raw, 1, 2)
      const receiptId = parseHash(id, 'receiptId')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      return attribution(state, receiptId, tracer(ctx))
    },

    ol_getRewards: async (raw) => {
      const [a, b] = expectParams(raw, 1, 2)
      const account = parseAddress(a, 'address')
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      return toJson(await readRewards(state, account))
    },

    ol_getParameters: async (raw) => {
      const [b] = expectParams(raw, 0, 1)
      const { state } = await stateAt(parseBlockRef(b, 'block'))
      return toJson(await readParameters(state, params))
    },

    ol_listDatanets: (raw) => list(raw, readDatanetCount, listDatanets),
    ol_listModels: (raw) => list(raw, readModelCount, listModels),
  }
}

const JOB_STATUS_NAMES = ['none', 'open', 'claimed', 'submitted', 'challenged', 'paid', 'refunded']

type CallTrace = (txHash: Uint8Array) => Promise<CallFrame>

interface CallFrame {
  type: string
  to?: string
  input: string
  calls?: CallFrame[]
}

function hexBytes(s: string): Uint8Array {
  // The tracer always produces 0x hex; anything else decodes to nothing and simply does not match.
  return /^0x([0-9a-f]{2})*$/i.test(s) ? fromHex(s) : new Uint8Array()
}

function u256(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'))
}
