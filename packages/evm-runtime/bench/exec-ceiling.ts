/**
 * Raw execution ceiling of the runtime: N pre-signed value transfers from M senders, assembled
 * into full blocks on LevelDB by buildBlock, reporting tx/s and where the time goes (sender
 * recovery, EVM execution, state root + trie flush + LevelDB batch).
 *
 * Run: node --import tsx packages/evm-runtime/bench/exec-ceiling.ts [N=20000] [M=200] [B=1500]
 * (B: most transactions per block; a small B shows the fixed cost per block, as in automine)
 * Transactions reach the runtime as decoded RLP (as from the mempool), so sender recovery is
 * measured, not skipped through a signing-time cache.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFeeMarket1559Tx, createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import { Level } from 'level'
import { createExecutionRuntime, keccak256, parseGenesis } from '../src/index.ts'

const N = Number(process.argv[2] ?? 20_000)
const M = Number(process.argv[3] ?? 200)
const B = Number(process.argv[4] ?? 1500)
if (!Number.isSafeInteger(N) || N <= 0 || !Number.isSafeInteger(M) || M <= 0) {
  console.error('usage: exec-ceiling.ts [N transfers > 0] [M senders > 0]')
  process.exit(2)
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'exec-ceiling-'))
  const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const state = level.sublevel<Uint8Array, Uint8Array>('state', {
    keyEncoding: 'view',
    valueEncoding: 'view',
  })
  const keys = Array.from({ length: M }, (_, i) => keccak256(new TextEncoder().encode(`sender-${i}`)))
  const senders = keys.map((k) => privateToAddress(k))
  const genesis = parseGenesis({
    chainId: 4242,
    gasLimit: 30_000_000,
    baseFeePerGas: 1_000_000_000,
    alloc: Object.fromEntries(
      senders.map((a) => [`0x${Buffer.from(a).toString('hex')}`, { balance: (10n ** 24n).toString() }]),
    ),
  })
  const rt = await createExecutionRuntime({ db: state, genesis, getBlockHash: async () => undefined })

  const t0 = performance.now()
  const raw: Uint8Array[] = []
  for (let i = 0; i < N; i++) {
    const s = i % M
    const to = keccak256(new TextEncoder().encode(`recipient-${i}`)).subarray(12)
    raw.push(
      createFeeMarket1559Tx(
        {
          nonce: BigInt(Math.floor(i / M)),
          to,
          value: 1n,
          gasLimit: 21_000n,
          maxFeePerGas: 10n ** 11n,
          maxPriorityFeePerGas: 1n,
          chainId: 4242n,
        },
        { common: rt.common },
      )
        .sign(keys[s])
        .serialize(),
    )
  }
  const txs: TypedTransaction[] = raw.map((r) => createTxFromRLP(r, { common: rt.common }))
  console.log(
    `prepared ${N} signed transfers from ${M} senders in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )

  let parent = rt.genesisBlock.header
  let included = 0
  let blocks = 0
  const sum = { senders: 0, execution: 0, roots: 0, total: 0 }
  let cursor = 0
  // The longest time the event loop could not run a 1 ms timer while blocks were built: how long
  // a node's RPC would go unanswered (execution yields every 25 ms; other phases may not).
  let lastTick = performance.now()
  let longestStall = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    if (now - lastTick > longestStall) longestStall = now - lastTick
    lastTick = now
  }, 1)
  while (cursor < txs.length) {
    const { block, executed, rejected, timings } = await rt.buildBlock(
      parent,
      txs.slice(cursor, cursor + B),
      {
        timestamp: parent.timestamp + 1n,
        coinbase: senders[0],
      },
    )
    const retry = rejected.filter((r) => r.retry).length
    if (executed.length === 0) throw new Error(`no progress: ${rejected[0]?.reason}`)
    if (rejected.length - retry > 0)
      throw new Error(`unexpected rejection: ${rejected.find((r) => !r.retry)?.reason}`)
    cursor += executed.length
    included += executed.length
    blocks++
    sum.senders += timings.senderRecovery ?? 0
    sum.execution += timings.execution - (timings.senderRecovery ?? 0)
    sum.roots += timings.roots
    sum.total += timings.total
    parent = block.header
    console.log(
      `block ${block.header.number}: ${executed.length} txs, gas ${block.header.gasUsed}, ` +
        `${timings.total.toFixed(0)} ms (senders ${(timings.senderRecovery ?? 0).toFixed(0)}, exec ${(timings.execution - (timings.senderRecovery ?? 0)).toFixed(0)}, roots+flush ${timings.roots.toFixed(0)})`,
    )
  }
  clearInterval(ticker)
  const pct = (x: number) => `${((100 * x) / sum.total).toFixed(1)}%`
  console.log('')
  console.log(
    `${included} txs in ${blocks} blocks, ${(sum.total / 1000).toFixed(2)} s of buildBlock → ${Math.round((included * 1000) / sum.total)} tx/s`,
  )
  console.log(
    `  sender recovery  ${sum.senders.toFixed(0).padStart(7)} ms  ${pct(sum.senders)}  (${((sum.senders * 1000) / included).toFixed(1)} µs/tx)`,
  )
  console.log(
    `  execution        ${sum.execution.toFixed(0).padStart(7)} ms  ${pct(sum.execution)}  (${((sum.execution * 1000) / included).toFixed(1)} µs/tx)`,
  )
  console.log(`  roots + flush    ${sum.roots.toFixed(0).padStart(7)} ms  ${pct(sum.roots)}`)
  console.log(`  longest event-loop stall while building: ${longestStall.toFixed(0)} ms`)
  console.log(
    `  other            ${(sum.total - sum.senders - sum.execution - sum.roots).toFixed(0).padStart(7)} ms`,
  )
  await rt.close()
  await level.close()
  rmSync(dir, { recursive: true, force: true })
}

await main()
