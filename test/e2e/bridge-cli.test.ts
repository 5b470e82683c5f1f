/**
 * The bridge from the command line: `openledger bridge demo --json` (a local L1 and a dev chain,
 * every step checked), and a dev node process killed with SIGKILL between a deposit and its
 * confirmation, then after applying it: minted exactly once; then a deposit moved by an L1 reorg
 * shallower than the confirmation depth: minted once, from its new block.
 */

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bridgeClients, depositAppliedAt, depositOf, l1AddressesToJson } from '@openledger/bridge'
import { parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { deposit, fundL1Open, L1_KEYS, l1Block, startTestL1 } from '../helpers/bridge.ts'
import { call, runCli, spawnDevProcess, tempDir, waitFor } from '../helpers/dev-node.ts'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {})
})

describe('openledger bridge', () => {
  it('demo --json: every step holds, one JSON object, exit 0', async () => {
    const r = await runCli(['bridge', 'demo', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout.trim())
    expect(Object.keys(j).sort()).toEqual([
      'conserved',
      'deposited',
      'finalized',
      'minted',
      'proven',
      'withdrawn',
    ])
    expect(j).toEqual({
      deposited: parseEther('10').toString(),
      minted: parseEther('10').toString(),
      withdrawn: parseEther('4').toString(),
      proven: parseEther('4').toString(),
      finalized: parseEther('4').toString(),
      conserved: true,
    })
  }, 300_000)

  it('a dev process SIGKILLed before the confirmation, and again after applying, mints once; so does a shallow L1 reorg', async () => {
    const l1 = await startTestL1({
      l2ChainId: 1337,
      validators: [],
      proposer: privateKeyToAccount(L1_KEYS[0]!).address,
      confirmations: 2,
    })
    cleanups.push(() => l1.stop())
    const user = privateKeyToAccount(L1_KEYS[1]!)
    await fundL1Open(l1, user.address)
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'l1.json')
    await writeFile(file, JSON.stringify(l1AddressesToJson(l1.addresses)))
    const args = ['--datadir', join(dir.path, 'chain'), '--l1-rpc', l1.anvil.url, '--l1-addresses', file]
    let p = await spawnDevProcess(args)
    cleanups.push(async () => {
      p.child.kill('SIGKILL')
    })
    const before = BigInt(await call(p.rpcUrl, 'eth_getBalance', [user.address, 'latest']))
    const r = await deposit(l1, L1_KEYS[1]!, parseEther('7'))
    const { sourceHash } = depositOf(r)
    p.child.kill('SIGKILL')
    await p.exited
    await l1.test.mine({ blocks: 2 })
    p = await spawnDevProcess(args)
    const c2 = bridgeClients({ l1Rpc: l1.anvil.url, l2Rpc: p.rpcUrl, addresses: l1.addresses })
    await waitFor(
      async () => (await depositAppliedAt(c2, sourceHash)) || undefined,
      60_000,
      'applied after restart',
    )
    p.child.kill('SIGKILL')
    await p.exited
    await l1.test.mine({ blocks: 3 })
    p = await spawnDevProcess(args)
    await call(p.rpcUrl, 'evm_mine')
    expect(await l1Block(p.rpcUrl).depositCount()).toBe(1n)
    expect(BigInt(await call(p.rpcUrl, 'eth_getBalance', [user.address, 'latest']))).toBe(
      before + parseEther('7'),
    )

    // An L1 reorg shallower than the confirmations moves a deposit to a new block: the process
    // mints it once, under its new identity, never under the old one.
    const r2 = await deposit(l1, L1_KEYS[1]!, parseEther('2'))
    const old = depositOf(r2)
    const raw = await l1.public.request({
      method: 'eth_getRawTransactionByHash',
      params: [r2.transactionHash],
    })
    await l1.test.request({ method: 'anvil_reorg', params: [1, [[raw, 0]]] })
    const moved = depositOf(await l1.public.getTransactionReceipt({ hash: r2.transactionHash }))
    expect(moved.sourceHash).not.toBe(old.sourceHash)
    await l1.test.mine({ blocks: 2 })
    const c3 = bridgeClients({ l1Rpc: l1.anvil.url, l2Rpc: p.rpcUrl, addresses: l1.addresses })
    await waitFor(
      async () => (await depositAppliedAt(c3, moved.sourceHash)) || undefined,
      60_000,
      'the re-included deposit applied',
    )
    expect(await depositAppliedAt(c3, old.sourceHash)).toBe(0n)
    expect(await l1Block(p.rpcUrl).depositCount()).toBe(2n)
    expect(BigInt(await call(p.rpcUrl, 'eth_getBalance', [user.address, 'latest']))).toBe(
      before + parseEther('9'),
    )
  }, 300_000)
})
