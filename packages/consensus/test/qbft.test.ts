import { describe, expect, test } from 'vitest'
import { bytesEqual, toHex } from '../src/bytes.ts'
import { QbftEngine, type QbftHost } from '../src/engine.ts'
import { createPrepare, createProposal, createRoundChange, type QbftMessage } from '../src/messages.ts'
import {
  type Equivocation,
  type QbftOutput,
  QbftStateMachine,
  roundTimeoutMs,
  type SignedRecord,
  verifyEquivocation,
} from '../src/qbft.ts'
import { type Block, type Signer, StaticValidatorSet, sortValidators } from '../src/types.ts'
import { blockId, FakeKeyring, makeBlock, testBlocks } from './helpers.ts'

const CHAIN = 7n

/** n validators sorted by address (so index = Besu proposer order at height 1 from genesis). */
function setup(n: number) {
  const keyring = new FakeKeyring()
  const raw = Array.from({ length: n }, (_, i) => keyring.signer(500 + i))
  const order = sortValidators(raw.map((s) => s.address))
  const signers = order.map((a) => raw.find((s) => bytesEqual(s.address, a)) as Signer)
  const set = new StaticValidatorSet(order, () => new Uint8Array(20)) // genesis coinbase 0x0
  const machine = (s: Signer | undefined, history: SignedRecord[] = []) =>
    new QbftStateMachine({
      chainId: CHAIN,
      ...(s === undefined ? {} : { signer: s }),
      validators: set,
      blocks: testBlocks,
      recover: keyring.recover,
      timeouts: { baseMs: 1000, maxMs: 8000 },
      history,
    })
  return { keyring, signers, set, machine }
}

/** Feed an input; answer validateBlock requests with "valid" at once; collect everything. */
function run(
  sm: QbftStateMachine,
  input: Parameters<QbftStateMachine['handle']>[0],
  log: QbftOutput[] = [],
): QbftOutput[] {
  for (const o of sm.handle(input)) {
    log.push(o)
    if (o.type === 'validateBlock')
      run(sm, { type: 'blockValidated', digest: o.block.digest, valid: true }, log)
  }
  return log
}
const sent = (outs: QbftOutput[]): QbftMessage[] =>
  outs.flatMap((o) => (o.type === 'broadcast' ? [o.msg] : []))
const ofType = (outs: QbftOutput[], t: QbftMessage['type']) => sent(outs).filter((m) => m.type === t)
const deliver = (sm: QbftStateMachine, msgs: QbftMessage[]) =>
  msgs.flatMap((msg) => run(sm, { type: 'message', msg }))
const commits = (outs: QbftOutput[]) => outs.flatMap((o) => (o.type === 'commit' ? [o] : []))

