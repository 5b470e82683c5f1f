/**
 * The address index behind ots_searchTransactions*: it follows dev rollbacks (evm_revert), keeps
 * its data across restarts, and rebuilds itself from the stored chain when it is missing or
 * behind (a datadir from before the index existed, or a crash between the two writes).
 */
import { openDatabase } from '@openledger/node'
import { afterEach, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, startDevNode, tempDir } from '../helpers/dev-node.ts'

const [A0, A1, A2] = DEV_ADDRESSES.map((a) => a.toLowerCase())

async function history(url: string, address: string): Promise<string[]> {
  const page = (await call(url, 'ots_searchTransactionsBefore', [address, 0, 100])) as {
    txs: Array<{ hash: string }>
    lastPage: boolean
  }
  expect(page.lastPage).toBe(true)
  return page.txs.map((t) => t.hash)
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('address index', () => {
  it('unwinds on evm_revert, persists across restarts and rebuilds when missing', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    let node = await startDevNode({ datadir: dir.path })
    const transfer = (from: string, to: string) =>
      call(node.rpcUrl, 'eth_sendTransaction', [{ from, to, value: '0x1' }]) as Promise<string>
    const kept = [await transfer(A0, A1), await transfer(A1, A2), await transfer(A0, A2)]
    const snap = await call(node.rpcUrl, 'evm_snapshot')
    const dropped = await transfer(A0, A1)
    expect(await history(node.rpcUrl, A0)).toEqual([dropped, kept[2], kept[0]])
    expect(await call(node.rpcUrl, 'evm_revert', [snap])).toBe(true)
    expect(await history(node.rpcUrl, A0)).toEqual([kept[2], kept[0]])
    expect(await call(node.rpcUrl, 'ots_getTransactionBySenderAndNonce', [A0, 2])).toBeNull()
    const after = await transfer(A0, A1)
    expect(await call(node.rpcUrl, 'ots_getTransactionBySenderAndNonce', [A0, 2])).toBe(after)
    const expected = { a0: await history(node.rpcUrl, A0), a2: await history(node.rpcUrl, A2) }
    expect(expected.a0).toEqual([after, kept[2], kept[0]])
    await node.close()

    node = await startDevNode({ datadir: dir.path })
    expect(await history(node.rpcUrl, A0)).toEqual(expected.a0)
    await node.close()

    // Drop the whole index keyspace: the next start rebuilds it from blocks and receipts.
    const db = await openDatabase(`${dir.path}/db`)
    await db.sublevel('ots').clear()
    await db.close()
    node = await startDevNode({ datadir: dir.path })
    cleanups.push(() => node.close())
    expect(await history(node.rpcUrl, A0)).toEqual(expected.a0)
    expect(await history(node.rpcUrl, A2)).toEqual(expected.a2)
    expect(await call(node.rpcUrl, 'ots_getTransactionBySenderAndNonce', [A1, 0])).toBe(kept[1])
  }, 60_000)
})
