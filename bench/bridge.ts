/**
 * Bridge benchmark (`pnpm bench:bridge [--deposits N] [--withdrawals M]`, default 64 and 32), on a
 * real anvil L1 and a dev node in this process:
 *   - deposits/s end to end: N deposits sent to the Portal (8 senders in parallel) until all are
 *     minted on L2, against the same L1 moving N plain OPEN transfers (the reference: what the L1
 *     alone sustains in this run);
 *   - withdrawals proven/s: M withdrawals started on L2, one output covering them, then all M
 *     proven on L1 with viem's op-stack actions (8 provers in parallel), against M plain L1 txs;
 *   - L1 gas per output proposal: proposeL2OutputSigned with 1, 4, 7 and 16 validator signatures.
 * Prints a table and writes bench/results/bridge.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  bridgeClients,
  bridgePredeploys,
  deployL1,
  depositAppliedAt,
  depositOf,
  L2OutputOracle,
  OpenToken,
  outputRootV0,
  Portal,
  proveWithdrawalTx,
  signOutput,
  sortSignatures,
  startAnvil,
  withdrawalStatus,
  withdrawOpen,
} from '@openledger/bridge'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, OpenLedgerNode, silentLogger } from '@openledger/node'
import { createPublicClient, createWalletClient, type Hex, http, parseEther, zeroHash } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const MNEMONIC = 'test test test test test test test test test test test junk'
const SENDERS = 8

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isInteger(v) || v < 1 || v > 10_000)
    throw new Error(`${name} wants an integer in 1..10000, got ${process.argv[i + 1] ?? 'nothing'}`)
  return v
}

const keyOf = (i: number): Hex => {
  const hd = mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey()
  return `0x${Buffer.from(hd.privateKey!).toString('hex')}` as Hex
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs `count` jobs on `lanes` parallel lanes (one signer each, so nonces never race). */
async function lanes(
  count: number,
  n: number,
  job: (lane: number, i: number) => Promise<void>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, lane) => {
      for (let i = lane; i < count; i += n) await job(lane, i)
    }),
  )
}

async function gasPerOutput(): Promise<Record<number, bigint>> {
  const out: Record<number, bigint> = {}
  for (const n of [1, 4, 7, 16]) {
    const anvil = await startAnvil({ chainId: 900 })
    try {
      const keys = Array.from({ length: n }, () => generatePrivateKey())
      const validators = keys.map((k) => privateKeyToAccount(k).address)
      const operator = privateKeyToAccount(keyOf(0))
      const a = await deployL1({
        rpcUrl: anvil.url,
        account: operator,
        params: { l2ChainId: 1337, validators, submissionInterval: 1n },
      })
      const wallet = createWalletClient({ account: operator, transport: http(anvil.url) })
      const pub = createPublicClient({ transport: http(anvil.url), cacheTime: 0 })
      const gas: bigint[] = []
      // ceil(2n/3) signatures, as the proposer sends; the first proposal pays for new storage slots.
      const q = Math.floor((2 * n + 2) / 3)
      for (let b = 1n; b <= 3n; b++) {
        const root = outputRootV0(
          `0x${'11'.repeat(32)}`,
          `0x${'22'.repeat(32)}`,
          `0x${b.toString(16).padStart(64, '0')}`,
        )
        const claim = {
          l1ChainId: 900,
          oracle: a.contracts.l2OutputOracle,
          l2ChainId: 1337,
          outputRoot: root,
          l2BlockNumber: b,
          nextValidators: validators,
        }
        const sigs = await sortSignatures(
          claim,
          await Promise.all(keys.slice(0, q).map((k) => signOutput(claim, k))),
        )
        const sorted = [...validators].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
        const hash = await wallet.writeContract({
          abi: L2OutputOracle.abi,
          address: a.contracts.l2OutputOracle,
          functionName: 'proposeL2OutputSigned',
          args: [root, b, zeroHash, 0n, sorted, sigs],
          chain: null,
        })
        gas.push((await pub.waitForTransactionReceipt({ hash })).gasUsed)
      }
      out[n] = gas[gas.length - 1]!
    } finally {
      await anvil.stop()
    }
  }
  return out
}

