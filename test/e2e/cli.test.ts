/** The `openledger dev` command as a user runs it: banner, flags, block log lines, Ctrl-C. */
import { afterAll, describe, expect, it } from 'vitest'
import { call, type NodeProcess, runCli, spawnDevProcess, tempDir } from '../helpers/dev-node.ts'

const running: NodeProcess[] = []
afterAll(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL')
})

const runToExit = (args: string[]) => runCli(args)

describe('openledger dev', () => {
  it('prints chain id, accounts and keys, logs blocks and transactions, stops cleanly on SIGINT', {
    timeout: 120_000,
  }, async () => {
    const proc = await spawnDevProcess([
      '--accounts',
      '3',
      '--balance',
      '42',
      '--chain-id',
      '4242',
      '--gas-limit',
      '45000000',
    ])
    running.push(proc)
    const banner = proc.output()
    expect(banner).toMatch(/Chain ID:\s+4242/)
    expect(banner).toMatch(/Gas Limit:\s+45000000\n/)
    const genesisBlock = await call(proc.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])
    expect(BigInt(genesisBlock.gasLimit)).toBe(45_000_000n)
    expect(banner).toContain('(0) 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 (42.0 OPEN)')
    expect(banner).toContain('(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
    expect(banner).not.toContain('(3) 0x')
    expect(await call(proc.rpcUrl, 'eth_chainId')).toBe('0x1092')
    const accounts = await call(proc.rpcUrl, 'eth_accounts')
    expect(accounts).toHaveLength(3)
    expect(BigInt(await call(proc.rpcUrl, 'eth_getBalance', [accounts[0], 'latest']))).toBe(42n * 10n ** 18n)
    const hash = await call(proc.rpcUrl, 'eth_sendTransaction', [
      { from: accounts[0], to: accounts[1], value: '0x1' },
    ])
    const deadline = Date.now() + 10_000
    while (!proc.output().includes(hash) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(proc.output()).toMatch(/Block #1 0x[0-9a-f]{64}/)
    expect(proc.output()).toContain(`Transaction: ${hash} success gasUsed=21000`)
    // Found by pnpm fuzz:rpc: a block time past JavaScript's dates failed evm_mine after mining.
    await call(proc.rpcUrl, 'evm_setNextBlockTimestamp', ['0xffffffffffffff'])
    expect(await call(proc.rpcUrl, 'evm_mine')).toBe('0')
    expect(proc.output()).toMatch(/Block #2 0x[0-9a-f]{64} .* time=72057594037927935s/)
    proc.child.kill('SIGINT')
    expect(await proc.exited).toBe(0)
  })

  it('persists with --datadir and resumes after Ctrl-C', { timeout: 240_000 }, async () => {
    const dir = await tempDir()
    try {
      const first = await spawnDevProcess(['--datadir', dir.path])
      running.push(first)
      const accounts = await call(first.rpcUrl, 'eth_accounts')
      // The dev chain's default block gas limit (genesis/devnet.json; docs/decisions.md).
      const genesisBlock = await call(first.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])
      expect(BigInt(genesisBlock.gasLimit)).toBe(100_000_000n)
      await call(first.rpcUrl, 'eth_sendTransaction', [{ from: accounts[0], to: accounts[1], value: '0x1' }])
      const head = await call(first.rpcUrl, 'eth_blockNumber')
      first.child.kill('SIGINT')
      expect(await first.exited).toBe(0)
      const second = await spawnDevProcess(['--datadir', dir.path])
      running.push(second)
      expect(second.output()).toMatch(/Head block:\s+1/)
      expect(await call(second.rpcUrl, 'eth_blockNumber')).toBe(head)
      second.child.kill('SIGTERM')
      expect(await second.exited).toBe(0)
    } finally {
      await dir.remove()
    }
  })

  it('rejects bad flags with a message naming the flag', { timeout: 120_000 }, async () => {
    const bad = await runToExit(['dev', '--port', 'eighty'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--port/)
    const badTime = await runToExit(['dev', '--block-time', 'soon'])
    expect(badTime.stderr).toMatch(/--block-time/)
    const badGas = await runToExit(['dev', '--gas-limit', 'lots'])
    expect(badGas.code).not.toBe(0)
    expect(badGas.stderr).toMatch(/--gas-limit/)
    const tinyGas = await runToExit(['dev', '--gas-limit', '4999'])
    expect(tinyGas.code).not.toBe(0)
    expect(tinyGas.stderr).toMatch(/gasLimit.*at least 5000/)
    const badGenesis = await runToExit(['dev', '--genesis', '/nonexistent/genesis.json'])
    expect(badGenesis.code).not.toBe(0)
    expect(badGenesis.stderr).toMatch(/genesis/)
  })
})
