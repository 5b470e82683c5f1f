/** Explorer pages: home (latest blocks), block, transaction, address, search. */
import { fromRlp, type Hex } from 'viem'
import { decodeCall, decodeLog, decodeRevert, methodName, moduleName } from '../decode.ts'
import { type Child, errorBox, fields, h, link, loading, render, table } from '../dom.ts'
import { age, num, open, short, time } from '../format.ts'
import { type BlockJson, onNewHead, optional, type Receipt, rpc, type Tx } from '../rpc.ts'

const blockLink = (n: string | number | bigint) => link(`#/block/${BigInt(n)}`, `#${BigInt(n)}`)
const txLink = (hash: string) => h('a', { href: `#/tx/${hash}`, class: 'mono' }, short(hash))
export const addrLink = (a: string | null | undefined) =>
  a ? h('a', { href: `#/address/${a}`, class: 'mono' }, moduleName(a) ?? short(a)) : '—'

/** Where a search string leads: block number, tx or block hash, address. */
export async function searchTarget(q: string): Promise<string> {
  const s = q.trim()
  if (/^\d+$/.test(s)) return `#/block/${s}`
  if (/^0x[0-9a-fA-F]{40}$/.test(s)) return `#/address/${s.toLowerCase()}`
  if (/^0x[0-9a-fA-F]{64}$/.test(s)) {
    const tx = await rpc<Tx | null>('eth_getTransactionByHash', [s])
    if (tx) return `#/tx/${s.toLowerCase()}`
    const block = await rpc<BlockJson | null>('eth_getBlockByHash', [s, false])
    if (block) return `#/block/${BigInt(block.number)}`
    throw new Error(`No transaction or block with hash ${s}`)
  }
  throw new Error(
    'Search by block number, transaction or block hash (0x + 64 hex), or address (0x + 40 hex).',
  )
}

export async function homePage(main: HTMLElement): Promise<() => void> {
  const blocks = h('section', { 'aria-labelledby': 'latest-blocks' })
  render(main, h('h1', {}, 'Explorer'), h('p', { id: 'head-status', role: 'status' }, ''), blocks)
  const refresh = async () => {
    const head = BigInt(await rpc<string>('eth_blockNumber'))
    const nums: bigint[] = []
    for (let n = head; n >= 0n && nums.length < 15; n--) nums.push(n)
    const list = await Promise.all(
      nums.map((n) => rpc<BlockJson>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])),
    )
    render(
      blocks,
      h('h2', { id: 'latest-blocks' }, 'Latest blocks'),
      table(
        ['Block', 'Age', 'Transactions', 'Gas used', 'Proposer'],
        list.map((b) => [
          blockLink(b.number),
          age(b.timestamp),
          b.transactions.length,
          num(b.gasUsed),
          addrLink(b.miner),
        ]),
      ),
    )
    const status = document.getElementById('head-status')
    if (status) status.textContent = `Head: block ${head}`
  }
  await refresh()
  let busy = false
  return onNewHead(() => {
    if (busy) return
    busy = true
    refresh()
      .catch(() => undefined)
      .finally(() => {
        busy = false
      })
  })
}

/** QBFT extraData: RLP [vanity, validators, vote, round, commit seals]. */
function qbftExtra(extraData: string): { validators: string[]; seals: string[]; round: string } | undefined {
  try {
    const list = fromRlp(extraData as Hex, 'hex') as unknown[]
    if (!Array.isArray(list) || list.length < 5) return undefined
    const [, validators, , round, seals] = list as [Hex, Hex[], unknown, Hex, Hex[]]
    if (!Array.isArray(validators) || !Array.isArray(seals)) return undefined
    return { validators, seals, round: num(round === '0x' ? 0 : round) }
  } catch {
    return undefined
  }
}

/** Transactions per block page (ots_getBlockTransactions pages). */
const BLOCK_PAGE = 100

