/**
 * Selector dispatch shared by the three modules: decodes calldata with the interface ABI, enforces
 * write protection (STATICCALL / DELEGATECALL) and non-payability, charges the intrinsic gas, runs
 * the handler against a metered overlay and commits it. Typed custom errors from the module's
 * own interface are the only revert reasons.
 */
import type { Abi, AbiEvent, AbiFunction, AbiParameter } from 'viem'
import {
  encodeAbiParameters,
  encodeErrorResult,
  encodeFunctionResult,
  toEventSelector,
  toFunctionSelector,
} from 'viem/utils'
import { type ArgsDecoder, compileArgsDecoder } from './abi-decode.ts'
import { fromHex, toHex, u256 } from './bytes.ts'
import { Exec, ModuleRevert, OutOfGas } from './exec.ts'
import { GAS, words } from './gas.ts'
import type { ModuleCallContext, ModuleLog, ModuleResult, SystemModule } from './host-types.ts'

export interface CallEnv {
  x: Exec
  ctx: ModuleCallContext
  caller: Uint8Array
}

export interface Handler {
  /** Refused under STATICCALL / DELEGATECALL. */
  mutating: boolean
  payable?: boolean
  /** Gas computed from the decoded arguments alone, charged before any state access. */
  intrinsic?(args: readonly unknown[]): bigint
  run(env: CallEnv, args: readonly unknown[]): Promise<unknown>
}

export interface AbiTools {
  /** Throws a revert carrying the ABI-encoded custom error. */
  fail(errorName: string, ...args: unknown[]): never
  /** ABI-encodes an event (named args) as a ModuleLog; indexed parameters are all static types. */
  log(eventName: string, args: Record<string, unknown>): ModuleLog
}

/** Builds typed revert/event helpers for one interface ABI. */
export function abiTools(abi: Abi): AbiTools {
  const events = new Map<string, { selector: Uint8Array; indexed: AbiParameter[]; data: AbiParameter[] }>()
  for (const item of abi) {
    if (item.type !== 'event') continue
    const ev = item as AbiEvent
    events.set(ev.name, {
      selector: fromHex(toEventSelector(ev)),
      indexed: ev.inputs.filter((i) => i.indexed),
      data: ev.inputs.filter((i) => !i.indexed),
    })
  }
  return {
    /** Throws a revert carrying the ABI-encoded custom error. */
    fail(errorName: string, ...args: unknown[]): never {
      const data = encodeErrorResult({ abi, errorName, args } as Parameters<typeof encodeErrorResult>[0])
      throw new ModuleRevert(fromHex(data), errorName)
    },
    /** ABI-encodes an event (named args) as a ModuleLog; indexed parameters are all static types. */
    log(eventName: string, args: Record<string, unknown>): ModuleLog {
      const ev = events.get(eventName)
      if (ev === undefined) throw new Error(`unknown event ${eventName}`)
      const topics = [ev.selector]
      for (const p of ev.indexed) topics.push(encodeWord(p, args[p.name as string]))
      let data: Uint8Array
      if (ev.data.every((p) => isWordType(p.type))) {
        // Settlement emits a dozen logs of plain words: encode them directly (viem's generic
        // encoder costs ~20 µs per log); same bytes, checked against viem by the ABI tests.
        data = new Uint8Array(32 * ev.data.length)
        ev.data.forEach((p, i) => {
          data.set(encodeWord(p, args[p.name as string]), 32 * i)
        })
      } else {
        data = fromHex(
          encodeAbiParameters(
            ev.data,
            ev.data.map((p) => args[p.name as string]),
          ),
        )
      }
      return { topics, data }
    },
  }
}

/** Static types that occupy one word: uintN, address, bool, bytes32 (what module events use). */
function isWordType(type: string): boolean {
  return (
    type === 'address' || type === 'bool' || type === 'bytes32' || /^uint(8|16|32|64|128|256)?$/.test(type)
  )
}

