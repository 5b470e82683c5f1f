import { afterAll, describe, expect, test } from 'vitest'
import { GenesisError, genesisToJson, hardforkAt, parseGenesis } from '../src/index.ts'
import { ADDRS, cleanupDirs, genesisJson, hex, makeGenesis, openRuntime } from './helpers.ts'

const A = '0x00000000000000000000000000000000000000aa'

function errorOf(json: unknown): GenesisError {
  try {
    parseGenesis(json)
  } catch (e) {
    expect(e).toBeInstanceOf(GenesisError)
    return e as GenesisError
  }
  throw new Error('expected parseGenesis to throw')
}

afterAll(cleanupDirs)

describe('parseGenesis', () => {
  test('fills defaults', () => {
    const g = parseGenesis({ chainId: '0x10', alloc: { [A]: { balance: '100' } } })
    expect(g.chainId).toBe(16n)
    expect(g.hardfork).toBe('osaka')
    expect(g.hardforks).toEqual({})
    expect(g.currency).toEqual({ name: 'Open', symbol: 'OPEN', decimals: 18 })
    expect(g.eip1559).toEqual({ elasticityMultiplier: 2n, baseFeeMaxChangeDenominator: 8n })
    expect(g.feeRecipient).toEqual({})
    expect(g.consensus.type).toBe('dev')
    expect(g.alloc[0]).toMatchObject({ balance: 100n, nonce: 0n })
  })

  test('schedules forks by block number', () => {
    const g = parseGenesis({ chainId: 1, hardfork: 'prague', hardforks: { osaka: '0x64' } })
    expect([g.hardfork, g.hardforks]).toEqual(['prague', { osaka: 100n }])
    expect([0n, 99n, 100n, 5000n].map((n) => hardforkAt(g, n))).toEqual([
      'prague',
      'prague',
      'osaka',
      'osaka',
    ])
    expect(parseGenesis(genesisToJson(g))).toEqual(g)
    expect(hardforkAt(parseGenesis({ chainId: 1 }), 0n)).toBe('osaka')
  })

  test('accepts decimal, hex and safe-integer quantities', () => {
    const g = parseGenesis({ chainId: 7, gasLimit: '0x1c9c380', baseFeePerGas: '7', timestamp: 12 })
    expect([g.chainId, g.gasLimit, g.baseFeePerGas, g.timestamp]).toEqual([7n, 30_000_000n, 7n, 12n])
  })

  test.each([
    [{}, 'genesis.chainId', 'required'],
    [{ chainId: -1 }, 'genesis.chainId', 'non-negative'],
    [{ chainId: 2 ** 60 }, 'genesis.chainId', 'strings'],
    [{ chainId: '12abc' }, 'genesis.chainId', 'decimal or 0x-hex'],
    [{ chainId: 1, hardfork: 'cancun' }, 'genesis.hardfork', 'expected one of: prague, osaka'],
    [{ chainId: 1, hardfork: 'osaka', hardforks: { osaka: 5 } }, 'genesis.hardforks.osaka', 'not after'],
    [{ chainId: 1, hardfork: 'prague', hardforks: { cancun: 5 } }, 'genesis.hardforks.cancun', 'unknown'],
    [{ chainId: 1, hardforks: [] }, 'genesis.hardforks', 'expected an object'],
    [{ chainId: 1, hardfork: 'prague', hardforks: { osaka: -1 } }, 'genesis.hardforks.osaka', 'non-negative'],
    [{ chainId: 1, gasLimit: 10 }, 'genesis.gasLimit', 'at least 5000'],
    [
      { chainId: 1, alloc: { [A]: { balance: -5 } } },
      `genesis.alloc["${A}"].balance`,
      'non-negative integer',
    ],
    [{ chainId: 1, alloc: { [A]: {} } }, `genesis.alloc["${A}"].balance`, 'required'],
    [{ chainId: 1, alloc: { '0x12': { balance: 1 } } }, 'genesis.alloc["0x12"]', '20-byte'],
    [
      { chainId: 1, alloc: { [A]: { balance: 1, code: '0xabc' } } },
      `genesis.alloc["${A}"].code`,
      'even-length',
    ],
    [
      { chainId: 1, alloc: { [A]: { balance: 1, storage: { '0x01': `0x${'1'.repeat(66)}` } } } },
      `genesis.alloc["${A}"].storage["0x01"]`,
      '32 bytes',
    ],
    [
      { chainId: 1, alloc: { [A]: { balance: 1, nonse: 1 } } },
      `genesis.alloc["${A}"].nonse`,
      'unknown field',
    ],
    [
      { chainId: 1, alloc: { [A]: { balance: 1 }, [A.toUpperCase().replace('0X', '0x')]: { balance: 2 } } },
      'genesis.alloc["0x00000000000000000000000000000000000000AA"]',
      'duplicate',
    ],
    [{ chainId: 1, feeRecipient: { treasury: 'nope' } }, 'genesis.feeRecipient.treasury', 'address'],
    [{ chainId: 1, validators: [A, 'x'] }, 'genesis.validators[1]', 'address'],
    [{ chainId: 1, consensus: { type: 'pow' } }, 'genesis.consensus.type', '"dev" or "qbft"'],
    [{ chainId: 1, consensus: { type: 'qbft' } }, 'genesis.validators', 'at least one validator'],
    [
      { chainId: 1, eip1559: { elasticityMultiplier: 0 } },
      'genesis.eip1559.elasticityMultiplier',
      'at least 1',
    ],
    [{ chainId: 1, currency: { decimals: 99 } }, 'genesis.currency.decimals', 'exceeds'],
    [{ chainId: 1, modules: [] }, 'genesis.modules', 'object'],
    [{ chainId: 1, gaslimit: 1 }, 'genesis.gaslimit', 'unknown field'],
    ['nope', 'genesis', 'JSON object'],
  ])('rejects %j naming %s', (json, path, detail) => {
    const e = errorOf(json)
    expect(e.path).toBe(path)
    expect(e.message.startsWith(`${path}: `)).toBe(true)
    expect(e.message).toContain(detail)
  })

  test('genesisToJson round-trips', () => {
    const g = parseGenesis(
      genesisJson({
        extraData: '0x1234',
        feeRecipient: { treasury: A },
        validators: [A],
        consensus: { type: 'qbft', blockPeriodSeconds: 1, requestTimeoutSeconds: 3, epochLength: 100 },
        modules: { attribution: { feeBps: 100 } },
        eip1559: { elasticityMultiplier: 4, baseFeeMaxChangeDenominator: 50 },
        currency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
      }),
    )
    g.alloc.push({
      address: Uint8Array.from(Buffer.from(`${'00'.repeat(19)}bb`, 'hex')),
      balance: 0n,
      nonce: 3n,
      code: Uint8Array.of(0x60, 0),
      storage: [{ slot: new Uint8Array(32), value: new Uint8Array(32).fill(2) }],
    })
    const json = JSON.parse(JSON.stringify(genesisToJson(g)))
    expect(parseGenesis(json)).toEqual(g)
  })
})

describe('genesis block', () => {
  test('is deterministic from the genesis and depends on the alloc', async () => {
    const a = await openRuntime(makeGenesis())
    const b = await openRuntime(makeGenesis())
    const c = await openRuntime(makeGenesis({ alloc: { [hex(ADDRS[0])]: { balance: '1' } } }))
    try {
      expect(hex(a.runtime.genesisBlock.hash())).toBe(hex(b.runtime.genesisBlock.hash()))
      expect(hex(a.runtime.genesisBlock.header.stateRoot)).not.toBe(
        hex(c.runtime.genesisBlock.header.stateRoot),
      )
      const h = a.runtime.genesisBlock.header
      expect(h.number).toBe(0n)
      expect(h.baseFeePerGas).toBe(1_000_000_000n)
      expect(h.timestamp).toBe(1000n)
      expect(h.gasLimit).toBe(30_000_000n)
      expect(h.blobGasUsed).toBe(0n)
      expect(hex(h.requestsHash!)).toBe('0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
      expect((await a.runtime.getAccount(h.stateRoot, ADDRS[0]))?.balance).toBe(1000n * 10n ** 18n)
    } finally {
      for (const x of [a, b, c]) {
        await x.runtime.close()
        await x.db.level.close()
      }
    }
  })
})
