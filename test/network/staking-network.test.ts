/**
 * The validator set follows stake, on real `openledger node` processes (real libp2p, LevelDB,
 * SIGKILL): a fifth node stakes through the CLI and signs from the next epoch; a validator
 * restarted mid-epoch keeps the set; an equivocation signed with a validator's real key is gossiped
 * into the network, reported by the validators themselves, slashed exactly 5 %, jailed, out at the
 * next epoch, and refused when replayed; the fifth validator's delegator undelegates and the node
 * leaves at the following epoch. Every node agrees on every block hash throughout.
 */
import { createPrepare, decodeExtraData, encodeMessage, privateKeySigner } from '@openledger/consensus'
import { stakingAbi } from '@openledger/staking'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  concat,
  createPublicClient,
  type Hex,
  http,
  keccak256,
  toBytes,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, DEV_KEYS, runCli, waitFor } from '../helpers/dev-node.ts'
import { GossipObserver } from '../helpers/gossip-observer.ts'
import { TestNetwork } from '../helpers/network.ts'

const EPOCH = 8n
const STAKING = '0x4f50454e00000000000000000000000000000004'
const OPERATOR = DEV_ADDRESSES[3]!.toLowerCase()
const OPERATOR_KEY = DEV_KEYS[3]!

let net: TestNetwork
beforeAll(async () => {
  net = await TestNetwork.create({
    validators: 4,
    candidates: 1,
    blockPeriodSeconds: 1,
    // Unbonding outlives the test (an hour), so its entry is still there to inspect at the end
    // however slowly a loaded machine gets there; payout at maturity is covered by the module tests.
    stakingParams: {
      epochLength: Number(EPOCH),
      unbondingTime: 3600,
      maxEvidenceAge: 7200,
      maxValidators: 5,
    },
    // Five TypeScript processes starting at once on a shared 2-core machine.
    startTimeoutMs: 180_000,
    // The CLI's estimates run on RPC workers below the node's priority: on a loaded machine, the
    // default 5 s aborted `stake undelegate` ("execution aborted (timeout = 5s)").
    nodeArgs: ['--rpc.evmtimeout', '60s'],
  })
  await net.startAll()
}, 240_000)
afterAll(async () => {
  await net?.close()
})

const url = (i: number) => net.nodes[i]!.rpcUrl
const addr = (i: number) => net.nodes[i]!.address!.toLowerCase()
const q = (n: bigint) => `0x${n.toString(16)}`

async function validatorSet(i: number) {
  const r = await call(url(i), 'ol_getValidatorSet')
  return {
    forBlock: BigInt(r.forBlock),
    nextStart: BigInt(r.epoch.nextStartBlock),
    members: (r.validators as { consensusAddress: string }[]).map((v) => v.consensusAddress),
  }
}

async function qbftSet(i: number, n: bigint): Promise<string[]> {
  return ((await call(url(i), 'qbft_getValidatorsByBlockNumber', [q(n)])) as string[]).map((a) =>
    a.toLowerCase(),
  )
}

/** Waits until node 0's set for the next block satisfies `pred`; returns the epoch's first block. */
async function waitForSet(pred: (members: string[]) => boolean, what: string): Promise<bigint> {
  const s = await waitFor(
    async () => {
      const s = await validatorSet(0).catch(() => undefined)
      return s && pred(s.members) ? s : undefined
    },
    180_000,
    what,
  )
  // The epoch of that set started at the last boundary at or before s.forBlock.
  return s.nextStart - EPOCH
}

async function hashesAgree(nodes: number[]): Promise<bigint> {
  const heads = await Promise.all(nodes.map((i) => net.blockNumber(i)))
  const top = heads.reduce((a, b) => (a < b ? a : b))
  for (let h = top > 40n ? top - 40n : 0n; h <= top; h++) {
    const blocks = await Promise.all(nodes.map((i) => call(url(i), 'eth_getBlockByNumber', [q(h), false])))
    for (const b of blocks) expect(b.hash, `block ${h}`).toBe(blocks[0].hash)
  }
  return top
}

