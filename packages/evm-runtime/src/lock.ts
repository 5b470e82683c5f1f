/** A FIFO async mutex: state-mutating work on one state manager must never interleave. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    // The next waiter starts when this one settles, whatever the outcome.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
