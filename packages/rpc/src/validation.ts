/**
 * Strict parsers for JSON-RPC parameters. Each throws RpcError -32602 naming the parameter, so a
 * handler can be written as a straight line of parse calls. Rules follow geth's hexutil: quantities
 * are 0x-prefixed without leading zeros, data is 0x-prefixed with an even number of digits.
 */
import type { Address, BlockRef, CallRequest, Hash, StateOverride } from './backend.ts'
import { invalidParams } from './errors.ts'

const QUANTITY_RE = /^0x(0|[1-9a-f][0-9a-f]*)$/i
const MAX_UINT256 = (1n << 256n) - 1n
const MAX_UINT64 = (1n << 64n) - 1n

export type BlockTag = 'latest' | 'pending' | 'safe' | 'finalized' | 'earliest'
const BLOCK_TAGS: ReadonlySet<string> = new Set(['latest', 'pending', 'safe', 'finalized', 'earliest'])

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'string') return value.length > 80 ? `string "${value.slice(0, 80)}…"` : `"${value}"`
  return typeof value
}

function fail(name: string, expected: string, value: unknown): never {
  throw invalidParams(`invalid argument ${name}: expected ${expected}, got ${describe(value)}`)
}

/**
 * Checks the positional params array: absent params mean `[]`, named params are refused, and the
 * count must be within [min, max]. Returns the array padded with undefined to `max` entries.
 */
export function expectParams(params: unknown, min: number, max: number): unknown[] {
  if (params === undefined || params === null) params = []
  if (!Array.isArray(params)) throw invalidParams('invalid params: expected a positional array of arguments')
  // Trailing nulls are how some clients spell "omitted" (as geth accepts).
  let n = params.length
  while (n > min && params[n - 1] === null) n--
  if (n < min) throw invalidParams(`missing value for required argument ${n}`)
  if (n > max) throw invalidParams(`too many arguments, want at most ${max}`)
  const out = params.slice(0, n)
  while (out.length < max) out.push(undefined)
  return out
}

/** A 0x quantity up to 256 bits (`maxBits` narrows it). Leading zeros are rejected as geth does. */
export function parseQuantity(value: unknown, name: string, maxBits = 256): bigint {
  if (typeof value !== 'string') fail(name, 'hex quantity string', value)
  if (value === '0x' || !value.startsWith('0x')) fail(name, 'hex quantity string with 0x prefix', value)
  if (!QUANTITY_RE.test(value)) {
    if (/^0x0[0-9a-f]+$/i.test(value))
      throw invalidParams(`invalid argument ${name}: hex number with leading zero digits`)
    fail(name, 'hex quantity string', value)
  }
  const n = BigInt(value)
  const max = maxBits === 256 ? MAX_UINT256 : (1n << BigInt(maxBits)) - 1n
  if (n > max) throw invalidParams(`invalid argument ${name}: hex number > ${maxBits} bits`)
  return n
}

/** A quantity that must fit a JS number (indexes, counts); also accepts a non-negative integer. */
export function parseIndex(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  let n: bigint
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(name, 'non-negative integer', value)
    n = BigInt(value)
  } else {
    n = parseQuantity(value, name, 64)
  }
  if (n > BigInt(max)) throw invalidParams(`invalid argument ${name}: ${n} exceeds maximum ${max}`)
  return Number(n)
}

/** A uint64 given either as hex quantity or as a decimal number (geth's HexOrDecimal64). */
export function parseUint64(value: unknown, name: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(name, 'non-negative integer', value)
    return BigInt(value)
  }
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) {
    const n = BigInt(value)
    if (n > MAX_UINT64) throw invalidParams(`invalid argument ${name}: number > 64 bits`)
    return n
  }
  return parseQuantity(value, name, 64)
}

export function parseData(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string') fail(name, 'hex data string', value)
  if (!value.startsWith('0x')) fail(name, 'hex data string with 0x prefix', value)
  if (value.length % 2 === 1) throw invalidParams(`invalid argument ${name}: hex string of odd length`)
  // Decoded straight into its own array (not Buffer's shared pool). Buffer's hex decoding stops at
  // the first pair that is not hex, so a short count is exactly a non-hex character.
  const out = new Uint8Array((value.length - 2) / 2)
  if (Buffer.from(out.buffer).write(value.slice(2), 'hex') !== out.length)
    fail(name, 'hex data string', value)
  return out
}

