import { createBlock, createBlockFromRPC } from '@ethereumjs/block'
import { type AccessList, createTx, type TypedTransaction } from '@ethereumjs/tx'
import { Transaction as EthersTx } from 'ethers'
import { describe, expect, it } from 'vitest'
import type { RpcReceipt } from '../src/backend.ts'
import { decodeRevertReason, revertError } from '../src/errors.ts'
import { data, formatBlock, formatHeader, formatReceipt, formatTransaction, quantity } from '../src/format.ts'
import { ADDR0, KEY0 } from './fixture.ts'

const TO: `0x${string}` = `0x${'11'.repeat(20)}`
const base = { nonce: 7n, gasLimit: 50_000n, to: TO, value: 12345n, data: '0xdeadbeef' as const }
const accessList: AccessList = [{ address: `0x${'44'.repeat(20)}`, storageKeys: [`0x${'55'.repeat(32)}`] }]

function signedTxs(): TypedTransaction[] {
  const legacy = createTx({ ...base, type: 0 as const, gasPrice: 3n * 10n ** 9n }).sign(KEY0)
  const common = legacy.common.copy()
  // Blob txs only need a kzg object to exist when built from versioned hashes alone.
  ;(common as unknown as { customCrypto: object }).customCrypto = { kzg: {} }
  return [
    legacy,
    createTx({ ...base, type: 1 as const, gasPrice: 2n * 10n ** 9n, accessList }).sign(KEY0),
    createTx({ ...base, type: 2 as const, maxFeePerGas: 100n, maxPriorityFeePerGas: 3n, accessList }).sign(
      KEY0,
    ),
    createTx(
      {
        ...base,
        type: 3 as const,
        maxFeePerGas: 100n,
        maxPriorityFeePerGas: 3n,
        maxFeePerBlobGas: 9n,
        blobVersionedHashes: [`0x01${'22'.repeat(31)}`],
      },
      { common },
    ).sign(KEY0),
    createTx({
      ...base,
      type: 4 as const,
      maxFeePerGas: 100n,
      maxPriorityFeePerGas: 3n,
      authorizationList: [
        {
          chainId: '0x1',
          address: `0x${'33'.repeat(20)}`,
          nonce: '0x0',
          yParity: '0x1',
          r: '0x1234',
          s: '0x5678',
        },
      ],
    }).sign(KEY0),
  ]
}

