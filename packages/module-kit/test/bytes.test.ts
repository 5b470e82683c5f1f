/** 32-byte words (src/bytes.ts): every storage read and write of a module goes through them. */
import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { MAX_U256, toBigInt, u256 } from '../src/bytes.ts'

const reference = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex')

describe('u256 / toBigInt', () => {
  test('encode big-endian and round-trip at every width', () => {
    const values = [0n, 1n, 0xffn, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n, 1n << 64n, 1n << 128n]
    values.push(1n << 192n, (1n << 192n) - 1n, MAX_U256 - 1n, MAX_U256)
    for (let i = 0; i < 200; i++) values.push(BigInt(`0x${randomBytes(1 + (i % 32)).toString('hex')}`))
    for (const n of values) {
      expect(Buffer.from(u256(n)).equals(reference(n))).toBe(true)
      expect(toBigInt(u256(n))).toBe(n)
    }
  })

  test('refuse values outside [0, 2^256)', () => {
    expect(() => u256(-1n)).toThrow(RangeError)
    expect(() => u256(MAX_U256 + 1n)).toThrow(RangeError)
  })
})
