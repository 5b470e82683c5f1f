/** Test fixtures: a tiny block format, a fast keyed-MAC "signature" scheme, real keys. */
import { RLP } from '@ethereumjs/rlp'
import { bytesEqual, toHex } from '../src/bytes.ts'
import { keccak256, privateKeySigner } from '../src/crypto.ts'
import type { Address, Block, BlockCodec, RecoverFn, Round, Signer } from '../src/types.ts'

/** Test block: RLP([height, round, builder, nonce]); digest = keccak(bytes). */
export function makeBlock(height: bigint, round: Round, builder: Address, nonce: bigint): Block {
  const bytes = RLP.encode([height, round, builder, nonce])
  return { height, round, digest: keccak256(bytes), bytes }
}

function scalar(b: unknown, what: string): bigint {
  if (!(b instanceof Uint8Array) || b.length > 8 || (b.length > 0 && b[0] === 0))
    throw new Error(`bad ${what}`)
  let x = 0n
  for (const v of b) x = (x << 8n) | BigInt(v)
  return x
}

export interface TestBlockInfo {
  builder: Address
  nonce: bigint
}

export function blockInfo(b: Block): TestBlockInfo {
  const l = RLP.decode(b.bytes) as Uint8Array[]
  return { builder: l[2] as Uint8Array, nonce: scalar(l[3], 'nonce') }
}

export const testBlocks: BlockCodec = {
  decode(bytes) {
    const l = RLP.decode(bytes)
    if (!Array.isArray(l) || l.length !== 4) throw new Error('test block must be a 4-item list')
    const height = scalar(l[0], 'height')
    const round = Number(scalar(l[1], 'round'))
    const builder = l[2]
    if (!(builder instanceof Uint8Array) || builder.length !== 20) throw new Error('bad builder')
    const nonce = scalar(l[3], 'nonce')
    return makeBlock(height, round, builder, nonce)
  },
  withRound(block, round) {
    const info = blockInfo(block)
    return makeBlock(block.height, round, info.builder, info.nonce)
  },
}

/** Round-independent identity (what the real node gets from onchainHash). */
export function blockId(b: Block): string {
  return toHex(testBlocks.withRound(b, 0).digest)
}

/**
 * Fast fake signatures for simulations (keccak MAC instead of ECDSA: ~1000x faster):
 * sig = keccak(secret ‖ hash) ‖ address ‖ 12 zero bytes ‖ 0. Unforgeable without the secret
 * inside the simulation, which is all the state machine relies on.
 */
export class FakeKeyring {
  readonly #secrets = new Map<string, Uint8Array>()

  signer(seed: number): Signer {
    const secret = keccak256(Uint8Array.of(0xfa, ...new TextEncoder().encode(`secret-${seed}`)))
    const address = keccak256(secret).subarray(12)
    this.#secrets.set(toHex(address), secret)
    return {
      address,
      sign: (hash) => {
        const out = new Uint8Array(65)
        out.set(keccak256(concat(secret, hash)), 0)
        out.set(address, 32)
        return out
      },
    }
  }

  readonly recover: RecoverFn = (hash, sig) => {
    if (sig.length !== 65) throw new Error('bad length')
    const address = sig.subarray(32, 52)
    const secret = this.#secrets.get(toHex(address))
    if (secret === undefined || !bytesEqual(keccak256(concat(secret, hash)), sig.subarray(0, 32)))
      throw new Error('bad signature')
    return Uint8Array.from(address)
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length)
  o.set(a, 0)
  o.set(b, a.length)
  return o
}

export function realSigner(i: number): Signer {
  const sk = keccak256(new TextEncoder().encode(`qbft-test-key-${i}`))
  return privateKeySigner(sk)
}

/** mulberry32: small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