describe('formatTransaction', () => {
  const block = { hash: new Uint8Array(32).fill(0xbb), number: 42n, index: 3, baseFeePerGas: 90n }

  for (const tx of signedTxs()) {
    it(`type ${tx.type} matches the independently decoded transaction (ethers)`, () => {
      const json = formatTransaction(tx, { sender: ADDR0, block })
      const ref = EthersTx.from(data(tx.serialize()))
      expect(json.hash).toBe(ref.hash)
      expect(json.from).toBe(ref.from!.toLowerCase())
      expect(json.type).toBe(quantity(ref.type!))
      expect(json.nonce).toBe(quantity(ref.nonce))
      expect(json.gas).toBe(quantity(ref.gasLimit))
      expect(json.to).toBe(ref.to!.toLowerCase())
      expect(json.value).toBe(quantity(ref.value))
      expect(json.input).toBe(ref.data)
      expect(json.r).toBe(quantity(BigInt(ref.signature!.r)))
      expect(json.s).toBe(quantity(BigInt(ref.signature!.s)))
      expect(json.blockHash).toBe(data(block.hash))
      expect(json.blockNumber).toBe('0x2a')
      expect(json.transactionIndex).toBe('0x3')
      if (tx.type === 0) {
        // EIP-155 legacy: raw v = chainId*2+35+parity; geth reports chainId but no accessList/yParity.
        expect(json.v).toBe(quantity(ref.signature!.networkV!))
        expect(json.chainId).toBe('0x1')
        expect(json).not.toHaveProperty('yParity')
        expect(json).not.toHaveProperty('accessList')
        expect(json.gasPrice).toBe(quantity(ref.gasPrice!))
      } else {
        expect(json.chainId).toBe(quantity(ref.chainId))
        expect(json.yParity).toBe(quantity(ref.signature!.yParity))
        expect(json.v).toBe(json.yParity)
        expect(json.accessList).toEqual(
          (ref.accessList ?? []).map((a) => ({
            address: a.address.toLowerCase(),
            storageKeys: a.storageKeys,
          })),
        )
      }
      if (tx.type >= 2) {
        expect(json.maxFeePerGas).toBe(quantity(ref.maxFeePerGas!))
        expect(json.maxPriorityFeePerGas).toBe(quantity(ref.maxPriorityFeePerGas!))
        // Mined: effective price = min(baseFee + tip, maxFee) = min(93, 100).
        expect(json.gasPrice).toBe(quantity(93n))
      }
      if (tx.type === 3) {
        expect(json.maxFeePerBlobGas).toBe(quantity(ref.maxFeePerBlobGas!))
        expect(json.blobVersionedHashes).toEqual(ref.blobVersionedHashes)
      }
      if (tx.type === 4) {
        const auth = ref.authorizationList![0]!
        expect(json.authorizationList).toEqual([
          {
            chainId: quantity(auth.chainId),
            address: auth.address.toLowerCase(),
            nonce: quantity(auth.nonce),
            yParity: quantity(auth.signature.yParity),
            r: quantity(BigInt(auth.signature.r)),
            s: quantity(BigInt(auth.signature.s)),
          },
        ])
      }
    })
  }

  it('pending transactions have null block fields and gasPrice = maxFeePerGas', () => {
    const tx = signedTxs()[2]!
    const json = formatTransaction(tx, { sender: ADDR0 })
    expect(json.blockHash).toBeNull()
    expect(json.blockNumber).toBeNull()
    expect(json.transactionIndex).toBeNull()
    expect(json.gasPrice).toBe('0x64')
  })

  it('pre-EIP-155 legacy transactions (v = 27/28) have no chainId', () => {
    const signed = signedTxs()[0]!
    const unprotected = signed.addSignature(27n, signed.r!, signed.s!, false)
    const json = formatTransaction(unprotected, { sender: ADDR0 })
    expect(json.v).toBe('0x1b')
    expect(json).not.toHaveProperty('chainId')
  })
})

describe('formatBlock', () => {
  const txs = signedTxs().filter((t) => t.type !== 3)
  const block = createBlock(
    {
      header: {
        number: 5n,
        gasLimit: 30_000_000n,
        timestamp: 1_700_000_000n,
        baseFeePerGas: 90n,
        extraData: '0x0102',
      },
      transactions: txs,
    },
    { common: txs[0]!.common },
  )

  it('hash field equals the block hash and the JSON rebuilds the identical block', () => {
    const json = formatBlock(block, true)
    expect(json.hash).toBe(data(block.hash()))
    expect(json.number).toBe('0x5')
    expect(json.size).toBe(quantity(block.serialize().length))
    expect(json.totalDifficulty).toBe('0x0')
    expect(json.uncles).toEqual([])
    expect(json.withdrawals).toEqual([])
    for (const key of [
      'baseFeePerGas',
      'withdrawalsRoot',
      'blobGasUsed',
      'excessBlobGas',
      'parentBeaconBlockRoot',
      'requestsHash',
    ]) {
      expect(json).toHaveProperty(key)
    }
    // Keys are sorted as geth marshals its block maps.
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort())
    const full = json.transactions as Array<Record<string, unknown>>
    expect(full).toHaveLength(txs.length)
    expect(full[1]!.blockHash).toBe(json.hash)
    expect(full[1]!.transactionIndex).toBe('0x1')
    expect(full[1]!.from).toBe(data(ADDR0))
    // Independent check: EthereumJS reconstructs the same block (same hash) from our JSON.
    const rebuilt = createBlockFromRPC(json as never, [], { common: txs[0]!.common })
    expect(data(rebuilt.hash())).toBe(json.hash)
  })

  it('hash-only form lists transaction hashes; header omits body fields', () => {
    const json = formatBlock(block, false)
    expect(json.transactions).toEqual(txs.map((t) => data(t.hash())))
    const header = formatHeader(block.header)
    expect(header.hash).toBe(data(block.hash()))
    expect(header).not.toHaveProperty('transactions')
    expect(header).not.toHaveProperty('size')
  })
})

