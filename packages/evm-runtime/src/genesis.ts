/**
 * The chain's genesis document: parsing (with errors that name the offending field), defaults and
 * the inverse serializer. Field reference: docs/genesis.md.
 * Long file: the parser and its inverse serializer must change together, field by field.
 */
import { bigintToBytes, fromHex, toHex } from './bytes.ts'
import { GenesisError } from './errors.ts'

export type ConsensusType = 'dev' | 'qbft'

export interface GenesisAccount {
  address: Uint8Array
  balance: bigint
  nonce: bigint
  code: Uint8Array
  /** Slot (32 bytes) → value (32 bytes); zero values are dropped at parse time. */
  storage: Array<{ slot: Uint8Array; value: Uint8Array }>
}

/** Forks this chain can run, oldest first. */
export const HARDFORKS = ['prague', 'osaka'] as const
export type HardforkName = (typeof HARDFORKS)[number]

export interface GenesisConfig {
  name: string
  chainId: bigint
  /** EVM rules at the genesis block. */
  hardfork: HardforkName
  /** Later forks and the block number each activates at (ascending with the fork order). */
  hardforks: Partial<Record<HardforkName, bigint>>
  timestamp: bigint
  gasLimit: bigint
  baseFeePerGas: bigint
  eip1559: { elasticityMultiplier: bigint; baseFeeMaxChangeDenominator: bigint }
  extraData: Uint8Array
  currency: { name: string; symbol: string; decimals: number }
  /** Base fee is burnt unless `treasury` is set, then it is credited to that account. */
  feeRecipient: { treasury?: Uint8Array }
  validators: Uint8Array[]
  consensus: {
    type: ConsensusType
    blockPeriodSeconds: number
    requestTimeoutSeconds: number
    epochLength: bigint
  }
  /** Opaque parameters of the attribution modules, passed through untouched. */
  modules: Record<string, unknown>
  alloc: GenesisAccount[]
}

export const GENESIS_DEFAULTS = {
  name: 'openledger',
  hardfork: 'osaka' as HardforkName,
  timestamp: 0n,
  gasLimit: 30_000_000n,
  baseFeePerGas: 1_000_000_000n,
  elasticityMultiplier: 2n,
  baseFeeMaxChangeDenominator: 8n,
  currency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  blockPeriodSeconds: 2,
  requestTimeoutSeconds: 4,
  epochLength: 30_000n,
}

const UINT256_MAX = (1n << 256n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

type Obj = Record<string, unknown>

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkKeys(path: string, obj: Obj, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    // Keys starting with "_" are comments (JSON has none).
    if (key.startsWith('_') || key === '$schema') continue
    if (!allowed.includes(key))
      throw new GenesisError(`${path}.${key}`, `unknown field (expected one of: ${allowed.join(', ')})`)
  }
}

/** Decimal string, 0x-hex string or safe JSON integer → bigint in [0, max]. */
export function parseQuantity(path: string, value: unknown, max: bigint = UINT256_MAX): bigint {
  let n: bigint
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new GenesisError(path, 'expected a non-negative integer (numbers above 2^53 must be strings)')
    n = BigInt(value)
  } else if (typeof value === 'string') {
    if (/^0x[0-9a-fA-F]+$/.test(value)) n = BigInt(value)
    else if (/^(0|[1-9][0-9]*)$/.test(value)) n = BigInt(value)
    else
      throw new GenesisError(
        path,
        `expected a non-negative integer as a decimal or 0x-hex string, got ${JSON.stringify(value.slice(0, 40))}`,
      )
  } else {
    throw new GenesisError(
      path,
      `expected a non-negative integer, got ${value === null ? 'null' : typeof value}`,
    )
  }
  if (n > max) throw new GenesisError(path, `value ${n} exceeds the maximum ${max}`)
  return n
}

function parseSmallInt(path: string, value: unknown, max: number): number {
  return Number(parseQuantity(path, value, BigInt(max)))
}

