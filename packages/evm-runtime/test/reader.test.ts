/**
 * State reads at many roots at once: the reader shares one template trie between roots and is fed
 * committed nodes by the writer. Reads interleaved across roots, right after each block, must give
 * exactly what a reader on a freshly opened database gives.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { ADDRS, cleanupDirs, ETH, KEYS, makeGenesis, openRuntime, transfer } from './helpers.ts'

describe('state reads across roots', () => {
  afterAll(cleanupDirs)

  it('match a fresh reader at every root, read concurrently', async () => {
    const a = await openRuntime(makeGenesis())
    const roots: Uint8Array[] = [a.runtime.genesisBlock.header.stateRoot]
    let parent = a.runtime.genesisBlock.header
    const recipients = Array.from({ length: 4 }, (_, i) => {
      const r = new Uint8Array(20)
      r[0] = 0x55
      r[19] = i
      return r
    })
    for (let b = 0; b < 6; b++) {
      const txs = KEYS.map((k, i) =>
        transfer(a.runtime.common, k, BigInt(b), recipients[(b + i) % 4]!, BigInt(b + 1) * ETH),
      )
      const { block, executed } = await a.runtime.buildBlock(parent, txs, {
        timestamp: parent.timestamp + 1n,
        coinbase: recipients[0]!,
      })
      expect(executed).toHaveLength(KEYS.length)
      // Read the new head at once, as the txpool does.
      expect((await a.runtime.getAccount(block.header.stateRoot, ADDRS[0]!))?.nonce).toBe(BigInt(b + 1))
      roots.push(block.header.stateRoot)
      parent = block.header
    }
    const who = [...ADDRS, ...recipients]
    const readAll = (rt: typeof a.runtime) =>
      Promise.all(
        roots.flatMap((root) =>
          who.map(async (addr) => {
            const [acct, proof] = await Promise.all([rt.getAccount(root, addr), rt.getProof(root, addr, [])])
            return {
              nonce: acct?.nonce,
              balance: acct?.balance,
              proof: proof.accountProof.map((n) => Buffer.from(n).toString('hex')),
            }
          }),
        ),
      )
    const got = await readAll(a.runtime)
    await a.runtime.close()
    await a.db.level.close()
    const fresh = await openRuntime(makeGenesis(), { path: a.db.path })
    const want = await readAll(fresh.runtime)
    expect(got).toEqual(want)
    // Balances move between blocks, so the roots really differ.
    expect(new Set(got.map((g) => g.balance)).size).toBeGreaterThan(6)
    await fresh.runtime.close()
    await fresh.db.level.close()
  })
})
