/**
 * CPU of the BLAKE2F precompile (0x09) as EthereumJS runs it: its compression function `F` (pure
 * JavaScript) timed directly. BLAKE2F charges 1 gas per round, so rounds per µs is also its gas per
 * µs of CPU, to set against ordinary EVM execution (`bench:staking` prints the EVM average).
 * Run: node --import tsx packages/evm-runtime/bench/blake2f.ts [--rounds 4000000]
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const i = process.argv.indexOf('--rounds')
const rounds = i < 0 ? 4_000_000 : Number(process.argv[i + 1])
if (!Number.isSafeInteger(rounds) || rounds <= 0) throw new Error('--rounds expects a positive integer')

// F is not in the package's exports: load the ESM build's module by its file path.
const main = createRequire(import.meta.url).resolve('@ethereumjs/evm')
const file = join(dirname(main), '..', 'esm', 'precompiles', '09-blake2f.js')
const { F } = (await import(pathToFileURL(file).href)) as {
  F: (h: Uint32Array, m: Uint32Array, t: Uint32Array, f: boolean, rounds: number) => void
}
const h = new Uint32Array(16)
const m = new Uint32Array(32)
const t = new Uint32Array(4)
F(h, m, t, false, 100_000) // warm-up
const c0 = process.cpuUsage()
F(h, m, t, false, rounds)
const c = process.cpuUsage(c0)
const us = c.user + c.system
const perUs = rounds / us
console.log(`BLAKE2F: ${rounds} rounds in ${(us / 1000).toFixed(0)} ms CPU = ${perUs.toFixed(2)} gas/µs`)
console.log(
  `a transaction of 2^24 gas (EIP-7825 cap) spent on rounds: ${(2 ** 24 / perUs / 1e6).toFixed(1)} s of CPU`,
)