function parseString(path: string, value: unknown, maxLength = 64): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new GenesisError(path, 'expected a non-empty string')
  if (value.length > maxLength) throw new GenesisError(path, `string longer than ${maxLength} characters`)
  return value
}

export function parseAddress(path: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(value)) {
    throw new GenesisError(
      path,
      `expected a 20-byte 0x-hex address, got ${JSON.stringify(value)?.slice(0, 50)}`,
    )
  }
  return fromHex(value.startsWith('0x') ? value : `0x${value}`)
}

function parseBytes(path: string, value: unknown, maxLength?: number): Uint8Array {
  if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new GenesisError(path, 'expected an even-length 0x-hex byte string')
  }
  const bytes = fromHex(value)
  if (maxLength !== undefined && bytes.length > maxLength)
    throw new GenesisError(path, `at most ${maxLength} bytes allowed, got ${bytes.length}`)
  return bytes
}

/** Storage keys/values: a quantity up to 2^256-1 (0x-hex up to 32 bytes, or decimal), as 32 bytes. */
function parseWord(path: string, value: unknown): Uint8Array {
  if (typeof value === 'string' && /^0x[0-9a-fA-F]{65,}$/.test(value))
    throw new GenesisError(path, 'more than 32 bytes')
  return bigintToBytes(parseQuantity(path, value), 32)
}

function parseAlloc(raw: unknown): GenesisAccount[] {
  if (raw === undefined) return []
  if (!isObject(raw))
    throw new GenesisError('genesis.alloc', 'expected an object mapping addresses to accounts')
  const seen = new Set<string>()
  const out: GenesisAccount[] = []
  for (const [key, acct] of Object.entries(raw)) {
    const path = `genesis.alloc[${JSON.stringify(key)}]`
    const address = parseAddress(path, key)
    const lower = toHex(address)
    if (seen.has(lower)) throw new GenesisError(path, 'duplicate address (addresses are case-insensitive)')
    seen.add(lower)
    if (!isObject(acct)) throw new GenesisError(path, 'expected an object {balance, nonce?, code?, storage?}')
    checkKeys(path, acct, ['balance', 'nonce', 'code', 'storage'])
    if (acct.balance === undefined) throw new GenesisError(`${path}.balance`, 'required field is missing')
    const balance = parseQuantity(`${path}.balance`, acct.balance)
    const nonce = acct.nonce === undefined ? 0n : parseQuantity(`${path}.nonce`, acct.nonce, UINT64_MAX)
    const code = acct.code === undefined ? new Uint8Array(0) : parseBytes(`${path}.code`, acct.code, 0x6000)
    const storage: GenesisAccount['storage'] = []
    if (acct.storage !== undefined) {
      if (!isObject(acct.storage))
        throw new GenesisError(`${path}.storage`, 'expected an object mapping slots to values')
      const slots = new Set<string>()
      for (const [slotKey, v] of Object.entries(acct.storage)) {
        const spath = `${path}.storage[${JSON.stringify(slotKey)}]`
        const slot = parseWord(spath, slotKey)
        const slotHex = toHex(slot)
        if (slots.has(slotHex)) throw new GenesisError(spath, 'duplicate storage slot')
        slots.add(slotHex)
        const value = parseWord(spath, v)
        if (value.some((b) => b !== 0)) storage.push({ slot, value })
      }
    }
    out.push({ address, balance, nonce, code, storage })
  }
  return out
}

function isHardfork(v: unknown): v is HardforkName {
  return typeof v === 'string' && (HARDFORKS as readonly string[]).includes(v)
}