async function main(): Promise<void> {
  const deposits = arg('--deposits', 64)
  const withdrawals = arg('--withdrawals', 32)
  const anvil = await startAnvil({ chainId: 900, blockTime: 1 })
  let node: OpenLedgerNode | undefined
  try {
    const operator = privateKeyToAccount(keyOf(0))
    // The proposer has its own key: its L1 transactions must not race the operator's nonces.
    const proposerKey = keyOf(SENDERS + 1)
    const addresses = await deployL1({
      rpcUrl: anvil.url,
      account: operator,
      params: {
        l2ChainId: 1337,
        validators: [privateKeyToAccount(proposerKey).address],
        submissionInterval: 5n,
        finalizationPeriodSeconds: 3600n,
        confirmations: 1,
      },
    })
    const { json } = await buildDevGenesis({})
    json.chainId = 1337
    json.alloc = { ...(json.alloc as Record<string, unknown>), ...bridgePredeploys(addresses) }
    node = await OpenLedgerNode.startDev({
      genesis: parseGenesis(json),
      rpc: { host: '127.0.0.1', port: 0 },
      mining: { kind: 'interval', blockTimeMs: 1000 },
      accounts: [],
      log: silentLogger(),
      l1: { rpc: anvil.url, addresses, proposerKey, pollMs: 250 },
    })
    const senders = Array.from({ length: SENDERS }, (_, i) => keyOf(i + 1))
    const token = { abi: OpenToken.abi, address: addresses.contracts.openToken } as const
    const l1 = createPublicClient({ transport: http(anvil.url), cacheTime: 0 })
    const opWallet = createWalletClient({ account: operator, transport: http(anvil.url) })
    for (const k of senders) {
      const h = await opWallet.writeContract({
        ...token,
        functionName: 'transfer',
        args: [privateKeyToAccount(k).address, parseEther('1000000')],
        chain: null,
      })
      await l1.waitForTransactionReceipt({ hash: h })
      const w = createWalletClient({ account: privateKeyToAccount(k), transport: http(anvil.url) })
      const a = await w.writeContract({
        ...token,
        functionName: 'approve',
        args: [addresses.contracts.portal, parseEther('1000000')],
        chain: null,
      })
      await l1.waitForTransactionReceipt({ hash: a })
    }

    // Reference: N plain OPEN transfers on the same L1, 8 senders in parallel.
    let t0 = performance.now()
    await lanes(deposits, SENDERS, async (lane) => {
      const w = createWalletClient({
        account: privateKeyToAccount(senders[lane]!),
        transport: http(anvil.url),
      })
      const h = await w.writeContract({
        ...token,
        functionName: 'transfer',
        args: [operator.address, 1n],
        chain: null,
      })
      await l1.waitForTransactionReceipt({ hash: h, pollingInterval: 100 })
    })
    const l1TransfersPerS = deposits / ((performance.now() - t0) / 1000)

    // Deposits end to end: sent on L1 until minted on L2.
    const clients = senders.map((k) =>
      bridgeClients({ l1Rpc: anvil.url, l2Rpc: node!.rpcUrl, addresses, key: k }),
    )
    const sources: Hex[] = []
    t0 = performance.now()
    await lanes(deposits, SENDERS, async (lane) => {
      const c = clients[lane]!
      const w = c.l1Wallet!
      const h = await w.writeContract({
        abi: Portal.abi,
        address: addresses.contracts.portal,
        functionName: 'depositERC20Transaction',
        args: [c.account!.address, parseEther('1'), 0n, 100_000n, false, '0x'],
        chain: null,
        account: c.account!,
        // A margin over eth_estimateGas: other deposits in the same L1 block change its cost.
        gas: 150_000n,
      })
      const r = await l1.waitForTransactionReceipt({ hash: h, pollingInterval: 100 })
      if (r.status !== 'success') {
        const tx = await l1.getTransaction({ hash: h })
        throw new Error(
          `deposit ${h} reverted in L1 block ${r.blockNumber} (gas ${r.gasUsed} of ${tx.gas}, nonce ${tx.nonce}, lane ${lane})`,
        )
      }
      sources.push(depositOf(r).sourceHash)
    })
    await until(
      'all deposits minted',
      async () => (await depositAppliedAt(clients[0]!, sources[sources.length - 1]!)) > 0n,
    )
    for (const s of sources)
      if ((await depositAppliedAt(clients[0]!, s)) === 0n) throw new Error(`deposit ${s} not applied`)
    const depositsPerS = deposits / ((performance.now() - t0) / 1000)

    // Withdrawals: start M on L2, wait for an output covering the last, then prove all M.
    const started: Hex[] = []
    await lanes(withdrawals, SENDERS, async (lane) => {
      const { receipt } = await withdrawOpen(clients[lane]!, { amount: parseEther('0.5') })
      started.push(receipt.transactionHash)
    })
    await until('an output covering the withdrawals', async () => {
      for (const tx of started)
        if ((await withdrawalStatus(clients[0]!, tx)) !== 'ready-to-prove') return false
      return true
    })
    t0 = performance.now()
    await lanes(withdrawals, SENDERS, async (lane, i) => {
      await proveWithdrawalTx(clients[lane]!, started[i]!)
    })
    const provenPerS = withdrawals / ((performance.now() - t0) / 1000)

    // Reference for proofs: M plain L1 txs (ETH self-transfers), 8 senders in parallel.
    t0 = performance.now()
    await lanes(withdrawals, SENDERS, async (lane) => {
      const w = createWalletClient({
        account: privateKeyToAccount(senders[lane]!),
        transport: http(anvil.url),
      })
      const h = await w.sendTransaction({ to: w.account.address, value: 1n, chain: null })
      await l1.waitForTransactionReceipt({ hash: h, pollingInterval: 100 })
    })
    const l1TxPerS = withdrawals / ((performance.now() - t0) / 1000)
    await node.close()
    node = undefined
    await anvil.stop()

    const gas = await gasPerOutput()
    const rows = [
      [
        'deposits/s end to end (L1 tx → minted on L2)',
        depositsPerS.toFixed(2),
        `${l1TransfersPerS.toFixed(2)} L1 OPEN transfers/s`,
      ],
      [
        'withdrawals proven/s (viem buildProveWithdrawal + proveWithdrawal)',
        provenPerS.toFixed(2),
        `${l1TxPerS.toFixed(2)} plain L1 txs/s`,
      ],
      ...Object.entries(gas).map(([n, g]) => [
        `L1 gas per output, ${n} validator(s), ceil(2n/3) signatures`,
        String(g),
        '',
      ]),
    ]
    const w = Math.max(...rows.map((r) => r[0]!.length))
    process.stdout.write(
      `\nbridge benchmark (anvil L1 with 1 s blocks, dev L2 with 1 s blocks; ${deposits} deposits, ${withdrawals} withdrawals)\n`,
    )
    for (const r of rows) process.stdout.write(`${r[0]!.padEnd(w)}  ${r[1]!.padStart(10)}  ${r[2]}\n`)
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
    writeFileSync(
      join(ROOT, 'bench/results/bridge.json'),
      `${JSON.stringify({ deposits, withdrawals, depositsPerS, l1TransfersPerS, provenPerS, l1TxPerS, gasPerOutput: Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, Number(v)])) }, null, 2)}\n`,
    )
  } finally {
    await node?.close()
    await anvil.stop()
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench/bridge: ${(e as Error).stack}\n`)
    process.exit(1)
  },
)
