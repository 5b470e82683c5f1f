/**
 * eth_subscribe / eth_unsubscribe for one WebSocket connection: newHeads, logs and
 * newPendingTransactions (optionally full transactions, as geth's `true` flag). The connection
 * listens to backend events only while it has subscriptions and detaches on close.
 */
import { randomBytes } from 'node:crypto'
import type { Block } from '@ethereumjs/block'
import type { Hash, RpcBackend, RpcLog } from './backend.ts'
import { invalidParams, limitExceeded } from './errors.ts'
import { logMatches } from './filters.ts'
import { data, formatHeader, formatLog, formatTxLocation, type Json } from './format.ts'
import type { RpcLogger } from './options.ts'
import { type FilterCriteria, parseBool, parseFilter } from './validation.ts'

type Subscription =
  | { kind: 'newHeads' }
  | { kind: 'logs'; criteria: FilterCriteria }
  | { kind: 'newPendingTransactions'; full: boolean }

export interface SubscriptionOptions {
  maxSubscriptions: number
  logger: RpcLogger
}

/** Sends one `eth_subscription` notification; returns false once the connection is gone. */
export type NotifyFn = (message: Json) => boolean

export class Subscriptions {
  private readonly subs = new Map<string, Subscription>()
  private listening = false
  private closed = false

  private readonly onBlock = (block: Block, logs: RpcLog[]): void => {
    let header: Json | undefined
    for (const [id, sub] of this.subs) {
      if (sub.kind === 'newHeads') {
        header ??= formatHeader(block.header)
        this.notify(id, header)
      } else if (sub.kind === 'logs') {
        // geth sends each matching log as its own notification, in block order.
        for (const log of logs) if (logMatches(log, sub.criteria)) this.notify(id, formatLog(log))
      }
    }
  }

  private readonly onPending = (hash: Hash): void => {
    for (const [id, sub] of this.subs) {
      if (sub.kind !== 'newPendingTransactions') continue
      if (!sub.full) {
        this.notify(id, data(hash))
        continue
      }
      this.backend
        .getTransaction(hash)
        .then((loc) => {
          // Dropped between the event and the lookup, or unsubscribed meanwhile: nothing to send.
          if (loc && this.subs.has(id)) this.notify(id, formatTxLocation(loc))
        })
        .catch((err: unknown) =>
          this.logger.warn({ err, tx: data(hash) }, 'pending tx lookup for subscription failed'),
        )
    }
  }

  private readonly logger: RpcLogger

  constructor(
    private readonly backend: RpcBackend,
    private readonly send: NotifyFn,
    private readonly opts: SubscriptionOptions,
  ) {
    this.logger = opts.logger
  }

  get size(): number {
    return this.subs.size
  }

  private notify(subscription: string, result: Json): void {
    if (this.closed) return
    if (!this.send({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } }))
      this.close()
  }

  /** eth_subscribe params: [kind, options?]. Returns the subscription id. */
  subscribe(params: unknown[]): string {
    const [kind, arg] = params
    let sub: Subscription
    switch (kind) {
      case 'newHeads':
        if (arg !== undefined) throw invalidParams('newHeads takes no options')
        sub = { kind: 'newHeads' }
        break
      case 'logs':
        sub = { kind: 'logs', criteria: parseFilter(arg, 'filter') }
        if (sub.criteria.blockHash || sub.criteria.fromBlock || sub.criteria.toBlock) {
          throw invalidParams('logs subscription takes only address and topics (no block range or blockHash)')
        }
        break
      case 'newPendingTransactions':
        sub = { kind: 'newPendingTransactions', full: arg === undefined ? false : parseBool(arg, 'fullTx') }
        break
      case 'syncing':
        throw invalidParams('syncing subscriptions are not supported; poll eth_syncing')
      default:
        throw invalidParams(
          `unsupported subscription type ${JSON.stringify(kind)}; expected newHeads, logs or newPendingTransactions`,
        )
    }
    if (this.closed) throw limitExceeded('connection is closing')
    if (this.subs.size >= this.opts.maxSubscriptions) {
      throw limitExceeded(`too many subscriptions on this connection (max ${this.opts.maxSubscriptions})`)
    }
    const id = `0x${randomBytes(16).toString('hex')}`
    this.subs.set(id, sub)
    this.attach()
    return id
  }

  unsubscribe(id: string): boolean {
    const removed = this.subs.delete(id)
    if (this.subs.size === 0) this.detach()
    return removed
  }

  private attach(): void {
    if (this.listening) return
    this.backend.events.on('block', this.onBlock)
    this.backend.events.on('pendingTransaction', this.onPending)
    this.listening = true
  }

  private detach(): void {
    if (!this.listening) return
    this.backend.events.off('block', this.onBlock)
    this.backend.events.off('pendingTransaction', this.onPending)
    this.listening = false
  }

  close(): void {
    this.closed = true
    this.subs.clear()
    this.detach()
  }
}
