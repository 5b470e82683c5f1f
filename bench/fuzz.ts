/**
 * `pnpm fuzz [--txs N] [--seed S] [--check-every K] [--hardfork NAME]`: differential fuzzing of
 * execution against Hardhat 2.29. A real `openledger dev` process and a real `hardhat node` start
 * from the same accounts (the dev mnemonic), chain id, gas limit, base fee and coinbase; the same
 * signed transactions (bench/lib/fuzz-gen.ts: random contracts around calls, creates, storage,
 * transient storage, logs, reverts, selfdestruct, MCOPY, every precompile incl. 0x0a and BLS,
 * out-of-gas at random points, value and plain transfers) go to both over JSON-RPC, one per block.
 * After each transaction the receipts (status, gasUsed, logs, contract address) and the touched
 * accounts (balance, nonce, code, storage slots 0–15) must be identical; every K transactions and
 * at the end, every known account is compared. The first divergence stops the run (exit 1) with
 * the seed and index that reproduce it. Prints tx/s.
 */
import { readFileSync } from 'node:fs'
import { type Hex, toHex, keccak256 as viemKeccak } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEV_KEYS, spawnDevProcess } from '../test/helpers/dev-node.ts'
import { rpc, rpcRaw, startHardhatNode } from '../test/helpers/hardhat.ts'
import { initCode, KZG_VALID, type Pool, PRECOMPILES, precompileInput, program, Rng } from './lib/fuzz-gen.ts'

function arg(name: string, fallback: number): number
function arg(name: string, fallback: string): string
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = process.argv[i + 1]
  if (v === undefined) throw new Error(`--${name} needs a value`)
  return typeof fallback === 'number' ? Number(v) : v
}

const TXS = arg('txs', 10_000)
const SEED = arg('seed', 1)
const CHECK_EVERY = arg('check-every', 250)
const HARDFORK = arg('hardfork', 'prague')
const COINBASE = '0x00000000000000000000000000000000c0ffee01'
const SENDERS = DEV_KEYS.slice(0, 5).map((k) => privateKeyToAccount(k as Hex))
const CHAIN_ID = 31337
const DEV_GAS_LIMIT = Number(
  (
    JSON.parse(readFileSync(new URL('../genesis/devnet.json', import.meta.url), 'utf8')) as {
      gasLimit: string
    }
  ).gasLimit,
)

interface Receipt {
  status: Hex
  gasUsed: Hex
  contractAddress: Hex | null
  logs: Array<{ address: Hex; topics: Hex[]; data: Hex }>
}

const hexOf = (b: Uint8Array): Hex => toHex(b)
const lower = (a: string) => a.toLowerCase() as Hex

