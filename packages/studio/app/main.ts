/** OpenLedger Studio: hash router, layout, account picker. */
import { errorBox, h, loading, render } from './dom.ts'
import { short } from './format.ts'
import { aboutPage } from './pages/about.ts'
import { datanetPage, datanetsPage } from './pages/datanets.ts'
import { addressPage, blockPage, homePage, searchTarget, txPage } from './pages/explorer.ts'
import { factoryPage } from './pages/factory.ts'
import { modelPage, modelsPage, receiptPage, rewardsPage } from './pages/payable.ts'
import { playgroundPage } from './pages/playground.ts'
import { validatorsPage } from './pages/validators.ts'
import { rpc } from './rpc.ts'
import { connectInjected, initWallet, onWalletChange, select, wallet } from './wallet.ts'

const main = document.getElementById('main') as HTMLElement
const account = document.getElementById('account') as HTMLElement
let stop: (() => void) | undefined
let generation = 0

type Route = [RegExp, (m: RegExpMatchArray) => Promise<unknown> | unknown]
const routes: Route[] = [
  [/^#?\/?$/, () => homePage(main)],
  [/^#\/block\/(\w+)(?:\/page\/(\d+))?$/, (m) => blockPage(main, m[1]!, Number(m[2] ?? 0))],
  [/^#\/tx\/(0x[0-9a-fA-F]{64})$/, (m) => txPage(main, m[1]!)],
  [
    /^#\/address\/(0x[0-9a-fA-F]{40})(?:\/before\/(\d+))?$/,
    (m) => addressPage(main, m[1]!.toLowerCase(), Number(m[2] ?? 0)),
  ],
  [/^#\/datanets$/, () => datanetsPage(main)],
  [/^#\/datanet\/(\d+)$/, (m) => datanetPage(main, m[1]!)],
  [/^#\/models$/, () => modelsPage(main)],
  [/^#\/model\/(\d+)$/, (m) => modelPage(main, m[1]!)],
  [/^#\/validators$/, () => validatorsPage(main)],
  [/^#\/factory$/, () => factoryPage(main)],
  [/^#\/playground$/, () => playgroundPage(main)],
  [/^#\/receipt\/(0x[0-9a-fA-F]{64})$/, (m) => receiptPage(main, m[1]!)],
  [/^#\/rewards$/, () => rewardsPage(main)],
  [/^#\/about$/, () => aboutPage(main)],
]

async function route(): Promise<void> {
  stop?.()
  stop = undefined
  const mine = ++generation
  render(main, loading())
  for (const link of document.querySelectorAll('header nav a'))
    link.toggleAttribute(
      'aria-current',
      link.getAttribute('href') === location.hash.split('/').slice(0, 2).join('/'),
    )
  const found = routes.map(([re, fn]) => [location.hash.match(re), fn] as const).find(([m]) => m)
  try {
    if (!found) throw new Error(`No page at ${location.hash}`)
    const result = await found[1](found[0]!)
    if (mine !== generation) {
      if (typeof result === 'function') (result as () => void)()
      return
    }
    if (typeof result === 'function') stop = result as () => void
    main.focus({ preventScroll: true })
  } catch (e) {
    if (mine === generation) render(main, h('h1', {}, 'Something went wrong'), errorBox(e))
  }
}

function renderAccount(): void {
  if (wallet.kind === 'dev') {
    const picker = h(
      'select',
      { id: 'account-select', 'aria-label': 'Dev account' },
      ...wallet.accounts.map((a) => h('option', { value: a, selected: a === wallet.selected }, short(a))),
    )
    picker.addEventListener('change', () => select(picker.value))
    render(account, h('span', { class: 'badge' }, 'dev signer'), ' ', picker)
  } else if (wallet.selected) {
    render(account, h('span', { class: 'badge' }, 'wallet'), ' ', short(wallet.selected))
  } else {
    const connect = h('button', { type: 'button', id: 'connect' }, 'Connect wallet')
    connect.addEventListener('click', () => connectInjected().catch((e) => render(account, errorBox(e))))
    render(account, window.ethereum ? connect : h('span', { class: 'badge' }, 'read-only'))
  }
}

const search = document.getElementById('search') as HTMLFormElement
search.addEventListener('submit', (ev) => {
  ev.preventDefault()
  const input = search.elements.namedItem('q') as HTMLInputElement
  searchTarget(input.value)
    .then((target) => {
      input.value = ''
      location.hash = target
    })
    .catch((e) => render(main, h('h1', {}, 'Search'), errorBox(e)))
})

onWalletChange(() => {
  renderAccount()
})
window.addEventListener('hashchange', () => void route())

rpc<string>('eth_chainId')
  .then((id) => {
    const el = document.getElementById('chain')
    if (el) el.textContent = `chain ${BigInt(id)}`
  })
  .catch(() => undefined)
initWallet()
  .catch(() => undefined)
  .finally(() => void route())
