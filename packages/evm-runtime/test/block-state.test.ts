/** BlockStateManager (batched trie commits) must give exactly the state roots of EthereumJS's own
 * MerkleStateManager for any sequence of account, storage and deletion writes. */
import { Common, Mainnet } from '@ethereumjs/common'
import { createMPT } from '@ethereumjs/mpt'
import { Caches, CacheType, MerkleStateManager } from '@ethereumjs/statemanager'
import { Account, Address } from '@ethereumjs/util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BlockStateManager } from '../src/state/block-state.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const address = (i: number) => new Address(Uint8Array.from({ length: 20 }, (_, j) => (i * 37 + j) & 0xff))

async function manager(Kind: typeof MerkleStateManager): Promise<MerkleStateManager> {
  const common = new Common({ chain: Mainnet })
  const caches = new Caches({
    account: { type: CacheType.LRU, size: 1000 },
    storage: { type: CacheType.LRU, size: 1000 },
    code: { type: CacheType.LRU, size: 100 },
  })
  return new Kind({ trie: await createMPT({ useKeyHashing: true }), common, caches })
}

type Op =
  | { kind: 'account'; who: number; balance: bigint; nonce: bigint }
  | { kind: 'storage'; who: number; slot: number; value: number }
  | { kind: 'delete'; who: number }
  | { kind: 'code'; who: number; code: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('account' as const),
    who: fc.nat(12),
    balance: fc.bigInt(0n, 10n ** 20n),
    nonce: fc.bigInt(0n, 5n),
  }),
  fc.record({ kind: fc.constant('storage' as const), who: fc.nat(12), slot: fc.nat(40), value: fc.nat(3) }),
  fc.record({ kind: fc.constant('delete' as const), who: fc.nat(12) }),
  fc.record({ kind: fc.constant('code' as const), who: fc.nat(12), code: fc.nat(255) }),
)

/** Creates the account if absent, clearing its storage as the EVM does when it creates an account
 * (a deleted account's storage must not come back). */
async function ensure(sm: MerkleStateManager, a: Address): Promise<void> {
  if ((await sm.getAccount(a)) !== undefined) return
  await sm.putAccount(a, new Account(1n))
  await sm.clearStorage(a)
}

async function apply(sm: MerkleStateManager, ops: Op[]): Promise<void> {
  for (const o of ops) {
    const a = address(o.who)
    if (o.kind === 'account') {
      const existing = await sm.getAccount(a)
      const acct = existing ?? new Account()
      acct.balance = o.balance
      acct.nonce = o.nonce
      await sm.putAccount(a, acct)
      if (existing === undefined) await sm.clearStorage(a)
    } else if (o.kind === 'storage') {
      await ensure(sm, a)
      const slot = new Uint8Array(32)
      slot[31] = o.slot
      // value 0 deletes the slot, others are short and padded values
      const value = o.value === 0 ? new Uint8Array(0) : Uint8Array.of(o.value, 0, o.value)
      await sm.putStorage(a, slot, value)
    } else if (o.kind === 'delete') {
      await sm.deleteAccount(a)
    } else {
      await ensure(sm, a)
      await sm.putCode(a, Uint8Array.of(0x60, o.code, 0x00))
    }
  }
}

