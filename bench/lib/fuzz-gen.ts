/**
 * Random EVM programs and transactions for the differential fuzzer (bench/fuzz.ts). Everything is
 * drawn from one seeded PRNG, so a seed reproduces a run exactly.
 *
 * A program is a straight sequence of snippets, each leaving the stack as it found it and writing
 * what it observed (success flags, return sizes, GAS, balances, hashes, transient values) into
 * storage slots 0–15, so that both chains' storage, logs and gas must agree for the run to pass.
 * Left out on purpose because they legitimately differ between two chains: TIMESTAMP, PREVRANDAO,
 * BLOCKHASH (block hashes differ), COINBASE is the same on both (the fuzzer sets it), and the
 * chain-specific system-module addresses.
 */

/** xorshift128+ seeded from a 32-bit seed: fast, reproducible, good enough for test inputs. */
export class Rng {
  private a: bigint
  private b: bigint
  constructor(seed: number) {
    this.a = BigInt(seed >>> 0) * 0x9e3779b97f4a7c15n + 1n
    this.b = (BigInt(seed >>> 0) ^ 0x5deece66dn) * 0xbf58476d1ce4e5b9n + 7n
    for (let i = 0; i < 10; i++) this.next()
  }
  next(): bigint {
    const M = (1n << 64n) - 1n
    let x = this.a
    const y = this.b
    this.a = y
    x = (x ^ (x << 23n)) & M
    this.b = x ^ y ^ (x >> 17n) ^ (y >> 26n)
    return (this.b + y) & M
  }
  int(n: number): number {
    return Number(this.next() % BigInt(n))
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(256)
    return out
  }
  word(): bigint {
    // Mostly small numbers (interesting boundaries), sometimes full 256-bit values.
    const k = this.int(6)
    if (k === 0) return 0n
    if (k === 1) return BigInt(this.int(33))
    if (k === 2) return (1n << 256n) - 1n - BigInt(this.int(3))
    return (this.next() << 192n) | (this.next() << 128n) | (this.next() << 64n) | this.next()
  }
}

export const OP = {
  STOP: 0x00,
  ADD: 0x01,
  SUB: 0x03,
  LT: 0x10,
  ISZERO: 0x15,
  KECCAK256: 0x20,
  ADDRESS: 0x30,
  BALANCE: 0x31,
  CALLER: 0x33,
  CALLVALUE: 0x34,
  CALLDATALOAD: 0x35,
  CALLDATASIZE: 0x36,
  CODESIZE: 0x38,
  CODECOPY: 0x39,
  EXTCODESIZE: 0x3b,
  RETURNDATASIZE: 0x3d,
  RETURNDATACOPY: 0x3e,
  EXTCODEHASH: 0x3f,
  NUMBER: 0x43,
  GASLIMIT: 0x45,
  CHAINID: 0x46,
  SELFBALANCE: 0x47,
  BASEFEE: 0x48,
  BLOBHASH: 0x49,
  BLOBBASEFEE: 0x4a,
  POP: 0x50,
  MLOAD: 0x51,
  MSTORE: 0x52,
  MSTORE8: 0x53,
  SLOAD: 0x54,
  SSTORE: 0x55,
  JUMP: 0x56,
  JUMPI: 0x57,
  MSIZE: 0x59,
  GAS: 0x5a,
  JUMPDEST: 0x5b,
  TLOAD: 0x5c,
  TSTORE: 0x5d,
  MCOPY: 0x5e,
  PUSH0: 0x5f,
  DUP1: 0x80,
  DUP2: 0x81,
  SWAP1: 0x90,
  LOG0: 0xa0,
  CREATE: 0xf0,
  CALL: 0xf1,
  CALLCODE: 0xf2,
  RETURN: 0xf3,
  DELEGATECALL: 0xf4,
  CREATE2: 0xf5,
  STATICCALL: 0xfa,
  REVERT: 0xfd,
  INVALID: 0xfe,
  SELFDESTRUCT: 0xff,
} as const

export class Code {
  readonly out: number[] = []
  op(...ops: number[]): this {
    this.out.push(...ops)
    return this
  }
  push(v: bigint | number): this {
    let x = BigInt(v)
    if (x === 0n) return this.op(OP.PUSH0)
    const bytes: number[] = []
    while (x > 0n) {
      bytes.unshift(Number(x & 0xffn))
      x >>= 8n
    }
    return this.op(0x5f + bytes.length, ...bytes)
  }
  /** Writes `data` to memory at `offset` with MSTORE8s/MSTOREs. */
  mem(offset: number, data: Uint8Array): this {
    let i = 0
    for (; i + 32 <= data.length; i += 32) {
      this.push(BigInt(`0x${Buffer.from(data.subarray(i, i + 32)).toString('hex')}`))
        .push(offset + i)
        .op(OP.MSTORE)
    }
    for (; i < data.length; i++)
      this.push(data[i]!)
        .push(offset + i)
        .op(OP.MSTORE8)
    return this
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out)
  }
}

