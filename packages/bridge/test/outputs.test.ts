/** The `output` gossip payload: round trip, distinct per publish, and strict decoding. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeOutputSignature, encodeOutputSignature, type OutputSignature } from '../src/index.ts'

const sig: OutputSignature = {
  l2BlockNumber: 120n,
  outputRoot: `0x${'ab'.repeat(32)}`,
  nextValidators: [
    '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  ],
  signature: `0x${'cd'.repeat(65)}`,
}
const text = (o: unknown) => new TextEncoder().encode(JSON.stringify(o))
const wire = { n: '120', r: sig.outputRoot, v: sig.nextValidators, s: sig.signature }

describe('output signature gossip encoding', () => {
  it('round-trips, and two publishes of one signature are distinct messages', () => {
    expect(decodeOutputSignature(encodeOutputSignature(sig, 1))).toEqual(sig)
    expect(decodeOutputSignature(text(wire))).toEqual(sig)
    const a = encodeOutputSignature(sig, 1)
    const b = encodeOutputSignature(sig, 2)
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
  })

  it.each([
    [new Uint8Array([0xff, 0xfe]), 'not JSON'],
    [text([wire]), 'not an object'],
    [text(null), 'not an object'],
    [text({ ...wire, n: '-1' }), 'bad block number'],
    [text({ ...wire, n: 1 }), 'bad block number'],
    [text({ ...wire, n: '1'.repeat(21) }), 'bad block number'],
    [text({ ...wire, r: '0x12' }), 'bad root'],
    [text({ ...wire, s: `0x${'cd'.repeat(64)}` }), 'bad signature'],
    [text({ ...wire, v: [] }), 'bad validator set'],
    [text({ ...wire, v: Array(129).fill(sig.nextValidators[0]) }), 'bad validator set'],
    [text({ ...wire, v: ['0x12'] }), 'bad validator'],
    [text({ ...wire, t: 1.5 }), 'bad time'],
    [text({ ...wire, t: '1' }), 'bad time'],
  ])('refuses %#: %s', (bytes, message) => {
    expect(() => decodeOutputSignature(bytes)).toThrow(`output signature: ${message}`)
  })

  it('never throws anything but its own errors on arbitrary bytes or JSON', () => {
    const check = (bytes: Uint8Array) => {
      try {
        decodeOutputSignature(bytes)
      } catch (e) {
        expect((e as Error).message).toMatch(/^output signature: /)
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check))
    fc.assert(fc.property(fc.jsonValue(), (j) => check(text(j))))
    fc.assert(
      fc.property(
        fc.record(
          { n: fc.jsonValue(), r: fc.jsonValue(), v: fc.jsonValue(), s: fc.jsonValue(), t: fc.jsonValue() },
          { requiredKeys: [] },
        ),
        (o) => check(text({ ...wire, ...o })),
      ),
    )
  })
})