export async function blockPage(main: HTMLElement, id: string, pageNumber = 0): Promise<void> {
  const n = /^\d+$/.test(id) ? `0x${BigInt(id).toString(16)}` : id
  const details = await rpc<{ block: BlockJson & { transactionCount: number }; totalFees: string }>(
    'ots_getBlockDetails',
    [n],
  )
  const b = details.block
  const txs = await rpc<{ fullblock: { transactions: Tx[] }; receipts: Receipt[] }>(
    'ots_getBlockTransactions',
    [n, pageNumber, BLOCK_PAGE],
  )
  const extra = qbftExtra(b.extraData)
  const validators = await optional<string[]>('qbft_getValidatorsByBlockNumber', [n])
  render(
    main,
    h('h1', {}, `Block ${BigInt(b.number)}`),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Neighbouring blocks' },
      BigInt(b.number) > 0n ? link(`#/block/${BigInt(b.number) - 1n}`, '← previous') : null,
      ' ',
      link(`#/block/${BigInt(b.number) + 1n}`, 'next →'),
    ),
    fields([
      ['Hash', h('span', { class: 'mono' }, b.hash)],
      ['Parent', h('a', { href: `#/block/${BigInt(b.number) - 1n}`, class: 'mono' }, b.parentHash)],
      ['Time', `${time(b.timestamp)} (${age(b.timestamp)})`],
      ['Proposer', addrLink(b.miner)],
      ['Transactions', b.transactionCount],
      ['Gas used / limit', `${num(b.gasUsed)} / ${num(b.gasLimit)}`],
      ['Base fee', b.baseFeePerGas ? `${num(b.baseFeePerGas)} wei` : '—'],
      ['Fees paid', open(details.totalFees)],
    ]),
    extra || validators
      ? h(
          'section',
          { 'aria-labelledby': 'consensus' },
          h('h2', { id: 'consensus' }, 'Consensus (QBFT)'),
          fields([
            [
              'Validators',
              h(
                'ul',
                { class: 'validators' },
                ...(validators ?? extra?.validators ?? []).map((v) => h('li', {}, addrLink(v))),
              ),
            ],
            [
              'Commit seals',
              extra ? `${extra.seals.length} of ${(validators ?? extra.validators).length} validators` : '—',
            ],
            ['Round', extra?.round ?? '—'],
          ]),
        )
      : null,
    h(
      'h2',
      {},
      b.transactionCount > BLOCK_PAGE
        ? `Transactions ${pageNumber * BLOCK_PAGE + 1}–${Math.min(b.transactionCount, (pageNumber + 1) * BLOCK_PAGE)} of ${b.transactionCount}`
        : 'Transactions',
    ),
    b.transactionCount > BLOCK_PAGE
      ? h(
          'nav',
          { class: 'pager', 'aria-label': 'Transaction pages' },
          pageNumber > 0
            ? link(`#/block/${BigInt(b.number)}/page/${pageNumber - 1}`, '← previous 100')
            : null,
          ' ',
          (pageNumber + 1) * BLOCK_PAGE < b.transactionCount
            ? link(`#/block/${BigInt(b.number)}/page/${pageNumber + 1}`, 'next 100 →')
            : null,
        )
      : null,
    table(
      ['Hash', 'From', 'To', 'Method', 'Value', 'Status'],
      txs.fullblock.transactions.map((t, i) => [
        txLink(t.hash),
        addrLink(t.from),
        t.to ? addrLink(t.to) : 'contract creation',
        methodName(t.to, t.input),
        open(t.value),
        txs.receipts[i]?.status === '0x1' ? 'success' : 'failed',
      ]),
      'No transactions in this block.',
    ),
  )
}

const logView = (l: Receipt['logs'][number]): Child => {
  const d = decodeLog(l)
  return h(
    'li',
    { class: 'log' },
    h(
      'div',
      {},
      addrLink(l.address),
      ' ',
      h('strong', {}, d?.name ?? 'log'),
      d?.name === 'Attribution.InferenceSettled' && l.topics[1]
        ? [' ', link(`#/receipt/${l.topics[1]}`, 'fee split and attribution →')]
        : null,
    ),
    d
      ? fields(d.args)
      : fields([
          ['Topics', h('pre', {}, l.topics.join('\n'))],
          ['Data', h('pre', {}, l.data)],
        ]),
  )
}

