import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Abi, hashTypedData, hexToBytes, keccak256, toFunctionSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  createSystemModules,
  DATANETS_ADDRESS,
  DEFAULT_MODULE_PARAMS,
  GAS,
  logGas,
  MODEL_FACTORY_ADDRESS,
  MODELS_ADDRESS,
  ModuleParamsError,
  parseModuleParams,
  RECEIPT_EIP712_TYPES,
  receiptDigest,
  recoverSigner,
} from '../src/modules/index.ts'
import * as abis from '../src/sol/abi.ts'
import { compileInterfaces } from '../src/sol/generate-abi.ts'
import { ALICE, BOB, hex, makeReceipt, provider, signReceipt, World } from './modules.fixture.ts'

const solDir = join(import.meta.dirname, '../src/sol')

describe('Solidity interfaces are the single source of the ABI', () => {
  it('the checked-in abi.ts equals a fresh solc compilation (run generate-abi.ts if this fails)', () => {
    const fresh = compileInterfaces()
    expect(JSON.parse(JSON.stringify(abis.datanetsAbi))).toEqual(fresh.datanetsAbi)
    expect(JSON.parse(JSON.stringify(abis.modelsAbi))).toEqual(fresh.modelsAbi)
    expect(JSON.parse(JSON.stringify(abis.attributionAbi))).toEqual(fresh.attributionAbi)
    expect(JSON.parse(JSON.stringify(abis.modelFactoryAbi))).toEqual(fresh.modelFactoryAbi)
  }, 30_000)

  it('each interface declares the module address the node uses', () => {
    const pairs = [
      ['IDatanets.sol', DATANETS_ADDRESS],
      ['IModels.sol', MODELS_ADDRESS],
      ['IAttribution.sol', ATTRIBUTION_ADDRESS],
      ['IModelFactory.sol', MODEL_FACTORY_ADDRESS],
    ] as const
    for (const [file, address] of pairs) {
      const src = readFileSync(join(solDir, file), 'utf8')
      const m = /address constant \w+ = (0x[0-9a-fA-F]{40});/.exec(src)
      expect(m?.[1]?.toLowerCase()).toBe(hex(address))
    }
  })

  it('every function selector of every interface is implemented, and nothing else', () => {
    const modules = createSystemModules()
    const pairs: [Abi, (typeof modules)[number]][] = [
      [abis.datanetsAbi, modules[0]!],
      [abis.modelsAbi, modules[1]!],
      [abis.attributionAbi, modules[2]!],
      [abis.modelFactoryAbi, modules[3]!],
    ]
    for (const [abi, module] of pairs) {
      const fns = abi.filter((i) => i.type === 'function').map((i) => i.name)
      expect([...(module as unknown as { implemented: string[] }).implemented].sort()).toEqual(
        [...fns].sort(),
      )
      const selectors = new Set(abi.filter((i) => i.type === 'function').map((i) => toFunctionSelector(i)))
      expect(selectors.size).toBe(fns.length) // no overload collisions
    }
  })
})

describe('Solidity callers', () => {
  it('the example app compiles against the interfaces (import paths, structs, address constants)', async () => {
    const { createRequire } = await import('node:module')
    const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string }
    const read = (p: string) => ({ content: readFileSync(join(solDir, p), 'utf8') })
    const out = JSON.parse(
      solc.compile(
        JSON.stringify({
          language: 'Solidity',
          sources: {
            'examples/PayPerAnswer.sol': read('examples/PayPerAnswer.sol'),
            'IAttribution.sol': read('IAttribution.sol'),
            'IDatanets.sol': read('IDatanets.sol'),
          },
          settings: { outputSelection: { '*': { '*': ['evm.bytecode.object'] } } },
        }),
      ),
    ) as {
      errors?: { severity: string; formattedMessage: string }[]
      contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>
    }
    expect((out.errors ?? []).filter((e) => e.severity === 'error').map((e) => e.formattedMessage)).toEqual(
      [],
    )
    expect(
      out.contracts['examples/PayPerAnswer.sol']?.PayPerAnswer?.evm.bytecode.object.length,
    ).toBeGreaterThan(100)
  }, 30_000)
})

