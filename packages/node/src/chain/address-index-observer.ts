/**
 * Keeps the address index (store/address-index.ts) at the chain's head: indexes every committed
 * block and unwinds on dev rollbacks, one at a time in commit order.
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
      serial(async () => {
        for (const { block, executed } of blocks) {
          if (block.header.number <= index.head) continue
          await index.indexBlock(
            block,
            executed.map((e) => ({
              hash: e.hash,
              sender: e.sender,
              nonce: e.tx.nonce,
              to: e.tx.to?.bytes,
              contractAddress: e.contractAddress,
              logs: e.logs,
            })),
          )
        }
      }),
    onRollback: (head) => serial(() => index.unwindTo(head.header.number)),
    onRestart: (first) => serial(() => index.restart(first.header.number)),
  }
}
