/**
 * Keeps the address index (store/address-index.ts) at the chain's head: enqueues every committed
 * block (the index writes in the background, in batches; its reads wait for what was enqueued
 * before them, so a commit does not wait for the index's LevelDB write) and unwinds on dev
 * rollbacks, after the writes queued before them.
 */
import type { AddressIndex } from '../store/address-index.ts'
import type { ChainObserver } from './chain.ts'

export function addressIndexObserver(index: AddressIndex): ChainObserver {
  return {
    name: 'address-index',
    onCommit: (blocks) => {
      for (const { block, executed } of blocks) {
        index.enqueue(
          block.header.number,
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
    },
    onRollback: (head) => index.unwindTo(head.header.number),
    onRestart: (first) => index.restart(first.header.number),
  }
}
