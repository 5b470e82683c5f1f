import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AddressesFileError, l1AddressesToJson, parseL1Addresses } from '../src/index.ts'

const valid = {
  version: 1,
  l1ChainId: 31337,
  l2ChainId: 1337,
  startBlock: { number: '5', hash: `0x${'ab'.repeat(32)}` },
  contracts: {
    openToken: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    l2OutputOracle: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
    portal: '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0',
    multicall3: '0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9',
  },
  params: {
    confirmations: 2,
    submissionInterval: '10',
    finalizationPeriodSeconds: '12',
    l2BlockTime: '1',
    maxDepositGasPerBlock: '10000000',
  },
}

describe('L1 addresses file', () => {
  it('round-trips', () => {
    const parsed = parseL1Addresses(valid)
    expect(parsed.contracts.portal).toBe('0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0')
    expect(parseL1Addresses(l1AddressesToJson(parsed))).toEqual(parsed)
  })

  it.each([
    [{ ...valid, version: 2 }, 'f.version: unsupported version 2'],
    [{ ...valid, extra: 1 }, 'f.extra: unknown field'],
    [
      { ...valid, contracts: { ...valid.contracts, portal: '0x12' } },
      'f.contracts.portal: expected an address',
    ],
    [
      { ...valid, startBlock: { number: -1, hash: valid.startBlock.hash } },
      'f.startBlock.number: out of range: -1',
    ],
    [{ ...valid, startBlock: { number: 1, hash: '0x00' } }, 'f.startBlock.hash: expected a 32-byte'],
    [
      { ...valid, params: { ...valid.params, submissionInterval: 0 } },
      'f.params.submissionInterval: must be ≥ 1',
    ],
    [{ ...valid, params: { ...valid.params, confirmations: 5000 } }, 'f.params.confirmations: out of range'],
    [
      { ...valid, params: { ...valid.params, maxDepositGasPerBlock: 1 } },
      'f.params.maxDepositGasPerBlock: must be ≥ 21000',
    ],
    [[], 'f: expected an object'],
  ])('names the bad field: %#', (json, message) => {
    expect(() => parseL1Addresses(json, 'f')).toThrow(message)
  })

  it('never throws anything but AddressesFileError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          parseL1Addresses(j)
        } catch (e) {
          expect(e).toBeInstanceOf(AddressesFileError)
        }
      }),
    )
  })
})
