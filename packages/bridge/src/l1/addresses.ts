/**
 * The L1 addresses file written by `openledger l1 deploy` and read by every node of the chain
 * (`--l1-addresses`). Besides addresses it fixes the parameters every node must agree on
 * (where derivation starts, the confirmation depth, the deposit gas budget), so it is part of the
 * chain's configuration like the genesis file. Parsing is strict: unknown or malformed fields are
 * errors naming their path.
 */
import { readFile } from 'node:fs/promises'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'

export interface L1Addresses {
  version: 1
  l1ChainId: number
  l2ChainId: number
  /** Derivation starts after this L1 block (the one that deployed the Portal). */
  startBlock: { number: bigint; hash: Hex }
  contracts: {
    openToken: Address
    l2OutputOracle: Address
    portal: Address
    /** Multicall3 used by viem's batched reads (the canonical one, or ours on a fresh L1). */
    multicall3: Address
  }
  params: {
    /** An L1 block's deposits are applied once it is this many blocks below the L1 head. */
    confirmations: number
    submissionInterval: bigint
    finalizationPeriodSeconds: bigint
    l2BlockTime: bigint
    /** L2 gas all deposits of one L1 block may use (the Portal's limit) and the L2 budget per block. */
    maxDepositGasPerBlock: bigint
  }
}

export class AddressesFileError extends Error {
  readonly code = 'L1_ADDRESSES_INVALID'
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`)
    this.name = 'AddressesFileError'
  }
}

type Json = Record<string, unknown>

function obj(v: unknown, path: string, keys: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new AddressesFileError(path, `expected an object, got ${JSON.stringify(v)}`)
  for (const k of Object.keys(v)) {
    if (!keys.includes(k) && !k.startsWith('_')) throw new AddressesFileError(`${path}.${k}`, 'unknown field')
  }
  return v as Json
}

function quantity(v: unknown, path: string, max = 2n ** 256n - 1n): bigint {
  let n: bigint
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v)
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) n = BigInt(v)
  else throw new AddressesFileError(path, `expected a non-negative integer, got ${JSON.stringify(v)}`)
  if (n < 0n || n > max) throw new AddressesFileError(path, `out of range: ${n}`)
  return n
}

function address(v: unknown, path: string): Address {
  if (typeof v !== 'string' || !isAddress(v, { strict: false }))
    throw new AddressesFileError(path, `expected an address, got ${JSON.stringify(v)}`)
  return getAddress(v)
}

function hash(v: unknown, path: string): Hex {
  if (typeof v !== 'string' || !isHex(v) || v.length !== 66)
    throw new AddressesFileError(path, `expected a 32-byte 0x-hex hash, got ${JSON.stringify(v)}`)
  return v.toLowerCase() as Hex
}

export function parseL1Addresses(json: unknown, file = 'l1-addresses'): L1Addresses {
  const o = obj(json, file, ['version', 'l1ChainId', 'l2ChainId', 'startBlock', 'contracts', 'params'])
  if (o.version !== 1)
    throw new AddressesFileError(`${file}.version`, `unsupported version ${JSON.stringify(o.version)}`)
  const sb = obj(o.startBlock, `${file}.startBlock`, ['number', 'hash'])
  const c = obj(o.contracts, `${file}.contracts`, ['openToken', 'l2OutputOracle', 'portal', 'multicall3'])
  const p = obj(o.params, `${file}.params`, [
    'confirmations',
    'submissionInterval',
    'finalizationPeriodSeconds',
    'l2BlockTime',
    'maxDepositGasPerBlock',
  ])
  const confirmations = Number(quantity(p.confirmations, `${file}.params.confirmations`, 1024n))
  const submissionInterval = quantity(p.submissionInterval, `${file}.params.submissionInterval`, 2n ** 32n)
  if (submissionInterval === 0n)
    throw new AddressesFileError(`${file}.params.submissionInterval`, 'must be ≥ 1')
  const maxDepositGasPerBlock = quantity(
    p.maxDepositGasPerBlock,
    `${file}.params.maxDepositGasPerBlock`,
    2n ** 63n,
  )
  if (maxDepositGasPerBlock < 21_000n)
    throw new AddressesFileError(`${file}.params.maxDepositGasPerBlock`, 'must be ≥ 21000')
  return {
    version: 1,
    l1ChainId: Number(quantity(o.l1ChainId, `${file}.l1ChainId`, 2n ** 53n - 1n)),
    l2ChainId: Number(quantity(o.l2ChainId, `${file}.l2ChainId`, 2n ** 53n - 1n)),
    startBlock: {
      number: quantity(sb.number, `${file}.startBlock.number`, 2n ** 63n),
      hash: hash(sb.hash, `${file}.startBlock.hash`),
    },
    contracts: {
      openToken: address(c.openToken, `${file}.contracts.openToken`),
      l2OutputOracle: address(c.l2OutputOracle, `${file}.contracts.l2OutputOracle`),
      portal: address(c.portal, `${file}.contracts.portal`),
      multicall3: address(c.multicall3, `${file}.contracts.multicall3`),
    },
    params: {
      confirmations,
      submissionInterval,
      finalizationPeriodSeconds: quantity(
        p.finalizationPeriodSeconds,
        `${file}.params.finalizationPeriodSeconds`,
      ),
      l2BlockTime: quantity(p.l2BlockTime, `${file}.params.l2BlockTime`, 2n ** 32n),
      maxDepositGasPerBlock,
    },
  }
}

export function l1AddressesToJson(a: L1Addresses): Json {
  return {
    version: 1,
    l1ChainId: a.l1ChainId,
    l2ChainId: a.l2ChainId,
    startBlock: { number: a.startBlock.number.toString(), hash: a.startBlock.hash },
    contracts: { ...a.contracts },
    params: {
      confirmations: a.params.confirmations,
      submissionInterval: a.params.submissionInterval.toString(),
      finalizationPeriodSeconds: a.params.finalizationPeriodSeconds.toString(),
      l2BlockTime: a.params.l2BlockTime.toString(),
      maxDepositGasPerBlock: a.params.maxDepositGasPerBlock.toString(),
    },
  }
}

export async function readL1Addresses(file: string): Promise<L1Addresses> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw new AddressesFileError(file, `cannot read: ${(e as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new AddressesFileError(file, `not JSON: ${(e as Error).message}`)
  }
  return parseL1Addresses(json, file)
}