function cli(args: string[]) {
  return runCli([...args, '--rpc', url(0)], { env: { ...process.env, OPENLEDGER_PRIVATE_KEY: OPERATOR_KEY } })
}

/**
 * Why an equivocation was not slashed: the pairs gossiped, what each validator logged about them,
 * and the Staking transactions since the first pair with their outcome.
 */
async function evidenceReport(published: bigint[], publishError: string | undefined): Promise<string> {
  const lines = [
    `pairs gossiped for heights ${published.join(', ') || 'none'}; last publish error: ${publishError ?? 'none'}`,
  ]
  for (const node of net.nodes) {
    const seen = node.log.split('\n').filter((l) => /equivocation|evidence/.test(l))
    lines.push(`node${node.index}: ${seen.length} evidence log lines; last: ${seen.at(-1) ?? '-'}`)
  }
  const head = await net.blockNumber(0).catch(() => -1n)
  for (let h = published[0] ?? head + 1n; h <= head; h++) {
    const b = await call(url(0), 'eth_getBlockByNumber', [q(h), true])
    for (const tx of b.transactions as { hash: string; to: string | null; from: string }[]) {
      if (tx.to?.toLowerCase() !== STAKING) continue
      const r = await call(url(0), 'eth_getTransactionReceipt', [tx.hash])
      lines.push(`block ${h}: Staking tx from ${tx.from} status ${r.status} gas ${BigInt(r.gasUsed)}`)
    }
  }
  return lines.join('\n')
}

