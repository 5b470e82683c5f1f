import { describe, expect, it } from 'vitest'
import { ErrorCode, RpcError } from '../src/errors.ts'
import {
  expectParams,
  parseAddress,
  parseBlockNumberOrTag,
  parseBlockRef,
  parseCallRequest,
  parseData,
  parseFilter,
  parseHash,
  parseIndex,
  parseQuantity,
  parseSlot,
  parseStateOverride,
  parseUint64,
} from '../src/validation.ts'

function invalid(fn: () => unknown, fragment: string): void {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RpcError)
    expect((err as RpcError).code).toBe(ErrorCode.INVALID_PARAMS)
    expect((err as RpcError).message).toContain(fragment)
    return
  }
  throw new Error(`expected invalid params containing "${fragment}"`)
}

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`

describe('quantities', () => {
  it('accepts minimal hex', () => {
    expect(parseQuantity('0x0', 'q')).toBe(0n)
    expect(parseQuantity('0x1a', 'q')).toBe(26n)
    expect(parseQuantity('0xABC', 'q')).toBe(0xabcn)
    expect(parseQuantity(`0x${'f'.repeat(64)}`, 'q')).toBe((1n << 256n) - 1n)
  })
  it('rejects leading zeros, empty, missing prefix, non-strings and overflow', () => {
    invalid(() => parseQuantity('0x01', 'q'), 'leading zero')
    invalid(() => parseQuantity('0x', 'q'), 'hex quantity')
    invalid(() => parseQuantity('12', 'q'), '0x prefix')
    invalid(() => parseQuantity(12, 'q'), 'got number')
    invalid(() => parseQuantity('0xzz', 'q'), 'hex quantity')
    invalid(() => parseQuantity(`0x1${'0'.repeat(64)}`, 'q'), '> 256 bits')
    invalid(() => parseQuantity('0x10000000000000000', 'q', 64), '> 64 bits')
  })
  it('index and uint64 accept numbers too', () => {
    expect(parseIndex(3, 'i')).toBe(3)
    expect(parseIndex('0x3', 'i')).toBe(3)
    invalid(() => parseIndex(-1, 'i'), 'non-negative integer')
    invalid(() => parseIndex(1.5, 'i'), 'non-negative integer')
    expect(parseUint64('10', 'n')).toBe(10n)
    expect(parseUint64(10, 'n')).toBe(10n)
    expect(parseUint64('0xa', 'n')).toBe(10n)
  })
})

describe('data, addresses, hashes', () => {
  it('parses data and rejects odd length', () => {
    expect(hex(parseData('0x', 'd'))).toBe('0x')
    expect(hex(parseData('0xABcd', 'd'))).toBe('0xabcd')
    invalid(() => parseData('0xabc', 'd'), 'odd length')
    invalid(() => parseData('abcd', 'd'), '0x prefix')
    invalid(() => parseData('0xgg', 'd'), 'hex data')
    // A non-hex character anywhere (either nibble, last pair, whitespace, non-ASCII) is refused.
    for (const bad of [
      '0x0g',
      '0xg0',
      '0x12zz',
      '0x12 4',
      '0x 1',
      '0x1234ü5',
      '0x-1',
      `0x${'ab'.repeat(300)}0x`,
    ])
      invalid(() => parseData(bad, 'd'), 'hex data')
    // The result is a fresh array of its own, not a view into a shared pool.
    const one = parseData('0x0102', 'd')
    expect(one.byteOffset).toBe(0)
    expect(one.buffer.byteLength).toBe(2)
  })
  it('requires exact sizes for addresses and hashes', () => {
    expect(parseAddress(`0x${'Ab'.repeat(20)}`, 'a')).toHaveLength(20)
    invalid(() => parseAddress(`0x${'ab'.repeat(19)}`, 'a'), '20-byte')
    invalid(() => parseAddress(`0x${'ab'.repeat(21)}`, 'a'), '20-byte')
    expect(parseHash(`0x${'00'.repeat(32)}`, 'h')).toHaveLength(32)
    invalid(() => parseHash('0x1234', 'h'), '32-byte')
  })
  it('slots accept a word or a quantity', () => {
    expect(hex(parseSlot('0x5', 's'))).toBe(`0x${'0'.repeat(63)}5`)
    expect(hex(parseSlot(`0x${'01'.repeat(32)}`, 's'))).toBe(`0x${'01'.repeat(32)}`)
  })
})

describe('params array', () => {
  it('pads optional params, accepts trailing nulls, refuses named params and extra args', () => {
    expect(expectParams(['a'], 1, 2)).toEqual(['a', undefined])
    expect(expectParams(undefined, 0, 1)).toEqual([undefined])
    expect(expectParams(['a', null], 1, 2)).toEqual(['a', undefined])
    invalid(() => expectParams({ a: 1 }, 0, 1), 'positional array')
    invalid(() => expectParams([], 1, 1), 'missing value for required argument')
    invalid(() => expectParams([1, 2, 3], 1, 2), 'too many arguments')
  })
})

describe('block references', () => {
  it('tags, numbers, hashes and EIP-1898 objects', () => {
    expect(parseBlockRef(undefined, 'b')).toEqual({ tag: 'latest' })
    expect(parseBlockRef('finalized', 'b')).toEqual({ tag: 'finalized' })
    expect(parseBlockRef('0x10', 'b')).toEqual({ number: 16n })
    expect(parseBlockRef({ blockNumber: '0x2' }, 'b')).toEqual({ number: 2n })
    expect(parseBlockRef({ blockNumber: 'safe' }, 'b')).toEqual({ tag: 'safe' })
    const h = `0x${'ab'.repeat(32)}`
    const byHash = parseBlockRef({ blockHash: h, requireCanonical: true }, 'b')
    expect('hash' in byHash && hex(byHash.hash)).toBe(h)
    expect('hash' in byHash && byHash.requireCanonical).toBe(true)
    expect('hash' in parseBlockRef(h, 'b')).toBe(true)
  })
  it('rejects bad tags and ambiguous objects', () => {
    invalid(() => parseBlockRef('newest', 'b'), 'hex quantity')
    invalid(
      () => parseBlockRef({ blockHash: `0x${'ab'.repeat(32)}`, blockNumber: '0x1' }, 'b'),
      'exactly one',
    )
    invalid(() => parseBlockRef({}, 'b'), 'exactly one')
    invalid(
      () => parseBlockRef({ blockNumber: '0x1', requireCanonical: true }, 'b'),
      'only valid with blockHash',
    )
    invalid(() => parseBlockRef(-1, 'b'), 'block number or tag')
    invalid(() => parseBlockRef(1.5, 'b'), 'block number or tag')
    invalid(() => parseBlockRef(true, 'b'), 'block number, tag or EIP-1898 object')
  })

  it('accepts JSON integers as block numbers, as Hardhat does', () => {
    expect(parseBlockRef(5, 'b')).toEqual({ number: 5n })
    expect(parseBlockNumberOrTag(0, 'b')).toEqual({ number: 0n })
  })
})

describe('call objects', () => {
  it('accepts input or data and the fee fields', () => {
    const req = parseCallRequest(
      {
        from: `0x${'11'.repeat(20)}`,
        to: `0x${'22'.repeat(20)}`,
        gas: '0x5208',
        value: '0x1',
        input: '0xab',
      },
      'args',
    )
    expect(req.gas).toBe(21000n)
    expect(hex(req.data!)).toBe('0xab')
    expect(hex(parseCallRequest({ data: '0xcd' }, 'args').data!)).toBe('0xcd')
    expect(hex(parseCallRequest({ data: '0xcd', input: '0xcd' }, 'args').data!)).toBe('0xcd')
    const fee = parseCallRequest(
      { maxFeePerGas: '0x10', maxPriorityFeePerGas: '0x1', accessList: [] },
      'args',
    )
    expect(fee.maxFeePerGas).toBe(16n)
  })
  it('rejects conflicts and unknown fields', () => {
    invalid(() => parseCallRequest({ data: '0x01', input: '0x02' }, 'args'), 'both "data" and "input"')
    invalid(() => parseCallRequest({ gasPrice: '0x1', maxFeePerGas: '0x1' }, 'args'), 'both gasPrice')
    invalid(
      () => parseCallRequest({ maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }, 'args'),
      'maxFeePerGas',
    )
    invalid(() => parseCallRequest({ gass: '0x1' }, 'args'), 'unknown field "gass"')
    invalid(() => parseCallRequest('0x', 'args'), 'expected object')
    invalid(() => parseCallRequest({ to: '0x12' }, 'args'), 'args.to')
  })
})

describe('filters', () => {
  const t = (b: number): string => `0x${b.toString(16).padStart(2, '0').repeat(32)}`
  it('normalises addresses and topic positions', () => {
    const f = parseFilter(
      {
        fromBlock: '0x1',
        toBlock: 'latest',
        address: `0x${'aa'.repeat(20)}`,
        topics: [t(1), null, [t(2), t(3)], null],
      },
      'filter',
    )
    expect(f.addresses).toHaveLength(1)
    expect(f.topics).toHaveLength(3) // trailing wildcard dropped
    expect(f.topics[1]).toBeNull()
    expect(f.topics[2]).toHaveLength(2)
    expect(parseFilter({ topics: [[]] }, 'filter').topics).toEqual([])
    expect(parseFilter(undefined, 'filter').addresses).toEqual([])
  })
  it('rejects blockHash with a range, too many topics and bad topics', () => {
    invalid(() => parseFilter({ blockHash: t(1), fromBlock: '0x1' }, 'filter'), 'cannot specify both')
    invalid(() => parseFilter({ topics: [null, null, null, null, t(1)] }, 'filter'), 'max of 4 topics')
    invalid(() => parseFilter({ topics: ['0x12'] }, 'filter'), 'filter.topics[0]')
    invalid(() => parseFilter({ address: ['0x12'] }, 'filter'), 'filter.address[0]')
  })
})

describe('state overrides', () => {
  it('parses the geth shape and rejects state with stateDiff', () => {
    const addr = `0x${'aa'.repeat(20)}`
    const o = parseStateOverride(
      {
        [addr]: {
          balance: '0x10',
          nonce: '0x1',
          code: '0x6000',
          stateDiff: { [`0x${'00'.repeat(32)}`]: `0x${'01'.repeat(32)}` },
        },
      },
      'overrides',
    )!
    const entry = o.get(addr)!
    expect(entry.balance).toBe(16n)
    expect(entry.stateDiff?.size).toBe(1)
    invalid(
      () => parseStateOverride({ [addr]: { state: {}, stateDiff: {} } }, 'o'),
      "both 'state' and 'stateDiff'",
    )
    invalid(() => parseStateOverride({ [addr]: { foo: 1 } }, 'o'), 'unknown field "foo"')
    invalid(() => parseStateOverride({ '0x12': {} }, 'o'), 'address')
  })
})
