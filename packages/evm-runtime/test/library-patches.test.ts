/**
 * The two patches applied to EthereumJS at install (patches/, pnpm patchedDependencies) must keep
 * the libraries' documented behaviour: checked here against plain reference models.
 */
import { setLengthLeft, setLengthRight } from '@ethereumjs/util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

interface MemoryLike {
  _store: Uint8Array
  extend(offset: number, size: number): void
  write(offset: number, size: number, value: Uint8Array): void
  read(offset: number, size: number, avoidCopy?: boolean): Uint8Array
}
const { Memory } = (await import(new URL('./memory.js', import.meta.resolve('@ethereumjs/evm')).href)) as {
  Memory: new () => MemoryLike
}

describe('@ethereumjs/evm Memory (patched: grows from 1 KiB instead of 8 KiB blocks)', () => {
  it('reads back what was written and zeros elsewhere, across growth steps', () => {
    const op = fc.oneof(
      fc.record({
        k: fc.constant('write' as const),
        off: fc.nat(20_000),
        data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
      }),
      fc.record({ k: fc.constant('read' as const), off: fc.nat(20_000), len: fc.nat(600) }),
      fc.record({ k: fc.constant('extend' as const), off: fc.nat(40_000), len: fc.nat(64) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new Memory()
        const model: number[] = []
        let words = 0
        const touch = (off: number, len: number) => {
          if (len > 0) words = Math.max(words, Math.ceil((off + len) / 32))
        }
        for (const o of ops) {
          if (o.k === 'write') {
            m.write(o.off, o.data.length, o.data)
            o.data.forEach((b, i) => {
              model[o.off + i] = b
            })
            touch(o.off, o.data.length)
          } else if (o.k === 'read') {
            const got = m.read(o.off, o.len)
            const want = Uint8Array.from({ length: o.len }, (_, i) => model[o.off + i] ?? 0)
            expect(got).toEqual(want)
            touch(o.off, o.len)
          } else {
            m.extend(o.off, o.len)
            touch(o.off, o.len)
          }
          // Capacity always covers the word-rounded size the EVM has paid for.
          expect(m._store.length).toBeGreaterThanOrEqual(words * 32)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('rejects a value of the wrong size, as before', () => {
    expect(() => new Memory().write(0, 32, new Uint8Array(31))).toThrow(/Invalid value size/)
  })
})

describe('@ethereumjs/util setLengthLeft/Right (patched: one copy instead of array spreads)', () => {
  it('pads or keeps bytes exactly as the reference does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(40), (bytes, len) => {
        if (bytes.length > len) {
          expect(() => setLengthLeft(bytes, len)).toThrow(/exceeds target length/)
          expect(() => setLengthRight(bytes, len)).toThrow(/exceeds target length/)
          return
        }
        const pad = new Array(len - bytes.length).fill(0)
        expect(setLengthLeft(bytes, len)).toEqual(Uint8Array.from([...pad, ...bytes]))
        expect(setLengthRight(bytes, len)).toEqual(Uint8Array.from([...bytes, ...pad]))
      }),
      { numRuns: 500 },
    )
  })
})