export async function txPage(main: HTMLElement, hash: string): Promise<void> {
  const tx = await rpc<Tx | null>('eth_getTransactionByHash', [hash])
  if (!tx) throw new Error(`Transaction ${hash} not found`)
  const r = await rpc<Receipt | null>('eth_getTransactionReceipt', [hash])
  const call = decodeCall(tx.to, tx.input)
  const failed = r?.status === '0x0'
  const [ops, error] = r
    ? await Promise.all([
        rpc<Array<{ type: number; from: string; to: string; value: string }>>('ots_getInternalOperations', [
          hash,
        ]).catch(() => []),
        failed ? rpc<string>('ots_getTransactionError', [hash]).catch(() => '0x') : Promise.resolve('0x'),
      ])
    : [[], '0x']
  const opName = ['transfer', 'self-destruct', 'create', 'create2']
  render(
    main,
    h('h1', {}, 'Transaction'),
    fields([
      ['Hash', h('span', { class: 'mono' }, tx.hash)],
      [
        'Status',
        !r
          ? 'pending'
          : failed
            ? h('span', { class: 'bad' }, 'failed')
            : h('span', { class: 'good' }, 'success'),
      ],
      ['Block', tx.blockNumber ? blockLink(tx.blockNumber) : 'pending'],
      ['From', addrLink(tx.from)],
      [
        'To',
        tx.to
          ? addrLink(tx.to)
          : r?.contractAddress
            ? ['created ', addrLink(r.contractAddress)]
            : 'contract creation',
      ],
      ['Value', open(tx.value)],
      ['Nonce', num(tx.nonce)],
      ['Gas used', r ? `${num(r.gasUsed)} of ${num(tx.gas)}` : num(tx.gas)],
      ['Fee', r ? open(BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice)) : '—'],
      ...(failed
        ? [
            ['Error', decodeRevert(tx.to, error) ?? (error === '0x' ? 'reverted without data' : error)] as [
              string,
              Child,
            ],
          ]
        : []),
    ]),
    h('h2', {}, 'Call'),
    call
      ? [h('p', {}, h('strong', {}, call.name)), fields(call.args)]
      : h('pre', { class: 'calldata' }, tx.input === '0x' ? '(no calldata: a plain transfer)' : tx.input),
    h('h2', {}, 'Internal operations'),
    table(
      ['Type', 'From', 'To', 'Value'],
      ops.map((o) => [opName[o.type] ?? o.type, addrLink(o.from), addrLink(o.to), open(o.value)]),
      'None.',
    ),
    h('h2', {}, `Logs (${r?.logs.length ?? 0})`),
    r && r.logs.length > 0
      ? h('ol', { class: 'logs' }, ...r.logs.map(logView))
      : h('p', { class: 'empty' }, 'No logs.'),
  )
}

export async function addressPage(main: HTMLElement, address: string, before = 0): Promise<void> {
  const [balance, nonce, isContract, creator, rewards] = await Promise.all([
    rpc<string>('eth_getBalance', [address, 'latest']),
    rpc<string>('eth_getTransactionCount', [address, 'latest']),
    rpc<boolean>('ots_hasCode', [address, 'latest']),
    rpc<{ hash: string; creator: string } | null>('ots_getContractCreator', [address]),
    optional<{ claimable: string; datanets: Array<{ datanetId: string; version: string; shares: string }> }>(
      'ol_getRewards',
      [address],
    ).catch(() => undefined),
  ])
  const page = await rpc<{ txs: Tx[]; receipts: Receipt[]; firstPage: boolean; lastPage: boolean }>(
    'ots_searchTransactionsBefore',
    [address, before, 25],
  )
  const oldest = page.txs.at(-1)?.blockNumber
  render(
    main,
    h('h1', {}, moduleName(address) ? `${moduleName(address)} module` : isContract ? 'Contract' : 'Account'),
    fields([
      ['Address', h('span', { class: 'mono' }, address)],
      ['Balance', open(balance)],
      ['Nonce', num(nonce)],
      ['Kind', moduleName(address) ? 'native module' : isContract ? 'contract' : 'externally owned account'],
      ...(creator
        ? [['Created by', [addrLink(creator.creator), ' in ', txLink(creator.hash)]] as [string, Child]]
        : []),
      ...(rewards ? [['Claimable rewards', open(rewards.claimable)] as [string, Child]] : []),
    ]),
    rewards && rewards.datanets.length > 0
      ? [
          h('h2', {}, 'Datanet shares'),
          table(
            ['Datanet', 'Version', 'Shares'],
            rewards.datanets.map((d) => [
              link(`#/datanet/${BigInt(d.datanetId)}`, `#${BigInt(d.datanetId)}`),
              num(d.version),
              num(d.shares),
            ]),
          ),
        ]
      : null,
    h('h2', {}, 'Transactions'),
    table(
      ['Hash', 'Block', 'From', 'To', 'Method', 'Value', 'Status'],
      page.txs.map((t, i) => [
        txLink(t.hash),
        t.blockNumber ? blockLink(t.blockNumber) : '—',
        addrLink(t.from),
        t.to ? addrLink(t.to) : 'contract creation',
        methodName(t.to, t.input),
        open(t.value),
        page.receipts[i]?.status === '0x1' ? 'success' : 'failed',
      ]),
      'No transactions for this address.',
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Transaction pages' },
      before !== 0 ? link(`#/address/${address}`, '« newest') : null,
      ' ',
      !page.lastPage && oldest ? link(`#/address/${address}/before/${BigInt(oldest)}`, 'older →') : null,
    ),
  )
}

export { errorBox, loading }
