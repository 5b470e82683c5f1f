/** ModelFactory as a paid service with real processes: `openledger dev`, a requester using the CLI,
 * a trainer running `openledger provider serve --base 1 --train`; a job is paid, an expired job is
 * refunded, and a job whose adapter fails `model verify` is challenged and not paid. */
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ArtifactStore } from '@openledger/modelfactory'
import { deriveDevAccounts, hex } from '@openledger/node'
import { connect, fulfilJob, jobAction } from '@openledger/payable'
import { getAddress, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  type CliRun,
  call,
  type NodeProcess,
  runCli,
  spawnDevProcess,
  tempDir,
  waitFor,
} from '../helpers/dev-node.ts'

const CORPUS = fileURLToPath(new URL('../fixtures/corpus/aesop/', import.meta.url))
const accounts = deriveDevAccounts(6)
const KEYS = accounts.map((a) => hex(a.privateKey))
const ADDR = accounts.map((a) => getAddress(hex(a.address)))
const ARBITER = 0 // genesis/devnet.json names dev account 0 as the jobs arbiter
const CURATOR = 1
const ROGUE = 3
const TRAINER = 4
const REQUESTER = 5
const OPEN = 10n ** 18n

let dev: NodeProcess
let dir: { path: string; remove: () => Promise<void> }
const children: ChildProcess[] = []
const keyFile = (i: number) => join(dir.path, `key${i}`)
const store = (name: string) => join(dir.path, name)

function cli(args: string[]): Promise<CliRun> {
  return runCli([...args, '--rpc', dev.rpcUrl], {
    env: { ...process.env, OPENLEDGER_PRIVATE_KEY: '' },
    onSpawn: (c) => children.push(c),
  })
}

async function json(args: string[], key?: number): Promise<any> {
  const r = await cli([...args, '--json', ...(key === undefined ? [] : ['--key-file', keyFile(key)])])
  if (r.code !== 0) throw new Error(`openledger ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`)
  return JSON.parse(r.stdout)
}

const balance = async (i: number) => BigInt(await call(dev.rpcUrl, 'eth_getBalance', [ADDR[i], 'latest']))
const status = async (job: number) =>
  (await json(['model', 'job', 'status', String(job)])).statusName as string

/** `provider serve --base 1 --train` as its own process; resolves with its URL once listening. */
function spawnTrainer(): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const args = [
    'provider',
    'serve',
    '--base',
    '1',
    '--train',
    '--job-poll',
    '300',
    '--port',
    '0',
    '--key-file',
    keyFile(TRAINER),
    '--store',
    store('trainer'),
    '--rpc',
    dev.rpcUrl,
  ]
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  let err = ''
  child.stderr!.on('data', (d) => {
    err += d
  })
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /Provider listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve({ child, url: m[1]!, log: () => err })
    })
    child.on('exit', (code) => reject(new Error(`trainer exited ${code}\n${out}\n${err}`)))
  })
}

beforeAll(async () => {
  dir = await tempDir('ol-jobs-e2e-')
  for (let i = 0; i < KEYS.length; i++) await writeFile(keyFile(i), `${KEYS[i]}\n`)
  dev = await spawnDevProcess(['--accounts', '6'])
  // The base model (account 0) and a datanet of four fables (curator: account 1).
  await json(
    [
      'model',
      'base',
      'train',
      '--preset',
      'micro',
      '--steps',
      '40',
      '--corpus-docs',
      '20',
      '--store',
      store('base'),
    ],
    ARBITER,
  )
  await json(['datanet', 'create', '--name', 'Fables'], CURATOR)
  for (const f of ['fox-and-grapes', 'hare-and-tortoise', 'ants-and-grasshopper', 'lion-and-mouse']) {
    await json(['datanet', 'contribute', '1', '--file', join(CORPUS, `${f}.txt`)], 2)
  }
  for (const c of [1, 2, 3, 4]) await json(['datanet', 'approve', '1', String(c)], CURATOR)
  await json(['datanet', 'publish', '1'], CURATOR)
}, 300_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  if (dev?.child.exitCode === null) dev.child.kill('SIGKILL')
  await dir?.remove()
})

const post = (extra: string[] = []) =>
  json(
    [
      'model',
      'job',
      'post',
      '--base',
      '1',
      '--datanet',
      '1@1',
      '--payment',
      '2',
      '--steps',
      '20',
      '--batch',
      '4',
      '--review',
      '60',
      '--store',
      store('requester'),
      ...extra,
    ],
    REQUESTER,
  )

