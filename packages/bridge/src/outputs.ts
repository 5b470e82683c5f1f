/**
 * Outputs: what a validator signs and a proposer submits for an L2 block. Pure helpers over
 * small interfaces, so the node (its own state) and tools (RPC) compute the same root.
 */
import { type Address, type Hex, recoverAddress } from 'viem'
import { L2OutputOracle } from './generated/artifacts.ts'
import { outputRootV0 } from './hashing.ts'
import { type OutputClaim, outputDigest } from './output-signing.ts'

export interface L2BlockRef {
  number: bigint
  hash: Hex
  stateRoot: Hex
  /** Storage root of the message passer in that state. */
  messagePasserStorageRoot: Hex
}

export interface Output extends L2BlockRef {
  outputRoot: Hex
}

export function outputOf(b: L2BlockRef): Output {
  return { ...b, outputRoot: outputRootV0(b.stateRoot, b.messagePasserStorageRoot, b.hash) }
}

/** A validator's signature over an output claim, as gossiped between nodes. */
export interface OutputSignature {
  l2BlockNumber: bigint
  outputRoot: Hex
  /** Sorted validator set after the block (what the oracle rotates to). */
  nextValidators: Address[]
  signature: Hex
}

/** Collects signatures per (block, root, next set) and says when a quorum of `signers` is reached. */
export class SignatureCollector {
  readonly #by = new Map<string, Map<string, Hex>>()

  key(s: Pick<OutputSignature, 'l2BlockNumber' | 'outputRoot' | 'nextValidators'>): string {
    return `${s.l2BlockNumber}:${s.outputRoot.toLowerCase()}:${s.nextValidators.map((v) => v.toLowerCase()).join(',')}`
  }

  /**
   * Adds a signature after recovering its signer; returns the signer, or undefined when it is not
   * in `signers` (the set the oracle checks against).
   */
  async add(
    claim: OutputClaim,
    s: OutputSignature,
    signers: readonly Address[],
  ): Promise<Address | undefined> {
    const signer = await recoverAddress({ hash: outputDigest(claim), signature: s.signature }).catch(
      () => undefined,
    )
    if (signer === undefined || !signers.some((v) => v.toLowerCase() === signer.toLowerCase()))
      return undefined
    const k = this.key(s)
    let m = this.#by.get(k)
    if (!m) {
      m = new Map()
      this.#by.set(k, m)
    }
    m.set(signer.toLowerCase(), s.signature)
    return signer
  }

  /** Signatures for the claim ordered by signer (the oracle's order), or undefined below `quorum`. */
  quorum(
    s: Pick<OutputSignature, 'l2BlockNumber' | 'outputRoot' | 'nextValidators'>,
    quorum: number,
  ): Hex[] | undefined {
    const m = this.#by.get(this.key(s))
    if (!m || m.size < quorum) return undefined
    return [...m.entries()].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)).map(([, sig]) => sig)
  }

  /** Forgets everything below `l2BlockNumber`. */
  prune(l2BlockNumber: bigint): void {
    for (const k of this.#by.keys()) if (BigInt(k.split(':')[0]!) < l2BlockNumber) this.#by.delete(k)
  }
}

export const oracleAbi = L2OutputOracle.abi

/**
 * Gossip encoding of an OutputSignature: compact JSON (bounded by the topic's size limit).
 * `t` (the publisher's clock, ms) makes every publish a distinct message: gossip ids are content
 * hashes remembered for 2 minutes and ECDSA signatures are deterministic, so without it a
 * validator's re-publish (a proposer that was behind, an output deleted and proposed again) would
 * be dropped as a duplicate. Receivers ignore `t`.
 */
export function encodeOutputSignature(s: OutputSignature, t = Date.now()): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      n: s.l2BlockNumber.toString(),
      r: s.outputRoot,
      v: s.nextValidators,
      s: s.signature,
      t,
    }),
  )
}

export function decodeOutputSignature(bytes: Uint8Array): OutputSignature {
  let j: unknown
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new Error('output signature: not JSON')
  }
  const o = j as { n?: unknown; r?: unknown; v?: unknown; s?: unknown; t?: unknown }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new Error('output signature: not an object')
  if (o.t !== undefined && !Number.isSafeInteger(o.t)) throw new Error('output signature: bad time')
  if (typeof o.n !== 'string' || !/^\d{1,20}$/.test(o.n))
    throw new Error('output signature: bad block number')
  if (typeof o.r !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(o.r))
    throw new Error('output signature: bad root')
  if (typeof o.s !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(o.s))
    throw new Error('output signature: bad signature')
  if (!Array.isArray(o.v) || o.v.length === 0 || o.v.length > 128)
    throw new Error('output signature: bad validator set')
  for (const a of o.v)
    if (typeof a !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a))
      throw new Error('output signature: bad validator')
  return {
    l2BlockNumber: BigInt(o.n),
    outputRoot: o.r.toLowerCase() as Hex,
    nextValidators: o.v as Address[],
    signature: o.s as Hex,
  }
}
