/** A FIFO async mutex: state-mutating work on one state manager must never interleave. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()
  private queued = 0

  /** Nothing runs or waits: a run() started now runs next. */
  get idle(): boolean {
    return this.queued === 0
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.queued++
    const result = this.tail.then(fn).finally(() => {
      this.queued--
    })
    // The next waiter starts when this one settles, whatever the outcome.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
