/**
 * Metered, buffered execution context for one module call. Reads go to the world state (charged
 * before they happen, cold then warm); writes, logs and payouts are buffered and only applied by
 * `commit`, after their gas has been charged. A call that reverts or runs out of gas therefore
 * never touches the world state, independently of the host's own journaling.
 */
import type { ModuleLog, ModuleState } from '../host.ts'
import { equalBytes, isZero, toBigInt, toHex, u256 } from './bytes.ts'
import { GAS, logGas } from './gas.ts'

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
    return toHex(account) + toHex(slot).slice(2)
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
    const dirty = [...this.slots.values()].filter((e) => e.dirty)
    const unread = dirty.filter((e) => e.original === undefined)
    // Pricing a blind write needs its original value: a cold access, as EIP-2929's cold SSTORE.
    this.charge(GAS.COLD_SLOAD * BigInt(unread.length))
    for (const e of unread) e.original = await this.state.getStorage(e.account, e.slot)
    let cost = 0n
    for (const e of dirty) {
      const orig = e.original as Uint8Array
      if (equalBytes(orig, e.current)) cost += GAS.SSTORE_NOOP
      else if (isZero(orig)) cost += GAS.SSTORE_SET
      else cost += GAS.SSTORE_UPDATE
    }
    for (const l of this.logs) cost += logGas(l.topics.length, l.data.length)
    cost += GAS.VALUE_TRANSFER * BigInt(this.payouts.length)
    this.charge(cost)
    for (const p of this.payouts) await this.state.transfer(p.from, p.to, p.amount)
    for (const e of dirty) {
      if (!equalBytes(e.original as Uint8Array, e.current))
        await this.state.putStorage(e.account, e.slot, e.current)
    }
  }
}