/** `hardfork` (the genesis fork) and `hardforks` (later forks → activation block). */
function parseForks(hf: unknown, later: unknown): Pick<GenesisConfig, 'hardfork' | 'hardforks'> {
  if (hf !== undefined && !isHardfork(hf)) {
    throw new GenesisError(
      'genesis.hardfork',
      `unsupported hardfork ${JSON.stringify(hf)?.slice(0, 40)}; expected one of: ${HARDFORKS.join(', ')}`,
    )
  }
  const hardfork = hf ?? GENESIS_DEFAULTS.hardfork
  const hardforks: GenesisConfig['hardforks'] = {}
  if (later === undefined) return { hardfork, hardforks }
  if (!isObject(later))
    throw new GenesisError('genesis.hardforks', 'expected an object: fork name → block number')
  const base = HARDFORKS.indexOf(hardfork)
  let last = 0n
  for (const [i, name] of HARDFORKS.entries()) {
    if (later[name] === undefined) continue
    if (i <= base)
      throw new GenesisError(
        `genesis.hardforks.${name}`,
        `${name} is not after the genesis hardfork ${hardfork}; list only later forks`,
      )
    const at = parseQuantity(`genesis.hardforks.${name}`, later[name], UINT64_MAX)
    if (at < last)
      throw new GenesisError(`genesis.hardforks.${name}`, `activates before an earlier fork (block ${last})`)
    hardforks[name] = at
    last = at
  }
  for (const k of Object.keys(later)) {
    if (k.startsWith('_')) continue
    if (!isHardfork(k))
      throw new GenesisError(
        `genesis.hardforks.${k}`,
        `unknown hardfork (expected one of: ${HARDFORKS.join(', ')})`,
      )
  }
  return { hardfork, hardforks }
}

/** The fork in force at block `number`: the genesis fork, or the latest one activated by then. */
export function hardforkAt(g: Pick<GenesisConfig, 'hardfork' | 'hardforks'>, number: bigint): HardforkName {
  let fork = g.hardfork
  for (const name of HARDFORKS) {
    const at = g.hardforks[name]
    if (at !== undefined && number >= at) fork = name
  }
  return fork
}