/** go-ethereum's valid point-evaluation input (mainnet setup). */
export const KZG_VALID = Uint8Array.from(
  Buffer.from(
    '01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d3630624d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a18f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a',
    'hex',
  ),
)
/** BLS12-381 G1 generator, EIP-2537 encoding (64-byte padded x ‖ y). */
const G1 = Uint8Array.from(
  Buffer.from(
    `${'00'.repeat(16)}17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb${'00'.repeat(16)}08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1`,
    'hex',
  ),
)

/** Precompiles of Prague: 0x01–0x11 (0x0a KZG, 0x0b–0x11 BLS12-381). */
export const PRECOMPILES = Array.from({ length: 17 }, (_, i) => i + 1)

/** Inputs for a precompile: random bytes, empty, or a well-formed one where we have it. */
export function precompileInput(rng: Rng, p: number): Uint8Array {
  const k = rng.int(4)
  if (k === 0) return new Uint8Array(0)
  if (k === 1) return rng.bytes(rng.pick([1, 31, 32, 64, 96, 128, 160, 192, 256, 288]))
  if (p === 0x0a) {
    const v = KZG_VALID.slice()
    if (rng.chance(0.3)) v[rng.int(192)] ^= 1 << rng.int(8)
    return v
  }
  if (p === 0x0b) return Uint8Array.from([...G1, ...G1]) // G1ADD(g, g)
  if (p === 0x0c) {
    const out = new Uint8Array(160) // G1MSM(g, scalar)
    out.set(G1)
    out.set(rng.bytes(32), 128)
    return out
  }
  if (p === 0x02 || p === 0x03 || p === 0x04) return rng.bytes(rng.int(200))
  if (p === 0x05) {
    // modexp: small lengths, random numbers
    const out = new Uint8Array(96 + 3)
    out[31] = 1
    out[63] = 1
    out[95] = 1
    out.set(rng.bytes(3), 96)
    return out
  }
  return rng.bytes(rng.int(300))
}

export interface Pool {
  contracts: Uint8Array[]
  eoas: Uint8Array[]
}

const addrWord = (a: Uint8Array) => BigInt(`0x${Buffer.from(a).toString('hex')}`)

function target(
  rng: Rng,
  pool: Pool,
): { kind: 'contract' | 'precompile' | 'eoa' | 'self'; addr?: Uint8Array; p?: number } {
  const k = rng.int(10)
  if (k < 5 && pool.contracts.length > 0) return { kind: 'contract', addr: rng.pick(pool.contracts) }
  if (k < 8) return { kind: 'precompile', p: rng.pick(PRECOMPILES) }
  if (k < 9) return { kind: 'eoa', addr: rng.pick(pool.eoas) }
  return { kind: 'self' }
}

