/** Decoding of the modules' logs and revert data with the interfaces' ABI. */
import type { Address, Hex } from 'viem'
import { decodeErrorResult, decodeEventLog } from 'viem'
import { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../sol/abi.ts'
import { ATTRIBUTION, DATANETS, MODEL_FACTORY, MODELS } from './actions.ts'

const BY_ADDRESS = {
  [DATANETS]: { module: 'Datanets', abi: datanetsAbi },
  [MODELS]: { module: 'Models', abi: modelsAbi },
  [ATTRIBUTION]: { module: 'Attribution', abi: attributionAbi },
  [MODEL_FACTORY]: { module: 'ModelFactory', abi: modelFactoryAbi },
} as const

export type ModuleName = 'Datanets' | 'Models' | 'Attribution' | 'ModelFactory'

export interface DecodedModuleLog {
  module: ModuleName
  eventName: string
  args: Record<string, unknown>
}

interface LogLike {
  address: Address
  topics: readonly Hex[]
  data: Hex
}

function lookup(address: string) {
  return BY_ADDRESS[address.toLowerCase() as keyof typeof BY_ADDRESS]
}

/** Decodes one log if it was emitted by a module; undefined for any other address. Throws on a
 * module log that does not match its ABI (which would be a node bug). */
export function decodeModuleLog(log: LogLike): DecodedModuleLog | undefined {
  const entry = lookup(log.address)
  if (entry === undefined) return undefined
  const decoded = decodeEventLog({
    abi: entry.abi,
    topics: log.topics as [Hex, ...Hex[]],
    data: log.data,
  })
  return { module: entry.module, eventName: decoded.eventName, args: decoded.args as Record<string, unknown> }
}

/** All module logs of a receipt or getLogs result, decoded, in order. */
export function decodeModuleLogs(logs: readonly LogLike[]): DecodedModuleLog[] {
  const out: DecodedModuleLog[] = []
  for (const l of logs) {
    const d = decodeModuleLog(l)
    if (d !== undefined) out.push(d)
  }
  return out
}

/** Decodes revert data returned by a module call into its custom error. */
export function decodeModuleError(
  address: Address,
  data: Hex,
): { errorName: string; args: readonly unknown[] } {
  const entry = lookup(address)
  if (entry === undefined) throw new Error(`${address} is not a system module`)
  const e = decodeErrorResult({ abi: entry.abi, data })
  return { errorName: e.errorName, args: (e.args ?? []) as readonly unknown[] }
}
