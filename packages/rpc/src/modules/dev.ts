/**
 * Dev-mode cheats (evm_*, hardhat_*, anvil_*), with anvil's and Hardhat's aliases. They change
 * state outside consensus, so they exist only when the backend runs single-node dev mode
 * (backend.dev); otherwise each answers -32601 saying so. Setters answer `true` (Hardhat's
 * convention; anvil clients ignore the result); evm_* and hardhat_* results have Hardhat 2.29's
 * exact shapes (evm_mine "0", evm_increaseTime and evm_setNextBlockTimestamp decimal strings),
 * anvil_* results anvil's.
 */
import type { DevBackend, ResetOptions } from '../backend.ts'
import { ErrorCode, invalidParams, limitExceeded, RpcError } from '../errors.ts'
import { data, quantity } from '../format.ts'
import type { RequestContext, RpcMethods } from '../registry.ts'
import {
  expectParams,
  parseAddress,
  parseBool,
  parseData,
  parseHash,
  parseQuantity,
  parseSlot,
  parseUint64,
} from '../validation.ts'

type DevHandler = (dev: DevBackend, params: unknown, ctx: RequestContext) => unknown

function devOnly(method: string, fn: DevHandler): (params: unknown, ctx: RequestContext) => unknown {
  return (params, ctx) => {
    const dev = ctx.backend.dev
    if (!dev) {
      throw new RpcError(
        ErrorCode.METHOD_NOT_FOUND,
        `the method ${method} is only available in single-node dev mode (openledger dev)`,
      )
    }
    return fn(dev, params, ctx)
  }
}

const snapshot: DevHandler = async (dev, params) => {
  expectParams(params, 0, 0)
  return quantity(await dev.snapshot())
}

const revert: DevHandler = (dev, params) => {
  const [id] = expectParams(params, 1, 1)
  return dev.revert(parseQuantity(id, 'snapshotId'))
}

/**
 * Blocks one evm_mine / hardhat_mine / anvil_mine call may mine. Hardhat mines a range in O(1);
 * here every block is real (built, stored, indexed), a few milliseconds each, so 2^64 blocks would
 * keep the node mining for ever. 100,000 is about two weeks of 12 s blocks.
 */
export const MAX_MINE_BLOCKS = 100_000n

function mineCount(blocks: bigint): bigint {
  if (blocks > MAX_MINE_BLOCKS)
    throw limitExceeded(`cannot mine ${blocks} blocks in one call (at most ${MAX_MINE_BLOCKS})`)
  return blocks
}

// evm_mine([timestamp]) as Hardhat, or anvil's evm_mine([{timestamp, blocks}]).
const evmMine: DevHandler = async (dev, params, ctx) => {
  const [arg] = expectParams(params, 0, 1)
  if (arg === undefined) await dev.mine(1n)
  else if (typeof arg === 'object' && !Array.isArray(arg)) {
    const opts = arg as Record<string, unknown>
    for (const k of Object.keys(opts)) {
      if (k !== 'timestamp' && k !== 'blocks') throw invalidParams(`invalid argument 0: unknown field "${k}"`)
    }
    const blocks = opts.blocks === undefined ? 1n : mineCount(parseUint64(opts.blocks, 'blocks'))
    const timestamp = opts.timestamp === undefined ? undefined : parseUint64(opts.timestamp, 'timestamp')
    await dev.mine(blocks, undefined, timestamp, ctx.signal)
  } else await dev.mine(1n, undefined, parseUint64(arg, 'timestamp'))
  return '0'
}

const mine: DevHandler = async (dev, params, ctx) => {
  const [blocks, interval] = expectParams(params, 0, 2)
  await dev.mine(
    blocks === undefined ? 1n : mineCount(parseQuantity(blocks, 'blocks', 64)),
    interval === undefined ? 1n : parseQuantity(interval, 'interval', 64),
    undefined,
    ctx.signal,
  )
  return true
}

// Hardhat answers the total clock offset as a decimal string, anvil as a number.
const increaseTime: DevHandler = (dev, params) => {
  const [seconds] = expectParams(params, 1, 1)
  return dev.increaseTime(parseUint64(seconds, 'seconds')).toString()
}

const anvilIncreaseTime: DevHandler = (dev, params, ctx) => Number(increaseTime(dev, params, ctx))

// Hardhat answers the timestamp (decimal string), anvil null.
const setNextBlockTimestamp: DevHandler = (dev, params) => {
  const [ts] = expectParams(params, 1, 1)
  const timestamp = parseUint64(ts, 'timestamp')
  dev.setNextBlockTimestamp(timestamp)
  return timestamp.toString()
}

