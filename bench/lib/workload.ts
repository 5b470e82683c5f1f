/**
 * The benchmark workload, identical for every target: deterministic sender keys, pre-signed EIP-1559
 * transfers and a tiny contract for eth_call. Everything here happens before any timing starts.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { computeAddress, getCreateAddress, id as keccakUtf8, SigningKey, Transaction } from 'ethers'
import solc from 'solc'

export const CHAIN_ID = 31337n
/** Block gas limit of the 4-validator devnet (bench/lib/devnet.ts). Sections (b)–(d) run each node
 * with its own stock dev default instead (ours 100 M from genesis/devnet.json, Hardhat's 60 M). */
export const GAS_LIMIT = 30_000_000n
export const BASE_FEE = 1_000_000_000n
const MAX_FEE = 100_000_000_000n
const TIP = 1_000_000_000n
/** Enough for thousands of transfers at MAX_FEE. */
export const SENDER_BALANCE = 1_000n * 10n ** 18n

export interface Account {
  key: string
  address: string
}

export interface Workload {
  senders: Account[]
  deployer: Account
  /** Raw signed transfers, nonce-major: every sender's nonce n comes before any sender's nonce n+1. */
  raws: string[]
  txsPerSender: number
  /** Raw signed deployment of the view contract (deployer, nonce 0). */
  deployRaw: string
  contract: string
  /** Calldata of the view call (`x()`). */
  callData: string
}

function account(label: string): Account {
  // keccak of a label: deterministic, and a valid secp256k1 key with overwhelming probability.
  const key = keccakUtf8(`openledger-bench:${label}`)
  return { key, address: computeAddress(key) }
}

function sign(key: SigningKey, fields: Parameters<typeof Transaction.from>[0]): string {
  const tx = Transaction.from(fields)
  tx.signature = key.sign(tx.unsignedHash)
  return tx.serialized
}

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract BenchStore {
  uint256 public x = 42;
  function set(uint256 v) external { x = v; }
}`

/** Init code of BenchStore compiled with solc-js for Prague. */
export function compileContract(): string {
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'BenchStore.sol': { content: SOURCE } },
        settings: {
          evmVersion: 'prague',
          optimizer: { enabled: true, runs: 200 },
          outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
        },
      }),
    ),
  ) as {
    errors?: Array<{ severity: string; formattedMessage: string }>
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`)
  const bytecode = out.contracts?.['BenchStore.sol']?.BenchStore?.evm.bytecode.object
  if (!bytecode) throw new Error('solc: no bytecode for BenchStore')
  return `0x${bytecode}`
}

/**
 * `cacheDir`: keep the signed transfers there (they are deterministic) so that a large load is
 * signed once per machine rather than once per run (100,000 take minutes on a busy machine).
 */
function readCache(file: string): string[] | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined
  } catch {
    return undefined
  }
}

export function buildWorkload(senderCount: number, txsPerSender: number, cacheDir?: string): Workload {
  const senders = Array.from({ length: senderCount }, (_, i) => account(`sender:${i}`))
  const recipients = Array.from({ length: senderCount }, (_, i) => account(`recipient:${i}`).address)
  const keys = senders.map((s) => new SigningKey(s.key))
  const cacheFile =
    cacheDir && join(cacheDir, `openledger-bench-transfers-v1-${senderCount}x${txsPerSender}.json`)
  const cached = cacheFile && existsSync(cacheFile) ? readCache(cacheFile) : undefined
  const raws: string[] = cached?.length === senderCount * txsPerSender ? cached : []
  for (let nonce = raws.length > 0 ? txsPerSender : 0; nonce < txsPerSender; nonce++) {
    for (let i = 0; i < senderCount; i++) {
      raws.push(
        sign(keys[i]!, {
          type: 2,
          chainId: CHAIN_ID,
          nonce,
          to: recipients[i]!,
          value: 1_000_000_000_000n + BigInt(nonce),
          gasLimit: 21_000n,
          maxFeePerGas: MAX_FEE,
          maxPriorityFeePerGas: TIP,
        }),
      )
    }
  }
  if (cacheFile && raws !== cached) {
    // Whole or not at all: a run stopped mid-write must not leave a truncated cache.
    writeFileSync(`${cacheFile}.tmp`, JSON.stringify(raws))
    renameSync(`${cacheFile}.tmp`, cacheFile)
  }
  const deployer = account('deployer')
  const deployRaw = sign(new SigningKey(deployer.key), {
    type: 2,
    chainId: CHAIN_ID,
    nonce: 0,
    data: compileContract(),
    gasLimit: 500_000n,
    maxFeePerGas: MAX_FEE,
    maxPriorityFeePerGas: TIP,
  })
  return {
    senders,
    deployer,
    raws,
    txsPerSender,
    deployRaw,
    contract: getCreateAddress({ from: deployer.address, nonce: 0 }),
    callData: '0x0c55699c', // x()
  }
}

/** Our node's genesis: genesis/devnet.json (its 20 dev accounts and its dev block gas limit kept)
 * plus the bench accounts. */
export function nodeGenesis(w: Workload, devnetPath: string): Record<string, unknown> {
  const base = JSON.parse(readFileSync(devnetPath, 'utf8')) as Record<string, unknown>
  const alloc: Record<string, { balance: string }> = {
    ...(base.alloc as Record<string, { balance: string }>),
  }
  for (const a of [...w.senders, w.deployer])
    alloc[a.address.toLowerCase()] = { balance: SENDER_BALANCE.toString() }
  return {
    ...base,
    chainId: Number(CHAIN_ID),
    baseFeePerGas: BASE_FEE.toString(),
    alloc,
  }
}

/** hardhat.config.cjs for Hardhat Network with the same chain id, hardfork, base fee and accounts, and
 * Hardhat's stock block gas limit (each dev chain is measured with the default its users get). */
export function hardhatConfig(w: Workload, mining: { auto: boolean; interval?: number }): string {
  const accounts = [...w.senders, w.deployer].map((a) => ({
    privateKey: a.key,
    balance: SENDER_BALANCE.toString(),
  }))
  const config = {
    networks: {
      hardhat: {
        chainId: Number(CHAIN_ID),
        hardfork: 'prague',
        initialBaseFeePerGas: Number(BASE_FEE),
        accounts,
        mining,
      },
    },
  }
  return `// Generated by bench/run.ts\nmodule.exports = ${JSON.stringify(config, null, 2)}\n`
}
