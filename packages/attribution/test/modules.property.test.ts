import { Exec } from '@openledger/module-kit'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  DATANET_FIELDS,
  DATANETS_ADDRESS,
  datanetSlot,
  GOVERNANCE_ADDRESS,
  readDatanet,
  readPoolCarry,
  readRewards,
  STAKING_ADDRESS,
  shareTokenId,
} from '../src/modules/index.ts'
import { mintShares } from '../src/modules/rewards.ts'
import {
  ALICE,
  account,
  BOB,
  CAROL,
  CURATOR,
  hex,
  MODEL_OWNER,
  makeReceipt,
  OWNER,
  type ReceiptInput,
  signReceipt,
  USER,
  World,
} from './modules.fixture.ts'

async function baseWorld() {
  const w = new World()
  const d1 = await w.createDatanet()
  const a = await w.contribute(d1, ALICE, 'a')
  const b = await w.contribute(d1, BOB, 'b')
  await w.approve(d1, a, 3n)
  await w.approve(d1, b, 7n)
  await w.publish(d1)
  const d2 = await w.createDatanet()
  const c = await w.contribute(d2, CAROL, 'c')
  await w.approve(d2, c, 1000n)
  await w.publish(d2)
  const model = await w.registerModel([
    { datanetId: d1, version: 1n },
    { datanetId: d2, version: 1n },
  ])
  return { w, d1, d2, a, b, model }
}

const PEOPLE = [ALICE, BOB, CAROL, USER, MODEL_OWNER, CURATOR]
const EVERYONE = [...PEOPLE, GOVERNANCE_ADDRESS, STAKING_ADDRESS]

type Op =
  | { kind: 'settle'; fee: bigint; w1: number; named: boolean; cw: number }
  | { kind: 'contribute'; who: number; weight: number }
  | { kind: 'transfer'; from: number; to: number; datanet: 0 | 1; amount: number }
  | { kind: 'claim'; who: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('settle' as const),
    fee: fc.bigInt({ min: 1000n, max: 10n ** 21n }),
    w1: fc.integer({ min: 0, max: 1_000_000 }),
    named: fc.boolean(),
    cw: fc.integer({ min: 0, max: 1_000_000 }),
  }),
  fc.record({
    kind: fc.constant('contribute' as const),
    who: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
    weight: fc.integer({ min: 1, max: 1_000_000 }),
  }),
  fc.record({
    kind: fc.constant('transfer' as const),
    from: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
    to: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
    datanet: fc.constantFrom(0 as const, 1 as const),
    amount: fc.integer({ min: 0, max: 1200 }),
  }),
  fc.record({ kind: fc.constant('claim' as const), who: fc.integer({ min: 0, max: EVERYONE.length - 1 }) }),
)

