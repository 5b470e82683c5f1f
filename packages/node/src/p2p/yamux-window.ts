/**
 * Yamux window updates as go-yamux (and Hashicorp's reference) send them: only once at least half
 * of a stream's receive window has been consumed. @chainsafe/libp2p-yamux 8.0.1 sends one after
 * every data frame it receives, so every gossipsub message a node receives costs an extra frame
 * back (yamux header, noise encryption, a socket write on one side; read, decryption and frame
 * parsing on the other): 2.9 % of the four devnet validators' main-thread time in `--cpu-prof`
 * under load, and half of all frames on a busy gossip stream. Flow control is unchanged in kind:
 * the sender always keeps at least half a window (≥ 128 KiB) of credit, sends partial frames up to
 * it, and every data frame received re-checks the threshold, so no stream can stall on a withheld
 * update. Opening (SYN/ACK flags) and paused streams keep the library's own path.
 * Installed once, globally, on the stream class's prototype (like evm-runtime's tx-bytes.ts).
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

/** Installs the half-window threshold on every yamux stream (idempotent). */
export function installYamuxWindowThreshold(): void {
  if (installed) return
  installed = true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(this: WindowFields): void }
  const original = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowFields) {
    if (
      this.state === StreamState.Established &&
      this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2
    )
      return
    original.call(this)
  }
}
