/**
 * Metered, buffered execution context for one module call. Reads go to the world state (charged
 * before they happen, cold then warm); writes, logs and payouts are buffered and only applied by
 * `commit`, after their gas has been charged. A call that reverts or runs out of gas therefore
 * never touches the world state, independently of the host's own journaling.
 */

import { equalBytes, isZero, toBigInt, u256, ZERO32 } from './bytes.ts'
import { GAS, logGas } from './gas.ts'
import type { ModuleLog, ModuleState } from './host-types.ts'

/** Thrown to revert with ABI-encoded custom-error data. */
export class ModuleRevert extends Error {
  constructor(
    readonly data: Uint8Array,
    readonly errorName: string,
  ) {
    super(`module revert: ${errorName}`)
    this.name = 'ModuleRevert'
  }
}

/** Thrown when the call cannot pay for the next step. */
export class OutOfGas extends Error {
  constructor(
    readonly needed: bigint,
    readonly available: bigint,
  ) {
    super(`out of gas: need ${needed}, have ${available}`)
    this.name = 'OutOfGas'
  }
}

/** Read access to module storage (world state or a metered overlay of it). */
export interface StorageReader {
  read(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array>
}

export interface StorageWriter extends StorageReader {
  write(account: Uint8Array, slot: Uint8Array, value: Uint8Array): void
  /** write() of a slot known to be zero (see Exec.writeFresh). */
  writeFresh(account: Uint8Array, slot: Uint8Array, value: Uint8Array): void
}

/** Unmetered reader over a ModuleState (used by the read API / RPC). */
export function stateReader(state: Pick<ModuleState, 'getStorage'>): StorageReader {
  return { read: (account, slot) => state.getStorage(account, slot) }
}

interface SlotEntry {
  account: Uint8Array
  slot: Uint8Array
  /** Value in the world state before this call (undefined: written without being read). */
  original: Uint8Array | undefined
  current: Uint8Array
  dirty: boolean
  /** Written by writeFresh: the original is known to be zero without reading it, but is priced
   * as the cold read a blind write needs (the gas of a call does not depend on this shortcut). */
  fresh?: boolean
}

export class Exec implements StorageWriter {
  gasUsed = 0n
  readonly logs: ModuleLog[] = []
  private readonly slots = new Map<string, SlotEntry>()
  private readonly payouts: { from: Uint8Array; to: Uint8Array; amount: bigint }[] = []

  constructor(
    private readonly state: ModuleState,
    readonly gasLimit: bigint,
  ) {}

  charge(amount: bigint): void {
    const next = this.gasUsed + amount
    if (next > this.gasLimit) throw new OutOfGas(next, this.gasLimit)
    this.gasUsed = next
  }

  private key(account: Uint8Array, slot: Uint8Array): string {
    // latin1 maps each byte to one char: the cheapest exact string key for a Map.
    return (
      Buffer.from(account.buffer, account.byteOffset, account.byteLength).toString('latin1') +
      Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength).toString('latin1')
    )
  }

  async read(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    const k = this.key(account, slot)
    const hit = this.slots.get(k)
    if (hit !== undefined && hit.original !== undefined) {
      this.charge(GAS.WARM_SLOAD)
      return hit.current
    }
    this.charge(GAS.COLD_SLOAD)
    const original = await this.state.getStorage(account, slot)
    if (hit !== undefined) {
      // Written before being read: keep the buffered value, remember the original for pricing.
      hit.original = original
      return hit.current
    }
    this.slots.set(k, { account, slot, original, current: original, dirty: false })
    return original
  }

  async readU256(account: Uint8Array, slot: Uint8Array): Promise<bigint> {
    return toBigInt(await this.read(account, slot))
  }

  write(account: Uint8Array, slot: Uint8Array, value: Uint8Array): void {
    if (value.length !== 32) throw new RangeError('storage values are 32 bytes')
    const k = this.key(account, slot)
    const hit = this.slots.get(k)
    if (hit !== undefined) {
      hit.current = value
      hit.dirty = true
    } else {
      this.slots.set(k, { account, slot, original: undefined, current: value, dirty: true })
    }
  }

  /**
   * Blind write of a slot that the caller knows to be zero in the world state, because a slot it
   * has read proves the record was never written (e.g. a receipt whose marker slot is zero; records
   * are write-once and their slots are keccak-derived, so nothing else can have set them). Saves the
   * state read a blind write needs for pricing; the gas charged is the same as for write().
   */
  writeFresh(account: Uint8Array, slot: Uint8Array, value: Uint8Array): void {
    if (value.length !== 32) throw new RangeError('storage values are 32 bytes')
    const k = this.key(account, slot)
    const hit = this.slots.get(k)
    if (hit !== undefined) {
      // Already accessed in this call (e.g. a duplicate in a list): an ordinary overwrite.
      hit.current = value
      hit.dirty = true
      return
    }
    this.slots.set(k, { account, slot, original: ZERO32, current: value, dirty: true, fresh: true })
  }

  writeU256(account: Uint8Array, slot: Uint8Array, value: bigint): void {
    this.write(account, slot, u256(value))
  }

  emit(log: ModuleLog): void {
    this.logs.push(log)
  }

  /** Buffers a native payout from a module account (charged at commit). */
  pay(from: Uint8Array, to: Uint8Array, amount: bigint): void {
    if (amount > 0n) this.payouts.push({ from, to, amount })
  }

  /** Charges writes, logs and payouts, then applies them. Throws OutOfGas before applying anything. */
  async commit(): Promise<void> {
    await this.apply(true)
  }

  /**
   * Applies the writes and payouts buffered so far (charged as commit charges them) and keeps
   * going with a clean buffer; logs stay buffered until commit. For a module that calls out
   * (ModuleCallContext.call) and must make its own state final first, so that a re-entrant call
   * sees it (checks-effects-interactions). A later revert of the call still undoes everything:
   * the host journals what was applied.
   */
  async flush(): Promise<void> {
    await this.apply(false)
    for (const e of this.slots.values()) {
      if (!e.dirty) continue
      e.original = e.current
      e.dirty = false
      e.fresh = false
    }
    this.payouts.length = 0
  }

  private async apply(withLogs: boolean): Promise<void> {
    const dirty: SlotEntry[] = []
    const unread: SlotEntry[] = []
    let blind = 0n
    for (const e of this.slots.values()) {
      if (!e.dirty) continue
      dirty.push(e)
      if (e.original === undefined) unread.push(e)
      if (e.original === undefined || e.fresh === true) blind++
    }
    // Pricing a blind write needs its original value: a cold access, as EIP-2929's cold SSTORE.
    this.charge(GAS.COLD_SLOAD * blind)
    for (const e of unread) e.original = await this.state.getStorage(e.account, e.slot)
    let cost = 0n
    for (const e of dirty) {
      const orig = e.original as Uint8Array
      if (equalBytes(orig, e.current)) cost += GAS.SSTORE_NOOP
      else if (isZero(orig)) cost += GAS.SSTORE_SET
      else if (isZero(e.current)) cost += GAS.SSTORE_CLEAR
      else cost += GAS.SSTORE_UPDATE
    }
    if (withLogs) for (const l of this.logs) cost += logGas(l.topics.length, l.data.length)
    cost += GAS.VALUE_TRANSFER * BigInt(this.payouts.length)
    this.charge(cost)
    for (const p of this.payouts) await this.state.transfer(p.from, p.to, p.amount)
    for (const e of dirty) {
      if (!equalBytes(e.original as Uint8Array, e.current))
        await this.state.putStorage(e.account, e.slot, e.current)
    }
  }
}
