/**
 * Fast paths that leave some EIPs out check, per call, that none of those is active. Common keeps
 * its activated-EIP list in one array that it rebuilds on every hardfork or EIP change, so the
 * answer is memoised per (that array, the list of EIPs left out).
 */
const memo = new WeakMap<readonly number[], Map<readonly number[], boolean>>()

/** True when none of `left` is in `activated` (Common's `_activatedEIPsCache`). */
export function noneActive(activated: readonly number[], left: readonly number[]): boolean {
  let byList = memo.get(activated)
  if (byList === undefined) {
    byList = new Map()
    memo.set(activated, byList)
  }
  let ok = byList.get(left)
  if (ok === undefined) {
    ok = !left.some((e) => activated.includes(e))
    byList.set(left, ok)
  }
  return ok
}