/** One ABI word for a static parameter (topics and word-only event data). */
function encodeWord(p: AbiParameter, value: unknown): Uint8Array {
  if (!isWordType(p.type)) return fromHex(encodeAbiParameters([p], [value]))
  const out = new Uint8Array(32)
  if (p.type === 'bool') {
    out[31] = value ? 1 : 0
    return out
  }
  if (p.type === 'address' || p.type === 'bytes32') {
    const b = fromHex(value as string)
    if (b.length !== (p.type === 'address' ? 20 : 32)) throw new TypeError(`bad ${p.type} for ${p.name}`)
    out.set(b, 32 - b.length)
    return out
  }
  const n = typeof value === 'bigint' ? value : BigInt(value as number)
  const bits = p.type === 'uint' ? 256 : Number(p.type.slice(4))
  if (n < 0n || n >= 1n << BigInt(bits)) throw new RangeError(`${p.name} out of range for ${p.type}`)
  return u256(n)
}

export interface ModuleDefinition {
  name: string
  address: Uint8Array
  abi: Abi
  handlers: Record<string, Handler>
}

export interface DefinedModule extends SystemModule {
  /** Function names with a handler (every function of the interface; checked by tests). */
  readonly implemented: readonly string[]
}

export function defineModule(def: ModuleDefinition): DefinedModule {
  const tools: AbiTools = abiTools(def.abi)
  // Keyed by the selector as a 32-bit number: no hex conversion per call.
  const bySelector = new Map<number, { fn: AbiFunction; handler: Handler; decode: ArgsDecoder }>()
  for (const item of def.abi) {
    if (item.type !== 'function') continue
    const handler = def.handlers[item.name]
    if (handler === undefined) throw new Error(`${def.name}: no handler for ${item.name}`)
    bySelector.set(Number(toFunctionSelector(item)), {
      fn: item,
      handler,
      decode: compileArgsDecoder(item.inputs),
    })
  }
  for (const name of Object.keys(def.handlers)) {
    if (!def.abi.some((i) => i.type === 'function' && i.name === name)) {
      throw new Error(`${def.name}: handler ${name} is not in the interface`)
    }
  }

  async function call(ctx: ModuleCallContext): Promise<ModuleResult> {
    const x = new Exec(ctx.state, ctx.gasLimit)
    try {
      x.charge(GAS.BASE + GAS.CALLDATA_WORD * words(ctx.data.length))
      if (ctx.data.length < 4) tools.fail('MalformedCalldata')
      const d = ctx.data
      const entry = bySelector.get(
        (d[0] as number) * 0x1000000 +
          (((d[1] as number) << 16) | ((d[2] as number) << 8) | (d[3] as number)),
      )
      if (entry === undefined) return tools.fail('UnknownSelector', toHex(d.subarray(0, 4)))
      const { fn, handler } = entry
      if (handler.mutating && (ctx.isStatic || ctx.isDelegateCall)) tools.fail('WriteProtection')
      if (!handler.payable && ctx.value > 0n) tools.fail('NonPayable', ctx.value)
      let args: readonly unknown[]
      try {
        args = entry.decode(d.subarray(4))
      } catch {
        return tools.fail('MalformedCalldata')
      }
      if (handler.intrinsic !== undefined) x.charge(handler.intrinsic(args))
      const result = await handler.run({ x, ctx, caller: ctx.caller }, args)
      await x.commit()
      const returnData =
        fn.outputs.length === 0
          ? new Uint8Array()
          : fn.outputs.length === 1 && isWordType((fn.outputs[0] as AbiParameter).type)
            ? encodeWord(fn.outputs[0] as AbiParameter, result)
            : fromHex(
                encodeFunctionResult({ abi: [fn], functionName: fn.name, result } as Parameters<
                  typeof encodeFunctionResult
                >[0]),
              )
      return { status: 'success', gasUsed: x.gasUsed, returnData, logs: x.logs }
    } catch (e) {
      if (e instanceof ModuleRevert)
        return { status: 'revert', gasUsed: x.gasUsed, returnData: e.data, logs: [] }
      if (e instanceof OutOfGas)
        return { status: 'outOfGas', gasUsed: ctx.gasLimit, returnData: new Uint8Array(), logs: [] }
      // Anything else is a state-access failure or a bug: surface it to the host rather than turn
      // it into a revert that other nodes (whose storage works) would not reproduce.
      throw e
    }
  }

  return {
    name: def.name,
    address: def.address,
    implemented: Object.keys(def.handlers),
    call,
  }
}
