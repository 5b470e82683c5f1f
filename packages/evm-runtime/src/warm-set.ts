/**
 * The EIP-2929/2930 always-warm addresses of an eth_call (precompiles, sender, recipient, coinbase,
 * access list), as runTx would prepare them, in the journal's `alwaysWarmJournal` map.
 *
 * The precompiles are the same for every call of a VM, and filling a fresh map with them was the
 * largest single cost of preparing a call (~20 string-keyed inserts into a growing Map). So one map
 * holding the precompiles is kept and lent to the journal for each call: `begin` attaches it, each
 * key the call adds is noted, and `end` takes exactly those back out (a precompile a key of the call
 * replaced gets its shared entry back). The journal itself never deletes from this map (it replaces
 * it in `cleanJournal`), so a map back at its precompile count holds nothing of the call; any other
 * size (an address the library made warm during the run: EIP-7702 delegation) drops it.
 */

/** The slot set of warm addresses without warm slots: shared, so never written. */
class NoSlots extends Set<string> {
  override add(): this {
    throw new Error('internal error: a warm slot was added to the shared empty slot set')
  }
}
export const NO_SLOTS: Set<string> = new NoSlots()

interface JournalWarm {
  alwaysWarmJournal: Map<string, Set<string>>
  addAlwaysWarmAddress(address: string, addToAccessList?: boolean): void
  addAlwaysWarmSlot(address: string, slot: string, addToAccessList?: boolean): void
}

export class CallWarmSet {
  private base: Map<string, Set<string>> | undefined
  private precompiles: Set<string> | undefined
  private list: string[] | undefined
  private readonly added: string[] = []
  private lent = false

  /**
   * Attaches the map, holding `precompiles` (unprefixed hex, fixed for a VM: the same array
   * object while they do not change), to `journal`, which must be clean (cleanJournal).
   */
  begin(journal: object, precompiles: string[]): void {
    if (this.lent || this.base === undefined || this.list !== precompiles) {
      this.list = precompiles
      this.precompiles = new Set(precompiles)
      this.base = new Map()
      for (const a of precompiles) this.base.set(a, NO_SLOTS)
    }
    this.added.length = 0
    this.lent = true
    ;(journal as JournalWarm).alwaysWarmJournal = this.base
  }

  /** A warm address without warm slots (unprefixed hex). */
  add(journal: object, address: string): void {
    const warm = (journal as JournalWarm).alwaysWarmJournal
    this.added.push(address)
    warm.set(address, NO_SLOTS)
  }

  /** An access-list entry: the address gets a slot set of its own, then its slots. */
  addAccessListItem(journal: object, address: string, slots: string[]): void {
    const j = journal as JournalWarm
    this.added.push(address)
    if (j.alwaysWarmJournal.get(address) === NO_SLOTS) j.alwaysWarmJournal.delete(address)
    j.addAlwaysWarmAddress(address, true)
    for (const k of slots) j.addAlwaysWarmSlot(address, k, true)
  }

  /** Takes the call's keys back out of the map (call it however the call ended). */
  end(): void {
    if (!this.lent) return
    this.lent = false
    const base = this.base
    const pre = this.precompiles
    if (base === undefined || pre === undefined) return
    for (const a of this.added) {
      if (pre.has(a)) base.set(a, NO_SLOTS)
      else base.delete(a)
    }
    this.added.length = 0
    if (base.size !== pre.size) this.base = undefined
  }
}
