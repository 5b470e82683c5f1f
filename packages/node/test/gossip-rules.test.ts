import { createBlock } from '@ethereumjs/block'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { RLP } from '@ethereumjs/rlp'
import { describe, expect, it } from 'vitest'
import { peekBlockNumber } from '../src/gossip/rules.ts'
import { decodeTxBatch, encodeTxBatch, TxBatchError } from '../src/gossip/tx-batch.ts'

describe('gossip rules helpers', () => {
  it('peeks the block number from the header without decoding the body', () => {
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.London })
    for (const number of [0n, 1n, 255n, 70_000n, 2n ** 40n]) {
      const block = createBlock({ header: { number, gasLimit: 30_000_000n } }, { common })
      expect(peekBlockNumber(block.serialize())).toBe(number)
    }
    expect(peekBlockNumber(new Uint8Array())).toBeUndefined()
    expect(peekBlockNumber(Uint8Array.of(0x01, 0x02))).toBeUndefined()
    expect(peekBlockNumber(RLP.encode([[Uint8Array.of(1)], []]))).toBeUndefined()
    expect(peekBlockNumber(Uint8Array.of(0xfb, 0xff, 0xff, 0xff, 0xff))).toBeUndefined()
  })

  it('round-trips transaction batches and rejects malformed ones', () => {
    const raws = [Uint8Array.of(2, 1, 2), Uint8Array.of(0xf8, 0x01)]
    expect(decodeTxBatch(encodeTxBatch(raws)).map((r) => [...r])).toEqual(raws.map((r) => [...r]))
    expect(() => decodeTxBatch(Uint8Array.of(0xc1))).toThrow(TxBatchError)
    expect(() => decodeTxBatch(encodeTxBatch([]))).toThrow(TxBatchError)
    expect(() => decodeTxBatch(new Uint8Array([0x92, 0x01, 0x02]))).toThrow(TxBatchError)
  })
})
