/**
 * A datanet's share holders, per version (the ERC-1155 share tokens minted by approvals), from
 * the Datanets module's TransferSingle logs, and a form to transfer the selected account's shares
 * (`transferShares`: pending rewards stay with the sender, later ones follow the shares).
 */
import { datanetsAbi } from '@openledger/attribution/abi'
import {
  type Abi,
  decodeEventLog,
  encodeFunctionData,
  type Hex,
  isAddress,
  toEventSelector,
  toHex,
} from 'viem'
import { DATANETS } from '../decode.ts'
import { errorBox, h, render, table } from '../dom.ts'
import { num } from '../format.ts'
import { type Log, rpc } from '../rpc.ts'
import { send, wallet } from '../wallet.ts'
import { addrLink } from './explorer.ts'

const abi = datanetsAbi as Abi
const TRANSFER = toEventSelector('TransferSingle(address,address,address,uint256,uint256)')
const ZERO = '0x0000000000000000000000000000000000000000'
/** The node answers eth_getLogs over at most 10,000 blocks: read the history in such windows. */
const WINDOW = 10_000n
/** Bound of the scan (newest blocks first), so a long chain cannot stall the page. */
const MAX_BLOCKS = 200_000n

const tokenId = (datanetId: bigint, version: bigint) => (version << 128n) | datanetId

/** Balances per holder and version, from the transfer logs of the last MAX_BLOCKS blocks. */
async function holders(datanetId: bigint): Promise<{ rows: Map<string, bigint>; partial: boolean }> {
  const head = BigInt(await rpc<string>('eth_blockNumber'))
  const rows = new Map<string, bigint>()
  const lowest = head + 1n > MAX_BLOCKS ? head + 1n - MAX_BLOCKS : 0n
  for (let from = lowest; from <= head; from += WINDOW) {
    const to = from + WINDOW - 1n < head ? from + WINDOW - 1n : head
    const logs = await rpc<Log[]>('eth_getLogs', [
      { address: DATANETS, fromBlock: toHex(from), toBlock: toHex(to), topics: [TRANSFER] },
    ])
    for (const l of logs) {
      const e = decodeEventLog({ abi, data: l.data as Hex, topics: l.topics as [Hex, ...Hex[]] })
      const a = e.args as unknown as { from: string; to: string; id: bigint; value: bigint }
      if ((a.id & ((1n << 128n) - 1n)) !== datanetId) continue
      const version = a.id >> 128n
      for (const [who, sign] of [
        [a.from, -1n],
        [a.to, 1n],
      ] as const) {
        if (who.toLowerCase() === ZERO) continue
        const key = `${who.toLowerCase()}:${version}`
        rows.set(key, (rows.get(key) ?? 0n) + sign * a.value)
      }
    }
  }
  return { rows, partial: lowest > 0n }
}

export async function sharesSection(datanetId: bigint): Promise<HTMLElement> {
  const { rows, partial } = await holders(datanetId)
  const list = [...rows.entries()]
    .filter(([, v]) => v > 0n)
    .map(([k, v]) => {
      const [holder, version] = k.split(':') as [string, string]
      return { holder, version: BigInt(version), shares: v }
    })
    .sort((a, b) =>
      a.version === b.version ? (a.shares > b.shares ? -1 : 1) : a.version < b.version ? -1 : 1,
    )
  const mine = list.filter((r) => r.holder === wallet.selected?.toLowerCase())
  const status = h('p', { id: 'transfer-status', class: 'status', role: 'status', 'aria-live': 'polite' })
  const form = h(
    'form',
    { id: 'transfer-shares', 'aria-labelledby': 'ts-title' },
    h('h3', { id: 'ts-title' }, 'Transfer shares'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ts-version' }, 'Of version'),
      h(
        'select',
        { id: 'ts-version' },
        ...mine.map((r) => h('option', { value: String(r.version) }, `v${r.version} (you hold ${r.shares})`)),
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ts-to' }, 'To (address)'),
      h('input', { id: 'ts-to', required: true, pattern: '0x[0-9a-fA-F]{40}', autocomplete: 'off' }),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'ts-amount' }, 'Shares'),
      h('input', { id: 'ts-amount', type: 'number', min: 1, required: true }),
    ),
    h('button', { type: 'submit' }, 'Transfer'),
    status,
  )
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim()
    const to = value('ts-to')
    if (!isAddress(to)) {
      render(status, errorBox('Not an address.'))
      return
    }
    const button = form.querySelector('button') as HTMLButtonElement
    button.disabled = true
    status.textContent = 'Sending transaction…'
    send({
      to: DATANETS,
      data: encodeFunctionData({
        abi,
        functionName: 'transferShares',
        args: [
          wallet.selected,
          to,
          tokenId(datanetId, BigInt(value('ts-version'))),
          BigInt(value('ts-amount')),
        ],
      }),
    })
      .then(() => window.dispatchEvent(new HashChangeEvent('hashchange')))
      .catch((e: unknown) => {
        render(status, errorBox(e))
        button.disabled = false
      })
  })
  return h(
    'section',
    { id: 'shares', 'aria-labelledby': 'sh-title' },
    h('h2', { id: 'sh-title' }, 'Share holders'),
    h(
      'p',
      {},
      'Approving a contribution mints shares of the next version to its contributor; a version’s holders earn the datanet-level part of every fee naming that version or a later one.',
      partial ? ` (transfers of the last ${MAX_BLOCKS.toLocaleString()} blocks)` : '',
    ),
    table(
      ['Holder', 'Version', 'Shares'],
      list.map((r) => [addrLink(r.holder), `v${r.version}`, num(r.shares)]),
      'No shares yet: they are minted when contributions are approved.',
    ),
    mine.length > 0 ? form : null,
  )
}
