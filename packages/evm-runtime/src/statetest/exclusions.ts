/**
 * THE list of GeneralStateTests cases that `openledger evm statetest` does not run by default. It
 * starts empty: a failing case is a bug to fix. Every entry names what it excludes (a fork, a test
 * or one case `test/fork/index`) and a reason a reviewer can check.
 */
export interface Exclusion {
  /** Fixture fork name (e.g. "Frontier"); with no `name`, the whole fork. */
  fork?: string
  /** A test name, or one case as `test/fork/index`. */
  name?: string
  reason: string
}

export const EXCLUSIONS: readonly Exclusion[] = []
