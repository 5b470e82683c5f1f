/**
 * Request/response: blocks_by_range. A requester asks a connected peer for up to 128 consecutive
 * blocks; the server answers a header frame then one frame per block, bounded in frame size, time
 * and concurrent serves across all peers.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  errMsg,
  openStream,
  own,
  SERVE_TIMEOUT_MS,
  untilAborted,
} from './streams.ts'
import {
  BLOCKS_BY_RANGE_PROTOCOL,
  checkRangeRequest,
  decodeRangeHeader,
  decodeRangeRequest,
  encodeRangeHeader,
  encodeRangeRequest,
  MAX_CONTROL_FRAME_BYTES,
  MAX_FRAME_BYTES,
} from './wire.ts'

export type BlocksHandler = (from: bigint, count: number) => Promise<Uint8Array[]>

/** Concurrent blocks_by_range requests served across all peers: bounds database load. */
const MAX_CONCURRENT_SERVES = 16

export class BlocksByRange {
  private blocksHandler: BlocksHandler | undefined
  private serving = 0
  private closed = false

  constructor(
    private readonly node: Libp2p,
    private readonly log: Logger,
  ) {}

  /** Registers the protocol handler (before the node starts). */
  async register(): Promise<void> {
    await this.node.handle(
      BLOCKS_BY_RANGE_PROTOCOL,
      (stream, conn) => this.serveBlocksByRange(stream, conn),
      {
        maxInboundStreams: 4,
        maxOutboundStreams: 8,
      },
    )
  }

  /** Requests fail from now on (the libp2p node is stopped by the network). */
  close(): void {
    this.closed = true
  }

  onBlocksByRange(handler: BlocksHandler): void {
    if (typeof handler !== 'function') throw new Error('p2p: blocks handler must be a function')
    this.blocksHandler = handler
  }
  async requestBlocksByRange(
    peerId: string,
    from: bigint,
    count: number,
    opts: { timeoutMs?: number } = {},
  ): Promise<Uint8Array[]> {
    checkRangeRequest(from, count)
    const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const what = `blocks_by_range(${from}, ${count}) from ${peerId}`
    const stream = await openStream(this.node, this.closed, peerId, BLOCKS_BY_RANGE_PROTOCOL, signal, what)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_FRAME_BYTES + 16 })
      await lp.write(encodeRangeRequest({ from, count }), { signal })
      await stream.close({ signal })
      const header = decodeRangeHeader(own(await lp.read({ signal })))
      if (!header.ok) throw new Error(`${what}: peer answered with an error: ${header.error}`)
      if (header.count > count)
        throw new Error(`${what}: peer announced ${header.count} blocks, more than asked`)
      const blocks: Uint8Array[] = []
      for (let i = 0; i < header.count; i++) blocks.push(own(await lp.read({ signal })))
      return blocks
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw new Error(`${what}: timed out`)
      if (err instanceof Error && err.message.startsWith(what)) throw err
      throw new Error(`${what}: ${errMsg(err)}`)
    }
  }
  private async serveBlocksByRange(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(SERVE_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const fail = async (error: string): Promise<void> => {
      this.log.debug({ peer, error }, 'blocks_by_range request refused')
      await lp.write(encodeRangeHeader({ ok: false, error }), { signal })
      await stream.close({ signal })
    }
    this.serving++
    try {
      let from: bigint
      let count: number
      try {
        // Requests are tiny: read with a control-size cap via a separate check below.
        const frame = await lp.read({ signal })
        if (frame.byteLength > MAX_CONTROL_FRAME_BYTES) return await fail('request frame too large')
        ;({ from, count } = decodeRangeRequest(own(frame)))
        checkRangeRequest(from, count)
      } catch (err) {
        if (signal.aborted) throw err
        return await fail(`bad request: ${errMsg(err)}`)
      }
      const handler = this.blocksHandler
      if (handler === undefined) return await fail('blocks_by_range not served by this node')
      if (this.serving > MAX_CONCURRENT_SERVES) return await fail('busy, retry later')
      let blocks: Uint8Array[]
      try {
        blocks = await untilAborted(
          Promise.resolve().then(() => handler(from, count)),
          signal,
        )
      } catch (err) {
        this.log.warn(
          { peer, from: from.toString(), count, err: errMsg(err) },
          'blocks_by_range handler failed',
        )
        return await fail('internal error')
      }
      if (!Array.isArray(blocks) || blocks.length > count || blocks.some((b) => !(b instanceof Uint8Array))) {
        this.log.error({ count }, 'blocks_by_range handler returned an invalid result')
        return await fail('internal error')
      }
      const oversized = blocks.findIndex((b) => b.length > MAX_FRAME_BYTES)
      // Never send a frame the requester must refuse: truncate at the first oversized block.
      const send = oversized === -1 ? blocks : blocks.slice(0, oversized)
      await lp.write(encodeRangeHeader({ ok: true, count: send.length }), { signal })
      for (const b of send) await lp.write(b, { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer, err: errMsg(err) }, 'blocks_by_range stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.serving--
    }
  }
}
