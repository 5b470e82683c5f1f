/**
 * Decoding of native-module calls, logs and errors (Datanets, Models, Attribution, ModelFactory),
 * from the ABIs generated from the modules' Solidity interfaces.
 */
import { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '@openledger/attribution/abi'
import {
  type Abi,
  type AbiFunction,
  decodeErrorResult,
  decodeEventLog,
  decodeFunctionData,
  type Hex,
  toFunctionSelector,
} from 'viem'

export const MODULES: Record<string, { name: string; abi: Abi }> = {
  '0x4f50454e00000000000000000000000000000001': { name: 'Datanets', abi: datanetsAbi as Abi },
  '0x4f50454e00000000000000000000000000000002': { name: 'Models', abi: modelsAbi as Abi },
  '0x4f50454e00000000000000000000000000000003': { name: 'Attribution', abi: attributionAbi as Abi },
  '0x4f50454e00000000000000000000000000000006': { name: 'ModelFactory', abi: modelFactoryAbi as Abi },
}
export const DATANETS = '0x4f50454e00000000000000000000000000000001'
export const ATTRIBUTION = '0x4f50454e00000000000000000000000000000003'

export const moduleName = (address: string | null | undefined): string | undefined =>
  address ? MODULES[address.toLowerCase()]?.name : undefined

export interface Decoded {
  name: string
  args: Array<[string, string]>
}

/** JSON-ish display of a decoded value (bigints in decimal, nested tuples as JSON). */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return v
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
}

function named(
  inputs: readonly { name?: string }[] | undefined,
  args: readonly unknown[] | Record<string, unknown>,
) {
  if (!Array.isArray(args)) return Object.entries(args).map(([k, v]) => [k, show(v)] as [string, string])
  return args.map((v, i) => [inputs?.[i]?.name || `arg${i}`, show(v)] as [string, string])
}

const selectors = new Map<string, string>()
for (const [address, mod] of Object.entries(MODULES))
  for (const item of mod.abi)
    if (item.type === 'function')
      selectors.set(`${address}:${toFunctionSelector(item as AbiFunction)}`, `${mod.name}.${item.name}`)

/** The method's name from its selector alone (ots_getBlockTransactions cuts calldata to it). */
export function methodName(to: string | null, input: string): string {
  if (input === '0x') return 'transfer'
  if (!to) return 'contract creation'
  return selectors.get(`${to.toLowerCase()}:${input.slice(0, 10).toLowerCase()}`) ?? input.slice(0, 10)
}

export function decodeCall(to: string | null, input: string): Decoded | undefined {
  const mod = to ? MODULES[to.toLowerCase()] : undefined
  if (!mod || input.length < 10) return undefined
  try {
    const { functionName, args } = decodeFunctionData({ abi: mod.abi, data: input as Hex })
    const fn = mod.abi.find((x) => x.type === 'function' && x.name === functionName) as
      | { inputs: { name?: string }[] }
      | undefined
    return { name: `${mod.name}.${functionName}`, args: named(fn?.inputs, args ?? []) }
  } catch {
    return undefined
  }
}

export function decodeLog(log: { address: string; topics: string[]; data: string }): Decoded | undefined {
  const mod = MODULES[log.address.toLowerCase()]
  if (!mod || log.topics.length === 0) return undefined
  try {
    const ev = decodeEventLog({ abi: mod.abi, data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]] })
    return {
      name: `${mod.name}.${ev.eventName}`,
      args: named(undefined, (ev.args ?? {}) as Record<string, unknown>),
    }
  } catch {
    return undefined
  }
}

/** A revert: Error(string), Panic(uint256), or a module's custom error. */
export function decodeRevert(to: string | null, data: string): string | undefined {
  if (!data || data === '0x') return undefined
  const abis: Abi[] = [...(to && MODULES[to.toLowerCase()] ? [MODULES[to.toLowerCase()]!.abi] : []), []]
  for (const abi of abis) {
    try {
      const r = decodeErrorResult({ abi, data: data as Hex })
      return `${r.errorName}(${(r.args ?? []).map(show).join(', ')})`
    } catch {}
  }
  return undefined
}