describe('conservation and cost properties', () => {
  it('every wei paid in is in exactly one claimable balance, over random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
        const { w, d1, d2, a, b, model } = await baseWorld()
        const supply = w.h.state.totalBalance()
        let nonce = 0n
        let paidIn = 0n
        let paidOut = 0n
        for (const op of ops) {
          if (op.kind === 'settle') {
            nonce++
            const r = makeReceipt({
              modelId: model,
              nonce,
              fee: op.fee,
              entries: [
                op.named
                  ? {
                      datanetId: d1,
                      datanetVersion: 1n,
                      weight: op.w1,
                      contributionIds: [a, b],
                      contributionWeights: [op.cw, 1_000_000 - op.cw],
                    }
                  : {
                      datanetId: d1,
                      datanetVersion: 1n,
                      weight: op.w1,
                      contributionIds: [],
                      contributionWeights: [],
                    },
                {
                  datanetId: d2,
                  datanetVersion: 1n,
                  weight: 1_000_000 - op.w1,
                  contributionIds: [],
                  contributionWeights: [],
                },
              ],
            })
            const res = await w.raw('attribution', 'settle', [r, await signReceipt(r)], {
              from: USER,
              value: r.fee,
            })
            expect(res.status).toBe('success')
            paidIn += r.fee
          } else if (op.kind === 'contribute') {
            const who = PEOPLE[op.who] as Uint8Array
            const cid = await w.contribute(d2, who, `row ${nonce} ${op.who} ${op.weight}`)
            // Nobody approves its own contribution: the owner curates the curator's.
            await w.approve(d2, cid, BigInt(op.weight), who === CURATOR ? OWNER : CURATOR)
            // Shares of version 2+ of D2: they earn nothing from receipts naming version 1.
            if (op.weight % 2 === 0) await w.publish(d2)
          } else if (op.kind === 'transfer') {
            const from = PEOPLE[op.from] as Uint8Array
            const to = PEOPLE[op.to] as Uint8Array
            const id = shareTokenId(op.datanet === 0 ? d1 : d2, 1n)
            await w.raw('datanets', 'transferShares', [hex(from), hex(to), id, BigInt(op.amount)], { from })
          } else {
            const who = EVERYONE[op.who] as Uint8Array
            const before = await w.balance(who)
            const res = await w.raw('attribution', 'claim', [], { from: who })
            if (res.status === 'success') paidOut += (await w.balance(who)) - before
          }
          // Exactly, in units of 2^-64 wei: the module holds what every account may claim, their
          // sub-wei remainders, and what the version pools carry (below 2^-64 wei per share).
          let claimable = 0n
          let exact = 0n
          for (const acct of EVERYONE) {
            const r = await readRewards(w.h.state, acct)
            claimable += r.claimable
            exact += (r.claimable << 64n) + r.remainder
          }
          let carried = 0n
          for (const id of [d1, d2]) {
            const versions = (await readDatanet(w.h.state, id))?.versionCount ?? 0n
            for (let v = 1n; v <= versions; v++) carried += await readPoolCarry(w.h.state, id, v)
          }
          const held = await w.balance(ATTRIBUTION_ADDRESS)
          expect(held << 64n).toBe(exact + carried)
          expect(held).toBe(paidIn - paidOut)
          // In whole wei: what no account can claim yet is below one wei per account and pool.
          expect(held - claimable >= 0n && held - claimable < BigInt(EVERYONE.length + 4)).toBe(true)
          expect(w.h.state.totalBalance()).toBe(supply)
        }
      }),
      { numRuns: 20 },
    )
  })

  async function settleGas(holders: number): Promise<bigint> {
    const w = new World()
    const d = await w.createDatanet()
    await w.approve(d, await w.contribute(d, CAROL, 'c'), 1000n)
    if (holders > 1) {
      // Mint version-1 shares to holders 2..N with the module's own share logic (as 9,999
      // approvals would), before version 1 is published.
      const x = new Exec(w.h.state, 10n ** 15n)
      for (let i = 1; i < holders; i++) await mintShares(x, shareTokenId(d, 1n), account(1000 + i), 10n)
      const slot = datanetSlot(d, DATANET_FIELDS.totalShares)
      x.writeU256(
        DATANETS_ADDRESS,
        slot,
        (await x.readU256(DATANETS_ADDRESS, slot)) + 10n * BigInt(holders - 1),
      )
      await x.commit()
    }
    await w.publish(d)
    const model = await w.registerModel([{ datanetId: d, version: 1n }])
    const r = (nonce: bigint): ReceiptInput =>
      makeReceipt({
        modelId: model,
        nonce,
        entries: [
          {
            datanetId: d,
            datanetVersion: 1n,
            weight: 1_000_000,
            contributionIds: [],
            contributionWeights: [],
          },
        ],
      })
    // The first settlement creates the treasury/stakers/owner balance slots; measure the second.
    await w.ok('attribution', 'settle', [r(1n), await signReceipt(r(1n))], { from: USER, value: r(1n).fee })
    const res = await w.raw('attribution', 'settle', [r(2n), await signReceipt(r(2n))], {
      from: USER,
      value: r(2n).fee,
    })
    expect(res.status).toBe('success')
    if (holders > 1) {
      // A seeded holder earned exactly its pro-rata part: the seeding is consistent with the accounting.
      const total = 1000n + 10n * BigInt(holders - 1)
      const perSettle = (r(1n).fee * 5000n) / 10000n
      expect((await readRewards(w.h.state, account(1000 + holders - 1))).claimable).toBe(
        (10n * 2n * perSettle) / total,
      )
    }
    return res.gasUsed
  }

  it('settle gas is identical with 1 and 10,000 contributors in the datanet', async () => {
    const one = await settleGas(1)
    const many = await settleGas(10_000)
    expect(many).toBe(one)
  }, 60_000)

  it('claim gas does not depend on the number of settled inferences', async () => {
    const claimGasAfter = async (settlements: number) => {
      const { w, d2, model } = await baseWorld()
      for (let n = 1n; n <= BigInt(settlements); n++) {
        const r = makeReceipt({
          modelId: model,
          nonce: n,
          entries: [
            {
              datanetId: d2,
              datanetVersion: 1n,
              weight: 1_000_000,
              contributionIds: [],
              contributionWeights: [],
            },
          ],
        })
        await w.ok('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
      }
      const res = await w.raw('attribution', 'claim', [], { from: CAROL })
      expect(res.status).toBe('success')
      return res.gasUsed
    }
    const once = await claimGasAfter(1)
    const many = await claimGasAfter(40)
    expect(many).toBe(once)
  })
})
