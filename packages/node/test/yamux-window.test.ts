/** Yamux receive-window credit returned at half a window (p2p/yamux-window.ts). */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { describe, expect, it } from 'vitest'
import { installYamuxWindowThreshold } from '../src/p2p/yamux-window.ts'

const WINDOW = 256 * 1024
const DATA = 0
const WINDOW_UPDATE = 1

function stream(state: StreamState) {
  const sent: Array<{ type: number; flag: number; length: number }> = []
  const received: number[] = []
  const log = Object.assign(() => {}, { trace() {}, error() {}, enabled: false })
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    direction: 'inbound',
    log: log as never,
    sendFrame: (h) => {
      sent.push(h)
      return true
    },
    getRTT: () => -1,
    state,
  })
  s.addEventListener('message', (e) => received.push(e.data.byteLength))
  const receive = (n: number) =>
    (s as unknown as { handleData(f: unknown): void }).handleData({
      header: { type: DATA, flag: 0, streamID: 1, length: n },
      data: new Uint8Array(n),
    })
  return { s, sent, received, receive }
}

describe('yamux window updates', () => {
  installYamuxWindowThreshold()

  it('returns credit once half the window is consumed, never per frame, and delivers every byte', () => {
    const { sent, received, receive } = stream(StreamState.Established)
    // 100 gossip-sized frames (100 KiB): the sender keeps > half its credit, so no update.
    for (let i = 0; i < 100; i++) receive(1024)
    expect(sent).toEqual([])
    // Reaching half the window returns everything consumed so far, in one update.
    for (let i = 0; i < 30; i++) receive(1024)
    expect(sent).toEqual([{ type: WINDOW_UPDATE, flag: 0, streamID: 1, length: 128 * 1024 }])
    // Two frames after it, a sender using all its remaining credit gets a full window back.
    receive(WINDOW - 2 * 1024)
    expect(sent.length).toBe(2)
    expect(sent[1]!.length).toBe(WINDOW)
    expect(received.reduce((a, b) => a + b, 0)).toBe(128 * 1024 + WINDOW)
  })

  it('still acknowledges a new stream at once (ACK flag), as the library does', () => {
    const { sent, receive } = stream(StreamState.SYNReceived)
    receive(10)
    expect(sent).toEqual([{ type: WINDOW_UPDATE, flag: 2, streamID: 1, length: 10 }])
  })

  it('refuses more data than the window allows (the peer cannot overrun withheld credit)', () => {
    const { receive } = stream(StreamState.Established)
    // Just under half consumed: the credit is withheld, and the peer may send only what is left.
    receive(WINDOW / 2 - 1)
    expect(() => receive(WINDOW / 2 + 2)).toThrow(/window/i)
  })
})