describe('formatReceipt', () => {
  it('formats all geth receipt fields', () => {
    const r: RpcReceipt = {
      transactionHash: new Uint8Array(32).fill(1),
      transactionIndex: 0,
      blockHash: new Uint8Array(32).fill(2),
      blockNumber: 10n,
      from: ADDR0,
      to: null,
      cumulativeGasUsed: 50_000n,
      gasUsed: 50_000n,
      effectiveGasPrice: 7n,
      contractAddress: new Uint8Array(20).fill(3),
      logs: [
        {
          address: new Uint8Array(20).fill(3),
          topics: [new Uint8Array(32).fill(4)],
          data: new Uint8Array([5]),
          blockNumber: 10n,
          blockHash: new Uint8Array(32).fill(2),
          transactionHash: new Uint8Array(32).fill(1),
          transactionIndex: 0,
          logIndex: 0,
          removed: false,
        },
      ],
      logsBloom: new Uint8Array(256),
      type: 2 as const,
      status: 1,
    }
    const json = formatReceipt(r)
    expect(json).toMatchObject({
      blockNumber: '0xa',
      contractAddress: `0x${'03'.repeat(20)}`,
      cumulativeGasUsed: '0xc350',
      effectiveGasPrice: '0x7',
      status: '0x1',
      to: null,
      type: '0x2',
      transactionIndex: '0x0',
    })
    expect((json.logs as Array<Record<string, unknown>>)[0]).toEqual({
      address: `0x${'03'.repeat(20)}`,
      topics: [`0x${'04'.repeat(32)}`],
      data: '0x05',
      blockNumber: '0xa',
      transactionHash: `0x${'01'.repeat(32)}`,
      transactionIndex: '0x0',
      blockHash: `0x${'02'.repeat(32)}`,
      logIndex: '0x0',
      removed: false,
    })
    expect(json).not.toHaveProperty('blobGasUsed')
  })
})

describe('revert errors', () => {
  it('decodes Error(string), Panic(uint256) and leaves custom errors raw', () => {
    // Error("boom")
    const errorData = Buffer.from(
      '08c379a0' +
        '0000000000000000000000000000000000000000000000000000000000000020' +
        '0000000000000000000000000000000000000000000000000000000000000004' +
        '626f6f6d00000000000000000000000000000000000000000000000000000000',
      'hex',
    )
    const e = revertError(errorData)
    expect(e.code).toBe(3)
    expect(e.message).toBe('execution reverted: boom')
    expect(e.data).toBe(`0x${errorData.toString('hex')}`)
    const panic = Buffer.from(`4e487b71${'0'.repeat(62)}11`, 'hex')
    expect(decodeRevertReason(panic)).toBe('arithmetic underflow or overflow')
    const custom = revertError(Buffer.from('deadbeef', 'hex'))
    expect(custom.message).toBe('execution reverted')
    expect(custom.data).toBe('0xdeadbeef')
    expect(revertError(new Uint8Array()).toJSON()).toEqual({
      code: 3,
      message: 'execution reverted',
      data: '0x',
    })
    // Truncated Error(string) must not throw.
    expect(decodeRevertReason(errorData.subarray(0, 70))).toBeUndefined()
  })
})
