/**
 * The network CLI as a user runs it: `keys new`, `genesis new` (and their bad input), `node` with a
 * bad genesis, and `openledger devnet` starting validator processes on consecutive ports, printing
 * its table, finalising blocks and stopping everything on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, call, runCli, tempDir, waitFor } from '../helpers/dev-node.ts'
import { freeRange } from '../helpers/network.ts'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('openledger keys / genesis', () => {
  it('keys new writes a 0600 key file and prints address and peer id; genesis new uses it', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const keyFile = join(dir.path, 'v0.key')
    const k = await runCli(['keys', 'new', '--out', keyFile])
    expect(k.code).toBe(0)
    const address = /Address:\s+(0x[0-9a-f]{40})/.exec(k.stdout)?.[1]
    expect(address).toBeDefined()
    expect(k.stdout).toMatch(/Peer ID:\s+16Uiu2/)
    expect(k.stdout).not.toMatch(/[0-9a-f]{64}/) // the key itself is not printed when written to a file
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    expect((await runCli(['keys', 'new', '--out', keyFile])).stderr).toMatch(/already exists/)

    const genesisFile = join(dir.path, 'genesis.json')
    const g = await runCli([
      'genesis',
      'new',
      '--validator-keys',
      keyFile,
      '--block-period',
      '2',
      '--out',
      genesisFile,
    ])
    expect(g.code).toBe(0)
    const genesis = JSON.parse(await readFile(genesisFile, 'utf8'))
    expect(genesis.validators).toEqual([address])
    expect(genesis.consensus).toEqual({ type: 'qbft', blockPeriodSeconds: 2, requestTimeoutSeconds: 6 })
    expect(genesis.extraData.length).toBeGreaterThan(2 + 64)

    const bad = await runCli(['genesis', 'new', '--validators', '0x1234'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--validators: "0x1234" is not a 0x-prefixed 20-byte address/)
    const none = await runCli(['genesis', 'new'])
    expect(none.stderr).toMatch(/--validators and\/or --validator-keys/)
    const devGenesis = new URL('../../genesis/devnet.json', import.meta.url).pathname
    const dev = await runCli(['node', '--genesis', devGenesis, '--datadir', join(dir.path, 'd')])
    expect(dev.code).not.toBe(0)
    expect(dev.stderr).toMatch(/networked nodes need "qbft"/)
    const badKey = join(dir.path, 'bad.key')
    await import('node:fs/promises').then((fs) => fs.writeFile(badKey, 'not a key'))
    const nk = await runCli([
      'node',
      '--genesis',
      genesisFile,
      '--datadir',
      join(dir.path, 'e'),
      '--validator-key',
      badKey,
    ])
    expect(nk.stderr).toMatch(/expected a 32-byte private key/)
  })
})

describe('openledger devnet', () => {
  // The test's own bounded waits (120 s for the table, 60 s for blocks) set its timeout: in the
  // full suite the two validator processes start alongside other process tests.
  it('starts N validators on consecutive ports, finalises, and stops them all on Ctrl-C', {
    timeout: 240_000,
  }, async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const base = await freeRange(2)
    const child: ChildProcess = spawn(
      process.execPath,
      [
        BIN,
        'devnet',
        '--validators',
        '2',
        '--port',
        String(base),
        '--p2p-port',
        String(base + 100),
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
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    await waitFor(async () => out.includes('Press Ctrl-C'), 120_000, 'devnet table')
    expect(out).toMatch(/node0\s+http:\/\/127\.0\.0\.1:\d+\s+\d+\s+16Uiu2\w+\s+0x[0-9a-f]{40}/)
    expect(out).toContain(`http://127.0.0.1:${base + 1}`)
    expect(out).toContain('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    const urls = [0, 1].map((i) => `http://127.0.0.1:${base + i}`)
    await waitFor(
      async () => {
        const hs = await Promise.all(urls.map((u) => call(u, 'eth_blockNumber').catch(() => '0x0')))
        return hs.every((h) => BigInt(h) >= 3n)
      },
      60_000,
      'blocks on both validators',
    )
    const b2 = await Promise.all(urls.map((u) => call(u, 'eth_getBlockByNumber', ['0x2', false])))
    expect(b2[0].hash).toBe(b2[1].hash)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    // Every validator process is gone: nothing answers on their ports.
    for (const u of urls) await expect(call(u, 'eth_blockNumber')).rejects.toThrow()
  })
})