/** Validates a parsed JSON genesis document and fills defaults. Throws GenesisError naming the field. */
export function parseGenesis(json: unknown): GenesisConfig {
  if (!isObject(json)) throw new GenesisError('genesis', 'expected a JSON object')
  checkKeys('genesis', json, [
    'name',
    'chainId',
    'hardfork',
    'hardforks',
    'timestamp',
    'gasLimit',
    'baseFeePerGas',
    'eip1559',
    'extraData',
    'currency',
    'feeRecipient',
    'validators',
    'consensus',
    'modules',
    'alloc',
  ])
  const name = json.name === undefined ? GENESIS_DEFAULTS.name : parseString('genesis.name', json.name)
  if (json.chainId === undefined) throw new GenesisError('genesis.chainId', 'required field is missing')
  const chainId = parseQuantity('genesis.chainId', json.chainId, UINT64_MAX)
  if (chainId === 0n) throw new GenesisError('genesis.chainId', 'must be greater than zero')
  const { hardfork, hardforks } = parseForks(json.hardfork, json.hardforks)
  const timestamp =
    json.timestamp === undefined
      ? GENESIS_DEFAULTS.timestamp
      : parseQuantity('genesis.timestamp', json.timestamp, UINT64_MAX)
  const gasLimit =
    json.gasLimit === undefined
      ? GENESIS_DEFAULTS.gasLimit
      : parseQuantity('genesis.gasLimit', json.gasLimit, UINT64_MAX)
  if (gasLimit < 5000n)
    throw new GenesisError('genesis.gasLimit', 'must be at least 5000 (the protocol minimum)')
  const baseFeePerGas =
    json.baseFeePerGas === undefined
      ? GENESIS_DEFAULTS.baseFeePerGas
      : parseQuantity('genesis.baseFeePerGas', json.baseFeePerGas)

  let elasticityMultiplier = GENESIS_DEFAULTS.elasticityMultiplier
  let baseFeeMaxChangeDenominator = GENESIS_DEFAULTS.baseFeeMaxChangeDenominator
  if (json.eip1559 !== undefined) {
    if (!isObject(json.eip1559)) throw new GenesisError('genesis.eip1559', 'expected an object')
    checkKeys('genesis.eip1559', json.eip1559, ['elasticityMultiplier', 'baseFeeMaxChangeDenominator'])
    if (json.eip1559.elasticityMultiplier !== undefined) {
      elasticityMultiplier = parseQuantity(
        'genesis.eip1559.elasticityMultiplier',
        json.eip1559.elasticityMultiplier,
        1000n,
      )
      if (elasticityMultiplier === 0n)
        throw new GenesisError('genesis.eip1559.elasticityMultiplier', 'must be at least 1')
    }
    if (json.eip1559.baseFeeMaxChangeDenominator !== undefined) {
      baseFeeMaxChangeDenominator = parseQuantity(
        'genesis.eip1559.baseFeeMaxChangeDenominator',
        json.eip1559.baseFeeMaxChangeDenominator,
        1_000_000n,
      )
      if (baseFeeMaxChangeDenominator === 0n)
        throw new GenesisError('genesis.eip1559.baseFeeMaxChangeDenominator', 'must be at least 1')
    }
  }
  if (gasLimit / elasticityMultiplier === 0n)
    throw new GenesisError('genesis.eip1559.elasticityMultiplier', 'larger than the gas limit')

  const extraData =
    json.extraData === undefined ? new Uint8Array(0) : parseBytes('genesis.extraData', json.extraData, 65_536)

  const currency = { ...GENESIS_DEFAULTS.currency }
  if (json.currency !== undefined) {
    if (!isObject(json.currency))
      throw new GenesisError('genesis.currency', 'expected an object {name, symbol, decimals}')
    checkKeys('genesis.currency', json.currency, ['name', 'symbol', 'decimals'])
    if (json.currency.name !== undefined)
      currency.name = parseString('genesis.currency.name', json.currency.name)
    if (json.currency.symbol !== undefined)
      currency.symbol = parseString('genesis.currency.symbol', json.currency.symbol, 16)
    if (json.currency.decimals !== undefined)
      currency.decimals = parseSmallInt('genesis.currency.decimals', json.currency.decimals, 36)
  }

  const feeRecipient: GenesisConfig['feeRecipient'] = {}
  if (json.feeRecipient !== undefined) {
    if (!isObject(json.feeRecipient))
      throw new GenesisError('genesis.feeRecipient', 'expected an object {treasury?}')
    checkKeys('genesis.feeRecipient', json.feeRecipient, ['treasury'])
    if (json.feeRecipient.treasury !== undefined && json.feeRecipient.treasury !== null) {
      feeRecipient.treasury = parseAddress('genesis.feeRecipient.treasury', json.feeRecipient.treasury)
    }
  }

  const validators: Uint8Array[] = []
  if (json.validators !== undefined) {
    if (!Array.isArray(json.validators))
      throw new GenesisError('genesis.validators', 'expected an array of addresses')
    const seen = new Set<string>()
    json.validators.forEach((v, i) => {
      const a = parseAddress(`genesis.validators[${i}]`, v)
      if (seen.has(toHex(a))) throw new GenesisError(`genesis.validators[${i}]`, 'duplicate validator')
      seen.add(toHex(a))
      validators.push(a)
    })
  }

  const consensus: GenesisConfig['consensus'] = {
    type: 'dev',
    blockPeriodSeconds: GENESIS_DEFAULTS.blockPeriodSeconds,
    requestTimeoutSeconds: GENESIS_DEFAULTS.requestTimeoutSeconds,
    epochLength: GENESIS_DEFAULTS.epochLength,
  }
  if (json.consensus !== undefined) {
    const c = json.consensus
    if (!isObject(c))
      throw new GenesisError(
        'genesis.consensus',
        'expected an object {type, blockPeriodSeconds, requestTimeoutSeconds, epochLength}',
      )
    checkKeys('genesis.consensus', c, ['type', 'blockPeriodSeconds', 'requestTimeoutSeconds', 'epochLength'])
    if (c.type !== undefined) {
      if (c.type !== 'dev' && c.type !== 'qbft')
        throw new GenesisError(
          'genesis.consensus.type',
          `expected "dev" or "qbft", got ${JSON.stringify(c.type)}`,
        )
      consensus.type = c.type
    }
    if (c.blockPeriodSeconds !== undefined)
      consensus.blockPeriodSeconds = parseSmallInt(
        'genesis.consensus.blockPeriodSeconds',
        c.blockPeriodSeconds,
        86_400,
      )
    if (c.requestTimeoutSeconds !== undefined) {
      consensus.requestTimeoutSeconds = parseSmallInt(
        'genesis.consensus.requestTimeoutSeconds',
        c.requestTimeoutSeconds,
        86_400,
      )
      if (consensus.requestTimeoutSeconds === 0)
        throw new GenesisError('genesis.consensus.requestTimeoutSeconds', 'must be at least 1')
    }
    if (c.epochLength !== undefined) {
      consensus.epochLength = parseQuantity('genesis.consensus.epochLength', c.epochLength, UINT64_MAX)
      if (consensus.epochLength === 0n)
        throw new GenesisError('genesis.consensus.epochLength', 'must be at least 1')
    }
  }
  if (consensus.type === 'qbft' && validators.length === 0) {
    throw new GenesisError('genesis.validators', 'qbft consensus needs at least one validator')
  }

  let modules: Record<string, unknown> = {}
  if (json.modules !== undefined) {
    if (!isObject(json.modules)) throw new GenesisError('genesis.modules', 'expected an object')
    modules = json.modules
  }

  return {
    name,
    chainId,
    hardfork,
    hardforks,
    timestamp,
    gasLimit,
    baseFeePerGas,
    eip1559: { elasticityMultiplier, baseFeeMaxChangeDenominator },
    extraData,
    currency,
    feeRecipient,
    validators,
    consensus,
    modules,
    alloc: parseAlloc(json.alloc),
  }
}