/** Appends one random snippet to `c`. `depth` limits nested init code. */
function snippet(rng: Rng, c: Code, pool: Pool, depth: number): void {
  const slot = () => rng.int(16)
  switch (rng.int(17)) {
    case 0:
      c.push(rng.word()).push(slot()).op(OP.SSTORE)
      break
    case 1:
      c.push(slot()).op(OP.SLOAD).push(1).op(OP.ADD).push(slot()).op(OP.SSTORE)
      break
    case 2: // transient storage: write, read back into storage
      c.push(rng.word()).push(rng.int(4)).op(OP.TSTORE)
      c.push(rng.int(4)).op(OP.TLOAD).push(slot()).op(OP.SSTORE)
      break
    case 3:
      c.mem(rng.int(96), rng.bytes(rng.int(70)))
      break
    case 4: // MCOPY (possibly overlapping), then hash the region
      c.push(rng.int(64)).push(rng.int(96)).push(rng.int(96)).op(OP.MCOPY)
      c.push(rng.int(128)).push(rng.int(64)).op(OP.KECCAK256).push(slot()).op(OP.SSTORE)
      break
    case 5: {
      const n = rng.int(5)
      for (let i = 0; i < n; i++) c.push(rng.word())
      c.push(rng.int(80))
        .push(rng.int(64))
        .op(OP.LOG0 + n)
      break
    }
    case 6:
    case 7:
    case 8: {
      // CALL family
      const t = target(rng, pool)
      let input: Uint8Array = rng.bytes(rng.int(40))
      if (t.kind === 'precompile') input = precompileInput(rng, t.p!)
      c.mem(0, input)
      const kind = rng.pick([OP.CALL, OP.CALL, OP.STATICCALL, OP.DELEGATECALL, OP.CALLCODE])
      c.push(rng.int(64)).push(rng.int(64)) // retLen, retOffset
      c.push(input.length).push(0) // argsLen, argsOffset
      if (kind === OP.CALL || kind === OP.CALLCODE) c.push(rng.chance(0.3) ? rng.int(3) : 0)
      if (t.kind === 'self') c.op(OP.ADDRESS)
      else c.push(t.kind === 'precompile' ? t.p! : addrWord(t.addr!))
      if (rng.chance(0.5)) c.op(OP.GAS)
      else c.push(rng.pick([0, 100, 2_600, 5_000, 30_000, 60_000, 200_000, 1_000_000]))
      c.op(kind).push(slot()).op(OP.SSTORE)
      c.op(OP.RETURNDATASIZE).push(slot()).op(OP.SSTORE)
      if (rng.chance(0.3)) c.op(OP.RETURNDATASIZE).push(0).push(0).op(OP.RETURNDATACOPY)
      break
    }
    case 9:
    case 10: {
      // CREATE / CREATE2 of a child whose runtime is another random program (bounded depth)
      if (depth > 1) break
      const child = initCode(program(rng, pool, depth + 1), rng, pool, depth + 1)
      c.mem(0, child)
      const create2 = rng.chance(0.5)
      if (create2) c.push(rng.int(4)) // salt (repeats collide: CREATE2 to an existing address fails)
      c.push(child.length)
        .push(0)
        .push(rng.chance(0.2) ? 1 : 0)
        .op(create2 ? OP.CREATE2 : OP.CREATE)
      c.push(slot()).op(OP.SSTORE)
      break
    }
    case 11:
      c.op(OP.GAS).push(slot()).op(OP.SSTORE)
      break
    case 12: {
      const t = target(rng, pool)
      const addr = () =>
        t.kind === 'self' ? c.op(OP.ADDRESS) : c.push(t.kind === 'precompile' ? t.p! : addrWord(t.addr!))
      addr()
      c.op(rng.pick([OP.BALANCE, OP.EXTCODESIZE, OP.EXTCODEHASH]))
        .push(slot())
        .op(OP.SSTORE)
      break
    }
    case 13:
      c.op(
        rng.pick([
          OP.SELFBALANCE,
          OP.CALLVALUE,
          OP.CALLDATASIZE,
          OP.NUMBER,
          OP.CHAINID,
          OP.BASEFEE,
          OP.GASLIMIT,
          OP.BLOBBASEFEE,
          OP.MSIZE,
          OP.CODESIZE,
          OP.CALLER,
        ]),
      )
      c.push(slot()).op(OP.SSTORE)
      break
    case 14: {
      // a countdown loop (jump analysis, per-iteration gas), result into transient storage
      const n = rng.int(40)
      c.push(n)
      const top = c.out.length
      c.op(OP.JUMPDEST, OP.DUP1, OP.ISZERO)
      const exitPatch = c.out.length
      c.op(0x61, 0, 0, OP.JUMPI) // PUSH2 exit
      c.push(1).op(OP.SWAP1, OP.SUB)
      c.op(0x61, top >> 8, top & 0xff, OP.JUMP)
      const exit = c.out.length
      c.op(OP.JUMPDEST, OP.POP)
      c.out[exitPatch + 1] = exit >> 8
      c.out[exitPatch + 2] = exit & 0xff
      break
    }
    case 15:
      c.push(0).op(OP.CALLDATALOAD).push(slot()).op(OP.SSTORE)
      break
    default:
      c.push(rng.int(64)).op(OP.MLOAD).push(slot()).op(OP.SSTORE)
  }
}

/** A random runtime program: snippets, then an ending (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT). */
export function program(rng: Rng, pool: Pool, depth = 0): Uint8Array {
  const c = new Code()
  const n = 1 + rng.int(depth > 0 ? 4 : 10)
  for (let i = 0; i < n; i++) snippet(rng, c, pool, depth)
  const end = rng.int(20)
  if (end < 12) c.op(OP.STOP)
  else if (end < 15) c.push(rng.int(64)).push(rng.int(64)).op(OP.RETURN)
  else if (end < 18) c.push(rng.int(64)).push(rng.int(64)).op(OP.REVERT)
  else if (end < 19) c.op(OP.INVALID)
  else c.push(pool.eoas.length > 0 ? addrWord(rng.pick(pool.eoas)) : 0).op(OP.SELFDESTRUCT)
  return c.bytes()
}

/** Init code: an optional constructor program (without its ending), then CODECOPY+RETURN of `runtime`. */
export function initCode(runtime: Uint8Array, rng: Rng, pool: Pool, depth = 0): Uint8Array {
  const c = new Code()
  if (rng.chance(0.4)) for (let i = 0, n = 1 + rng.int(3); i < n; i++) snippet(rng, c, pool, depth + 1)
  if (rng.chance(0.05)) c.push(0).push(0).op(OP.REVERT)
  // CODECOPY(0, offset, len); RETURN(0, len) — the offset is patched once the prefix length is known.
  const prefix = c.out.length
  const tail = 2 + 3 + 3 + 1 + 2 + 1 + 1 // PUSH2 len, PUSH2 off, PUSH1 0, CODECOPY, PUSH2 len, PUSH0, RETURN
  const off = prefix + tail + 1
  c.op(0x61, runtime.length >> 8, runtime.length & 0xff)
  c.op(0x61, off >> 8, off & 0xff)
  c.op(0x60, 0, OP.CODECOPY)
  c.op(0x61, runtime.length >> 8, runtime.length & 0xff, OP.PUSH0, OP.RETURN)
  return Uint8Array.from([...c.out, ...runtime])
}
