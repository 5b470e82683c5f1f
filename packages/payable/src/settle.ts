/** Client side of an inference: ask a provider, check what it signed, settle on chain, and explain
 * the split — who earned what, and which spans of the output earned each contributor's share. */
import {
  DATANETS,
  datanetsAbi,
  getDatanet,
  getModel,
  getShareBalance,
  getSplitParams,
  hashInferenceReceipt,
  type InferenceReceipt,
  RECEIPT_EIP712_TYPES,
  receiptDomain,
  settle,
  shareTokenId,
  splitShareTokenId,
} from '@openledger/attribution/sdk'
import { type Address, getAbiItem, type Hex, recoverTypedDataAddress, zeroAddress } from 'viem'
import { type ChainContext, type Mined, requireWallet, sameAddress, sendAndWait } from './chain.ts'
import { PayableError } from './errors.ts'
import { type EvidenceJson, receiptFromJson, spansOf } from './receipts.ts'

export interface ProviderAnswer {
  output: string
  receipt: InferenceReceipt
  signature: Hex
  receiptId: Hex
  evidence?: EvidenceJson
}

/** POSTs a prompt to a provider's /v1/infer and parses its answer strictly. */
export async function askProvider(
  providerUrl: string,
  body: { prompt: string; maxTokens?: number; seed?: number; payer?: Address; model?: string },
  timeoutMs = 120_000,
): Promise<ProviderAnswer> {
  let url: URL
  try {
    url = new URL('/v1/infer', providerUrl)
  } catch {
    throw new PayableError(`--provider: not a URL: ${providerUrl}`)
  }
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    throw new PayableError(`cannot reach provider ${url}: ${(err as Error).message}`)
  }
  const text = await res.text()
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new PayableError(`provider answered HTTP ${res.status} with non-JSON`)
  }
  if (!res.ok) {
    const msg = (json as { error?: { message?: string } }).error?.message ?? text.slice(0, 200)
    throw new PayableError(`provider refused (HTTP ${res.status}): ${msg}`)
  }
  if (typeof json.output !== 'string') throw new PayableError('provider answer has no output')
  if (typeof json.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(json.signature)) {
    throw new PayableError('provider answer has no 65-byte signature')
  }
  return {
    output: json.output,
    receipt: receiptFromJson(json.receipt),
    signature: json.signature as Hex,
    receiptId: json.receiptId as Hex,
    evidence: json.evidence as EvidenceJson | undefined,
  }
}

/** Checks a provider's answer before paying: signed by the model's registered provider, fee
 * within the payer's limit. Returns the receipt id (EIP-712 digest). */
export async function checkAnswer(ctx: ChainContext, a: ProviderAnswer, maxFee: bigint): Promise<Hex> {
  const model = await getModel(ctx.client, { modelId: a.receipt.modelId }).catch(() => {
    throw new PayableError(`the receipt names model ${a.receipt.modelId}, which does not exist on this chain`)
  })
  const signer = await recoverTypedDataAddress({
    domain: receiptDomain(ctx.chainId),
    types: RECEIPT_EIP712_TYPES,
    primaryType: 'InferenceReceipt',
    message: a.receipt,
    signature: a.signature,
  })
  if (!sameAddress(signer, model.provider)) {
    throw new PayableError(
      `the receipt is signed by ${signer}, not by model ${model.id}'s provider ${model.provider}`,
    )
  }
  if (a.receipt.fee > maxFee) {
    throw new PayableError(`the provider asks ${a.receipt.fee} wei, more than --max-fee ${maxFee} wei`)
  }
  return hashInferenceReceipt(a.receipt, ctx.chainId)
}

export async function settleAnswer(ctx: ChainContext, a: ProviderAnswer): Promise<Mined> {
  const { wallet } = requireWallet(ctx)
  return sendAndWait(ctx, 'settle', settle(wallet, { receipt: a.receipt, signature: a.signature }))
}

export interface Payout {
  account: Address
  /** Whole wei (a shareholder's exact amount rounded down; see `scaled`). */
  amount: bigint
  /** Shareholders: the exact amount in units of 2^-64 wei, as the chain accounts it. */
  scaled?: bigint
  role: 'treasury' | 'stakers' | 'provider' | 'model owner' | 'parent royalty' | 'contributor' | 'shareholder'
  datanetId?: bigint
  contributionId?: bigint
  /** Spans of the output that earned this share (contributors). */
  spans: string[]
  why: string
}

export interface SettlementReport {
  receiptId: Hex
  txHash: Hex
  block: bigint
  fee: bigint
  split: {
    protocol: bigint
    stakers: bigint
    owner: bigint
    parentRoyalty: bigint
    contributors: bigint
    dust: bigint
  }
  payouts: Payout[]
  /** What the version pools paid by this settlement keep for later (below one wei per share), in
   * units of 2^-64 wei: with the payouts' exact amounts it sums to the fee. */
  carried: bigint
}

const transferSingle = getAbiItem({ abi: datanetsAbi, name: 'TransferSingle' })
const LOG_WINDOW = 5_000n

/** Holders at `block` of the shares of datanet `datanetId` that version `version` holds (share
 * tokens of versions ≤ it), with their balances summed over those tokens. */
