/**
 * In-memory ModuleState (and SystemState, for block hooks) with checkpoints, for tests and tools:
 * storage per (account, slot), native balances, a write counter, and full snapshots that can be
 * compared for equality.
 */
import { isZero, toHex } from './bytes.ts'
import type { SystemState } from './host-types.ts'

/** Undo log of one checkpoint: previous values (undefined = absent) of every key touched. */
interface Journal {
  storage: Map<string, Uint8Array | undefined>
  balances: Map<string, bigint | undefined>
}

export class MemoryState implements SystemState {
  private readonly storage = new Map<string, Uint8Array>()
  private readonly balances = new Map<string, bigint>()
  private readonly checkpoints: Journal[] = []
  /** Number of putStorage/transfer calls ever made (lets tests prove a call wrote nothing). */
  writes = 0

  private static key(account: Uint8Array, slot: Uint8Array): string {
    return `${toHex(account)}:${toHex(slot)}`
  }

  async getStorage(account: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    if (account.length !== 20 || slot.length !== 32) throw new RangeError('bad account or slot length')
    return this.storage.get(MemoryState.key(account, slot)) ?? new Uint8Array(32)
  }

  async putStorage(account: Uint8Array, slot: Uint8Array, value: Uint8Array): Promise<void> {
    if (account.length !== 20 || slot.length !== 32 || value.length !== 32)
      throw new RangeError('bad storage write')
    this.writes++
    const k = MemoryState.key(account, slot)
    const j = this.checkpoints[this.checkpoints.length - 1]
    if (j !== undefined && !j.storage.has(k)) j.storage.set(k, this.storage.get(k))
    if (isZero(value)) this.storage.delete(k)
    else this.storage.set(k, value.slice())
  }

  async getBalance(account: Uint8Array): Promise<bigint> {
    return this.balances.get(toHex(account)) ?? 0n
  }

  /** Test helper: sets a balance outright (genesis allocation). */
  setBalance(account: Uint8Array, amount: bigint): void {
    const k = toHex(account)
    const j = this.checkpoints[this.checkpoints.length - 1]
    if (j !== undefined && !j.balances.has(k)) j.balances.set(k, this.balances.get(k))
    if (amount === 0n) this.balances.delete(toHex(account))
    else this.balances.set(toHex(account), amount)
  }

  async transfer(from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void> {
    if (amount < 0n) throw new RangeError('negative transfer')
    const fb = await this.getBalance(from)
    if (fb < amount) throw new Error(`insufficient balance: ${toHex(from)} has ${fb}, needs ${amount}`)
    this.writes++
    this.setBalance(from, fb - amount)
    this.setBalance(to, (await this.getBalance(to)) + amount)
  }

  /** SystemState.mint: new OPEN for `account` (block hooks: deposits, issuance). */
  async mint(account: Uint8Array, amount: bigint): Promise<void> {
    if (amount < 0n) throw new RangeError('negative mint')
    this.writes++
    this.setBalance(account, (await this.getBalance(account)) + amount)
  }

  /** SystemState.burn: destroys OPEN held by `account`. */
  async burn(account: Uint8Array, amount: bigint): Promise<void> {
    if (amount < 0n) throw new RangeError('negative burn')
    const b = await this.getBalance(account)
    if (b < amount) throw new Error(`insufficient balance: ${toHex(account)} has ${b}, needs ${amount}`)
    this.writes++
    this.setBalance(account, b - amount)
  }

  checkpoint(): void {
    this.checkpoints.push({ storage: new Map(), balances: new Map() })
  }

  /** Folds the innermost checkpoint into its parent (keeping the parent's older undo values). */
  commit(): void {
    const j = this.checkpoints.pop()
    if (j === undefined) throw new Error('commit without checkpoint')
    const parent = this.checkpoints[this.checkpoints.length - 1]
    if (parent === undefined) return
    for (const [k, v] of j.storage) if (!parent.storage.has(k)) parent.storage.set(k, v)
    for (const [k, v] of j.balances) if (!parent.balances.has(k)) parent.balances.set(k, v)
  }

  revert(): void {
    const j = this.checkpoints.pop()
    if (j === undefined) throw new Error('revert without checkpoint')
    for (const [k, v] of j.storage) {
      if (v === undefined) this.storage.delete(k)
      else this.storage.set(k, v)
    }
    for (const [k, v] of j.balances) {
      if (v === undefined) this.balances.delete(k)
      else this.balances.set(k, v)
    }
  }

  /** Canonical, comparable copy of the whole state. */
  snapshot(): { storage: Record<string, string>; balances: Record<string, string> } {
    const storage: Record<string, string> = {}
    for (const k of [...this.storage.keys()].sort()) storage[k] = toHex(this.storage.get(k) as Uint8Array)
    const balances: Record<string, string> = {}
    for (const k of [...this.balances.keys()].sort())
      balances[k] = (this.balances.get(k) as bigint).toString()
    return { storage, balances }
  }

  /** Sum of all native balances (conservation checks). */
  totalBalance(): bigint {
    let s = 0n
    for (const v of this.balances.values()) s += v
    return s
  }
}