function parseFixed(value: unknown, name: string, size: number, what: string): Uint8Array {
  if (typeof value !== 'string' || value.length !== 2 + size * 2) fail(name, what, value)
  const bytes = parseData(value, name)
  if (bytes.length !== size) fail(name, what, value)
  return bytes
}

export function parseAddress(value: unknown, name: string): Address {
  return parseFixed(value, name, 20, '20-byte hex address')
}

export function parseHash(value: unknown, name: string): Hash {
  return parseFixed(value, name, 32, '32-byte hex hash')
}

/** A storage slot: a 32-byte word or a quantity (anvil and Hardhat accept both), as 32 bytes. */
export function parseSlot(value: unknown, name: string): Hash {
  if (typeof value === 'string' && value.length === 66) return parseHash(value, name)
  return bigintTo32(parseQuantity(value, name))
}

export function bigintTo32(n: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'))
}

export function parseBool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') fail(name, 'boolean', value)
  return value
}

/** Block number or tag (no hash): `latest`, `0x1a`, ... A JSON integer is accepted too, as
 * Hardhat accepts `eth_getBlockByNumber [1, false]` (scripts written against it send that). */
export function parseBlockNumberOrTag(value: unknown, name: string): BlockRef {
  if (typeof value === 'string' && BLOCK_TAGS.has(value)) return { tag: value as BlockTag }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return { number: BigInt(value) }
  if (typeof value !== 'string') fail(name, 'block number or tag', value)
  return { number: parseQuantity(value, name, 64) }
}

/** Block number, tag, or EIP-1898 object `{blockHash, requireCanonical?}` / `{blockNumber}`. */
export function parseBlockRef(
  value: unknown,
  name: string,
  fallback: BlockRef = { tag: 'latest' },
): BlockRef {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'number') return parseBlockNumberOrTag(value, name)
  if (typeof value === 'string') {
    // geth also accepts a bare 32-byte hash here.
    if (value.length === 66) return { hash: parseHash(value, name) }
    return parseBlockNumberOrTag(value, name)
  }
  if (typeof value !== 'object' || Array.isArray(value))
    fail(name, 'block number, tag or EIP-1898 object', value)
  const obj = value as Record<string, unknown>
  const hasHash = obj.blockHash !== undefined
  const hasNumber = obj.blockNumber !== undefined
  if (hasHash === hasNumber) {
    throw invalidParams(
      `invalid argument ${name}: EIP-1898 object needs exactly one of blockHash or blockNumber`,
    )
  }
  if (hasNumber) {
    if (obj.requireCanonical !== undefined) {
      throw invalidParams(`invalid argument ${name}: requireCanonical is only valid with blockHash`)
    }
    return parseBlockNumberOrTag(obj.blockNumber, `${name}.blockNumber`)
  }
  const ref: BlockRef = { hash: parseHash(obj.blockHash, `${name}.blockHash`) }
  if (obj.requireCanonical !== undefined)
    ref.requireCanonical = parseBool(obj.requireCanonical, `${name}.requireCanonical`)
  return ref
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, 'object', value)
  return value as Record<string, unknown>
}

function checkKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>, name: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw invalidParams(`invalid argument ${name}: unknown field "${key}"`)
  }
}

export function parseAccessList(
  value: unknown,
  name: string,
): Array<{ address: Address; storageKeys: Hash[] }> {
  if (!Array.isArray(value)) fail(name, 'access list array', value)
  return value.map((item, i) => {
    const entry = asObject(item, `${name}[${i}]`)
    const keys = entry.storageKeys ?? []
    if (!Array.isArray(keys)) fail(`${name}[${i}].storageKeys`, 'array of 32-byte hashes', keys)
    return {
      address: parseAddress(entry.address, `${name}[${i}].address`),
      storageKeys: keys.map((k, j) => parseHash(k, `${name}[${i}].storageKeys[${j}]`)),
    }
  })
}

const CALL_KEYS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'gas',
  'gasPrice',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'value',
  'data',
  'input',
  'nonce',
  'accessList',
  'type',
  'chainId',
  'maxFeePerBlobGas',
  'blobVersionedHashes',
])

