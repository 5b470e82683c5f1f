/** Models (with lineage), inference receipts (the fee split), rewards (claim, payout history). */
import { attributionAbi } from '@openledger/attribution/abi'
import { type Abi, encodeFunctionData, toEventSelector, toHex } from 'viem'
import { ATTRIBUTION } from '../decode.ts'
import { type Child, errorBox, fields, h, link, loading, render, table } from '../dom.ts'
import { num, open, short } from '../format.ts'
import { rpc } from '../rpc.ts'
import { devOnly, followJob, type Job, jobView } from '../training.ts'
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

export async function modelPage(main: HTMLElement, idText: string): Promise<() => void> {
  let left = false
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
    /^model:\d+$/.test(m.baseModel) ? verifyModelSection(m.id, () => left) : null,
  )
  return () => {
    left = true
  }
}

/** `openledger model verify`, run by the dev node: re-train from chain data, compare the hashes. */
function verifyModelSection(id: string, stopped: () => boolean): HTMLElement {
  const out = h('div', { id: 'verify-model-result', 'aria-live': 'polite' })
  const button = h('button', { type: 'button', id: 'verify-model' }, 'Verify (re-train from chain data)')
  button.addEventListener('click', () => {
    button.disabled = true
    rpc<Job>('studio_verifyModel', [toHex(BigInt(id))])
      .then((job) => followJob(job.id, (j) => render(out, jobView(j)), stopped))
      .then((job) => {
        const r = job.result as { ok: boolean; reasons: string[]; recomputedArtifactHash: string | null }
        render(
          out,
          jobView(job),
          r.ok
            ? h(
                'p',
                { class: 'good', id: 'verify-model-ok' },
                `Verified: re-training from the datanet versions on chain gives the registered artifact ${short(r.recomputedArtifactHash)}; the training config and log hashes match.`,
              )
            : [
                h('p', { class: 'bad', id: 'verify-model-failed' }, 'The model does not verify:'),
                h('ul', {}, ...r.reasons.map((x) => h('li', {}, x))),
              ],
        )
      })
      .catch((e: unknown) => render(out, errorBox(devOnly(e))))
      .finally(() => {
        button.disabled = false
      })
  })
  return h(
    'section',
    { 'aria-labelledby': 'vm-title' },
    h('h2', { id: 'vm-title' }, 'Verify'),
    h(
      'p',
      {},
      'Training is deterministic: re-running the recorded training config on the datanet versions rebuilt from chain must give the same artifact, byte for byte.',
    ),
    button,
    out,
  )
}

export interface Attribution {
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
  render(main, h('h1', {}, 'Inference receipt'), ...receiptView(a))
}

/** A settled receipt: who paid, the split chart, the contributors paid, and the attribution check. */
export function receiptView(a: Attribution, output?: string): Child[] {
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
  return [
    fields([
      ['Receipt', link(`#/receipt/${a.receiptId}`, h('span', { class: 'mono' }, a.receiptId))],
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
    verifyAttributionForm(a.receiptId, output),
  ]
}

/**
 * Recomputes the attribution of a settled answer from chain data (the model's datanet versions)
 * and the answer's text (only its hash is on chain), and compares it with what the receipt
 * committed to: `openledger attribution verify`, run by the dev node.
 */
function verifyAttributionForm(receiptId: string, output?: string): HTMLElement {
  const result = h('div', { id: 'verify-result', 'aria-live': 'polite' })
  const text = h('textarea', { id: 'v-output', rows: 3, required: true, maxlength: 65536 }, output ?? '')
  const form = h(
    'form',
    { id: 'verify-attribution', 'aria-labelledby': 'va-title' },
    h('h2', { id: 'va-title' }, 'Verify the attribution'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'v-output' }, 'The answer’s text (the chain holds only its hash)'),
      text,
    ),
    h('button', { type: 'submit' }, 'Verify'),
    result,
  )
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    render(result, loading())
    rpc<{ ok: boolean; reasons: string[]; commitment: string | null }>('studio_verifyAttribution', [
      receiptId,
      text.value,
    ])
      .then((v) =>
        render(
          result,
          v.ok
            ? h(
                'p',
                { class: 'good', id: 'verify-ok' },
                `Verified: the attribution recomputed from chain data (commitment ${short(v.commitment)}) equals the receipt’s, entry by entry.`,
              )
            : [
                h('p', { class: 'bad', id: 'verify-failed' }, 'The attribution does not verify:'),
                h('ul', {}, ...v.reasons.map((r) => h('li', {}, r))),
              ],
        ),
      )
      .catch((e: unknown) => render(result, errorBox(devOnly(e))))
  })
  return form
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