describe('paid fine-tuning jobs, requester and trainer processes', () => {
  it('posted → claimed → adapter registered → accepted → trainer paid; the adapter is served at once', {
    timeout: 300_000,
  }, async () => {
    const trainer = await spawnTrainer()
    const { jobId } = await post()
    expect(jobId).toBe('1')
    await waitFor(
      async () => (await status(1)) === 'submitted',
      180_000,
      `job 1 submitted (trainer log: ${trainer.log()})`,
    )
    const job = await json(['model', 'job', 'status', '1'])
    expect(job.trainer).toBe(ADDR[TRAINER])
    const verified = await cli(['model', 'job', 'verify', '1', '--store', store('requester')])
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/^OK: job 1's adapter/)
    const before = await balance(TRAINER)
    await json(['model', 'job', 'accept', '1'], REQUESTER)
    expect(await status(1)).toBe('paid')
    expect((await balance(TRAINER)) - before).toBe(2n * OPEN)
    // The trainer's provider serves the adapter it just registered, with receipts naming it.
    const res = await fetch(`${trainer.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: job.modelId, prompt: 'The Fox', max_tokens: 8 }),
    })
    expect(((await res.json()) as any).openledger.receipt.modelId).toBe(job.modelId)
    trainer.child.kill('SIGTERM')
    await new Promise((r) => trainer.child.once('exit', r))
  })

  it('an expired job nobody submitted is refunded', { timeout: 120_000 }, async () => {
    const { jobId } = await post(['--deadline', '600'])
    const refusal = await cli(['model', 'job', 'refund', jobId, '--key-file', keyFile(2)])
    expect(refusal.code).toBe(1)
    expect(refusal.stderr).toMatch(/DeadlineNotPassed/)
    const before = await balance(REQUESTER)
    await call(dev.rpcUrl, 'evm_increaseTime', [601])
    await call(dev.rpcUrl, 'evm_mine', [])
    await json(['model', 'job', 'refund', jobId], 2)
    expect(await status(Number(jobId))).toBe('refunded')
    expect((await balance(REQUESTER)) - before).toBe(2n * OPEN)
  })

  it('a job whose adapter fails model verify is challenged and not paid', { timeout: 300_000 }, async () => {
    const { jobId } = await post()
    // A dishonest trainer (this process, account 3) registers an artifact that is not the result
    // of the training: one byte of the trained adapter changed.
    const rogue = await connect(dev.rpcUrl, KEYS[ROGUE] as Hex)
    await jobAction(rogue, 'claimJob', BigInt(jobId))
    await fulfilJob(rogue, BigInt(jobId), {
      store: new ArtifactStore(store('rogue')),
      provider: ADDR[ROGUE] as Hex,
      minFeePerInference: 10n ** 15n,
      ownerShareBps: 2000,
      tamper: (a) => {
        a[a.length - 5] = (a[a.length - 5] as number) ^ 0x01
        return a
      },
    })
    expect(await status(Number(jobId))).toBe('submitted')
    const verify = await cli(['model', 'job', 'verify', jobId, '--store', store('requester')])
    expect(verify.code).toBe(1)
    expect(verify.stdout).toMatch(/ARTIFACT_MISMATCH/)
    const challenged = await json(
      ['model', 'job', 'challenge', jobId, '--store', store('requester')],
      REQUESTER,
    )
    expect(BigInt(challenged.bond)).toBe((2n * OPEN) / 10n)
    await call(dev.rpcUrl, 'evm_increaseTime', [120])
    await call(dev.rpcUrl, 'evm_mine', [])
    // The review period is over, but a challenged job cannot be finalized for the trainer.
    const finalize = await cli(['model', 'job', 'finalize', jobId, '--key-file', keyFile(ROGUE)])
    expect(finalize.code).toBe(1)
    expect(finalize.stderr).toMatch(/WrongJobStatus/)
    const notArbiter = await cli(['model', 'job', 'resolve', jobId, '--valid', '--key-file', keyFile(ROGUE)])
    expect(notArbiter.stderr).toMatch(/NotArbiter/)
    const [rogueBefore, requesterBefore] = [await balance(ROGUE), await balance(REQUESTER)]
    await json(['model', 'job', 'resolve', jobId, '--invalid'], ARBITER)
    expect(await status(Number(jobId))).toBe('refunded')
    expect(await balance(ROGUE)).toBe(rogueBefore)
    expect((await balance(REQUESTER)) - requesterBefore).toBe(2n * OPEN + (2n * OPEN) / 10n)
  })
})
