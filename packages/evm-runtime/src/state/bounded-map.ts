/** A Map that empties itself when full: O(1), and a cold refill is cheap compared to LRU upkeep. */
export class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super()
  }
  override set(key: string, value: V): this {
    if (this.size >= this.max) this.clear()
    return super.set(key, value)
  }
}
