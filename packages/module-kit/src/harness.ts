/**
 * A minimal stand-in for the EVM host, for unit tests and tools: routes a message to a module,
 * credits msg.value to the module first, and reverts every state change (value included) unless
 * the call succeeds, as the real host's journaled call frame does.
 */

import { toHex } from './bytes.ts'
import type { ModuleResult, SystemModule } from './host-types.ts'
import { MemoryState } from './memory-state.ts'

export interface HarnessCall {
  from: Uint8Array
  to: Uint8Array
  data: Uint8Array
  value?: bigint
  gasLimit?: bigint
  isStatic?: boolean
  isDelegateCall?: boolean
  origin?: Uint8Array
  /** eth_call semantics: run, then discard every change even on success. */
  dryRun?: boolean
}

export interface HarnessResult extends ModuleResult {
  /** Storage writes and transfers the module itself performed (0 for any rejected call). */
  moduleWrites: number
}

export class ModuleHarness {
  readonly state = new MemoryState()
  chainId = 1337n
  block = { number: 1n, timestamp: 1_700_000_000n, coinbase: new Uint8Array(20) }
  private readonly modules = new Map<string, SystemModule>()

  constructor(modules: readonly SystemModule[]) {
    for (const m of modules) this.modules.set(toHex(m.address), m)
  }

  async call(c: HarnessCall): Promise<HarnessResult> {
    const module = this.modules.get(toHex(c.to))
    if (module === undefined) throw new Error(`no module at ${toHex(c.to)}`)
    const value = c.value ?? 0n
    this.state.checkpoint()
    try {
      if (value > 0n) await this.state.transfer(c.from, c.to, value)
      const before = this.state.writes
      const res = await module.call({
        address: module.address,
        caller: c.from,
        origin: c.origin ?? c.from,
        value,
        isStatic: c.isStatic ?? false,
        isDelegateCall: c.isDelegateCall ?? false,
        data: c.data,
        gasLimit: c.gasLimit ?? 30_000_000n,
        chainId: this.chainId,
        block: this.block,
        state: this.state,
        call: (to, v, data, gasLimit) =>
          this.subcall(module.address, to, v, data, gasLimit, c.origin ?? c.from),
      })
      const moduleWrites = this.state.writes - before
      if (res.gasUsed > (c.gasLimit ?? 30_000_000n)) throw new Error('module used more gas than its limit')
      if (res.status === 'success' && c.dryRun !== true) this.state.commit()
      else this.state.revert()
      return { ...res, moduleWrites }
    } catch (e) {
      this.state.revert()
      throw e
    }
  }

  /** ModuleCallContext.call: to another module (nested frame), or a plain value transfer. */
  private async subcall(
    from: Uint8Array,
    to: Uint8Array,
    value: bigint,
    data: Uint8Array,
    gasLimit: bigint,
    origin: Uint8Array,
  ): Promise<{ success: boolean; returnData: Uint8Array; gasUsed: bigint }> {
    if (!this.modules.has(toHex(to))) {
      if (data.length > 0) throw new Error(`the harness has no EVM to run code at ${toHex(to)}`)
      if ((await this.state.getBalance(from)) < value)
        return { success: false, returnData: new Uint8Array(), gasUsed: 0n }
      await this.state.transfer(from, to, value)
      return { success: true, returnData: new Uint8Array(), gasUsed: 0n }
    }
    if ((await this.state.getBalance(from)) < value)
      return { success: false, returnData: new Uint8Array(), gasUsed: 0n }
    const r = await this.call({ from, to, data, value, gasLimit, origin })
    return { success: r.status === 'success', returnData: r.returnData, gasUsed: r.gasUsed }
  }
}
