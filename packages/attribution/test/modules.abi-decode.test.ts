import { AbiDecodeError, compileArgsDecoder } from '@openledger/module-kit'
import fc from 'fast-check'
import {
  type Abi,
  type AbiFunction,
  type AbiParameter,
  decodeAbiParameters,
  encodeAbiParameters,
  encodeFunctionData,
  type Hex,
  hexToBytes,
  keccak256,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../src/sol/abi.ts'

const functions = ([...datanetsAbi, ...modelsAbi, ...attributionAbi, ...modelFactoryAbi] as Abi).filter(
  (i): i is AbiFunction => i.type === 'function' && i.inputs.length > 0,
)

/** Random valid values for an ABI parameter, in the shape encodeAbiParameters takes. */
function arb(p: AbiParameter): fc.Arbitrary<unknown> {
  const arr = /^(.*)\[(\d*)\]$/.exec(p.type)
  if (arr !== null) {
    const inner = arb({ ...p, type: arr[1] as string } as AbiParameter)
    return arr[2] === ''
      ? fc.array(inner, { maxLength: 4 })
      : fc.array(inner, { minLength: Number(arr[2]), maxLength: Number(arr[2]) })
  }
  if (p.type === 'tuple') {
    const comps = (p as { components: readonly AbiParameter[] }).components
    return fc.tuple(...comps.map(arb)).map((vs) => Object.fromEntries(comps.map((c, i) => [c.name, vs[i]])))
  }
  if (p.type === 'address') return fc.uint8Array({ minLength: 20, maxLength: 20 }).map(hex)
  if (p.type === 'bool') return fc.boolean()
  if (p.type === 'string') return fc.string({ maxLength: 40, unit: 'grapheme' })
  if (p.type === 'bytes') return fc.uint8Array({ maxLength: 80 }).map(hex)
  const fixed = /^bytes(\d+)$/.exec(p.type)
  if (fixed) return fc.uint8Array({ minLength: Number(fixed[1]), maxLength: Number(fixed[1]) }).map(hex)
  const bits = Number(/^uint(\d*)$/.exec(p.type)?.[1] || 256)
  const big = fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })
  // Small values matter most (ids, counts), extremes check the range handling.
  const max = (1n << BigInt(bits)) - 1n
  const v = fc.oneof(big, fc.bigInt({ min: 0n, max: max < 1000n ? max : 1000n }), fc.constant(max))
  return bits <= 48 ? v.map(Number) : v
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`

/** viem's output with addresses lowercased (viem checksums them; the modules compare bytes). */
function normalize(v: unknown): unknown {
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase()
  if (Array.isArray(v)) return v.map(normalize)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  return v
}

function viemDecode(fn: AbiFunction, args: Uint8Array): unknown {
  return normalize(decodeAbiParameters(fn.inputs, args))
}

describe('compiled ABI decoder', () => {
  it('decodes every module function exactly like viem on random arguments', () => {
    for (const fn of functions) {
      const decode = compileArgsDecoder(fn.inputs)
      fc.assert(
        fc.property(fc.tuple(...fn.inputs.map(arb)), (values) => {
          const data = hexToBytes(encodeAbiParameters(fn.inputs, values as never))
          expect(decode(data)).toEqual(viemDecode(fn, data))
        }),
        { numRuns: 40 },
      )
    }
  })

  it('never accepts calldata viem rejects, and agrees with viem whenever it accepts (mutations)', () => {
    for (const fn of functions) {
      const decode = compileArgsDecoder(fn.inputs)
      fc.assert(
        fc.property(
          fc.tuple(...fn.inputs.map(arb)),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
          fc.nat(),
          (values, flips, cut) => {
            const data = hexToBytes(encodeAbiParameters(fn.inputs, values as never))
            for (const [at, b] of flips) if (data.length > 0) data[at % data.length] = b
            const input = cut % 4 === 0 ? data.subarray(0, cut % (data.length + 1)) : data
            let ours: unknown
            try {
              ours = decode(input)
            } catch (e) {
              expect(e).toBeInstanceOf(AbiDecodeError)
              return
            }
            expect(ours).toEqual(viemDecode(fn, input))
          },
        ),
        { numRuns: 60 },
      )
    }
  })

  it('refuses out-of-range words, dirty addresses, bad bools, padding and offsets past the end', () => {
    const u32 = compileArgsDecoder([{ name: 'x', type: 'uint32' }])
    const word = (n: bigint) => hexToBytes(`0x${n.toString(16).padStart(64, '0')}`)
    expect(u32(word(0xffffffffn))).toEqual([0xffffffff])
    expect(() => u32(word(1n << 32n))).toThrow(AbiDecodeError)
    expect(() => compileArgsDecoder([{ name: 'a', type: 'address' }])(word(1n << 160n))).toThrow(
      AbiDecodeError,
    )
    expect(() => compileArgsDecoder([{ name: 'b', type: 'bool' }])(word(2n))).toThrow(AbiDecodeError)
    expect(() => compileArgsDecoder([{ name: 'b', type: 'bytes4' }])(word(1n))).toThrow(AbiDecodeError)
    const bytes = compileArgsDecoder([{ name: 'b', type: 'bytes' }])
    expect(() => bytes(word(0x40n))).toThrow(AbiDecodeError) // offset to nowhere
    expect(() => bytes(new Uint8Array([...word(0x20n), ...word(100n)]))).toThrow(AbiDecodeError) // length past end
    expect(() => bytes(new Uint8Array(10))).toThrow(AbiDecodeError)
    // A huge array length cannot make the decoder allocate or loop over it.
    const arr = compileArgsDecoder([{ name: 'a', type: 'uint256[]' }])
    expect(() => arr(new Uint8Array([...word(0x20n), ...word(0xffffffffn)]))).toThrow(AbiDecodeError)
    expect(() => arr(new Uint8Array([...word(0x20n), ...word(1n << 40n)]))).toThrow(AbiDecodeError)
  })

  it('bounds the bytes decoded through overlapping tails', () => {
    // 2,000 strings all pointing at one 4 KiB tail would decode 8 MB from 68 KB of input.
    const strs = compileArgsDecoder([{ name: 's', type: 'string[]' }])
    const n = 2000
    const parts: bigint[] = [0x20n, BigInt(n)]
    for (let i = 0; i < n; i++) parts.push(BigInt(n * 32))
    const head = parts.map((x) => x.toString(16).padStart(64, '0')).join('')
    const tail = `${(4096).toString(16).padStart(64, '0')}${'61'.repeat(4096)}`
    expect(() => strs(hexToBytes(`0x${head}${tail}`))).toThrow(/overlapping tails/)
  })

  it('decodes a settle call with 8 entries (the benchmarked call) like viem', () => {
    const fn = attributionAbi.find((i) => i.type === 'function' && i.name === 'settle') as AbiFunction
    const receipt = {
      modelId: 1n,
      modelVersion: 1,
      inputHash: keccak256('0x01'),
      outputHash: keccak256('0x02'),
      entries: Array.from({ length: 8 }, (_, d) => ({
        datanetId: BigInt(d + 1),
        datanetVersion: 1n,
        weight: 125_000,
        contributionIds: d === 0 ? [1n, 2n] : [],
        contributionWeights: d === 0 ? [500_000, 500_000] : [],
      })),
      nonce: 5n,
      deadline: 4_000_000_000n,
      payer: '0x00000000000000000000000000000000000000aa' as Hex,
      fee: 10n ** 15n,
      attributionCommitment: keccak256('0xcc'),
    }
    const data = hexToBytes(
      encodeFunctionData({ abi: [fn], functionName: 'settle', args: [receipt, `0x${'11'.repeat(65)}`] }),
    ).subarray(4)
    expect(compileArgsDecoder(fn.inputs)(data)).toEqual(viemDecode(fn, data))
  })
})
