/** The Payable AI loop as a user runs it: real `openledger dev`, CLI processes for every step, a
 * real `openledger provider serve` process; payouts printed by `infer` equal the claimables. */
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deriveDevAccounts, hex } from '@openledger/node'
import { getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, type CliRun, type NodeProcess, runCli, spawnDevProcess, tempDir } from '../helpers/dev-node.ts'

const CORPUS = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url))
const accounts = deriveDevAccounts(6)
const DEV_KEYS = accounts.map((a) => hex(a.privateKey))
const DEV_ADDRESSES = accounts.map((a) => getAddress(hex(a.address)))
let dev: NodeProcess
let dir: { path: string; remove: () => Promise<void> }
const children: ChildProcess[] = []

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, {
    env: { ...process.env, OPENLEDGER_PRIVATE_KEY: '', ...env },
    onSpawn: (child) => children.push(child),
  })
}

/** Runs a command that must succeed with --json and returns the parsed output. */
async function json(args: string[], key?: number): Promise<any> {
  const r = await cli([
    ...args,
    '--rpc',
    dev.rpcUrl,
    '--json',
    ...(key === undefined ? [] : ['--key-file', keyFile(key)]),
  ])
  if (r.code !== 0) throw new Error(`openledger ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`)
  return JSON.parse(r.stdout)
}

const keyFile = (i: number) => join(dir.path, `key${i}`)
const CURATOR = 0
const ALICE = 1
const BOB = 2
const OWNER = 3
const PROVIDER = 4
const USER = 5

beforeAll(async () => {
  dir = await tempDir('ol-payable-e2e-')
  for (let i = 0; i <= USER; i++) await writeFile(keyFile(i), `${DEV_KEYS[i]}\n`)
  dev = await spawnDevProcess(['--accounts', '6'])
})

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  if (dev?.child.exitCode === null) dev.child.kill('SIGKILL')
  await dir?.remove()
})

