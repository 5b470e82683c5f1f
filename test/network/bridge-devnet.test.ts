/**
 * `openledger devnet --validators 4 --l1 local`: real node processes and a real anvil L1 started
 * by one command. A deposit is minted once on every validator; a withdrawal is covered by an
 * output that a quorum of the 4 validators signed (gossiped signatures), proven with viem's
 * op-stack actions and finalised after the window; tampered proofs, a proof against a deleted
 * output, finalising early and finalising twice are refused; the Portal's balance is conserved.
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
  L2OutputOracle,
  Portal,
  proveWithdrawalTx,
  readL1Addresses,
  withdrawalStatus,
  withdrawOpen,
} from '@openledger/bridge'
import { type Hex, parseEther } from 'viem'
import { buildProveWithdrawal, getL2Output } from 'viem/op-stack'
import { afterAll, describe, expect, it } from 'vitest'
import { L1_KEYS } from '../helpers/bridge.ts'
import { BIN, call, tempDir, waitFor } from '../helpers/dev-node.ts'
import { freeRange } from '../helpers/network.ts'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {})
})

describe('openledger devnet --validators 4 --l1 local', () => {
  it('deposit → minted once everywhere; withdraw → signed output → prove → finalise; refusals; conserved', async () => {
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

    // Withdraw → an output signed by a quorum of the 4 validators.
    const { receipt, withdrawal } = await withdrawOpen(c, { amount: parseEther('5') })
    const output = async () => {
      await waitFor(
        async () => (await withdrawalStatus(c, receipt.transactionHash)) === 'ready-to-prove',
        180_000,
        'an output covering the withdrawal',
      )
      return getL2Output(c.l1, { l2BlockNumber: receipt.blockNumber, targetChain: c.l2Chain } as never)
    }
    const first = await output()
    const args = await buildProveWithdrawal(c.l2, { withdrawal, output: first } as never)
    const portal = { abi: Portal.abi, address: addresses.contracts.portal, account: c.account! } as const
    const prove = (a: typeof args, blockNumber?: bigint) =>
      c.l1.simulateContract({
        ...portal,
        functionName: 'proveWithdrawalTransaction',
        args: [a.withdrawal, a.l2OutputIndex, a.outputRootProof, a.withdrawalProof],
        blockNumber,
      } as never)
    const finalize = (blockNumber?: bigint) =>
      c.l1.simulateContract({
        ...portal,
        functionName: 'finalizeWithdrawalTransaction',
        args: [withdrawal],
        gas: 1_000_000n,
        blockNumber,
      } as never)

    // Refused: tampered proofs (another amount; a flipped byte in the trie proof).
    await expect(
      prove({ ...args, withdrawal: { ...args.withdrawal, value: args.withdrawal.value + 1n } }),
    ).rejects.toThrow(/invalid withdrawal inclusion proof/)
    const last = args.withdrawalProof.length - 1
    const flipped = args.withdrawalProof.map((p, i) =>
      i === last ? (`${p.slice(0, -2)}${p.endsWith('00') ? '01' : '00'}` as Hex) : p,
    )
    await expect(prove({ ...args, withdrawalProof: flipped })).rejects.toThrow(
      /invalid withdrawal inclusion proof/,
    )

    // Refused: proving against an output the challenger (the deployer) deleted, judged in the
    // deletion's block. The validators sign the block again and node0 proposes it again.
    const del = await c.l1.waitForTransactionReceipt({
      hash: await c.l1Wallet!.writeContract({
        abi: L2OutputOracle.abi,
        address: addresses.contracts.l2OutputOracle,
        functionName: 'deleteL2Outputs',
        args: [first.outputIndex],
        chain: c.l1Chain,
        account: c.account!,
      }),
    })
    expect(del.status).toBe('success')
    await expect(prove(args, del.blockNumber)).rejects.toThrow(/no output at this index/)
    const again = await output()
    expect(again.outputIndex).toBe(first.outputIndex)
    expect(again.outputRoot).toBe(first.outputRoot)

    const proved = await proveWithdrawalTx(c, receipt.transactionHash)
    expect(await withdrawalStatus(c, receipt.transactionHash)).not.toBe('ready-to-prove')
    // Refused: finalising early (judged in the proof's own block: no clock involved).
    await expect(finalize(proved.blockNumber)).rejects.toThrow(/finalization period has not elapsed/)
    await waitFor(
      async () =>
        (await withdrawalStatus(c, receipt.transactionHash)) === 'ready-to-finalize' &&
        (await finalizationElapsed(c, proved.blockNumber)),
      120_000,
      'finalisation window',
    )
    await finalizeWithdrawalTx(c, receipt.transactionHash)
    expect(await withdrawalStatus(c, receipt.transactionHash)).toBe('finalized')
    // Refused: finalising twice.
    await expect(finalize()).rejects.toThrow(/withdrawal has already been finalized/)
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