async function main() {
  const t0 = performance.now()
  const [ours, hardhat] = await Promise.all([
    // Both chains on the same rules (genesis/devnet.json alone would run ours on osaka).
    spawnDevProcess(['--hardfork', HARDFORK]),
    // Hardhat with our dev chain's block gas limit: GASLIMIT and gas-limit edge cases compare alike.
    startHardhatNode({ hardfork: HARDFORK, chainId: CHAIN_ID, blockGasLimit: DEV_GAS_LIMIT }),
  ])
  const urls = { ours: ours.rpcUrl, hardhat: hardhat.url }
  const stop = async () => {
    ours.child.kill('SIGTERM')
    await Promise.all([ours.exited, hardhat.stop()])
  }
  try {
    for (const url of Object.values(urls)) await rpc(url, 'hardhat_setCoinbase', [COINBASE])
    const rng = new Rng(SEED)
    const pool: Pool = {
      contracts: [],
      // dev accounts, fresh addresses, and the coinbase
      eoas: [
        ...SENDERS.map((s) => Uint8Array.from(Buffer.from(s.address.slice(2), 'hex'))),
        ...Array.from({ length: 6 }, (_, i) =>
          Uint8Array.from(Buffer.from(`${'00'.repeat(19)}${(0xe0 + i).toString(16)}`, 'hex')),
        ),
        Uint8Array.from(Buffer.from(COINBASE.slice(2), 'hex')),
      ],
    }
    const nonces = SENDERS.map(() => 0)
    const known = new Set<Hex>(pool.eoas.map(hexOf))
    const stats = {
      sent: 0,
      mined: 0,
      refused: 0,
      failed: 0,
      creates: 0,
      transfers: 0,
      precompiles: 0,
      calls: 0,
    }
    const started = performance.now()
    for (let i = 0; i < TXS; i++) {
      const s = rng.int(SENDERS.length)
      const sender = SENDERS[s]!
      const { tx, kind } = randomTx(rng, pool)
      stats[kind]++
      const type = rng.int(10)
      const fees =
        type < 2
          ? { type: 'legacy' as const, gasPrice: 10_000_000_000n }
          : type < 3
            ? { type: 'eip2930' as const, gasPrice: 10_000_000_000n, accessList: accessList(rng, pool) }
            : {
                type: 'eip1559' as const,
                maxFeePerGas: 100_000_000_000n,
                maxPriorityFeePerGas: BigInt(rng.int(3)) * 1_000_000_000n,
                accessList: rng.chance(0.2) ? accessList(rng, pool) : undefined,
              }
      const raw = await sender.signTransaction({
        chainId: CHAIN_ID,
        nonce: nonces[s]!,
        ...tx,
        ...fees,
      } as never)
      const hash = viemKeccak(raw)
      stats.sent++
      const sent = await Promise.all([
        rpcRaw(urls.ours, 'eth_sendRawTransaction', [raw]),
        rpcRaw(urls.hardhat, 'eth_sendRawTransaction', [raw]),
      ])
      const receipts = await Promise.all(
        Object.values(urls).map((u) => rpc<Receipt | null>(u, 'eth_getTransactionReceipt', [hash])),
      )
      const [a, b] = receipts
      if ((a === null) !== (b === null))
        return diverge(i, raw, 'one chain mined the transaction, the other did not', {
          ours: sent[0],
          hardhat: sent[1],
        })
      if (a === null || b === null) {
        stats.refused++
        continue
      }
      nonces[s]!++
      stats.mined++
      const norm = (r: Receipt) => ({
        status: r.status,
        gasUsed: r.gasUsed,
        // Only for successful creations: for a failed one geth (and we) report the address the
        // contract would have had, Hardhat reports null — an RPC convention, not execution.
        contractAddress: r.status === '0x1' && r.contractAddress ? lower(r.contractAddress) : null,
        logs: r.logs.map((l) => ({ address: lower(l.address), topics: l.topics, data: l.data })),
      })
      if (JSON.stringify(norm(a)) !== JSON.stringify(norm(b)))
        return diverge(i, raw, 'receipts differ', { ours: norm(a), hardhat: norm(b) })
      if (a.status !== '0x1') stats.failed++
      if (a.contractAddress && a.status === '0x1') {
        pool.contracts.push(Uint8Array.from(Buffer.from(a.contractAddress.slice(2), 'hex')))
        known.add(lower(a.contractAddress))
      }
      const touched = new Set<Hex>([lower(sender.address), COINBASE as Hex])
      if (tx.to) touched.add(lower(tx.to))
      if (a.contractAddress) touched.add(lower(a.contractAddress))
      for (const l of a.logs) touched.add(lower(l.address))
      const d = await compareAccounts(urls, [...touched])
      if (d) return diverge(i, raw, 'state differs after the transaction', d)
      if ((i + 1) % CHECK_EVERY === 0 || i + 1 === TXS) {
        const full = await compareAccounts(urls, [...known])
        if (full) return diverge(i, raw, 'state differs (full check)', full)
        const secs = (performance.now() - started) / 1000
        process.stderr.write(
          `${i + 1}/${TXS} txs, ${known.size} accounts checked, ${(stats.sent / secs).toFixed(1)} tx/s\n`,
        )
      }
    }
    const secs = (performance.now() - started) / 1000
    console.log(
      JSON.stringify({
        seed: SEED,
        hardfork: HARDFORK,
        transactions: stats.sent,
        ...stats,
        contracts: pool.contracts.length,
        divergences: 0,
        seconds: Number(secs.toFixed(1)),
        txPerSecond: Number((stats.sent / secs).toFixed(1)),
        totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      }),
    )
  } finally {
    await stop()
  }

  function diverge(i: number, raw: Hex, what: string, detail: unknown): void {
    console.log(JSON.stringify({ seed: SEED, index: i, divergence: what, raw, detail }, null, 2))
    console.log(`reproduce: pnpm fuzz --seed ${SEED} --txs ${i + 1}`)
    process.exitCode = 1
  }
}

type TxFields = { to?: Hex; data?: Hex; value?: bigint; gas: bigint }
type Kind = 'creates' | 'transfers' | 'precompiles' | 'calls'

