/**
 * A module written with the kit alone (no other module package): dispatch, gas, typed errors and
 * events, write protection, all-or-nothing state — the way a new module package starts.
 */
import { decodeErrorResult, decodeEventLog, encodeFunctionData, getAddress, type Hex, parseAbi } from 'viem'
import { describe, expect, test } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  abiTools,
  DATANETS_ADDRESS,
  defineModule,
  fromHex,
  GAS,
  MODELS_ADDRESS,
  ModuleHarness,
  nestedSlot,
  STAKING_ADDRESS,
  systemAddress,
  toBigInt,
  toHex,
} from '../src/index.ts'

const abi = parseAbi([
  'function increment(uint256 by) returns (uint256)',
  'function get(address who) view returns (uint256)',
  'event Incremented(address indexed who, uint256 value)',
  'error MalformedCalldata()',
  'error UnknownSelector(bytes4 selector)',
  'error WriteProtection()',
  'error NonPayable(uint256 value)',
  'error TooMuch(uint256 by)',
])
const COUNTER = systemAddress(0x42)
const counts = (who: Uint8Array) => nestedSlot(0n, who)

function counterModule() {
  return defineModule({
    name: 'Counter',
    address: COUNTER,
    abi,
    handlers: {
      increment: {
        mutating: true,
        async run({ x, caller, ctx }, [by]) {
          if ((by as bigint) > 1000n) tools.fail('TooMuch', by)
          const v = (await x.readU256(ctx.address, counts(caller))) + (by as bigint)
          x.writeU256(ctx.address, counts(caller), v)
          x.emit(tools.log('Incremented', { who: toHex(caller), value: v }))
          return v
        },
      },
      get: {
        mutating: false,
        run: ({ x, ctx }, [who]) => x.readU256(ctx.address, counts(fromHex(who as string))),
      },
    },
  })
}
const tools = abiTools(abi)
const ALICE = fromHex('0x00000000000000000000000000000000000a11ce')
const data = (functionName: 'increment' | 'get', args: readonly unknown[]) =>
  fromHex(encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]))
const errorOf = (d: Uint8Array) => decodeErrorResult({ abi, data: toHex(d) as Hex }).errorName

describe('module-kit: a module defined from an ABI', () => {
  test('dispatches, writes, emits and charges gas', async () => {
    const h = new ModuleHarness([counterModule()])
    const r = await h.call({ from: ALICE, to: COUNTER, data: data('increment', [5n]) })
    expect(r.status).toBe('success')
    expect(toBigInt(r.returnData)).toBe(5n)
    expect(r.gasUsed).toBeGreaterThan(GAS.BASE + GAS.COLD_SLOAD + GAS.SSTORE_SET)
    const [log] = r.logs
    expect(
      decodeEventLog({ abi, topics: log!.topics.map(toHex) as [Hex], data: toHex(log!.data) }),
    ).toMatchObject({
      eventName: 'Incremented',
      args: { who: getAddress(toHex(ALICE)), value: 5n },
    })
    const get = await h.call({ from: ALICE, to: COUNTER, data: data('get', [toHex(ALICE)]), isStatic: true })
    expect(toBigInt(get.returnData)).toBe(5n)
  })

  test('typed errors: write protection, non-payable, unknown selector, malformed calldata, custom', async () => {
    const h = new ModuleHarness([counterModule()])
    const call = (d: Uint8Array, extra: Partial<Parameters<ModuleHarness['call']>[0]> = {}) =>
      h.call({ from: ALICE, to: COUNTER, data: d, ...extra })
    expect(errorOf((await call(data('increment', [1n]), { isStatic: true })).returnData)).toBe(
      'WriteProtection',
    )
    expect(errorOf((await call(data('increment', [1n]), { isDelegateCall: true })).returnData)).toBe(
      'WriteProtection',
    )
    await h.state.mint(ALICE, 10n)
    expect(errorOf((await call(data('increment', [1n]), { value: 1n })).returnData)).toBe('NonPayable')
    expect(errorOf((await call(fromHex('0xdeadbeef'))).returnData)).toBe('UnknownSelector')
    expect(errorOf((await call(data('increment', [1n]).subarray(0, 20))).returnData)).toBe(
      'MalformedCalldata',
    )
    const tooMuch = await call(data('increment', [1001n]))
    expect(tooMuch.status).toBe('revert')
    expect(errorOf(tooMuch.returnData)).toBe('TooMuch')
    expect(tooMuch.moduleWrites).toBe(0)
  })

  test('out of gas writes nothing', async () => {
    const h = new ModuleHarness([counterModule()])
    const r = await h.call({ from: ALICE, to: COUNTER, data: data('increment', [1n]), gasLimit: 5_000n })
    expect(r.status).toBe('outOfGas')
    expect(r.moduleWrites).toBe(0)
  })

  test('the system address table', () => {
    expect(toHex(DATANETS_ADDRESS)).toBe('0x4f50454e00000000000000000000000000000001')
    expect(toHex(MODELS_ADDRESS)).toBe('0x4f50454e00000000000000000000000000000002')
    expect(toHex(ATTRIBUTION_ADDRESS)).toBe('0x4f50454e00000000000000000000000000000003')
    expect(toHex(STAKING_ADDRESS)).toBe('0x4f50454e00000000000000000000000000000004')
    expect(() => systemAddress(0)).toThrow(RangeError)
  })
})
