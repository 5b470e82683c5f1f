/**
 * Keeps the address index (store/address-index.ts) at the chain's head: indexes every commit (a
 * synced range in one batch) and unwinds on dev rollbacks, one at a time in commit order.
 */
import type { AddressIndex } from '../store/address-index.ts'
import type { ChainObserver } from './chain.ts'

export function addressIndexObserver(index: AddressIndex): ChainObserver {
  let queue: Promise<unknown> = Promise.resolve()
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = queue.then(fn, fn)
    queue = run.catch(() => undefined)
    return run
  }
  return {
    name: 'address-index',
    onCommit: (blocks) =>
      serial(() =>
        index.indexBlocks(
          blocks
            .filter(({ block }) => block.header.number > index.head)
            .map(({ block, executed }) => ({
              block,
              txs: executed.map((e) => ({
                hash: e.hash,
                sender: e.sender,
                nonce: e.tx.nonce,
                to: e.tx.to?.bytes,
                contractAddress: e.contractAddress,
                logs: e.logs,
              })),
            })),
        ),
      ),
    onRollback: (head) => serial(() => index.unwindTo(head.header.number)),
    onRestart: (first) => serial(() => index.restart(first.header.number)),
  }
}