export async function shareholdersAt(
  ctx: ChainContext,
  datanetId: bigint,
  version: bigint,
  block: bigint,
): Promise<{ account: Address; shares: bigint }[]> {
  const d = await getDatanet(ctx.client, { datanetId, blockNumber: block })
  const seen = new Set<string>()
  for (let from = d.createdAtBlock; from <= block; from += LOG_WINDOW) {
    const to = from + LOG_WINDOW - 1n < block ? from + LOG_WINDOW - 1n : block
    const logs = await ctx.client.getLogs({
      address: DATANETS,
      event: transferSingle,
      fromBlock: from,
      toBlock: to,
    })
    for (const l of logs) {
      const id = l.args.id
      if (id === undefined || l.args.to === undefined || l.args.to === zeroAddress) continue
      const token = splitShareTokenId(id)
      if (token.datanetId === datanetId && token.version >= 1n && token.version <= version)
        seen.add(l.args.to.toLowerCase())
    }
  }
  const out: { account: Address; shares: bigint }[] = []
  for (const account of [...seen].sort()) {
    let shares = 0n
    for (let v = 1n; v <= version; v++) {
      shares += await getShareBalance(ctx.client, {
        holder: account as Address,
        id: shareTokenId(datanetId, v),
        blockNumber: block,
      })
    }
    if (shares > 0n) out.push({ account: account as Address, shares })
  }
  return out
}

/** Who earned what in a mined settlement, from its events (and, for datanet-level entries, the
 * share balances at that block: each holder of shares of the named version or an earlier one
 * earns shares × the pool's reward-index increase, in units of 2^-64 wei). */
export async function explainSettlement(
  ctx: ChainContext,
  mined: Mined,
  evidence?: EvidenceJson,
): Promise<SettlementReport> {
  const block = mined.receipt.blockNumber
  const settled = mined.logs.find((l) => l.eventName === 'InferenceSettled')
  const split = mined.logs.find((l) => l.eventName === 'FeeSplit')
  if (settled === undefined || split === undefined)
    throw new PayableError(`transaction ${mined.hash} settled no receipt`)
  const s = split.args as Record<string, bigint>
  const params = await getSplitParams(ctx.client, { blockNumber: block })
  const modelId = settled.args.modelId as bigint
  const model = await getModel(ctx.client, { modelId, blockNumber: block })
  const payouts: Payout[] = []
  const add = (p: Omit<Payout, 'spans'> & { spans?: string[] }) => {
    if (p.amount > 0n) payouts.push({ spans: [], ...p })
  }
  add({
    account: params.treasury,
    amount: (s.protocol as bigint) + (s.dust as bigint),
    role: 'treasury',
    why: `protocol ${params.protocolBps} bps`,
  })
  add({
    account: params.stakersPool,
    amount: s.stakers as bigint,
    role: 'stakers',
    why: `stakers ${params.stakersBps} bps`,
  })
  const providerPaid = mined.logs.find((l) => l.eventName === 'ProviderPaid')
  if (providerPaid !== undefined) {
    add({
      account: providerPaid.args.provider as Address,
      amount: providerPaid.args.amount as bigint,
      role: 'provider',
      why: `serving provider of model ${modelId}`,
    })
  }
  add({
    account: model.owner,
    amount: s.owner as bigint,
    role: 'model owner',
    why: `model ${modelId} owner ${model.ownerShareBps} bps`,
  })
  if ((s.parentRoyalty as bigint) > 0n) {
    const parent = await getModel(ctx.client, { modelId: model.parentId, blockNumber: block })
    add({
      account: parent.owner,
      amount: s.parentRoyalty as bigint,
      role: 'parent royalty',
      why: `royalty to parent model ${model.parentId}`,
    })
  }
  const namedDatanets = new Set<bigint>()
  for (const l of mined.logs) {
    if (l.eventName !== 'ContributionPaid') continue
    const datanetId = l.args.datanetId as bigint
    const contributionId = l.args.contributionId as bigint
    namedDatanets.add(datanetId)
    const spans = spansOf(evidence, datanetId, contributionId)
    add({
      account: l.args.contributor as Address,
      amount: l.args.amount as bigint,
      role: 'contributor',
      datanetId,
      contributionId,
      spans,
      why: `contribution ${contributionId} of datanet ${datanetId}${spans.length > 0 ? `: ${spans.length} span(s)` : ''}`,
    })
  }
  let carried = 0n
  for (const l of mined.logs) {
    if (l.eventName !== 'VersionPoolPaid') continue
    const datanetId = l.args.datanetId as bigint
    const version = l.args.version as bigint
    const increase = l.args.rewardIndexIncrease as bigint
    const holders = await shareholdersAt(ctx, datanetId, version, block)
    const total = holders.reduce((a, h) => a + h.shares, 0n)
    carried += ((l.args.amount as bigint) << 64n) - total * increase
    for (const h of holders) {
      const scaled = h.shares * increase
      if (scaled === 0n) continue
      payouts.push({
        account: h.account,
        amount: scaled >> 64n,
        scaled,
        role: 'shareholder',
        datanetId,
        spans: [],
        why: `${h.shares} of ${total} shares of datanet ${datanetId} version ${version} (datanet-level weight)`,
      })
    }
  }
  return {
    receiptId: settled.args.receiptId as Hex,
    txHash: mined.hash,
    block,
    fee: settled.args.fee as bigint,
    split: {
      protocol: s.protocol as bigint,
      stakers: s.stakers as bigint,
      owner: s.owner as bigint,
      parentRoyalty: s.parentRoyalty as bigint,
      contributors: s.contributors as bigint,
      dust: s.dust as bigint,
    },
    payouts,
    carried,
  }
}
