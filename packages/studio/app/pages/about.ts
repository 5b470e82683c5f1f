/** What is on-chain and what is not. */
import { h, render } from '../dom.ts'

export function aboutPage(main: HTMLElement): void {
  render(
    main,
    h('h1', {}, 'What is on-chain'),
    h('h2', {}, 'On-chain (every validator holds it, anyone can verify it)'),
    h(
      'ul',
      {},
      h('li', {}, 'Blocks, transactions, receipts and logs; balances in OPEN.'),
      h(
        'li',
        {},
        'Datanets: owner, curators, policy; each contribution’s content hash, size, URI, contributor, status and approved weight; published versions (a Merkle root over the approved contributions).',
      ),
      h(
        'li',
        {},
        'Inline contributions: the bytes themselves are in the calldata of the transaction that submitted them.',
      ),
      h(
        'li',
        {},
        'Models: registration, versions with the datanet versions they were trained on, training config and log hashes.',
      ),
      h(
        'li',
        {},
        'Inference receipts, their fee split and every payout to datanets and contributors; claimable rewards.',
      ),
    ),
    h('h2', {}, 'Off-chain'),
    h(
      'ul',
      {},
      h(
        'li',
        {},
        'Files contributed by hash + URI: the chain holds only the hash and size; whoever serves the URI holds the bytes.',
      ),
      h(
        'li',
        {},
        'Model weights and training data copies (referenced by hash), and the answers of inference providers (committed by hash).',
      ),
    ),
    h('h2', {}, 'This app'),
    h(
      'p',
      {},
      'Studio is served by the node itself and talks to it over JSON-RPC only (including the Otterscan ots_* methods). In dev mode it signs with the node’s unlocked dev accounts; on other nodes it uses a browser wallet (window.ethereum). It loads nothing from other sites.',
    ),
  )
}
