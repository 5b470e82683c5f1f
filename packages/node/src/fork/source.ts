/**
 * The remote's state at the fork block over JSON-RPC (evm-runtime's ForkSource): an account is
 * its balance, nonce and code (three requests, one batch); a slot is eth_getStorageAt; BLOCKHASH
 * before the fork is the remote block's hash. Values at a fixed block never change, so every
 * answer is cached (bounded; an evicted entry is simply asked again) and concurrent asks for the
 * same key share one request.
 */
import { ForkError, type ForkSource, type RemoteAccount } from '@openledger/evm-runtime'
import { fromHex, hex } from '../util/bytes.ts'
import type { RemoteChain } from './remote.ts'

/** A Map that forgets everything when full (cheap; forgotten answers are asked again). */
class Bounded<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super()
  }
  override set(k: string, v: V): this {
    if (this.size >= this.max) this.clear()
    return super.set(k, v)
  }
}

export class RemoteForkSource implements ForkSource {
  private readonly accounts = new Bounded<Promise<RemoteAccount | undefined>>(50_000)
  private readonly slots = new Bounded<Promise<Uint8Array>>(500_000)
  private readonly hashes = new Bounded<Promise<Uint8Array | undefined>>(10_000)
  private readonly tag: string
  /** Requests sent to the remote for state (for tests and the banner's statistics). */
  readonly stats = { accounts: 0, slots: 0, blockHashes: 0 }

  constructor(
    private readonly remote: RemoteChain,
    readonly blockNumber: bigint,
  ) {
    this.tag = `0x${blockNumber.toString(16)}`
  }

  private cached<V>(map: Bounded<Promise<V>>, k: string, load: () => Promise<V>): Promise<V> {
    let p = map.get(k)
    if (p === undefined) {
      p = load()
      map.set(k, p)
      // A failure is not an answer: ask again next time.
      p.catch(() => {
        if (map.get(k) === p) map.delete(k)
      })
    }
    return p
  }

  account(address: Uint8Array): Promise<RemoteAccount | undefined> {
    const a = hex(address)
    return this.cached(this.accounts, a, async () => {
      this.stats.accounts++
      const at = `state at block ${this.blockNumber}`
      const [balance, nonce, code] = await Promise.all([
        this.remote.request<string>('eth_getBalance', [a, this.tag], at),
        this.remote.request<string>('eth_getTransactionCount', [a, this.tag], at),
        this.remote.request<string>('eth_getCode', [a, this.tag], at),
      ])
      const account = {
        balance: quantity(balance, 'eth_getBalance', this.remote.display),
        nonce: quantity(nonce, 'eth_getTransactionCount', this.remote.display),
        code: data(code, 'eth_getCode', this.remote.display),
      }
      return account.balance === 0n && account.nonce === 0n && account.code.length === 0 ? undefined : account
    })
  }

  storage(address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    const a = hex(address)
    const s = hex(slot)
    return this.cached(this.slots, a + s.slice(2), async () => {
      this.stats.slots++
      const v = data(
        await this.remote.request<string>(
          'eth_getStorageAt',
          [a, s, this.tag],
          `state at block ${this.blockNumber}`,
        ),
        'eth_getStorageAt',
        this.remote.display,
      )
      if (v.length > 32)
        throw new ForkError(
          `the fork's remote ${this.remote.display} answered eth_getStorageAt with ${v.length} bytes`,
        )
      const out = new Uint8Array(32)
      out.set(v, 32 - v.length)
      return out
    })
  }

  blockHash(n: bigint): Promise<Uint8Array | undefined> {
    if (n < 0n || n > this.blockNumber) return Promise.resolve(undefined)
    return this.cached(this.hashes, n.toString(), async () => {
      this.stats.blockHashes++
      const block = await this.remote.request<{ hash?: string } | null>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ])
      return block?.hash ? data(block.hash, 'eth_getBlockByNumber', this.remote.display) : undefined
    })
  }
}

/** A hex quantity from the remote; anything else is the remote misbehaving. */
export function quantity(v: unknown, method: string, remote: string): bigint {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(v))
    throw new ForkError(
      `the fork's remote ${remote} answered ${method} with ${JSON.stringify(v)?.slice(0, 80)}, not a quantity`,
    )
  return BigInt(v)
}

/** Hex data from the remote (odd lengths tolerated, as some nodes answer `0x0`). */
export function data(v: unknown, method: string, remote: string): Uint8Array {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]*$/.test(v))
    throw new ForkError(
      `the fork's remote ${remote} answered ${method} with ${JSON.stringify(v)?.slice(0, 80)}, not hex data`,
    )
  return fromHex(v.length % 2 === 0 ? v : `0x0${v.slice(2)}`)
}