describe('genesis module params', () => {
  it('defaults and overrides', () => {
    expect(parseModuleParams(undefined)).toEqual(DEFAULT_MODULE_PARAMS)
    const p = parseModuleParams({
      treasury: '0x00000000000000000000000000000000000000aa',
      protocolBps: 500,
      contributorsBps: 5500,
    })
    expect(p.protocolBps).toBe(500)
    expect(hex(p.treasury)).toBe('0x00000000000000000000000000000000000000aa')
  })

  it('errors name the field and the default', () => {
    const bad: [unknown, string, RegExp][] = [
      [[], '(root)', /expected an object/],
      [{ protocolBps: 1.5 }, 'protocolBps', /default 1000/],
      [{ protocolBps: 2000 }, 'contributorsBps', /must be 10000, got 11000/],
      [{ treasury: '0x12' }, 'treasury', /20-byte hex address \(default 0x4f50454e0+5\)/],
      [{ stakersPool: '0x0000000000000000000000000000000000000000' }, 'stakersPool', /zero address/],
      [{ minOwnerBps: 3000 }, 'ownerBps', /\[3000, 5000\]/],
      [{ maxOwnerBps: 8000 }, 'maxOwnerBps', /must not exceed 10000/],
      [{ protcolBps: 1000 }, 'protcolBps', /unknown field/],
      [{ maxLineageDepth: 99 }, 'maxLineageDepth', /\[0, 32\]/],
    ]
    for (const [input, field, msg] of bad) {
      let err: unknown
      try {
        parseModuleParams(input)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ModuleParamsError)
      expect((err as ModuleParamsError).field).toBe(field)
      expect((err as Error).message).toMatch(msg)
    }
  })
})

describe('EIP-712 and gas schedule', () => {
  it('digest matches viem and signatures recover to the provider', async () => {
    const r = makeReceipt({
      modelId: 7n,
      entries: [
        {
          datanetId: 1n,
          datanetVersion: 2n,
          weight: 400_000,
          contributionIds: [3n, 4n],
          contributionWeights: [1, 999_999],
        },
        { datanetId: 5n, datanetVersion: 1n, weight: 600_000, contributionIds: [], contributionWeights: [] },
      ],
    })
    const expected = hashTypedData({
      domain: {
        name: 'OpenLedger Attribution',
        version: '1',
        chainId: 99n,
        verifyingContract: hex(ATTRIBUTION_ADDRESS),
      },
      types: RECEIPT_EIP712_TYPES,
      primaryType: 'InferenceReceipt',
      message: r,
    })
    const digest = receiptDigest(
      {
        ...r,
        inputHash: hexToBytes(r.inputHash),
        outputHash: hexToBytes(r.outputHash),
        payer: hexToBytes(r.payer),
        attributionCommitment: hexToBytes(r.attributionCommitment),
      },
      99n,
      ATTRIBUTION_ADDRESS,
    )
    expect(hex(digest)).toBe(expected)
    const sig = await signReceipt(r, undefined, 99n)
    const rec = recoverSigner(digest, hexToBytes(sig))
    expect(rec.ok && hex(rec.signer)).toBe(provider.address.toLowerCase())
    // v as 0/1 is accepted too.
    const raw = hexToBytes(sig)
    raw[64] = (raw[64] as number) - 27
    const rec2 = recoverSigner(digest, raw)
    expect(rec2.ok && hex(rec2.signer)).toBe(provider.address.toLowerCase())
  })

  it('charges exactly the documented schedule', async () => {
    const w = new World()
    // setApprovalForAll: base + 3 calldata words, one blind write of a new slot, one 3-topic log.
    const res = await w.raw('datanets', 'setApprovalForAll', [hex(BOB), true], { from: ALICE })
    expect(res.gasUsed).toBe(
      GAS.BASE + 3n * GAS.CALLDATA_WORD + GAS.COLD_SLOAD + GAS.SSTORE_SET + logGas(3, 32),
    )
    // Setting it again to the same value: the write is a no-op.
    const again = await w.raw('datanets', 'setApprovalForAll', [hex(BOB), true], { from: ALICE })
    expect(again.gasUsed).toBe(
      GAS.BASE + 3n * GAS.CALLDATA_WORD + GAS.COLD_SLOAD + GAS.SSTORE_NOOP + logGas(3, 32),
    )
    // A view: one cold read.
    const view = await w.raw('datanets', 'balanceOf', [hex(ALICE), 1n], { from: ALICE })
    expect(view.gasUsed).toBe(GAS.BASE + 3n * GAS.CALLDATA_WORD + GAS.COLD_SLOAD)
    // Inline content pays per byte, and the intrinsic part is checked before any state access.
    const id = await w.createDatanet()
    const content = new Uint8Array(1000).fill(7)
    const args = [id, keccak256(content), 1000n, '', hex(content)]
    const withInline = await w.raw('datanets', 'contribute', args, { from: ALICE })
    expect(withInline.status).toBe('success')
    const tooLittle = await w.raw('datanets', 'contribute', args, { from: ALICE, gasLimit: 16_000n })
    expect(tooLittle).toMatchObject({ status: 'outOfGas', gasUsed: 16_000n, moduleWrites: 0 })
  })
})
