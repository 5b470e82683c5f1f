/**
 * `openledger devnet --validators 4 --l1 local`: real node processes and a real anvil L1 started
 * by one command. A deposit is minted once on every validator; a withdrawal is covered by an
 * output that a quorum of the 4 validators signed (gossiped signatures), proven with viem's
 * op-stack actions and finalised after the window; the Portal's balance is conserved.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import {
  bridgeClients,
  bridgeStatus,
  depositAppliedAt,
  depositOpen,
  finalizationElapsed,
  finalizeWithdrawalTx,
  L1_BLOCK_ADDRESS,
  proveWithdrawalTx,
  readL1Addresses,
  withdrawalStatus,
  withdrawOpen,
} from '@openledger/bridge'
import { parseEther } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { L1_KEYS } from '../helpers/bridge.ts'
import { BIN, call, tempDir, waitFor } from '../helpers/dev-node.ts'
import { freeRange } from '../helpers/network.ts'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {})
})

describe('openledger devnet --validators 4 --l1 local', () => {
  it('deposit → minted once everywhere; withdraw → signed output → prove → finalise; conserved', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const base = await freeRange(4, { withL1: true })
    const child: ChildProcess = spawn(
      process.execPath,
      [
        BIN,
        'devnet',
        '--validators',
        '4',
        '--l1',
        'local',
        '--port',
        String(base),
        '--p2p-port',
        String(base + 100),
        '--l1-port',
        String(base + 200),
        '--datadir',
        join(dir.path, 'net'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
    })
    child.stderr!.on('data', (d) => {
      out += d
    })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`devnet exited with ${child.exitCode}:\n${out}`)
        return out.includes('Press Ctrl-C')
      },
      180_000,
      'devnet table',
    )
    expect(out).toContain(`anvil at http://127.0.0.1:${base + 200}`)
    const addresses = await readL1Addresses(join(dir.path, 'net', 'l1-addresses.json'))
    const l1Rpc = `http://127.0.0.1:${base + 200}`
    const urls = [0, 1, 2, 3].map((i) => `http://127.0.0.1:${base + i}`)
    const c = bridgeClients({ l1Rpc, l2Rpc: urls[1]!, addresses, key: L1_KEYS[0] })

    // Deposit: minted once, in the same block on every validator.
    const { deposit } = await depositOpen(c, { amount: parseEther('25') })
    const at = await waitFor(
      async () => (await depositAppliedAt(c, deposit.sourceHash)) || undefined,
      120_000,
      'deposit applied',
    )
    await waitFor(
      async () =>
        (await Promise.all(urls.map((u) => call(u, 'eth_blockNumber')))).every((h) => BigInt(h) >= at),
      60_000,
      'all validators at the deposit block',
    )
    const heads = await Promise.all(
      urls.map((u) => call(u, 'eth_getBlockByNumber', [`0x${at.toString(16)}`, false])),
    )
    expect(new Set(heads.map((h) => h.hash)).size).toBe(1)
    for (const u of urls) {
      const count = await call(u, 'eth_getStorageAt', [L1_BLOCK_ADDRESS, '0x2', 'latest'])
      expect(BigInt(count)).toBe(1n)
    }

    // Withdraw → an output signed by a quorum of the 4 validators → prove → finalise.
    const { receipt } = await withdrawOpen(c, { amount: parseEther('5') })
    await waitFor(
      async () => (await withdrawalStatus(c, receipt.transactionHash)) === 'ready-to-prove',
      180_000,
      'output',
    )
    const proved = await proveWithdrawalTx(c, receipt.transactionHash)
    expect(await withdrawalStatus(c, receipt.transactionHash)).not.toBe('ready-to-prove')
    await waitFor(
      async () =>
        (await withdrawalStatus(c, receipt.transactionHash)) === 'ready-to-finalize' &&
        (await finalizationElapsed(c, proved.blockNumber)),
      120_000,
      'finalisation window',
    )
    await finalizeWithdrawalTx(c, receipt.transactionHash)
    expect(await withdrawalStatus(c, receipt.transactionHash)).toBe('finalized')
    const s = await bridgeStatus(c)
    expect(s.conserved).toBe(true)
    expect(s.locked).toBe(parseEther('20'))
    expect(s.minted).toBe(parseEther('25'))
    expect(s.released).toBe(parseEther('5'))

    child.kill('SIGINT')
    expect(await exited).toBe(0)
    await expect(call(l1Rpc, 'eth_blockNumber')).rejects.toThrow()
  }, 600_000)
})
