import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM, type EVMResult } from '@ethereumjs/evm'
import { Account, type Address, createAddressFromString } from '@ethereumjs/util'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { installEvmFastPaths, setEvmFastPaths } from '../src/evm-fastpath.ts'

// Three contracts that call each other (CALL with value, DELEGATECALL, STATICCALL), so nested
// frames, reverts inside frames, value transfers and storage all go through the fast paths.
const A = createAddressFromString('0x00000000000000000000000000000000000000aa')
const B = createAddressFromString('0x00000000000000000000000000000000000000bb')
const C = createAddressFromString('0x00000000000000000000000000000000000000cc')
const CALLER = createAddressFromString('0x00000000000000000000000000000000000000ee')
// Precompiles too: identity (0x04), MODEXP (0x05, repriced in Osaka) and P256VERIFY (0x100, Osaka).
const TARGETS = [
  A,
  B,
  C,
  createAddressFromString('0x0000000000000000000000000000000000000004'),
  createAddressFromString('0x0000000000000000000000000000000000000005'),
  createAddressFromString('0x0000000000000000000000000000000000000100'),
]

const push1 = (v: number) => [0x60, v & 0xff]
const push20 = (a: Address) => [0x73, ...a.bytes]

/** One random step of a program; JUMP targets are resolved after assembly. */
const step = fc.oneof(
  fc.record({ k: fc.constant('sstore' as const), slot: fc.nat(3), v: fc.nat(255) }),
  fc.record({ k: fc.constant('sload' as const), slot: fc.nat(3) }),
  fc.record({ k: fc.constant('mstore' as const), off: fc.nat(200), v: fc.nat(255) }),
  fc.record({ k: fc.constant('log' as const), off: fc.nat(64) }),
  fc.record({
    k: fc.constant('call' as const),
    op: fc.constantFrom(0xf1, 0xf4, 0xfa),
    target: fc.nat(TARGETS.length - 1),
    value: fc.nat(3),
    gas: fc.constantFrom(0, 5_000, 60_000),
  }),
  fc.record({ k: fc.constant('jump' as const), to: fc.nat(40), cond: fc.boolean() }),
  fc.record({ k: fc.constant('dest' as const) }),
  fc.record({ k: fc.constant('end' as const), op: fc.constantFrom(0xf3, 0xfd, 0x00, 0xfe) }),
  fc.record({ k: fc.constant('tstore' as const), v: fc.nat(255) }),
  // Memory growth across the buffer's capacity steps, copies and hashes of memory.
  fc.record({
    k: fc.constant('mem' as const),
    op: fc.constantFrom(0x52, 0x53, 0x5e, 0x20, 0x37, 0x51),
    off: fc.nat(0x1400),
    len: fc.nat(0x600),
  }),
  // Any byte: undefined opcodes, stack underflows, truncated PUSH at the end of code.
  fc.record({ k: fc.constant('raw' as const), b: fc.nat(255) }),
)

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never

function assemble(steps: Step[]): Uint8Array {
  const out: number[] = []
  const fixups: Array<{ at: number; to: number }> = []
  const dests: number[] = []
  for (const s of steps) {
    switch (s.k) {
      case 'sstore':
        out.push(...push1(s.v), ...push1(s.slot), 0x55)
        break
      case 'sload':
        out.push(...push1(s.slot), 0x54, 0x50)
        break
      case 'mstore':
        out.push(...push1(s.v), ...push1(s.off), 0x52)
        break
      case 'log':
        out.push(...push1(32), ...push1(s.off), 0xa0)
        break
      case 'call': {
        // out(32 @ 0), in(4 @ 0), [value], address, gas
        out.push(...push1(32), ...push1(0), ...push1(4), ...push1(0))
        if (s.op === 0xf1) out.push(...push1(s.value))
        out.push(...push20(TARGETS[s.target]!), 0x62, (s.gas >> 16) & 0xff, (s.gas >> 8) & 0xff, s.gas & 0xff)
        out.push(s.op, 0x50)
        break
      }
      case 'jump':
        if (s.cond) out.push(...push1(1))
        fixups.push({ at: out.length + 1, to: s.to })
        out.push(0x61, 0, 0, s.cond ? 0x57 : 0x56)
        break
      case 'dest':
        dests.push(out.length)
        out.push(0x5b)
        break
      case 'end':
        // RETURN/REVERT a region that covers most of the memory the other steps touch.
        out.push(0x61, 0x15, 0x00, ...push1(0), s.op)
        break
      case 'tstore':
        out.push(...push1(s.v), ...push1(1), 0x5d)
        break
      case 'mem': {
        const push2 = (v: number) => [0x61, (v >> 8) & 0xff, v & 0xff]
        if (s.op === 0x52 || s.op === 0x53) out.push(...push2(s.off * 7), ...push2(s.off), s.op)
        else if (s.op === 0x51) out.push(...push2(s.off), s.op, 0x50)
        else if (s.op === 0x20) out.push(...push2(s.len), ...push2(s.off), s.op, 0x50)
        // MCOPY(dst, src, len) / CALLDATACOPY(dst, offset, len)
        else out.push(...push2(s.len), ...push2(s.off >> 1), ...push2(s.off), s.op)
        break
      }
      case 'raw':
        out.push(s.b)
        break
    }
  }
  // Forward jumps only, to a JUMPDEST when there is one (else to a random byte: invalid jump).
  for (const f of fixups) {
    const later = dests.filter((d) => d > f.at)
    const to = later.length > 0 ? later[f.to % later.length]! : f.to % (out.length + 1)
    out[f.at] = (to >> 8) & 0xff
    out[f.at + 1] = to & 0xff
  }
  return Uint8Array.from(out)
}