describe('a validator set that follows stake', () => {
  let joinedAt = 0n

  it('a fifth node stakes via the CLI and signs blocks from the next epoch', async () => {
    await net.waitHeight(2n, [0, 1, 2, 3, 4], 120_000)
    expect((await validatorSet(0)).members).not.toContain(addr(4))
    const r = await cli([
      'stake',
      'create-validator',
      '--consensus',
      addr(4),
      '--amount',
      '1000',
      '--moniker',
      'fifth',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const created = JSON.parse(r.stdout)
    const receipt = await call(url(0), 'eth_getTransactionReceipt', [created.tx])
    const at = BigInt(receipt.blockNumber)
    const v = await call(url(1), 'ol_getValidator', [OPERATOR, q(at)])
    expect(v.consensusAddress).toBe(addr(4))
    expect(BigInt(v.tokens)).toBe(1_000n * 10n ** 18n)
    // Not a member of the set of its own block; elected at the end of the epoch it was created in.
    expect(await qbftSet(0, at)).not.toContain(addr(4))
    const s = await call(url(0), 'ol_getValidatorSet', [q(at)])
    joinedAt = BigInt(s.epoch.startBlock) === at + 1n ? at + 1n : BigInt(s.epoch.nextStartBlock)
    await waitForSet((m) => m.includes(addr(4)), 'the fifth validator in the set')
    await net.waitHeight(joinedAt, [0, 1, 2, 3, 4], 120_000)
    for (const i of [0, 4]) {
      expect(await qbftSet(i, joinedAt)).toContain(addr(4))
      expect(await qbftSet(i, joinedAt - 1n)).not.toContain(addr(4))
    }
    // The epoch's last header announces the next set's hash in its vanity.
    const last = await call(url(2), 'eth_getBlockByNumber', [q(joinedAt - 1n), false])
    const vanity = decodeExtraData(toBytes(last.extraData as Hex)).vanity
    const next = await qbftSet(2, joinedAt)
    expect(`0x${Buffer.from(vanity).toString('hex')}`).toBe(keccak256(concat(next as Hex[])))
    const other = await call(url(2), 'eth_getBlockByNumber', [q(joinedAt - 2n), false])
    expect(decodeExtraData(toBytes(other.extraData as Hex)).vanity.every((b) => b === 0)).toBe(true)
    // It proposes (and so signs) blocks of the new epoch.
    await waitFor(
      async () => {
        const head = await net.blockNumber(0)
        for (let h = joinedAt; h <= head; h++) {
          const b = await call(url(0), 'eth_getBlockByNumber', [q(h), false])
          if (b.miner.toLowerCase() === addr(4)) return true
        }
        return false
      },
      120_000,
      'a block proposed by the fifth validator',
    )
    expect((await call(url(0), 'ol_getValidator', [OPERATOR])).statusName).toBe('bonded')
    await hashesAgree([0, 1, 2, 3, 4])
  }, 420_000)

  it('a validator restarted in the middle of an epoch keeps the same set', async () => {
    // Wait for a height well inside an epoch.
    await waitFor(
      async () => {
        const h = await net.blockNumber(0)
        const pos = (h + 1n) % EPOCH
        return pos >= 2n && pos <= EPOCH - 3n
      },
      60_000,
      'mid-epoch',
    )
    const before = await validatorSet(0)
    await net.kill(1)
    await net.start(1)
    const after = await validatorSet(1)
    expect(after.members).toEqual(
      (await validatorSet(0)).forBlock < before.nextStart ? before.members : after.members,
    )
    const h = await net.blockNumber(0)
    await net.waitHeight(h + 3n, [0, 1, 2, 3, 4], 120_000)
    expect((await validatorSet(1)).members).toEqual((await validatorSet(0)).members)
    expect(await qbftSet(1, h + 2n)).toEqual(await qbftSet(0, h + 2n))
    await hashesAgree([0, 1, 2, 3, 4])
  }, 300_000)

  it('an equivocation signed with a real validator key is reported, slashed 5 %, jailed, out next epoch; replays fail', async () => {
    const target = addr(3)
    const tokens = BigInt((await call(url(0), 'ol_getValidator', [target])).tokens)
    const chainId = BigInt(await call(url(0), 'eth_chainId'))
    const signer = privateKeySigner(await net.validatorKey(3))
    const obs = await GossipObserver.join({ rpcUrl: url(0), bootnodes: net.bootnodes(-1), record: false })
    const published: bigint[] = []
    let publishError: string | undefined
    try {
      await waitFor(async () => obs.net.peerCount() > 0, 30_000, 'observer connected')
      // Two PREPAREs for the same height and round with different digests, gossiped just ahead of
      // the chain: every validator buffers them, sees the conflict when it reaches that height and,
      // once the height is committed, reports it; the slash lands a block or two later. Another
      // pair only if that did not happen (the pair missed a node that had already moved on).
      let n = 0
      await waitFor(
        async () => {
          if ((await call(url(0), 'ol_getValidator', [target])).tombstoned) return true
          // No new pair until the last one had its chance: its height committed, the report in a
          // block or two.
          const last = published.at(-1)
          if (last !== undefined && (await net.blockNumber(0)) < last + 3n) return false
          // The height after the next, unless it opens an epoch whose set is not elected yet
          // (validators ignore messages they cannot judge).
          const s = await validatorSet(0)
          const h = s.forBlock + 1n < s.nextStart ? s.forBlock + 1n : s.forBlock
          const a = createPrepare(signer, chainId, h, 0, keccak(`a${n}`))
          const b = createPrepare(signer, chainId, h, 0, keccak(`b${n++}`))
          for (const m of [a, b])
            await obs.net.publish('consensus', encodeMessage(m)).catch((e: Error) => {
              publishError = e.message
            })
          published.push(h)
          return false
        },
        180_000,
        'the equivocation slashed',
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${await evidenceReport(published, publishError)}`)
      })
    } finally {
      await obs.close()
    }
    // Node 2 may still be a block behind node 0 (where the slash was seen).
    await net.waitHeight(await net.blockNumber(0), [2], 60_000)
    const v = await call(url(2), 'ol_getValidator', [target])
    expect(v.jailed).toBe(true)
    expect(v.tombstoned).toBe(true)
    const slashed = (tokens * 500n) / 10_000n
    expect(BigInt(v.tokens)).toBe(tokens - slashed)
    expect(BigInt(v.tokens) * 100n).toBe(tokens * 95n)
    // Submitted by a validator (its node, with its own key), who got the reporter reward.
    const logs = await call(url(0), 'eth_getLogs', [
      { fromBlock: '0x0', toBlock: 'latest', address: STAKING },
    ])
    const client = createPublicClient({ transport: http(url(0)) })
    const { parseEventLogs } = await import('viem')
    const events = parseEventLogs({ abi: stakingAbi, logs, eventName: 'EvidenceSubmitted' })
    expect(events).toHaveLength(1)
    const reporter = (events[0]!.args.reporter as string).toLowerCase()
    expect([0, 1, 2, 4].map(addr)).toContain(reporter)
    const supply = await call(url(0), 'ol_getStakingSupply')
    expect(BigInt(supply.burned)).toBe(slashed - slashed / 10n)

    // The same evidence again (the pair that landed, from its transaction: the nodes may have
    // recorded further pairs of the target before it did) is refused.
    const { decodeFunctionData } = await import('viem')
    const landed = await client.getTransaction({ hash: events[0]!.transactionHash })
    const [, first, second] = decodeFunctionData({ abi: stakingAbi, data: landed.input }).args as [
      number,
      Hex,
      Hex,
    ]
    const ev = { first, second }
    const replay = await client
      .simulateContract({
        address: STAKING,
        abi: stakingAbi,
        functionName: 'submitEvidence',
        args: [0x13, ev.first, ev.second],
        account: DEV_ADDRESSES[4] as Address,
      })
      .catch((e: unknown) => e)
    expect(replay).toBeInstanceOf(BaseError)
    const reverted = (replay as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as
      | ContractFunctionRevertedError
      | undefined
    expect(reverted?.data?.errorName).toBe('EvidenceAlreadySubmitted')

    const out = await waitForSet((m) => !m.includes(target), 'the slashed validator out of the set')
    await net.waitHeight(out + 1n, [0, 1, 2, 4], 120_000)
    expect(await qbftSet(0, out)).not.toContain(target)
    expect(await qbftSet(0, out - 1n)).toContain(target)
    await hashesAgree([0, 1, 2, 3, 4])
  }, 420_000)

  it("the fifth validator's delegator undelegates and the node leaves at the following epoch", async () => {
    expect((await validatorSet(0)).members, 'the fifth validator, elected in the first test').toContain(
      addr(4),
    )
    const r = await cli(['stake', 'undelegate', '--validator', OPERATOR, '--amount', 'all'])
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toMatch(/Unbonding 1000(\.0)? OPEN/)
    const v = await call(url(0), 'ol_getValidator', [OPERATOR])
    expect(v.jailed).toBe(true)
    expect(BigInt(v.tokens)).toBe(0n)
    const left = await waitForSet((m) => !m.includes(addr(4)), 'the fifth validator out of the set')
    await net.waitHeight(left + 3n, [0, 1, 2], 120_000)
    // The set elected at the end of the previous epoch: without the fifth validator, and without
    // validator 3 if it was jailed by then (the equivocation test's slash, which that test checks;
    // read from the chain so that its failure does not make this one fail for the wrong reason).
    const slashed = (await call(url(0), 'ol_getValidator', [addr(3), q(left - 1n)])).jailed === true
    const remaining = (slashed ? [0, 1, 2] : [0, 1, 2, 3]).map(addr)
    expect(await qbftSet(0, left)).toEqual([...remaining].sort())
    for (let h = left; h <= left + 3n; h++) {
      const b = await call(url(0), 'eth_getBlockByNumber', [q(h), false])
      expect(remaining).toContain(b.miner.toLowerCase())
    }
    const show = await cli(['stake', 'show', '--json'])
    const unbonding = JSON.parse(show.stdout).delegations[0].unbonding as { balance: string }[]
    expect(unbonding).toHaveLength(1)
    expect(BigInt(unbonding[0]!.balance)).toBe(1_000n * 10n ** 18n)
    await hashesAgree([0, 1, 2, 3, 4])
  }, 420_000)
})

function keccak(s: string): Uint8Array {
  return toBytes(keccak256(toBytes(s)))
}
