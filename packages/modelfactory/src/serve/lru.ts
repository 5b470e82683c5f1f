/**
 * Least-recently-used cache with a bound on resident entries and single-flight loading: concurrent
 * requests for an absent key share one load; a failed load is not cached. Used for the adapters an
 * OpenLoRA provider keeps in memory.
 */
export interface LruStats {
  hits: number
  misses: number
  loads: number
  evictions: number
  resident: number
}

export class LruCache<K, V> {
  private readonly entries = new Map<K, V>()
  private readonly loading = new Map<K, Promise<V>>()
  private readonly counters = { hits: 0, misses: 0, loads: 0, evictions: 0 }

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('LRU capacity must be ≥ 1')
  }

  /** The value (marking it most recently used), or undefined. */
  peek(key: K): V | undefined {
    const v = this.entries.get(key)
    if (v !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, v)
    }
    return v
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  keys(): K[] {
    return [...this.entries.keys()]
  }

  /** The cached value, or the result of `load` (stored, evicting the least recently used). */
  async get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const hit = this.peek(key)
    if (hit !== undefined) {
      this.counters.hits++
      return hit
    }
    this.counters.misses++
    const pending = this.loading.get(key)
    if (pending !== undefined) return pending
    const p = (async () => {
      try {
        const v = await load(key)
        this.counters.loads++
        this.set(key, v)
        return v
      } finally {
        this.loading.delete(key)
      }
    })()
    this.loading.set(key, p)
    return p
  }

  set(key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as K
      const v = this.entries.get(oldest) as V
      this.entries.delete(oldest)
      this.counters.evictions++
      this.onEvict?.(oldest, v)
    }
  }

  stats(): LruStats {
    return { ...this.counters, resident: this.entries.size }
  }
}
