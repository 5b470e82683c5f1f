/** Models (with lineage), inference receipts (the fee split), rewards (claim, payout history). */
import { attributionAbi } from '@openledger/attribution/abi'
import { type Abi, encodeFunctionData, toEventSelector, toHex } from 'viem'
import { ATTRIBUTION } from '../decode.ts'
import { type Child, errorBox, fields, h, link, render, table } from '../dom.ts'
import { num, open, short } from '../format.ts'
import { rpc } from '../rpc.ts'
import { send, wallet } from '../wallet.ts'
import { addrLink } from './explorer.ts'

interface DatanetRef {
  datanetId: string
  version: string
}
interface ModelVersion {
  version: string
  trainingConfigHash: string
  trainingLogHash: string
  artifactHash: string
  artifactURI: string
  datanets: DatanetRef[]
  publishedAtBlock: string
}
interface Model {
  id: string
  owner: string
  name: string
  baseModel: string
  parentId: string
  depth: string
  provider: string
  minFeePerInference: string
  ownerShareBps: string
  versionCount: string
  latestVersion: ModelVersion | null
}

const modelLink = (id: string | bigint) => link(`#/model/${BigInt(id)}`, `#${BigInt(id)}`)
const datanetRef = (d: DatanetRef) =>
  link(`#/datanet/${BigInt(d.datanetId)}`, `datanet #${BigInt(d.datanetId)} v${BigInt(d.version)}`)

export async function modelsPage(main: HTMLElement): Promise<void> {
  const list = await rpc<{ items: Model[] }>('ol_listModels', ['0x0', 100])
  render(
    main,
    h('h1', {}, 'Models'),
    h(
      'p',
      {},
      'Models registered on-chain with the datanet versions they were trained on. Each answer they give pays those datanets’ contributors.',
    ),
    table(
      ['Id', 'Name', 'Base', 'Owner', 'Trained on', 'Min fee'],
      list.items.map((m) => [
        modelLink(m.id),
        link(`#/model/${BigInt(m.id)}`, m.name),
        m.baseModel || '—',
        addrLink(m.owner),
        m.latestVersion ? m.latestVersion.datanets.map((d, i) => [i ? ', ' : '', datanetRef(d)]) : '—',
        open(m.minFeePerInference),
      ]),
      'No models registered yet.',
    ),
  )
}

export async function modelPage(main: HTMLElement, idText: string): Promise<void> {
  const m = await rpc<Model | null>('ol_getModel', [toHex(BigInt(idText))])
  if (!m) throw new Error(`Model ${idText} not found`)
  // Lineage: parent → … → root (a derivative names its parent).
  const lineage: Model[] = []
  for (let p = BigInt(m.parentId); p !== 0n && lineage.length < 16; ) {
    const parent = await rpc<Model | null>('ol_getModel', [toHex(p)])
    if (!parent) break
    lineage.push(parent)
    p = BigInt(parent.parentId)
  }
  const v = m.latestVersion
  render(
    main,
    h('h1', {}, `Model #${BigInt(m.id)}: ${m.name}`),
    fields([
      ['Owner', addrLink(m.owner)],
      ['Provider', addrLink(m.provider)],
      ['Base model', m.baseModel || '—'],
      ['Min fee per answer', open(m.minFeePerInference)],
      ['Owner share', `${Number(BigInt(m.ownerShareBps)) / 100} %`],
      ['Versions', num(m.versionCount)],
    ]),
    h('h2', {}, 'Lineage'),
    h(
      'ol',
      { class: 'lineage' },
      ...[...lineage]
        .reverse()
        .map((p) => h('li', {}, modelLink(p.id), ' ', p.name, p.baseModel ? ` (base ${p.baseModel})` : '')),
      h('li', {}, h('strong', {}, `#${BigInt(m.id)} ${m.name}`), m.baseModel ? ` (base ${m.baseModel})` : ''),
    ),
    h('h2', {}, v ? `Version ${BigInt(v.version)}` : 'No version yet'),
    v
      ? fields([
          ['Trained on', h('ul', {}, ...v.datanets.map((d) => h('li', {}, datanetRef(d))))],
          ['Artifact', [h('span', { class: 'mono' }, short(v.artifactHash)), ' ', v.artifactURI]],
          ['Training config hash', h('span', { class: 'mono' }, v.trainingConfigHash)],
          ['Training log hash', h('span', { class: 'mono' }, v.trainingLogHash)],
          [
            'Published in',
            link(`#/block/${BigInt(v.publishedAtBlock)}`, `block #${BigInt(v.publishedAtBlock)}`),
          ],
        ])
      : null,
  )
}

interface Attribution {
  receiptId: string
  modelId: string
  payer: string
  fee: string
  transactionHash: string
  split: Record<string, string>
  entries: Array<{
    datanetId: string
    datanetVersion: string
    amount: string
    paidTo: string
    contributions: Array<{ contributionId: string; contributor: string; amount: string }>
  }>
}

