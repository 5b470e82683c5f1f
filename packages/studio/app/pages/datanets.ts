/** Datanets: browse, create, contribute (inline text or by hash + URI), curate, publish versions. */
import { datanetsAbi } from '@openledger/attribution/abi'
import { type Abi, decodeEventLog, encodeFunctionData, type Hex, keccak256, toBytes, toHex } from 'viem'
import { DATANETS } from '../decode.ts'
import { errorBox, fields, h, link, render, table } from '../dom.ts'
import { num, short } from '../format.ts'
import { rpc } from '../rpc.ts'
import { send, wallet } from '../wallet.ts'
import { addrLink } from './explorer.ts'
import { sharesSection } from './shares.ts'

const abi = datanetsAbi as Abi
const call = (functionName: string, args: unknown[]) =>
  encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0])

interface Datanet {
  id: string
  owner: string
  open: boolean
  name: string
  metadataURI: string
  contributionCount: string
  approvedCount: string
  versionCount: string
  totalShares: string
}

interface Contribution {
  contributionId: string
  contributor: string
  contentHash: string
  size: string
  metadataURI: string
  inlined: boolean
  status: number | string
  statusName: string
  weight: string
  transactionHash: string | null
  content: string | null
}

/** Runs a form's action with a busy state and a visible outcome. */
function action(form: HTMLFormElement, status: HTMLElement, run: () => Promise<string | undefined>): void {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const button = form.querySelector('button')
    if (button) button.disabled = true
    status.className = 'status'
    status.textContent = 'Sending transaction…'
    run()
      .then((next) => {
        status.textContent = 'Done.'
        if (next) location.hash = next
        else window.dispatchEvent(new HashChangeEvent('hashchange'))
      })
      .catch((e: unknown) => {
        status.replaceWith(Object.assign(errorBox(e), { id: status.id }))
      })
      .finally(() => {
        if (button) button.disabled = false
      })
  })
}

const field = (id: string, label: string, input: HTMLElement) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), input)

export async function datanetsPage(main: HTMLElement): Promise<void> {
  const list = await rpc<{ total: string; items: Datanet[] }>('ol_listDatanets', ['0x0', 100])
  const status = h('p', { id: 'create-status', class: 'status', role: 'status' })
  const form = h(
    'form',
    { id: 'create-datanet', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'Create a datanet'),
    field('dn-name', 'Name', h('input', { id: 'dn-name', name: 'name', required: true, maxlength: 200 })),
    field(
      'dn-uri',
      'Metadata URI',
      h('input', { id: 'dn-uri', name: 'uri', placeholder: 'ipfs://… or https://…', maxlength: 2000 }),
    ),
    h(
      'div',
      { class: 'field check' },
      h('input', { id: 'dn-open', name: 'open', type: 'checkbox', checked: true }),
      h('label', { for: 'dn-open' }, 'Open to all contributors'),
    ),
    h('button', { type: 'submit' }, 'Create datanet'),
    status,
  )
  action(form, status, async () => {
    const data = new FormData(form)
    const receipt = await send({
      to: DATANETS,
      data: call('createDatanet', [
        String(data.get('name')),
        String(data.get('uri') ?? ''),
        data.get('open') === 'on',
        [],
      ]),
    })
    for (const l of receipt.logs) {
      try {
        const ev = decodeEventLog({ abi, data: l.data as Hex, topics: l.topics as [Hex, ...Hex[]] })
        if (ev.eventName === 'DatanetCreated')
          return `#/datanet/${(ev.args as unknown as { datanetId: bigint }).datanetId}`
      } catch {}
    }
    return undefined
  })
  render(
    main,
    h('h1', {}, 'Datanets'),
    h(
      'p',
      {},
      'Community datasets whose contributors are paid when models trained on them answer. Everything on this page is on-chain.',
    ),
    table(
      ['Id', 'Name', 'Owner', 'Contributions', 'Approved', 'Versions', 'Open'],
      list.items.map((d) => [
        link(`#/datanet/${BigInt(d.id)}`, `#${BigInt(d.id)}`),
        link(`#/datanet/${BigInt(d.id)}`, d.name || '(unnamed)'),
        addrLink(d.owner),
        num(d.contributionCount),
        num(d.approvedCount),
        num(d.versionCount),
        d.open ? 'yes' : 'allow-list',
      ]),
      'No datanets yet: create the first one below.',
    ),
    wallet.selected ? form : h('p', { class: 'empty' }, 'Connect a wallet to create a datanet.'),
  )
}

