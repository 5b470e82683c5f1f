/**
 * eth_createAccessList with geth's semantics (internal/ethapi AccessList + logger.AccessListTracer):
 * run the call with an access list, record every address and storage slot it touches, and run
 * again with what was recorded until a run adds nothing. Each run starts from the previous list,
 * so the list only grows and the loop ends; the request's budget bounds all runs together.
 *
 * Recorded, as geth: the slot of every SLOAD/SSTORE (for the executing address), the address
 * operand of BALANCE, EXTCODESIZE/COPY/HASH, SELFDESTRUCT and the CALL family. Addresses that are
 * warm anyway (the sender, the recipient or created contract, precompiles and native modules) are
 * not listed on their own, but are listed with the slots read or written in them.
 */
import type { BlockHeader } from '@ethereumjs/block'
import type { EVM, InterpreterStep } from '@ethereumjs/evm'
import type { AccessListResult, CallParams } from './api.ts'
import { Budget } from './budget.ts'
import { fromHex, toHex } from './bytes.ts'
import type { CallEngine, CallOptions } from './call.ts'

const MASK_160 = (1n << 160n) - 1n
const ADDRESS_OPS = new Set(['BALANCE', 'EXTCODESIZE', 'EXTCODECOPY', 'EXTCODEHASH', 'SELFDESTRUCT'])
const CALL_OPS = new Set(['CALL', 'CALLCODE', 'DELEGATECALL', 'STATICCALL'])

const addressOf = (v: bigint) => `0x${(v & MASK_160).toString(16).padStart(40, '0')}`
const slotOf = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`

type AccessListEntry = AccessListResult['accessList'][number]

/** geth's AccessListTracer: lowercase 0x address → set of 0x slots. */
class AccessListTracer {
  readonly list = new Map<string, Set<string>>()
  private readonly onStep = (s: InterpreterStep) => this.step(s)

  constructor(
    initial: readonly AccessListEntry[],
    private readonly exclude: ReadonlySet<string>,
  ) {
    for (const e of initial) {
      const a = toHex(e.address).toLowerCase()
      if (!exclude.has(a)) this.addAddress(a)
      for (const k of e.storageKeys) this.addSlot(a, toHex(k).toLowerCase())
    }
  }

  attach(evm: EVM) {
    evm.events.on('step', this.onStep)
    return { detach: () => void evm.events.off('step', this.onStep) }
  }

  private addAddress(a: string): void {
    if (!this.list.has(a)) this.list.set(a, new Set())
  }

  private addSlot(a: string, slot: string): void {
    this.addAddress(a)
    this.list.get(a)!.add(slot)
  }

  private step(s: InterpreterStep): void {
    const op = s.opcode.name
    const stack = s.stack
    const n = stack.length
    if ((op === 'SLOAD' || op === 'SSTORE') && n >= 1)
      this.addSlot(s.address.toString(), slotOf(stack[n - 1]!))
    else if (ADDRESS_OPS.has(op) && n >= 1) {
      const a = addressOf(stack[n - 1]!)
      if (!this.exclude.has(a)) this.addAddress(a)
    } else if (CALL_OPS.has(op) && n >= 5) {
      const a = addressOf(stack[n - 2]!)
      if (!this.exclude.has(a)) this.addAddress(a)
    }
  }

  equals(other: AccessListTracer): boolean {
    if (this.list.size !== other.list.size) return false
    for (const [a, slots] of this.list) {
      const o = other.list.get(a)
      if (o === undefined || o.size !== slots.size) return false
      for (const k of slots) if (!o.has(k)) return false
    }
    return true
  }

  entries(): AccessListEntry[] {
    return [...this.list.keys()].sort().map((a) => ({
      address: fromHex(a),
      storageKeys: [...this.list.get(a)!].sort().map(fromHex),
    }))
  }
}

/**
 * `exclude`: addresses (lowercase 0x) warm without a list: sender, recipient or the address a
 * creation deploys to, precompiles and modules.
 */
export async function createAccessList(
  engine: CallEngine,
  p: CallParams,
  header: BlockHeader,
  opts: CallOptions,
  exclude: ReadonlySet<string>,
): Promise<AccessListResult> {
  const budget = opts.limits ? new Budget(opts.limits) : undefined
  // As geth: fees are zeroed (no fee balance check, BASEFEE 0); the value must still be affordable.
  const base: CallParams = {
    ...p,
    gasPrice: undefined,
    maxFeePerGas: undefined,
    maxPriorityFeePerGas: undefined,
  }
  let prev = new AccessListTracer(p.accessList ?? [], exclude)
  for (;;) {
    const accessList = prev.entries()
    const tracer = new AccessListTracer(accessList, exclude)
    const r = await engine.run({ ...base, accessList }, header, opts, budget, (evm) => tracer.attach(evm))
    if (tracer.equals(prev)) {
      const out: AccessListResult = { accessList, gasUsed: r.gasUsed }
      if (r.error !== undefined) {
        out.error = r.error.message
        if (r.error.reverted) out.returnData = r.returnData
      }
      return out
    }
    prev = tracer
  }
}

/** The addresses createAccessList leaves out on their own (see above), lowercase 0x. */
export function warmAddresses(engine: CallEngine, from: Uint8Array, toOrCreated: Uint8Array): Set<string> {
  const out = new Set([toHex(from).toLowerCase(), toHex(toOrCreated).toLowerCase()])
  for (const a of engine.precompileAddresses()) out.add(`0x${a.toLowerCase()}`)
  return out
}