/** Transaction call object for eth_call / eth_estimateGas / eth_sendTransaction. */
export function parseCallRequest(value: unknown, name: string): CallRequest {
  const obj = asObject(value, name)
  checkKeys(obj, CALL_KEYS, name)
  const req: CallRequest = {}
  const present = (k: string): boolean => obj[k] !== undefined && obj[k] !== null
  if (present('from')) req.from = parseAddress(obj.from, `${name}.from`)
  if (present('to')) req.to = parseAddress(obj.to, `${name}.to`)
  if (present('gas')) req.gas = parseQuantity(obj.gas, `${name}.gas`, 64)
  if (present('gasPrice')) req.gasPrice = parseQuantity(obj.gasPrice, `${name}.gasPrice`)
  if (present('maxFeePerGas')) req.maxFeePerGas = parseQuantity(obj.maxFeePerGas, `${name}.maxFeePerGas`)
  if (present('maxPriorityFeePerGas')) {
    req.maxPriorityFeePerGas = parseQuantity(obj.maxPriorityFeePerGas, `${name}.maxPriorityFeePerGas`)
  }
  if (present('value')) req.value = parseQuantity(obj.value, `${name}.value`)
  if (present('nonce')) req.nonce = parseQuantity(obj.nonce, `${name}.nonce`, 64)
  if (present('chainId')) req.chainId = parseQuantity(obj.chainId, `${name}.chainId`)
  if (present('type')) req.type = parseIndex(obj.type, `${name}.type`, 0x7f)
  if (present('accessList')) req.accessList = parseAccessList(obj.accessList, `${name}.accessList`)
  if (present('data') && present('input')) {
    const data = parseData(obj.data, `${name}.data`)
    const input = parseData(obj.input, `${name}.input`)
    if (Buffer.compare(data, input) !== 0) {
      // Same wording as geth's TransactionArgs.
      throw invalidParams(
        `invalid argument ${name}: both "data" and "input" are set and not equal. Please use "input" to pass transaction call data`,
      )
    }
    req.data = input
  } else if (present('input')) {
    req.data = parseData(obj.input, `${name}.input`)
  } else if (present('data')) {
    req.data = parseData(obj.data, `${name}.data`)
  }
  if (
    req.gasPrice !== undefined &&
    (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined)
  ) {
    throw invalidParams(
      `invalid argument ${name}: both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified`,
    )
  }
  if (
    req.maxFeePerGas !== undefined &&
    req.maxPriorityFeePerGas !== undefined &&
    req.maxPriorityFeePerGas > req.maxFeePerGas
  ) {
    throw invalidParams(
      `invalid argument ${name}: maxFeePerGas (${req.maxFeePerGas}) < maxPriorityFeePerGas (${req.maxPriorityFeePerGas})`,
    )
  }
  return req
}

export interface FilterCriteria {
  /** Set when the filter pins one block by hash (EIP-234); from/to are then absent. */
  blockHash?: Hash
  fromBlock?: BlockRef
  toBlock?: BlockRef
  addresses: Address[]
  topics: Array<Hash[] | null>
}

const FILTER_KEYS: ReadonlySet<string> = new Set(['fromBlock', 'toBlock', 'blockHash', 'address', 'topics'])
/** geth's limit on topic positions (LOG4 has at most 4). */
const MAX_TOPICS = 4

