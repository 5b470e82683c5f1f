/**
 * Which remote chain a dev chain is forked from right now, if any: set at start by
 * `--fork-url`, replaced or cleared by hardhat_reset / anvil_reset. The RPC backend reads it per
 * request (which history to forward), the dev controls change it.
 */
import type { ForkedHistory } from '@openledger/rpc'
import { type Fork, openFork } from './open.ts'
import type { RemoteOptions } from './remote.ts'

/** How remote requests are made (--fork-timeout, --fork-retries, --fork-header); kept by resets. */
export type ForkTransport = Omit<RemoteOptions, 'url'>

export class Forking {
  constructor(
    readonly transport: ForkTransport,
    public current: Fork | undefined,
  ) {}

  get history(): ForkedHistory | undefined {
    return this.current?.history
  }

  /**
   * Opens a fork of `url` (default: the current fork's remote) at `blockNumber` (default: its
   * latest block). Does not switch to it: the caller does, once the chain is reset onto it.
   */
  open(opts: { url?: string; blockNumber?: bigint }): Promise<Fork> {
    const url = opts.url ?? this.current?.remote.url
    if (url === undefined)
      return Promise.reject(new Error('forking needs a jsonRpcUrl: this chain is not forked from one'))
    return openFork({ ...this.transport, url, blockNumber: opts.blockNumber })
  }
}