const anvilSetNextBlockTimestamp: DevHandler = (dev, params, ctx) => {
  setNextBlockTimestamp(dev, params, ctx)
  return null
}

const setBlockGasLimit: DevHandler = (dev, params) => {
  const [gas] = expectParams(params, 1, 1)
  dev.setBlockGasLimit(parseQuantity(gas, 'gasLimit', 64))
  return true
}

const setPrevRandao: DevHandler = (dev, params) => {
  const [value] = expectParams(params, 1, 1)
  dev.setPrevRandao(parseSlot(value, 'prevRandao'))
  return true
}

// hardhat_reset([{ forking: { jsonRpcUrl, blockNumber } }]) / anvil_reset([{ forking: ... }]).
const reset: DevHandler = async (dev, params) => {
  const [opts] = expectParams(params, 0, 1)
  await dev.reset(parseResetOptions(opts))
  return true
}

const metadata: DevHandler = async (dev, params) => {
  expectParams(params, 0, 0)
  const m = await dev.metadata()
  return {
    clientVersion: m.clientVersion,
    chainId: Number(m.chainId),
    instanceId: data(m.instanceId),
    latestBlockNumber: Number(m.latestBlockNumber),
    latestBlockHash: data(m.latestBlockHash),
    ...(m.forkedNetwork && {
      forkedNetwork: {
        chainId: Number(m.forkedNetwork.chainId),
        forkBlockNumber: Number(m.forkedNetwork.forkBlockNumber),
        forkBlockHash: data(m.forkedNetwork.forkBlockHash),
      },
    }),
  }
}

const setAutomine: DevHandler = (dev, params) => {
  const [enabled] = expectParams(params, 1, 1)
  dev.setAutomine(parseBool(enabled, 'enabled'))
  return true
}

const getAutomine: DevHandler = (dev, params) => {
  expectParams(params, 0, 0)
  return dev.getAutomine()
}

/** Longest interval a timer can wait (Node's setInterval turns anything longer into 1 ms). */
export const MAX_MINING_INTERVAL_MS = 2 ** 31 - 1

const setIntervalMining: DevHandler = (dev, params) => {
  const [ms] = expectParams(params, 1, 1)
  const interval = parseUint64(ms, 'interval')
  if (interval > BigInt(MAX_MINING_INTERVAL_MS))
    throw invalidParams(
      `interval must be at most ${MAX_MINING_INTERVAL_MS} ms (about 24.8 days), got ${interval}`,
    )
  dev.setIntervalMining(Number(interval))
  return true
}

const setBalance: DevHandler = async (dev, params) => {
  const [addr, value] = expectParams(params, 2, 2)
  await dev.setBalance(parseAddress(addr, 'address'), parseQuantity(value, 'balance'))
  return true
}

const setCode: DevHandler = async (dev, params) => {
  const [addr, code] = expectParams(params, 2, 2)
  await dev.setCode(parseAddress(addr, 'address'), parseData(code, 'code'))
  return true
}

const setNonce: DevHandler = async (dev, params) => {
  const [addr, nonce] = expectParams(params, 2, 2)
  await dev.setNonce(parseAddress(addr, 'address'), parseQuantity(nonce, 'nonce', 64))
  return true
}

const setStorageAt: DevHandler = async (dev, params) => {
  const [addr, slot, value] = expectParams(params, 3, 3)
  await dev.setStorageAt(parseAddress(addr, 'address'), parseSlot(slot, 'slot'), parseSlot(value, 'value'))
  return true
}

const impersonate: DevHandler = (dev, params) => {
  const [addr] = expectParams(params, 1, 1)
  dev.impersonate(parseAddress(addr, 'address'))
  return true
}

const stopImpersonating: DevHandler = (dev, params) => {
  const [addr] = expectParams(params, 1, 1)
  dev.stopImpersonating(parseAddress(addr, 'address'))
  return true
}

const dropTransaction: DevHandler = (dev, params) => {
  const [hash] = expectParams(params, 1, 1)
  return dev.dropTransaction(parseHash(hash, 'hash'))
}

const setCoinbase: DevHandler = (dev, params) => {
  const [addr] = expectParams(params, 1, 1)
  dev.setCoinbase(parseAddress(addr, 'address'))
  return true
}