export async function datanetPage(main: HTMLElement, idText: string): Promise<void> {
  const id = BigInt(idText)
  const d = await rpc<Datanet | null>('ol_getDatanet', [toHex(id)])
  if (!d) throw new Error(`Datanet ${id} not found`)
  const count = Number(BigInt(d.contributionCount))
  const contributions = await Promise.all(
    Array.from({ length: Math.min(count, 200) }, (_, i) =>
      rpc<Contribution>('ol_getContribution', [toHex(id), toHex(i + 1)]),
    ),
  )
  const versions = await Promise.all(
    Array.from({ length: Number(BigInt(d.versionCount)) }, (_, i) =>
      rpc<{ version: string; root: string; count: string; publishedAtBlock: string }>(
        'ol_getDatanetVersion',
        [toHex(id), toHex(i + 1)],
      ),
    ),
  )
  const shares = await sharesSection(id)
  const curate = (c: Contribution) => {
    if (Number(c.status) !== 1 || !wallet.selected) return c.statusName
    const weight = h('input', {
      id: `w-${c.contributionId}`,
      type: 'number',
      min: 1,
      value: 100,
      class: 'weight',
      'aria-label': `Weight for contribution ${BigInt(c.contributionId)}`,
    })
    const status = h('span', { id: `cs-${c.contributionId}`, class: 'status', role: 'status' })
    const approve = h(
      'form',
      { class: 'inline', 'data-action': 'approve' },
      weight,
      h('button', { type: 'submit' }, 'Approve'),
      status,
    )
    action(approve, status, async () => {
      await send({
        to: DATANETS,
        data: call('approveContribution', [
          id,
          BigInt(c.contributionId),
          BigInt((weight as HTMLInputElement).value || '1'),
        ]),
      })
      return undefined
    })
    const rstatus = h('span', { class: 'status', role: 'status' })
    const reject = h(
      'form',
      { class: 'inline', 'data-action': 'reject' },
      h('button', { type: 'submit', class: 'secondary' }, 'Reject'),
      rstatus,
    )
    action(reject, rstatus, async () => {
      await send({ to: DATANETS, data: call('rejectContribution', [id, BigInt(c.contributionId)]) })
      return undefined
    })
    return h('div', { class: 'curate' }, 'pending ', approve, reject)
  }

  const cstatus = h('p', { id: 'contribute-status', class: 'status', role: 'status' })
  const contribute = h(
    'form',
    { id: 'contribute', 'aria-labelledby': 'contribute-title' },
    h('h2', { id: 'contribute-title' }, 'Contribute'),
    field(
      'c-text',
      'Text (stored inline in the transaction, at most 96 KiB)',
      h('textarea', { id: 'c-text', name: 'text', rows: 4 }),
    ),
    field(
      'c-hash',
      'Or: content hash of an off-chain file (0x + 64 hex)',
      h('input', { id: 'c-hash', name: 'hash', pattern: '0x[0-9a-fA-F]{64}' }),
    ),
    field('c-size', 'Its size in bytes', h('input', { id: 'c-size', name: 'size', type: 'number', min: 0 })),
    field('c-uri', 'Metadata / content URI', h('input', { id: 'c-uri', name: 'uri', maxlength: 2000 })),
    h('button', { type: 'submit' }, 'Submit contribution'),
    cstatus,
  )
  action(contribute, cstatus, async () => {
    const data = new FormData(contribute)
    const text = String(data.get('text') ?? '')
    const uri = String(data.get('uri') ?? '')
    let args: unknown[]
    if (text) {
      const bytes = toBytes(text)
      args = [id, keccak256(bytes), BigInt(bytes.length), uri, toHex(bytes)]
    } else {
      const hash = String(data.get('hash') ?? '')
      if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new Error('Give either text or a 32-byte content hash.')
      args = [id, hash, BigInt(String(data.get('size') || '0')), uri, '0x']
    }
    await send({ to: DATANETS, data: call('contribute', args) })
    return undefined
  })
  const pstatus = h('p', { id: 'publish-status', class: 'status', role: 'status' })
  const publish = h(
    'form',
    { id: 'publish' },
    h('button', { type: 'submit' }, 'Publish a new version'),
    pstatus,
  )
  action(publish, pstatus, async () => {
    await send({ to: DATANETS, data: call('publishVersion', [id]) })
    return undefined
  })

  render(
    main,
    h('h1', {}, `Datanet #${id}: ${d.name}`),
    fields([
      ['Owner', addrLink(d.owner)],
      ['Metadata', d.metadataURI || '—'],
      ['Policy', d.open ? 'open to all' : 'allow-list'],
      ['Contributions', `${num(d.contributionCount)} (${num(d.approvedCount)} approved)`],
      ['Versions', num(d.versionCount)],
      ['Shares issued', num(d.totalShares)],
    ]),
    h('h2', {}, 'Contributions'),
    table(
      ['Id', 'Contributor', 'Content', 'Size', 'Weight', 'Status'],
      contributions.map((c) => [
        `#${BigInt(c.contributionId)}`,
        addrLink(c.contributor),
        c.content
          ? h('span', { title: c.contentHash }, textPreview(c.content))
          : h('span', { class: 'mono', title: c.metadataURI }, short(c.contentHash)),
        num(c.size),
        Number(c.status) === 2 ? num(c.weight) : '—',
        curate(c),
      ]),
      'No contributions yet.',
    ),
    h('h2', {}, 'Versions'),
    table(
      ['Version', 'Contributions', 'Root', 'Published in'],
      versions.map((v) => [
        `v${BigInt(v.version)}`,
        num(v.count),
        h('span', { class: 'mono' }, short(v.root)),
        link(`#/block/${BigInt(v.publishedAtBlock)}`, `#${BigInt(v.publishedAtBlock)}`),
      ]),
      'No version published yet.',
    ),
    shares,
    wallet.selected
      ? [publish, contribute]
      : h('p', { class: 'empty' }, 'Connect a wallet to contribute or curate.'),
  )
}

function textPreview(hex: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(toBytes(hex as Hex))
    return text.length > 80 ? `${text.slice(0, 80)}…` : text
  } catch {
    return `${(hex.length - 2) / 2} bytes`
  }
}
