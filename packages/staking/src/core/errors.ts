/**
 * A rule of the staking or governance accounting was violated. `error` is the name of the custom
 * error declared in IStaking.sol / IGovernance.sol and `args` its arguments, so the module turns it
 * into exactly that revert and the core stays free of ABI code.
 */
export class StakingError extends Error {
  readonly args: readonly unknown[]
  constructor(
    readonly error: string,
    ...args: unknown[]
  ) {
    super(`${error}(${args.map(String).join(', ')})`)
    this.name = 'StakingError'
    this.args = args
  }
}

export function fail(error: string, ...args: unknown[]): never {
  throw new StakingError(error, ...args)
}
