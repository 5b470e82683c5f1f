import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Common } from '@ethereumjs/common'
import { createFeeMarket1559Tx, createLegacyTx } from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import { Level } from 'level'
import type { BlockHook, SystemModule } from '../src/index.ts'
import { createExecutionRuntime, type GenesisConfig, parseGenesis } from '../src/index.ts'

export const KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
].map((k) => Uint8Array.from(Buffer.from(k.slice(2), 'hex')))
export const ADDRS = KEYS.map((k) => privateToAddress(k))
export const hex = (b: Uint8Array): `0x${string}` => `0x${Buffer.from(b).toString('hex')}`
export const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'))
export const ETH = 10n ** 18n

export function genesisJson(extra: Record<string, unknown> = {}) {
  return {
    name: 'test',
    chainId: 4242,
    timestamp: 1000,
    gasLimit: 30_000_000,
    baseFeePerGas: '1000000000',
    alloc: Object.fromEntries(ADDRS.map((a) => [hex(a), { balance: (1000n * ETH).toString() }])),
    ...extra,
  }
}

export function makeGenesis(extra: Record<string, unknown> = {}): GenesisConfig {
  return parseGenesis(genesisJson(extra))
}

const dirs: string[] = []
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'evmrt-'))
  dirs.push(d)
  return d
}
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

export async function openDb(path = tempDir()) {
  const level = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  const state = level.sublevel<Uint8Array, Uint8Array>('state', {
    keyEncoding: 'view',
    valueEncoding: 'view',
  })
  return { level, state, path }
}

export async function openRuntime(
  genesis: GenesisConfig,
  opts: {
    path?: string
    modules?: SystemModule[]
    blockHooks?: BlockHook[]
    hashes?: Map<bigint, Uint8Array>
  } = {},
) {
  const db = await openDb(opts.path)
  const hashes = opts.hashes ?? new Map<bigint, Uint8Array>()
  const runtime = await createExecutionRuntime({
    db: db.state,
    genesis,
    modules: opts.modules,
    blockHooks: opts.blockHooks,
    getBlockHash: async (n) => hashes.get(n),
  })
  return { runtime, db, hashes }
}

export function transfer(
  common: Common,
  key: Uint8Array,
  nonce: bigint,
  to: Uint8Array,
  value: bigint,
  opts: { maxFee?: bigint; tip?: bigint; gas?: bigint } = {},
) {
  return createFeeMarket1559Tx(
    {
      nonce,
      to,
      value,
      gasLimit: opts.gas ?? 21_000n,
      maxFeePerGas: opts.maxFee ?? 10n ** 10n,
      maxPriorityFeePerGas: opts.tip ?? 10n ** 9n,
      chainId: common.chainId(),
    },
    { common },
  ).sign(key)
}

export function txData(
  common: Common,
  key: Uint8Array,
  nonce: bigint,
  to: Uint8Array | undefined,
  data: Uint8Array,
  opts: { gas?: bigint; value?: bigint } = {},
) {
  return createFeeMarket1559Tx(
    {
      nonce,
      to,
      data,
      value: opts.value ?? 0n,
      gasLimit: opts.gas ?? 3_000_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 10n ** 9n,
      chainId: common.chainId(),
    },
    { common },
  ).sign(key)
}

export function legacy(
  common: Common,
  key: Uint8Array,
  nonce: bigint,
  to: Uint8Array,
  value: bigint,
  gasPrice: bigint,
) {
  return createLegacyTx({ nonce, to, value, gasLimit: 21_000n, gasPrice }, { common }).sign(key)
}
