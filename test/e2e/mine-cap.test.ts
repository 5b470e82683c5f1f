/**
 * Mining on request is bounded, on a real `openledger dev` process: one evm_mine / hardhat_mine /
 * anvil_mine call mines at most 100,000 blocks (more is refused with -32005 and mines nothing);
 * the cap itself is admitted, the node keeps answering while it mines (each block is its own
 * turn of the sealer), and a client that leaves stops it between two blocks instead of leaving
 * the node mining for minutes for nobody.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, rpc, spawnDevProcess, waitFor } from '../helpers/dev-node.ts'

let node: NodeProcess
beforeAll(async () => {
  node = await spawnDevProcess([])
}, 120_000)
afterAll(async () => {
  node?.child.kill('SIGKILL')
  await node?.exited
})

const call = async (method: string, params: unknown[]) =>
  (await rpc(node.rpcUrl, { jsonrpc: '2.0', id: 1, method, params })).json
const height = async () => Number((await call('eth_blockNumber', [])).result)
/** A state edit runs after every block queued before it: when it answers, the sealer is idle. */
const settle = async () => {
  const slot = `0x${'00'.repeat(31)}01`
  expect((await call('hardhat_setStorageAt', [`0x${'22'.repeat(20)}`, slot, slot])).result).toBe(true)
}

describe('the mine cap', () => {
  it('refuses more than 100,000 blocks in one call, mining nothing', async () => {
    const before = await height()
    const refusal = { code: -32005, message: 'cannot mine 100001 blocks in one call (at most 100000)' }
    expect((await call('hardhat_mine', ['0x186a1'])).error).toEqual(refusal)
    expect((await call('anvil_mine', ['0x186a1'])).error).toEqual(refusal)
    expect((await call('evm_mine', [{ blocks: '0x186a1' }])).error).toEqual(refusal)
    expect((await call('hardhat_mine', ['0xffffffffffffffff'])).error?.code).toBe(-32005)
    await settle()
    expect(await height()).toBe(before)
  })

  it('admits 100,000 blocks, answers meanwhile, and stops when the client leaves', async () => {
    const start = await height()
    const client = new AbortController()
    const mining = fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hardhat_mine', params: ['0x186a0'] }),
      signal: client.signal,
    }).catch((e: Error) => e)
    // The node keeps answering while it mines, and the chain grows block by block.
    await waitFor(async () => (await height()) >= start + 20, 60_000, 'the first 20 blocks')
    client.abort()
    expect(await mining).toBeInstanceOf(Error)
    // The call ends at the next block boundary; once the sealer is idle nothing more is mined.
    await waitFor(
      async () => {
        const a = await height()
        await settle()
        return (await height()) === a
      },
      30_000,
      'mining to stop after the client left',
    )
    const stopped = await height()
    await settle()
    expect(await height()).toBe(stopped)
    expect(stopped - start).toBeLessThan(100_000)
    process.stdout.write(
      `hardhat_mine 100000: stopped after ${stopped - start} blocks when the client left\n`,
    )
  }, 120_000)
})
