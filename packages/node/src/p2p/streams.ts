/**
 * Stream helpers shared by the request/response protocols (status handshake, blocks_by_range):
 * opening a protocol stream to a connected peer, copying frames out, bounding a handler by a
 * signal.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** How long a server waits for a request frame and for its block handler. */
export const SERVE_TIMEOUT_MS = 10_000

export function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Copy out of a (possibly pooled) Uint8ArrayList/Buffer view into a standalone Uint8Array. */
export function own(bytes: { subarray(): Uint8Array }): Uint8Array {
  return new Uint8Array(bytes.subarray())
}

/** Rejects when `signal` aborts, so a hung handler cannot pin a serving slot forever. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('timed out'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Opens `protocol` to a connected peer; errors name `what` (the request) and why. */
export async function openStream(
  node: Libp2p,
  closed: boolean,
  peerId: string,
  protocol: string,
  signal: AbortSignal,
  what: string,
): Promise<Stream> {
  if (closed) throw new Error(`${what}: network is closed`)
  let peer: PeerId
  try {
    peer = peerIdFromString(peerId)
  } catch {
    throw new Error(`${what}: invalid peer id`)
  }
  if (node.getConnections(peer).length === 0) throw new Error(`${what}: peer is not connected`)
  try {
    return await node.dialProtocol(peer, protocol, { signal })
  } catch (err) {
    if (signal.aborted) throw new Error(`${what}: timed out`)
    throw new Error(`${what}: could not open stream (${errMsg(err)})`)
  }
}
