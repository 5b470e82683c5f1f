/**
 * CPU per gas of the BLAKE2F precompile (0x09): EthereumJS's pure-JS F (what 0x09 ran before) against
 * ours (WebAssembly, src/precompiles/blake2f.ts), against ordinary EVM execution, in the same run.
 * BLAKE2F charges 1 gas per round, so rounds per µs of CPU is its gas per µs.
 *   1. F alone: --rounds rounds of each implementation.
 *   2. 12-round precompile calls (input parsing and output included), µs per call.
 *   3. Blocks built by the runtime on LevelDB, one 2^24-gas transaction each (the EIP-7825 cap):
 *      rounds of 0x09, and two EVM loops (stack/arithmetic, KECCAK256 of 32 bytes) as the reference.
 * CPU time (process.cpuUsage) is reported, which machine load distorts less than wall time.
 * Run: node --import tsx packages/evm-runtime/bench/blake2f.ts [--rounds 4000000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BlockHeader } from '@ethereumjs/block'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM } from '@ethereumjs/evm'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import { Level } from 'level'
import { createExecutionRuntime, parseGenesis } from '../src/index.ts'
import { BLAKE2F_ADDRESS, blake2f, blake2fCompress } from '../src/precompiles/blake2f.ts'

const i = process.argv.indexOf('--rounds')
const rounds = i < 0 ? 4_000_000 : Number(process.argv[i + 1])
if (!Number.isSafeInteger(rounds) || rounds <= 0 || rounds >= 2 ** 32)
  throw new Error('--rounds expects an integer in [1, 2^32)')

const cpuUs = (fn: () => void): number => {
  const c0 = process.cpuUsage()
  fn()
  const c = process.cpuUsage(c0)
  return c.user + c.system
}
const f1 = (x: number) => x.toFixed(1)

// EthereumJS's F is not in the package's exports: load the ESM build's module by its file path.
const main = createRequire(import.meta.url).resolve('@ethereumjs/evm')
const file = join(dirname(main), '..', 'esm', 'precompiles', '09-blake2f.js')
const { F } = (await import(pathToFileURL(file).href)) as {
  F: (h: Uint32Array, m: Uint32Array, t: Uint32Array, f: boolean, rounds: number) => void
}

console.log(`load average ${loadavg().map(f1).join(' ')}; node ${process.version}`)

// 1. F alone.
const h = new Uint32Array(16)
const m = new Uint32Array(32)
const t = new Uint32Array(4)
const params = new Uint8Array(208)
F(h, m, t, false, 100_000) // warm-up
blake2fCompress(1_000_000, params, false) // warm-up: lets V8 tier the WASM up
const oldUs = cpuUs(() => F(h, m, t, false, rounds))
const REPS = 5
const newUs =
  cpuUs(() => {
    for (let r = 0; r < REPS; r++) blake2fCompress(rounds, params, false)
  }) / REPS
const oldRate = rounds / oldUs
const newRate = rounds / newUs
console.log(`\n1. F, ${rounds} rounds (= gas), CPU:`)
console.log(
  `   EthereumJS (JS)    ${(oldUs / 1000).toFixed(0).padStart(7)} ms  ${f1(oldRate).padStart(7)} gas/µs`,
)
console.log(
  `   ours (WASM)        ${(newUs / 1000).toFixed(0).padStart(7)} ms  ${f1(newRate).padStart(7)} gas/µs  (${f1(newRate / oldRate)}× faster)`,
)
console.log(
  `   a 2^24-gas transaction of rounds: ${(2 ** 24 / oldRate / 1e6).toFixed(2)} s of CPU before, ${(2 ** 24 / newRate / 1e6).toFixed(2)} s now`,
)

// 2. 12-round precompile calls.
const CALLS = 20_000
const reference = await createEVM({ common: new Common({ chain: Mainnet, hardfork: Hardfork.Prague }) })
const original = reference.getPrecompile(BLAKE2F_ADDRESS)!
const input = new Uint8Array(213)
input[3] = 12
input[212] = 1
const perCall = (fn: typeof original) => {
  for (let k = 0; k < 1_000; k++)
    fn({ data: input, gasLimit: 100n, common: reference.common, _EVM: reference })
  return (
    cpuUs(() => {
      for (let k = 0; k < CALLS; k++)
        fn({ data: input, gasLimit: 100n, common: reference.common, _EVM: reference })
    }) / CALLS
  )
}
const oldCall = perCall(original)
const newCall = perCall(blake2f)
console.log(`\n2. 12-round precompile calls (${CALLS} each), CPU per call:`)
console.log(`   EthereumJS ${oldCall.toFixed(2)} µs, ours ${newCall.toFixed(2)} µs`)

// 3. Blocks of one 2^24-gas transaction each, built by the runtime.
const TX_GAS = 2n ** 24n
const key = Uint8Array.from(
  Buffer.from('ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', 'hex'),
)
const from = `0x${Buffer.from(privateToAddress(key)).toString('hex')}`
// JUMPDEST PUSH1 1 PUSH1 2 ADD PUSH1 3 MUL POP PUSH1 0 JUMP: 31 gas an iteration.
const ARITH = { address: `0x${'a1'.repeat(20)}`, code: '0x5b600160020160030250600056' }
// JUMPDEST PUSH1 32 PUSH1 0 KECCAK256 PUSH1 0 MSTORE PUSH1 0 JUMP: 60 gas an iteration.
const KECCAK = { address: `0x${'a2'.repeat(20)}`, code: '0x5b6020600020600052600056' }
const dir = mkdtempSync(join(tmpdir(), 'blake2f-bench-'))
const level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
try {
  const genesis = parseGenesis({
    chainId: 31337,
    gasLimit: 60_000_000,
    alloc: {
      [from]: { balance: (10n ** 24n).toString() },
      [ARITH.address]: { balance: '0', code: ARITH.code },
      [KECCAK.address]: { balance: '0', code: KECCAK.code },
    },
  })
  const rt = await createExecutionRuntime({ db: level, genesis, getBlockHash: async () => undefined })
  let parent: BlockHeader = rt.genesisBlock.header
  let nonce = 0n
  const block = async (to: string, data: Uint8Array) => {
    const tx = createFeeMarket1559Tx(
      {
        nonce: nonce++,
        to: Uint8Array.from(Buffer.from(to.slice(2), 'hex')),
        data,
        gasLimit: TX_GAS,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        chainId: 31337n,
      },
      { common: rt.common },
    ).sign(key)
    const c0 = process.cpuUsage()
    const built = await rt.buildBlock(parent, [tx], {
      timestamp: parent.timestamp + 1n,
      coinbase: privateToAddress(key),
    })
    const c = process.cpuUsage(c0)
    parent = built.block.header
    const gas = built.executed[0]!.gasUsed
    return { gas, us: c.user + c.system }
  }
  const blake = new Uint8Array(213)
  new DataView(blake.buffer).setUint32(0, 2 ** 24 - 50_000)
  blake[212] = 1
  await block(ARITH.address, new Uint8Array()) // warm-up of the block path
  const rows = [
    ['BLAKE2F rounds (ours)', await block(BLAKE2F_ADDRESS, blake)],
    ['EVM loop: stack/arithmetic', await block(ARITH.address, new Uint8Array())],
    ['EVM loop: KECCAK256 32 B', await block(KECCAK.address, new Uint8Array())],
  ] as const
  console.log(`\n3. blocks of one ${TX_GAS}-gas transaction (buildBlock on LevelDB), CPU:`)
  for (const [name, r] of rows)
    console.log(
      `   ${name.padEnd(28)} ${String(r.gas).padStart(9)} gas  ${(r.us / 1000).toFixed(0).padStart(6)} ms  ${f1(Number(r.gas) / r.us).padStart(7)} gas/µs`,
    )
  console.log(`   (the first row with EthereumJS's F: ~${f1(oldRate)} gas/µs, its rate in 1.)`)
  await rt.close()
} finally {
  await level.close()
  rmSync(dir, { recursive: true, force: true })
}