const q = (n: bigint): string => `0x${n.toString(16)}`

/** Inverse of parseGenesis: `parseGenesis(genesisToJson(g))` deep-equals `g`. Quantities as 0x-hex. */
export function genesisToJson(g: GenesisConfig): Record<string, unknown> {
  const alloc: Record<string, unknown> = {}
  for (const a of g.alloc) {
    const entry: Record<string, unknown> = { balance: q(a.balance) }
    if (a.nonce !== 0n) entry.nonce = q(a.nonce)
    if (a.code.length > 0) entry.code = toHex(a.code)
    if (a.storage.length > 0)
      entry.storage = Object.fromEntries(a.storage.map((s) => [toHex(s.slot), toHex(s.value)]))
    alloc[toHex(a.address)] = entry
  }
  return {
    name: g.name,
    chainId: q(g.chainId),
    hardfork: g.hardfork,
    ...(Object.keys(g.hardforks).length > 0 && {
      hardforks: Object.fromEntries(Object.entries(g.hardforks).map(([k, v]) => [k, q(v)])),
    }),
    timestamp: q(g.timestamp),
    gasLimit: q(g.gasLimit),
    baseFeePerGas: q(g.baseFeePerGas),
    eip1559: {
      elasticityMultiplier: Number(g.eip1559.elasticityMultiplier),
      baseFeeMaxChangeDenominator: Number(g.eip1559.baseFeeMaxChangeDenominator),
    },
    extraData: toHex(g.extraData),
    currency: { ...g.currency },
    feeRecipient: g.feeRecipient.treasury ? { treasury: toHex(g.feeRecipient.treasury) } : {},
    validators: g.validators.map(toHex),
    consensus: {
      type: g.consensus.type,
      blockPeriodSeconds: g.consensus.blockPeriodSeconds,
      requestTimeoutSeconds: g.consensus.requestTimeoutSeconds,
      epochLength: q(g.consensus.epochLength),
    },
    modules: g.modules,
    alloc,
  }
}