function randomTx(rng: Rng, pool: Pool): { tx: TxFields; kind: Kind } {
  const k = rng.int(100)
  const gas = () =>
    BigInt(
      rng.pick([21_000, 25_000, 40_000, 80_000, 150_000, 400_000, 1_000_000, 3_000_000]) + rng.int(5_000),
    )
  if (k < 15 || pool.contracts.length < 3) {
    const code = initCode(program(rng, pool), rng, pool)
    return {
      tx: {
        data: hexOf(code),
        value: rng.chance(0.2) ? BigInt(rng.int(1000)) : 0n,
        gas: rng.chance(0.1) ? gas() : 5_000_000n,
      },
      kind: 'creates',
    }
  }
  if (k < 40) {
    // Plain transfers (the fast path) to EOAs, fresh addresses, the coinbase; sometimes to a contract.
    const to = rng.chance(0.85) ? rng.pick(pool.eoas) : rng.pick(pool.contracts)
    const value = rng.chance(0.1) ? 0n : BigInt(1 + rng.int(1_000_000)) * 1_000_000_000n
    return { tx: { to: hexOf(to), value, gas: rng.chance(0.8) ? 21_000n : gas() }, kind: 'transfers' }
  }
  if (k < 55) {
    const p = rng.chance(0.25) ? 0x0a : rng.pick(PRECOMPILES)
    const input = p === 0x0a && rng.chance(0.5) ? KZG_VALID : precompileInput(rng, p)
    return {
      tx: {
        to: toHex(p, { size: 20 }),
        data: hexOf(input),
        gas: gas() + 60_000n,
        value: rng.chance(0.1) ? 1n : 0n,
      },
      kind: 'precompiles',
    }
  }
  const to = rng.pick(pool.contracts)
  return {
    tx: {
      to: hexOf(to),
      data: hexOf(rng.bytes(rng.int(68))),
      value: rng.chance(0.3) ? BigInt(rng.int(10_000)) : 0n,
      gas: gas(),
    },
    kind: 'calls',
  }
}

function accessList(rng: Rng, pool: Pool) {
  const n = rng.int(3)
  return Array.from({ length: n }, () => ({
    address: hexOf(
      rng.chance(0.5) && pool.contracts.length > 0 ? rng.pick(pool.contracts) : rng.pick(pool.eoas),
    ),
    storageKeys: Array.from({ length: rng.int(3) }, () => toHex(rng.int(16), { size: 32 })),
  }))
}

/** One JSON-RPC batch: the results in order (throws on any error). */
async function batch(url: string, calls: Array<[string, unknown[]]>): Promise<unknown[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params }))),
  })
  const out = (await res.json()) as Array<{ id: number; result?: unknown; error?: { message: string } }>
  const byId = new Map(out.map((r) => [r.id, r]))
  return calls.map((c, i) => {
    const r = byId.get(i)
    if (r === undefined || r.error) throw new Error(`${c[0]}: ${r?.error?.message ?? 'no answer'}`)
    return r.result
  })
}

/** Balance, nonce, code and storage slots 0–15 of each address, compared between the chains. */
async function compareAccounts(urls: { ours: string; hardhat: string }, all: Hex[]): Promise<unknown> {
  // Batches stay under the servers' batch limit (1,000 requests).
  for (let i = 0; i < all.length; i += 50) {
    const d = await compareChunk(urls, all.slice(i, i + 50))
    if (d !== undefined) return d
  }
  return undefined
}

async function compareChunk(urls: { ours: string; hardhat: string }, addrs: Hex[]): Promise<unknown> {
  const calls: Array<[string, unknown[]]> = []
  for (const addr of addrs) {
    calls.push(
      ['eth_getBalance', [addr, 'latest']],
      ['eth_getTransactionCount', [addr, 'latest']],
      ['eth_getCode', [addr, 'latest']],
    )
    for (let slot = 0; slot < 16; slot++) calls.push(['eth_getStorageAt', [addr, toHex(slot), 'latest']])
  }
  const [a, b] = await Promise.all([batch(urls.ours, calls), batch(urls.hardhat, calls)])
  const per = 19
  for (let i = 0; i < addrs.length; i++) {
    const view = (r: unknown[]) => {
      const x = r.slice(i * per, (i + 1) * per) as Hex[]
      return {
        balance: BigInt(x[0]!).toString(),
        nonce: BigInt(x[1]!).toString(),
        code: x[2],
        storage: x.slice(3).map((v) => BigInt(v).toString(16)),
      }
    }
    const va = view(a)
    const vb = view(b)
    if (JSON.stringify(va) !== JSON.stringify(vb)) return { address: addrs[i], ours: va, hardhat: vb }
  }
  return undefined
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
