/** Parsers for the payable-AI flags: each refuses bad input with a message naming what it expected. */
import { DATANET_LIMITS, MODEL_LIMITS } from '@openledger/attribution'
import { InvalidArgumentError } from 'commander'
import { type Address, getAddress, type Hex, isAddress } from 'viem'
import type { DatanetVersionRef } from './corpus.ts'

const U64 = (1n << 64n) - 1n
const U256 = (1n << 256n) - 1n

export function parseId(value: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(value.trim()))
    throw new InvalidArgumentError('expected a positive integer id')
  const n = BigInt(value.trim())
  if (n < 1n || n > U256) throw new InvalidArgumentError('expected a positive integer id')
  return n
}

export function parseUint64(value: string): bigint {
  const n = parseId(value)
  if (n > U64) throw new InvalidArgumentError('expected an integer below 2^64')
  return n
}

export function parseVersion(value: string): number {
  const n = parseId(value)
  if (n > 0xffff_ffffn) throw new InvalidArgumentError('expected a version number')
  return Number(n)
}

/** `<datanetId>@<version>` */
export function parseDatanetRef(value: string): DatanetVersionRef {
  const m = /^([^@\s]+)@([^@\s]+)$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError('expected <datanetId>@<version>, e.g. 1@2')
  return { datanetId: parseId(m[1] as string), version: parseUint64(m[2] as string) }
}

export function collectDatanetRefs(value: string, previous: DatanetVersionRef[] = []): DatanetVersionRef[] {
  return [...previous, parseDatanetRef(value)]
}

export function parseAddress(value: string): Address {
  if (!isAddress(value.trim(), { strict: false }))
    throw new InvalidArgumentError('expected a 20-byte hex address')
  return getAddress(value.trim())
}

export function collectAddresses(value: string, previous: Address[] = []): Address[] {
  return [...previous, parseAddress(value)]
}

export function parseBytes32(value: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value.trim()))
    throw new InvalidArgumentError('expected 32 bytes of hex (0x + 64 digits)')
  return value.trim().toLowerCase() as Hex
}

export function parseWeight(value: string): bigint {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`expected an integer weight in [1, ${DATANET_LIMITS.maxWeight}]`)
  const n = BigInt(value)
  if (n < 1n || n > DATANET_LIMITS.maxWeight)
    throw new InvalidArgumentError(`expected an integer weight in [1, ${DATANET_LIMITS.maxWeight}]`)
  return n
}

export function parseBps(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 10_000)
    throw new InvalidArgumentError('expected basis points in [0, 10000]')
  return Number(value)
}

export function parseSize(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a size in bytes')
  const n = BigInt(value)
  if (n < 1n || n > U64) throw new InvalidArgumentError('expected a size in bytes (at least 1)')
  return n
}

export function parseCount(value: string, max = 10_000): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new InvalidArgumentError(`expected an integer in [1, ${max}]`)
  }
  return Number(value)
}

export function parseOffset(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer')
  return BigInt(value)
}

function checkString(what: string, max: number): (value: string) => string {
  return (value: string) => {
    if (Buffer.byteLength(value, 'utf8') > max)
      throw new InvalidArgumentError(`${what} is limited to ${max} bytes`)
    return value
  }
}

export const parseName = checkString('a name', DATANET_LIMITS.maxNameBytes)
export const parseUri = checkString('a URI', DATANET_LIMITS.maxURIBytes)
export const parseBaseModel = checkString('a base model id', MODEL_LIMITS.maxBaseModelBytes)