/** Filter object of eth_getLogs / eth_newFilter / eth_subscribe('logs'). */
export function parseFilter(
  value: unknown,
  name: string,
  maxAddresses = 1000,
  maxTopicOptions = 1000,
): FilterCriteria {
  const obj = value === undefined || value === null ? {} : asObject(value, name)
  checkKeys(obj, FILTER_KEYS, name)
  const criteria: FilterCriteria = { addresses: [], topics: [] }
  const present = (k: string): boolean => obj[k] !== undefined && obj[k] !== null
  if (present('blockHash')) {
    if (present('fromBlock') || present('toBlock')) {
      throw invalidParams(
        `invalid argument ${name}: cannot specify both blockHash and fromBlock/toBlock, choose one or the other`,
      )
    }
    criteria.blockHash = parseHash(obj.blockHash, `${name}.blockHash`)
  }
  if (present('fromBlock')) criteria.fromBlock = parseBlockNumberOrTag(obj.fromBlock, `${name}.fromBlock`)
  if (present('toBlock')) criteria.toBlock = parseBlockNumberOrTag(obj.toBlock, `${name}.toBlock`)
  if (present('address')) {
    const addr = obj.address
    if (Array.isArray(addr)) {
      if (addr.length > maxAddresses) {
        throw invalidParams(`invalid argument ${name}.address: more than ${maxAddresses} addresses`)
      }
      criteria.addresses = addr.map((a, i) => parseAddress(a, `${name}.address[${i}]`))
    } else {
      criteria.addresses = [parseAddress(addr, `${name}.address`)]
    }
  }
  if (present('topics')) {
    const topics = obj.topics
    if (!Array.isArray(topics)) fail(`${name}.topics`, 'array', topics)
    if (topics.length > MAX_TOPICS)
      throw invalidParams(`invalid argument ${name}.topics: exceeds max of ${MAX_TOPICS} topics`)
    criteria.topics = topics.map((t, i) => {
      if (t === null || t === undefined) return null
      if (Array.isArray(t)) {
        if (t.length > maxTopicOptions) {
          throw invalidParams(
            `invalid argument ${name}.topics[${i}]: more than ${maxTopicOptions} alternatives`,
          )
        }
        // [] and [null] both mean "any" as in geth.
        if (t.length === 0 || t.some((x) => x === null)) return null
        return t.map((x, j) => parseHash(x, `${name}.topics[${i}][${j}]`))
      }
      return [parseHash(t, `${name}.topics[${i}]`)]
    })
    // Trailing wildcards do not constrain anything.
    while (criteria.topics.length > 0 && criteria.topics[criteria.topics.length - 1] === null)
      criteria.topics.pop()
  }
  return criteria
}

const OVERRIDE_KEYS: ReadonlySet<string> = new Set(['balance', 'nonce', 'code', 'state', 'stateDiff'])

function parseSlotMap(value: unknown, name: string): Map<string, Hash> {
  const obj = asObject(value, name)
  const out = new Map<string, Hash>()
  for (const [slot, val] of Object.entries(obj)) {
    const key = parseHash(slot, `${name} key`)
    out.set(`0x${Buffer.from(key).toString('hex')}`, parseHash(val, `${name}[${slot}]`))
  }
  return out
}

/** geth state override set: address → {balance, nonce, code, state | stateDiff}. Keys are lowercase 0x hex. */
export function parseStateOverride(value: unknown, name: string): StateOverride | undefined {
  if (value === undefined || value === null) return undefined
  const obj = asObject(value, name)
  const out: StateOverride = new Map()
  for (const [addrText, raw] of Object.entries(obj)) {
    const addr = parseAddress(addrText, `${name} address`)
    const entryName = `${name}[${addrText}]`
    const entry = asObject(raw, entryName)
    checkKeys(entry, OVERRIDE_KEYS, entryName)
    const present = (k: string): boolean => entry[k] !== undefined && entry[k] !== null
    if (present('state') && present('stateDiff')) {
      throw invalidParams(`invalid argument ${entryName}: has both 'state' and 'stateDiff'`)
    }
    const o: {
      balance?: bigint
      nonce?: bigint
      code?: Uint8Array
      state?: Map<string, Hash>
      stateDiff?: Map<string, Hash>
    } = {}
    if (present('balance')) o.balance = parseQuantity(entry.balance, `${entryName}.balance`)
    if (present('nonce')) o.nonce = parseQuantity(entry.nonce, `${entryName}.nonce`, 64)
    if (present('code')) o.code = parseData(entry.code, `${entryName}.code`)
    if (present('state')) o.state = parseSlotMap(entry.state, `${entryName}.state`)
    if (present('stateDiff')) o.stateDiff = parseSlotMap(entry.stateDiff, `${entryName}.stateDiff`)
    const key = `0x${Buffer.from(addr).toString('hex')}`
    if (out.has(key)) throw invalidParams(`invalid argument ${name}: address ${key} given twice`)
    out.set(key, o)
  }
  return out
}

/** A plain JSON object argument (e.g. tracer options), passed through after a shape check. */
export function parseOptionsObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  return asObject(value, name)
}
