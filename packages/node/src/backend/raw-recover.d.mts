/** Types of raw-recover.mjs (plain JavaScript, loaded by the recovery worker). */
import type { Input } from '@ethereumjs/rlp'

export interface RawRecoverDeps {
  RLP: { decode(input: Uint8Array): unknown; encode(input: Input): Uint8Array }
  keccak256(data: Uint8Array): Uint8Array
  ecdsaRecover(sig: Uint8Array, recid: number, msg: Uint8Array, compressed: false): Uint8Array
}
export type RawRecover = (raw: Uint8Array) => { publicKey: Uint8Array; hash: Uint8Array }
export function createRawRecover(deps: RawRecoverDeps): RawRecover
/** The worker's recovery, plus the signer of a digest (commit seals: 32-byte digest, 65-byte sig). */
export type LoadedRawRecover = RawRecover & {
  signer(digest: Uint8Array, sig: Uint8Array): Uint8Array
}
export function loadRawRecover(anchorUrl: string): Promise<LoadedRawRecover>