describe('QBFT state machine', () => {
  test('single validator: request, propose, prepare, commit, decide; WAL record precedes every new signature', () => {
    const { signers, machine } = setup(1)
    const sm = machine(signers[0])
    const start = run(sm, { type: 'newHead', height: 0n })
    expect(start).toContainEqual({ type: 'requestBlock', height: 1n, round: 0 })
    expect(start).toContainEqual({ type: 'scheduleTimeout', height: 1n, round: 0, ms: 1000 })
    const block = makeBlock(1n, 0, signers[0]?.address as Uint8Array, 1n)
    const outs = run(sm, { type: 'proposalReady', block })
    expect(outs.map((o) => o.type)).toEqual([
      'persist',
      'broadcast',
      'persist',
      'broadcast',
      'persist',
      'broadcast',
      'commit',
    ])
    for (let i = 0; i < outs.length; i++) {
      const o = outs[i] as QbftOutput
      if (o.type === 'broadcast') {
        const p = outs[i - 1] as QbftOutput
        expect(p.type === 'persist' && bytesEqual(p.record.message, o.bytes)).toBe(true)
      }
    }
    const c = commits(outs)[0]
    expect(c?.block.digest).toEqual(block.digest)
    expect(c?.seals.length).toBe(1)
    expect(sm.decided).toBe(true)
    // Next height after the node imported it.
    expect(run(sm, { type: 'newHead', height: 1n })).toContainEqual({
      type: 'requestBlock',
      height: 2n,
      round: 0,
    })
  })

  test('round timer doubles per round and is capped', () => {
    expect([0, 1, 2, 3, 4, 10, 1000].map((r) => roundTimeoutMs(r, 1000, 8000))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ])
  })

  test('classic locking scenario: a value decided by one node is the only value the others can decide', () => {
    const { signers, machine } = setup(4)
    const [s0, s1] = signers as [Signer, Signer]
    const v = signers.map((s) => machine(s))
    const [v0, v1, v2, v3] = v as [QbftStateMachine, QbftStateMachine, QbftStateMachine, QbftStateMachine]
    for (const m of v) run(m, { type: 'newHead', height: 0n })
    // Round 0: v0 proposes X.
    const X = makeBlock(1n, 0, s0.address, 111n)
    const p0 = run(v0, { type: 'proposalReady', block: X })
    const proposal = ofType(p0, 'PROPOSAL')
    const prep0 = ofType(p0, 'PREPARE')
    const prep1 = ofType(deliver(v1, proposal), 'PREPARE')
    const prep2 = ofType(deliver(v2, proposal), 'PREPARE')
    deliver(v3, proposal) // v3 prepares too, but its prepare is lost
    // v0, v1, v2 see a quorum of prepares: they lock X and commit; v3 sees none.
    const c0 = ofType(deliver(v0, [...prep1, ...prep2]), 'COMMIT')
    const c1 = ofType(deliver(v1, [...prep0, ...prep2]), 'COMMIT')
    const c2 = ofType(deliver(v2, [...prep0, ...prep1]), 'COMMIT')
    expect([c0.length, c1.length, c2.length]).toEqual([1, 1, 1])
    expect(v2.lock?.block.digest).toEqual(X.digest)
    // Only v0 gets the commits: it decides X.
    const decided0 = commits(deliver(v0, [...c1, ...c2]))
    expect(decided0.length).toBe(1)
    const idX = blockId(X)

    // v1 turns byzantine and is the round-1 proposer. v2, v3 time out into round 1.
    const rc2 = ofType(run(v2, { type: 'timeout', height: 1n, round: 0 }), 'ROUND_CHANGE')
    const rc3 = ofType(run(v3, { type: 'timeout', height: 1n, round: 0 }), 'ROUND_CHANGE')
    expect(rc2[0]?.type === 'ROUND_CHANGE' && rc2[0].signed.payload.prepared?.round).toBe(0)
    const rcByz = createRoundChange(s1, CHAIN, 1n, 1)
    const Y = makeBlock(1n, 1, s1.address, 222n)
    const rcs = [rcByz.signed, rc2[0]?.signed, rc3[0]?.signed].filter((x) => x !== undefined)
    // (a) Y justified by the full quorum, which includes v2's prepared X: rejected.
    const yFull = createProposal(s1, CHAIN, Y, 1, rcs as never, [])
    // (b) Y justified only by round changes without a prepared value: not a quorum: rejected.
    const yPartial = createProposal(s1, CHAIN, Y, 1, [rcByz.signed, rc3[0]?.signed] as never, [])
    for (const m of [v2, v3]) {
      const outs = deliver(m, [rcByz, ...(m === v2 ? rc3 : rc2), yFull, yPartial])
      expect(outs.filter((o) => o.type === 'rejected').length).toBeGreaterThanOrEqual(1)
      expect(ofType(outs, 'PREPARE')).toEqual([])
    }
    // Round 2: honest v2 is the proposer; with a quorum of round changes it must re-propose X.
    const rc2b = ofType(run(v2, { type: 'timeout', height: 1n, round: 1 }), 'ROUND_CHANGE')
    const p2 = sent(run(v2, { type: 'message', msg: createRoundChange(s1, CHAIN, 1n, 2) }))
    const rc3b = ofType(run(v3, { type: 'timeout', height: 1n, round: 1 }), 'ROUND_CHANGE')
    const outs2 = deliver(v2, rc3b)
    const reproposal = ofType(
      [...outs2, ...p2.map((msg) => ({ type: 'broadcast', msg, bytes: new Uint8Array() }) as QbftOutput)],
      'PROPOSAL',
    )
    expect(reproposal.length).toBe(1)
    const rp = reproposal[0]
    if (rp?.type !== 'PROPOSAL') throw new Error('no proposal')
    expect(rp.signed.payload.round).toBe(2)
    expect(blockId(rp.signed.payload.block)).toBe(idX)
    expect(rc2b.length).toBe(1)
    // v3 accepts it (justified by v2's prepared certificate) and the honest ones decide X.
    const prepV3 = ofType(deliver(v3, [rp]), 'PREPARE')
    const prepV2 = ofType(outs2, 'PREPARE')
    const byzPrepare = createPrepare(s1, CHAIN, 1n, 2, rp.signed.payload.block.digest)
    const cm2 = ofType(deliver(v2, [...prepV3, byzPrepare]), 'COMMIT')
    const cm3 = ofType(deliver(v3, [...prepV2, byzPrepare]), 'COMMIT')
    const d2 = commits(deliver(v2, cm3))
    const d3 = commits(deliver(v3, cm2))
    expect(d2.length + d3.length).toBe(0) // 2 honest commits are not a quorum of 4 ...
    const byzCommit = ofType(deliver(v1, [rp, ...prepV2, ...prepV3]), 'COMMIT') // v1 (honest code) commits too
    const final2 = commits(deliver(v2, byzCommit))
    const final3 = commits(deliver(v3, byzCommit))
    expect(final2.length).toBe(1)
    expect(final3.length).toBe(1)
    expect(blockId(final2[0]?.block as Block)).toBe(idX)
    expect(blockId(final3[0]?.block as Block)).toBe(idX)
    expect(final2[0]?.round).toBe(2)
  })

  test('messages from non-validators and unjustified / wrong-proposer proposals are rejected', () => {
    const { keyring, signers, machine } = setup(4)
    const sm = machine(signers[2])
    run(sm, { type: 'newHead', height: 0n })
    const stranger = keyring.signer(999)
    const b = makeBlock(1n, 0, stranger.address, 1n)
    const outs = deliver(sm, [
      createPrepare(stranger, CHAIN, 1n, 0, b.digest),
      createProposal(signers[1] as Signer, CHAIN, makeBlock(1n, 0, signers[1]?.address as Uint8Array, 1n), 0), // not proposer
      createProposal(signers[1] as Signer, CHAIN, makeBlock(1n, 1, signers[1]?.address as Uint8Array, 1n), 1), // round 1, no justification
    ])
    const reasons = outs.flatMap((o) => (o.type === 'rejected' ? [o.reason] : []))
    expect(reasons).toEqual([
      'author is not a validator',
      'not the proposer of round 0',
      'round changes are not a quorum of distinct validators',
    ])
    expect(ofType(outs, 'PREPARE')).toEqual([])
  })

  test('equivocation: both messages returned as evidence, the first keeps counting', () => {
    const { keyring, signers, machine } = setup(4)
    const sm = machine(signers[3])
    run(sm, { type: 'newHead', height: 0n })
    const X = makeBlock(1n, 0, signers[0]?.address as Uint8Array, 1n)
    const Y = makeBlock(1n, 0, signers[0]?.address as Uint8Array, 2n)
    const a = createPrepare(signers[1] as Signer, CHAIN, 1n, 0, X.digest)
    const b = createPrepare(signers[1] as Signer, CHAIN, 1n, 0, Y.digest)
    const outs = deliver(sm, [a, a, b, b])
    const ev = outs.flatMap((o) => (o.type === 'evidence' ? [o.evidence] : []))
    expect(ev.length).toBe(1)
    expect(ev[0]?.first.encoded).toEqual(a.signed.encoded)
    expect(ev[0]?.second.encoded).toEqual(b.signed.encoded)
    expect(
      verifyEquivocation(ev[0] as Equivocation, {
        chainId: CHAIN,
        blocks: testBlocks,
        recover: keyring.recover,
      }),
    ).toBe(true)
    expect(
      verifyEquivocation(
        { ...(ev[0] as Equivocation), second: a.signed },
        {
          chainId: CHAIN,
          blocks: testBlocks,
          recover: keyring.recover,
        },
      ),
    ).toBe(false)
    // The first prepare (X) counts: with the proposal of X and one more prepare we commit X.
    const outs2 = deliver(sm, [
      createProposal(signers[0] as Signer, CHAIN, X, 0),
      createPrepare(signers[0] as Signer, CHAIN, 1n, 0, X.digest),
    ])
    const cm = ofType(outs2, 'COMMIT')
    expect(cm.length).toBe(1)
    expect(cm[0]?.type === 'COMMIT' && bytesEqual(cm[0].signed.payload.digest, X.digest)).toBe(true)
  })

  test('restart from WAL history: same round restored, a conflicting value is never signed', () => {
    const { signers, machine } = setup(4)
    const me = signers[2] as Signer
    const sm = machine(me)
    run(sm, { type: 'newHead', height: 0n })
    const X = makeBlock(1n, 0, signers[0]?.address as Uint8Array, 1n)
    const outs = deliver(sm, [createProposal(signers[0] as Signer, CHAIN, X, 0)])
    const wal = outs.flatMap((o) => (o.type === 'persist' ? [o.record] : []))
    expect(wal.map((r) => r.kind)).toEqual(['PREPARE'])
    // Also go to round 1 and persist its round change.
    const t = run(sm, { type: 'timeout', height: 1n, round: 0 })
    wal.push(...t.flatMap((o) => (o.type === 'persist' ? [o.record] : [])))
    expect(wal.map((r) => r.kind)).toEqual(['PREPARE', 'ROUND_CHANGE'])

    // Crash; restart with the WAL: resumes in round 1 and re-sends its round change, unsigned anew.
    const again = machine(me, wal)
    const boot = run(again, { type: 'newHead', height: 0n })
    expect(again.round).toBe(1)
    expect(boot.filter((o) => o.type === 'persist')).toEqual([])
    expect(ofType(boot, 'ROUND_CHANGE').map((m) => toHex(m.signed.signingHash))).toEqual([
      toHex(wal[1]?.digest as Uint8Array),
    ])

    // A fresh machine with history at round 0: an equivocating proposer's Y must not get a prepare.
    const fresh = machine(me, wal.slice(0, 1))
    run(fresh, { type: 'newHead', height: 0n })
    const Y = makeBlock(1n, 0, signers[0]?.address as Uint8Array, 2n)
    const outY = deliver(fresh, [createProposal(signers[0] as Signer, CHAIN, Y, 0)])
    expect(ofType(outY, 'PREPARE')).toEqual([])
    expect(outY.filter((o) => o.type === 'persist')).toEqual([])
  })

  test('QbftEngine releases nothing queued behind a persist until it is durable', async () => {
    const { signers, set, keyring } = setup(1)
    const events: string[] = []
    let releasePersist: () => void = () => {}
    let committed: () => void = () => {}
    const done = new Promise<void>((r) => {
      committed = r
    })
    const me = signers[0] as Signer
    const host: QbftHost = {
      buildBlock: async (h, r) => makeBlock(h, r, me.address, 5n),
      validateBlock: async () => true,
      commitBlock: async (b) => {
        events.push(`commit ${b.height}`)
        committed()
      },
      broadcast: (bytes) => events.push(`broadcast ${bytes[0]?.toString(16)}`),
      persist: (rec) => {
        events.push(`persist ${rec.kind}`)
        if (rec.kind !== 'PROPOSAL') return Promise.resolve()
        return new Promise<void>((r) => {
          releasePersist = () => {
            events.push('durable')
            r()
          }
        })
      },
      setTimer: () => () => {},
    }
    const engine = new QbftEngine(
      { chainId: CHAIN, signer: me, validators: set, blocks: testBlocks, recover: keyring.recover },
      host,
    )
    engine.start(0n)
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    expect(events).toEqual(['persist PROPOSAL'])
    releasePersist()
    await done
    expect(events).toEqual([
      'persist PROPOSAL',
      'durable',
      'broadcast 12',
      'persist PREPARE',
      'broadcast 13',
      'persist COMMIT',
      'broadcast 14',
      'commit 1',
    ])
    expect(engine.onConsensusMessage(Uint8Array.of(1, 2, 3))).toBe('reject')
    await engine.stop()
  })
})