describe('BlockStateManager', () => {
  it('computes the same state root as MerkleStateManager, block after block', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        async (blocks) => {
          const reference = await manager(MerkleStateManager)
          const batched = await manager(BlockStateManager)
          for (const ops of blocks) {
            for (const sm of [reference, batched]) {
              await sm.checkpoint()
              await apply(sm, ops)
              await sm.commit()
            }
            expect(hex(await batched.getStateRoot())).toBe(hex(await reference.getStateRoot()))
          }
          // and what was written reads back the same through the library's own paths
          for (let who = 0; who <= 12; who++) {
            const a = address(who)
            const [x, y] = [await reference.getAccount(a), await batched.getAccount(a)]
            expect(y?.serialize() && hex(y.serialize())).toBe(x?.serialize() && hex(x.serialize()))
            for (let s = 0; s <= 40; s += 7) {
              const slot = new Uint8Array(32)
              slot[31] = s
              expect(hex(await batched.getStorage(a, slot))).toBe(hex(await reference.getStorage(a, slot)))
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('BlockStateManager storage reads (front cache)', () => {
  type Step =
    | Op
    | { kind: 'read'; who: number; slot: number }
    | { kind: 'checkpoint' }
    | { kind: 'revert' }
    | { kind: 'commit' }
  // Few accounts and slots, so that reads, writes and reverts meet on the same slot.
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('account' as const),
      who: fc.nat(2),
      balance: fc.bigInt(0n, 10n),
      nonce: fc.bigInt(0n, 2n),
    }),
    fc.record({ kind: fc.constant('storage' as const), who: fc.nat(2), slot: fc.nat(3), value: fc.nat(3) }),
    fc.record({ kind: fc.constant('storage' as const), who: fc.nat(2), slot: fc.nat(3), value: fc.nat(3) }),
    fc.record({ kind: fc.constant('delete' as const), who: fc.nat(2) }),
    fc.record({ kind: fc.constant('code' as const), who: fc.nat(2), code: fc.nat(3) }),
    fc.record({ kind: fc.constant('read' as const), who: fc.nat(2), slot: fc.nat(3) }),
    fc.record({ kind: fc.constant('read' as const), who: fc.nat(2), slot: fc.nat(3) }),
    fc.record({ kind: fc.constant('read' as const), who: fc.nat(2), slot: fc.nat(3) }),
    fc.record({ kind: fc.constant('checkpoint' as const) }),
    fc.record({ kind: fc.constant('revert' as const) }),
    fc.record({ kind: fc.constant('commit' as const) }),
  )

  it('forgets a value read inside a reverted checkpoint', async () => {
    for (const Kind of [MerkleStateManager, BlockStateManager]) {
      const sm = await manager(Kind)
      const a = address(1)
      const slot = new Uint8Array(32)
      await sm.checkpoint()
      await sm.putAccount(a, new Account(1n))
      await sm.putStorage(a, slot, Uint8Array.of(4))
      await sm.checkpoint()
      await sm.putStorage(a, slot, Uint8Array.of(5))
      expect(hex(await sm.getStorage(a, slot))).toBe('05')
      await sm.revert()
      expect(hex(await sm.getStorage(a, slot))).toBe('04')
      await sm.deleteAccount(a)
      expect(hex(await sm.getStorage(a, slot))).toBe('')
    }
  })

  it('reads what MerkleStateManager reads through writes, checkpoints, reverts and deletions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 80 }), async (steps) => {
        const reference = await manager(MerkleStateManager)
        const front = await manager(BlockStateManager)
        for (const sm of [reference, front]) await sm.checkpoint()
        let depth = 1
        for (const s of steps) {
          if (s.kind === 'checkpoint') {
            depth++
            for (const sm of [reference, front]) await sm.checkpoint()
          } else if (s.kind === 'revert' || s.kind === 'commit') {
            if (depth === 1) continue
            depth--
            for (const sm of [reference, front]) await (s.kind === 'revert' ? sm.revert() : sm.commit())
          } else if (s.kind === 'read') {
            const slot = new Uint8Array(32)
            slot[31] = s.slot
            const a = address(s.who)
            expect(hex(await front.getStorage(a, slot))).toBe(hex(await reference.getStorage(a, slot)))
          } else for (const sm of [reference, front]) await apply(sm, [s])
        }
        for (const sm of [reference, front]) for (let d = depth; d > 0; d--) await sm.commit()
        expect(hex(await front.getStateRoot())).toBe(hex(await reference.getStateRoot()))
        for (let who = 0; who <= 2; who++)
          for (let s = 0; s <= 3; s++) {
            const slot = new Uint8Array(32)
            slot[31] = s
            const a = address(who)
            expect(hex(await front.getStorage(a, slot))).toBe(hex(await reference.getStorage(a, slot)))
          }
      }),
      { numRuns: 300 },
    )
  })
})