async function run(codes: Uint8Array[], value: bigint, gas: bigint, hardfork: Hardfork = Hardfork.Osaka) {
  const common = new Common({ chain: Mainnet, hardfork })
  const evm = await createEVM({ common })
  const sm = evm.stateManager
  for (const [i, addr] of [A, B, C].entries()) {
    await sm.putAccount(addr, new Account(1n, 10n))
    await sm.putCode(addr, codes[i]!)
  }
  await sm.putAccount(CALLER, new Account(0n, 1000n))
  let r: EVMResult
  try {
    r = await evm.runCall({
      caller: CALLER,
      to: A,
      value,
      gasLimit: gas,
      data: Uint8Array.of(1, 2, 3, 4),
    })
  } catch (e) {
    // A host error (e.g. BASEFEE without a block base fee) must surface the same way on both paths.
    return { threw: (e as Error).message }
  }
  const e = r.execResult
  const state: unknown[] = []
  for (const addr of [A, B, C, CALLER]) {
    const acct = await sm.getAccount(addr)
    const slots: string[] = []
    for (let s = 0; s < 4; s++) {
      const key = new Uint8Array(32)
      key[31] = s
      slots.push(Buffer.from(await sm.getStorage(addr, key)).toString('hex'))
    }
    state.push({ nonce: acct?.nonce, balance: acct?.balance, slots })
  }
  return {
    returnValue: Buffer.from(e.returnValue).toString('hex'),
    gasUsed: e.executionGasUsed,
    gasRefund: e.gasRefund,
    error: e.exceptionError?.error,
    logs: (e.logs ?? []).map(([a, t, d]) => [
      Buffer.from(a).toString('hex'),
      t.length,
      Buffer.from(d).toString('hex'),
    ]),
    selfdestructs: [...(e.selfdestruct?.keys() ?? [])],
    runStateKeys: e.runState === undefined ? undefined : Object.keys(e.runState).sort(),
    // The library's own keys in its order (a spread of the result must copy the same fields).
    resultKeys: Object.keys(e),
    state,
  }
}

describe('EVM fast paths', () => {
  afterAll(() => installEvmFastPaths())

  it('give the same results, gas, logs and state as the library on random programs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(
          fc.array(step, { maxLength: 25 }),
          fc.array(step, { maxLength: 25 }),
          fc.array(step, { maxLength: 25 }),
        ),
        fc.nat(5),
        fc.constantFrom(30_000n, 200_000n, 2_000_000n),
        // Both forks the chain runs: Osaka adds CLZ (0x1e, reached through raw bytes) and
        // P256VERIFY, and reprices MODEXP.
        fc.constantFrom(Hardfork.Prague, Hardfork.Osaka),
        async (programs, value, gas, hardfork) => {
          const codes = programs.map((p) => assemble(p))
          setEvmFastPaths(false)
          const want = await run(codes, BigInt(value), gas, hardfork)
          setEvmFastPaths(true)
          const got = await run(codes, BigInt(value), gas, hardfork)
          // The same code object runs again: the cached jump analysis must give the same result.
          const again = await run(codes, BigInt(value), gas, hardfork)
          expect(got).toEqual(want)
          expect(again).toEqual(want)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('never reuses a jump analysis for code whose bytes changed', async () => {
    setEvmFastPaths(true)
    // JUMP to 4; a JUMPDEST there, then overwritten so the same array has no JUMPDEST at 4.
    const code = Uint8Array.from([
      0x60, 0x04, 0x56, 0x00, 0x5b, 0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ])
    const ok = await run([code, Uint8Array.of(0), Uint8Array.of(0)], 0n, 100_000n)
    expect(ok.error).toBeUndefined()
    expect(BigInt(`0x${ok.returnValue}`)).toBe(1n)
    code[4] = 0x00
    const bad = await run([code, Uint8Array.of(0), Uint8Array.of(0)], 0n, 100_000n)
    expect(bad.error).toMatch(/^invalid JUMP/)
  })

  it('keep a readable runState on the result', async () => {
    setEvmFastPaths(true)
    const code = Uint8Array.from([0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3])
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague })
    const evm = await createEVM({ common })
    await evm.stateManager.putAccount(A, new Account())
    await evm.stateManager.putCode(A, code)
    const r = await evm.runCall({ caller: CALLER, to: A, gasLimit: 100_000n, block: undefined })
    const rs = r.execResult.runState as unknown as { programCounter: number; address: Address }
    expect(rs.programCounter).toBe(code.length) // past the RETURN
    expect(rs.address.equals(A)).toBe(true)
    // An own, enumerable, writable field, as on the library's result: spreads copy it.
    expect({ ...r.execResult }.runState).toBe(rs)
    r.execResult.runState = undefined as never
    expect((r.execResult.runState as unknown as { programCounter: number }).programCounter).toBe(code.length)
  })
})