const setNextBlockBaseFee: DevHandler = (dev, params) => {
  const [fee] = expectParams(params, 1, 1)
  dev.setNextBlockBaseFee(parseQuantity(fee, 'baseFeePerGas'))
  return true
}

const setMinGasPrice: DevHandler = (dev, params) => {
  const [price] = expectParams(params, 1, 1)
  dev.setMinGasPrice(parseQuantity(price, 'gasPrice'))
  return true
}

function parseResetOptions(value: unknown): ResetOptions {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidParams('invalid argument 0: expected an object')
  const o = value as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (k !== 'forking') throw invalidParams(`invalid argument 0: unknown field "${k}"`)
  }
  if (o.forking === undefined || o.forking === null) return {}
  if (typeof o.forking !== 'object' || Array.isArray(o.forking))
    throw invalidParams('invalid argument 0.forking: expected an object')
  const f = o.forking as Record<string, unknown>
  for (const k of Object.keys(f)) {
    if (k !== 'jsonRpcUrl' && k !== 'blockNumber' && k !== 'httpHeaders')
      throw invalidParams(`invalid argument 0.forking: unknown field "${k}"`)
  }
  if (f.jsonRpcUrl !== undefined && typeof f.jsonRpcUrl !== 'string')
    throw invalidParams('invalid argument 0.forking.jsonRpcUrl: expected a URL string')
  let blockNumber: bigint | undefined
  if (typeof f.blockNumber === 'number') {
    if (!Number.isSafeInteger(f.blockNumber) || f.blockNumber < 0)
      throw invalidParams('invalid argument 0.forking.blockNumber: expected a block number')
    blockNumber = BigInt(f.blockNumber)
  } else if (f.blockNumber !== undefined && f.blockNumber !== null)
    blockNumber = parseUint64(f.blockNumber, 'forking.blockNumber')
  return { forking: { url: f.jsonRpcUrl as string | undefined, blockNumber } }
}

function build(table: Record<string, DevHandler>): RpcMethods {
  const out: RpcMethods = {}
  for (const [name, fn] of Object.entries(table)) out[name] = devOnly(name, fn)
  return out
}

export const evmMethods: RpcMethods = build({
  evm_snapshot: snapshot,
  evm_revert: revert,
  evm_mine: evmMine,
  evm_increaseTime: increaseTime,
  evm_setNextBlockTimestamp: setNextBlockTimestamp,
  evm_setAutomine: setAutomine,
  evm_setIntervalMining: setIntervalMining,
  evm_setBlockGasLimit: setBlockGasLimit,
})

export const hardhatMethods: RpcMethods = build({
  hardhat_setBalance: setBalance,
  hardhat_setCode: setCode,
  hardhat_setNonce: setNonce,
  hardhat_setStorageAt: setStorageAt,
  hardhat_impersonateAccount: impersonate,
  hardhat_stopImpersonatingAccount: stopImpersonating,
  hardhat_mine: mine,
  hardhat_dropTransaction: dropTransaction,
  hardhat_getAutomine: getAutomine,
  hardhat_setCoinbase: setCoinbase,
  hardhat_setNextBlockBaseFeePerGas: setNextBlockBaseFee,
  hardhat_setMinGasPrice: setMinGasPrice,
  hardhat_setPrevRandao: setPrevRandao,
  hardhat_reset: reset,
  hardhat_metadata: metadata,
})

export const anvilMethods: RpcMethods = build({
  anvil_setBalance: setBalance,
  anvil_setCode: setCode,
  anvil_setNonce: setNonce,
  anvil_setStorageAt: setStorageAt,
  anvil_impersonateAccount: impersonate,
  anvil_stopImpersonatingAccount: stopImpersonating,
  anvil_mine: mine,
  anvil_dropTransaction: dropTransaction,
  anvil_getAutomine: getAutomine,
  anvil_setAutomine: setAutomine,
  anvil_setIntervalMining: setIntervalMining,
  anvil_snapshot: snapshot,
  anvil_revert: revert,
  anvil_increaseTime: anvilIncreaseTime,
  anvil_setNextBlockTimestamp: anvilSetNextBlockTimestamp,
  anvil_setCoinbase: setCoinbase,
  anvil_setNextBlockBaseFeePerGas: setNextBlockBaseFee,
  anvil_setMinGasPrice: setMinGasPrice,
  anvil_setBlockGasLimit: setBlockGasLimit,
  anvil_setPrevRandao: setPrevRandao,
  anvil_reset: reset,
  anvil_metadata: metadata,
})
