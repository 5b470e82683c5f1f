/** What the Datanets module's handlers share: typed errors and events, argument checks, roles. */
import type { CallEnv } from '@openledger/module-kit'
import { type AbiTools, abiTools, equalBytes, fromHex, toHex, u256 } from '@openledger/module-kit'
import { datanetsAbi } from '../sol/abi.ts'
import { curatorSlot, DATANETS_ADDRESS } from './layout.ts'
import { type DatanetHeader, loadDatanet } from './records.ts'
import { readU } from './rewards.ts'

export const t: AbiTools = abiTools(datanetsAbi)
const enc = new TextEncoder()

export function checkString(s: string, max: number): Uint8Array {
  const b = enc.encode(s)
  if (b.length > max) t.fail('StringTooLong', BigInt(b.length), BigInt(max))
  return b
}

export function addr(hex: unknown): Uint8Array {
  return fromHex(hex as string)
}

export function bool(v: boolean): Uint8Array {
  return u256(v ? 1n : 0n)
}

export async function requireDatanet(env: CallEnv, id: bigint): Promise<DatanetHeader> {
  const d = await loadDatanet(env.x, id)
  if (d === undefined) return t.fail('DatanetNotFound', id)
  return d
}

export function requireOwner(env: CallEnv, id: bigint, d: DatanetHeader): void {
  if (!equalBytes(d.owner, env.caller)) t.fail('NotDatanetOwner', id, toHex(env.caller))
}

/** The datanet owner is implicitly a curator. */
export async function isCuratorOrOwner(env: CallEnv, id: bigint, d: DatanetHeader): Promise<boolean> {
  if (equalBytes(d.owner, env.caller)) return true
  return (await readU(env.x, DATANETS_ADDRESS, curatorSlot(id, env.caller))) !== 0n
}

export async function requireCurator(env: CallEnv, id: bigint, d: DatanetHeader): Promise<void> {
  if (!(await isCuratorOrOwner(env, id, d))) t.fail('NotCurator', id, toHex(env.caller))
}