/** A horizontal bar per part of the fee: who got what share. */
function splitChart(parts: Array<[string, bigint]>, total: bigint): HTMLElement {
  return h(
    'figure',
    { class: 'split' },
    h('figcaption', {}, 'Where the fee went'),
    ...parts.map(([name, amount]) => {
      const pct = total > 0n ? Number((amount * 10_000n) / total) / 100 : 0
      // Through the CSSOM: the CSP allows no inline style attributes.
      const bar = h('span', { class: 'bar', role: 'img', 'aria-label': `${name}: ${pct} %` })
      bar.style.setProperty('--w', `${pct}%`)
      return h(
        'div',
        { class: 'bar-row' },
        h('span', { class: 'bar-label' }, name),
        bar,
        h('span', { class: 'bar-value' }, `${open(amount)} (${pct} %)`),
      )
    }),
  )
}

export async function receiptPage(main: HTMLElement, id: string): Promise<void> {
  const a = await rpc<Attribution | null>('ol_getAttribution', [id])
  if (!a) throw new Error(`Receipt ${id} not found`)
  const fee = BigInt(a.fee)
  const parts: Array<[string, bigint]> = [
    ['Contributors', BigInt(a.split.contributors ?? 0)],
    ['Model owner', BigInt(a.split.owner ?? 0)],
    ['Parent royalty', BigInt(a.split.parentRoyalty ?? 0)],
    ['Protocol', BigInt(a.split.protocol ?? 0)],
    ['Stakers', BigInt(a.split.stakers ?? 0)],
    ['Provider', BigInt(a.split.provider ?? 0)],
  ]
  const rows: Child[][] = []
  for (const e of a.entries) {
    if (e.contributions.length === 0)
      rows.push([
        datanetRef({ datanetId: e.datanetId, version: e.datanetVersion }),
        'version shareholders',
        open(e.amount),
      ])
    for (const c of e.contributions)
      rows.push([
        datanetRef({ datanetId: e.datanetId, version: e.datanetVersion }),
        [`#${BigInt(c.contributionId)} by `, addrLink(c.contributor)],
        open(c.amount),
      ])
  }
  render(
    main,
    h('h1', {}, 'Inference receipt'),
    fields([
      ['Receipt', h('span', { class: 'mono' }, a.receiptId)],
      ['Model', link(`#/model/${BigInt(a.modelId)}`, `#${BigInt(a.modelId)}`)],
      ['Paid by', addrLink(a.payer)],
      ['Fee', open(fee)],
      ['Settled in', h('a', { href: `#/tx/${a.transactionHash}`, class: 'mono' }, short(a.transactionHash))],
    ]),
    splitChart(
      parts.filter(([, v]) => v > 0n),
      fee,
    ),
    h('h2', {}, 'Contributors paid'),
    table(['Datanet version', 'Contribution', 'Amount'], rows, 'No contributor entries.'),
  )
}

export async function rewardsPage(main: HTMLElement): Promise<void> {
  const account = wallet.selected
  if (!account) {
    render(main, h('h1', {}, 'Rewards'), h('p', { class: 'empty' }, 'Connect a wallet to see its rewards.'))
    return
  }
  const r = await rpc<{
    claimable: string
    datanets: Array<{ datanetId: string; version: string; shares: string; pending: string }>
  }>('ol_getRewards', [account])
  const head = BigInt(await rpc<string>('eth_blockNumber'))
  const from = head > 9_999n ? head - 9_999n : 0n
  const claims = await rpc<Array<{ data: string; blockNumber: string; transactionHash: string }>>(
    'eth_getLogs',
    [
      {
        address: ATTRIBUTION,
        fromBlock: toHex(from),
        toBlock: 'latest',
        topics: [
          toEventSelector('RewardsClaimed(address,uint256)'),
          `0x${account.slice(2).toLowerCase().padStart(64, '0')}`,
        ],
      },
    ],
  )
  const status = h('p', { id: 'claim-status', class: 'status', role: 'status' })
  const claim = h(
    'form',
    { id: 'claim' },
    h('button', { type: 'submit', disabled: BigInt(r.claimable) === 0n }, 'Claim'),
    status,
  )
  claim.addEventListener('submit', (ev) => {
    ev.preventDefault()
    status.textContent = 'Sending transaction…'
    send({
      to: ATTRIBUTION,
      data: encodeFunctionData({ abi: attributionAbi as Abi, functionName: 'claim', args: [] }),
    })
      .then(() => window.dispatchEvent(new HashChangeEvent('hashchange')))
      .catch((e: unknown) => status.replaceWith(errorBox(e)))
  })
  render(
    main,
    h('h1', {}, 'Rewards'),
    fields([
      ['Account', addrLink(account)],
      ['Claimable', h('span', { id: 'claimable' }, open(r.claimable))],
    ]),
    claim,
    h('h2', {}, 'Version shares'),
    table(
      ['Datanet version', 'Shares', 'Pending'],
      r.datanets.map((d) => [datanetRef(d), num(d.shares), open(d.pending)]),
      'No datanet shares.',
    ),
    h('h2', {}, 'Claims'),
    table(
      ['Block', 'Amount', 'Transaction'],
      claims.map((c) => [
        link(`#/block/${BigInt(c.blockNumber)}`, `#${BigInt(c.blockNumber)}`),
        open(BigInt(c.data)),
        h('a', { href: `#/tx/${c.transactionHash}`, class: 'mono' }, short(c.transactionHash)),
      ]),
      'No claims yet.',
    ),
  )
}