describe('openledger datanet / model / provider / infer / rewards / attribution', () => {
  it('runs the whole loop over JSON-RPC with real processes', { timeout: 150_000 }, async () => {
    // Two extra curators, so that curation runs in parallel processes (one nonce sequence each).
    const created = await json(
      [
        'datanet',
        'create',
        '--name',
        'Fables',
        '--curator',
        DEV_ADDRESSES[OWNER]!,
        '--curator',
        DEV_ADDRESSES[PROVIDER]!,
      ],
      CURATOR,
    )
    const d = created.datanetId as string
    expect(d).toBe('1')
    const spam = join(dir.path, 'spam.txt')
    await writeFile(spam, 'BUY CHEAP GRAPES NOW')
    const [fox, crow, ref, noKey, badId] = await Promise.all([
      json(['datanet', 'contribute', d, '--file', join(CORPUS, 'aesop/fox-and-grapes.txt')], ALICE),
      json(['datanet', 'contribute', d, '--file', join(CORPUS, 'aesop/crow-and-pitcher.txt')], BOB),
      json(['datanet', 'contribute', d, '--file', spam, '--by-hash', '--uri', 'ipfs://spam'], USER),
      cli(['datanet', 'contribute', d, '--file', spam, '--rpc', dev.rpcUrl]),
      cli(['datanet', 'approve', 'abc', '1', '--rpc', dev.rpcUrl, '--key-file', keyFile(CURATOR)]),
    ])
    expect(fox).toMatchObject({ inlined: true })
    expect(ref).toMatchObject({ inlined: false })
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toMatch(/pass --key-file <file> or set OPENLEDGER_PRIVATE_KEY/)
    expect(badId.stderr).toMatch(/<datanet>: expected a positive integer id, got "abc"/)
    await Promise.all([
      json(['datanet', 'approve', d, fox.contributionId, '--weight', '1000'], CURATOR),
      json(['datanet', 'approve', d, crow.contributionId, '--weight', '500'], OWNER),
      json(['datanet', 'reject', d, ref.contributionId], PROVIDER),
    ])
    const published = await json(['datanet', 'publish', d], CURATOR)
    expect(published).toMatchObject({ version: '1', count: '2' })

    const trained = await json(
      [
        'model',
        'train',
        '--datanet',
        `${d}@1`,
        '--name',
        'Fables n-gram',
        '--provider',
        DEV_ADDRESSES[PROVIDER]!,
        '--out',
        join(dir.path, 'model'),
        '--min-fee',
        '0.01',
      ],
      OWNER,
    )
    expect(trained).toMatchObject({ modelId: '1', records: 2 })

    // The provider process, its key given as --key <file>.
    const serve = spawn(
      process.execPath,
      [
        BIN,
        'provider',
        'serve',
        '--model',
        '1',
        '--key',
        keyFile(PROVIDER),
        '--port',
        '0',
        '--rpc',
        dev.rpcUrl,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    children.push(serve)
    const providerUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      serve.stdout.on('data', (c) => {
        out += c
        const m = /Provider listening on (http:\/\/\S+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      serve.on('exit', (code) => reject(new Error(`provider exited ${code}`)))
    })

    const outputFile = join(dir.path, 'output.txt')
    const [inferred, shown, model, wrongFee] = await Promise.all([
      json(
        [
          'infer',
          '--provider',
          providerUrl,
          '--prompt',
          'A famished Fox saw some clusters',
          '--max-tokens',
          '30',
          '--save-output',
          outputFile,
        ],
        USER,
      ),
      json(['datanet', 'show', d]),
      json(['model', 'show', '1']),
      cli([
        'infer',
        '--provider',
        providerUrl,
        '--prompt',
        'A Crow perishing',
        '--max-fee',
        '0.001',
        '--rpc',
        dev.rpcUrl,
        '--key-file',
        keyFile(BOB),
      ]),
    ])
    expect(wrongFee.code).toBe(1)
    expect(wrongFee.stderr).toMatch(/more than --max-fee/)
    const status = (id: string) => shown.contributions.find((c: any) => c.contributionId === id).status
    expect([status(fox.contributionId), status(crow.contributionId), status(ref.contributionId)]).toEqual([
      2, 2, 3,
    ])
    expect(model).toMatchObject({
      artifactHash: trained.artifactHash,
      trainingLogHash: trained.trainingLogHash,
      trainingConfigHash: trained.trainingConfigHash,
    })
    expect(inferred.output).toContain('ripe black grapes')
    expect(inferred.fee).toBe('10000000000000000')
    const sum = inferred.payouts.reduce((a: bigint, p: any) => a + BigInt(p.amount), 0n)
    expect(sum).toBe(10n ** 16n)
    const alicePay = inferred.payouts.find((p: any) => p.role === 'contributor')
    expect(alicePay.account).toBe(DEV_ADDRESSES[ALICE])
    expect(alicePay.spans.join(' ')).toContain('ripe black grapes')

    const tampered = join(dir.path, 'tampered.txt')
    await writeFile(tampered, `${inferred.output} and then some`)
    const [aliceRewards, ownerRewards, verified, failed, human] = await Promise.all([
      json(['rewards', 'show', '--account', DEV_ADDRESSES[ALICE]!]),
      json(['rewards', 'show'], OWNER),
      cli([
        'attribution',
        'verify',
        '--receipt',
        inferred.receiptId,
        '--output-file',
        outputFile,
        '--rpc',
        dev.rpcUrl,
      ]),
      cli([
        'attribution',
        'verify',
        '--receipt',
        inferred.receiptId,
        '--output-file',
        tampered,
        '--rpc',
        dev.rpcUrl,
      ]),
      cli(['datanet', 'list', '--rpc', dev.rpcUrl]),
    ])
    // Printed payouts equal what the chain says is claimable.
    expect(aliceRewards.claimable).toBe(alicePay.amount)
    expect(aliceRewards.shares).toEqual([
      {
        datanetId: '1',
        version: '1',
        tokenId: ((1n << 128n) | 1n).toString(),
        name: 'Fables',
        shares: '1000',
        totalShares: '1500',
      },
    ])
    expect(ownerRewards.claimable).toBe(inferred.payouts.find((p: any) => p.role === 'model owner').amount)
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/^OK: receipt 0x[0-9a-f]{64} matches/)
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/FAILED/)
    expect(failed.stdout).toMatch(/OUTPUT_HASH_MISMATCH/)
    expect(failed.stdout).toMatch(/COMMITMENT_MISMATCH/)
    expect(human.stdout).toMatch(/id\s+name\s+owner/)
    expect(human.stdout).toContain('Fables')

    const claimed = await json(['rewards', 'claim'], ALICE)
    expect(claimed.amount).toBe(alicePay.amount)
    const again = await cli(['rewards', 'claim', '--rpc', dev.rpcUrl, '--key-file', keyFile(ALICE)])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/nothing to claim/)
    expect(again.stderr + again.stdout).not.toContain(DEV_KEYS[ALICE]!.slice(2))
    serve.kill('SIGTERM')
  })
})
