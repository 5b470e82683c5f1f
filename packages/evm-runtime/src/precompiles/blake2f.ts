/**
 * BLAKE2F (EIP-152, address 0x09) over the WebAssembly F of blake2f-wasm.ts, installed in place of
 * EthereumJS's pure-JS one through `customPrecompiles` (vm.ts). Why: EthereumJS's F runs ~2.5
 * rounds (= gas) per µs, ~40× less gas per µs of CPU than the rest of the EVM, so one 2^24-gas
 * transaction of rounds held a validator for ~6.6 s; this F is measured in bench/blake2f.ts.
 *
 * Semantics are EthereumJS's precompile09, check for check, so that swapping the implementation
 * changes no result, gas or error (test/blake2f.test.ts holds them against each other):
 *   1. input not exactly 213 bytes → OUT_OF_RANGE, all gas consumed;
 *   2. final flag (byte 212) not 0 or 1 → OUT_OF_RANGE, all gas consumed;
 *   3. rounds × blake2RoundGas (1) > gas → OUT_OF_GAS, all gas consumed, before any round runs;
 *   4. else the 64-byte new h, gas = rounds.
 * (geth and the execution specs charge gas before checking the flag; both orders consume all gas,
 * only the error name of a trace differs, and we keep EthereumJS's.)
 *
 * Time: rounds run in parts of CHUNK_ROUNDS. Under an RPC budget (budget.ts: eth_call's time
 * limit, cancellation, time slices) the budget is ticked between parts, so a 50M-gas call of
 * rounds neither overruns the time limit nor holds the event loop past a slice, like the
 * interpreter loop. Block execution carries no budget (determinism) and is bounded by gas alone.
 */
import { EVMError, type ExecResult, type PrecompileInput } from '@ethereumjs/evm'
import type { Budget, Budgeted } from '../budget.ts'
import { type Blake2fExports, H_OFFSET, instantiateBlake2f, V_OFFSET } from './blake2f-wasm.ts'

/** The precompile's address (EIP-152), 20 bytes as `customPrecompiles` wants it. */
export const BLAKE2F_ADDRESS = '0x0000000000000000000000000000000000000009' as const

const INPUT_LENGTH = 213
/** Rounds per call into WASM: a multiple of 10 (the message schedule's period, so every part but
 * the last ends on a schedule boundary); ~0.4 ms at the measured ~100 rounds/µs. */
export const CHUNK_ROUNDS = 40_960
/** h, m, t and v: what a paused computation must get back if other work used the instance. */
const STATE_BYTES = V_OFFSET + 128

// One instance per thread (module scope is per isolate): created on first use.
let instance: Blake2fExports | undefined
let memory: Uint8Array | undefined

function wasm(): { f: Blake2fExports; mem: Uint8Array } {
  if (instance === undefined || memory === undefined) {
    instance = instantiateBlake2f()
    // The module never grows its memory, so this view stays valid.
    memory = new Uint8Array(instance.memory.buffer)
  }
  return { f: instance, mem: memory }
}

/**
 * F(h, m, t, f, rounds) on EIP-152's encoding: `params` is input bytes 4..212 (h ‖ m ‖ t0 ‖ t1),
 * `final` the flag; returns the new h (64 bytes). Synchronous, unbounded in time: callers bound
 * `rounds` (the precompile by gas).
 */
export function blake2fCompress(rounds: number, params: Uint8Array, final: boolean): Uint8Array {
  const { f, mem } = wasm()
  mem.set(params.subarray(0, 208), H_OFFSET)
  f.init(final ? 1 : 0)
  for (let left = rounds; left > 0; left -= CHUNK_ROUNDS) f.rounds(Math.min(left, CHUNK_ROUNDS))
  f.final()
  return mem.slice(H_OFFSET, H_OFFSET + 64)
}

/** blake2fCompress, ticking `budget` between parts (may throw ExecutionAborted, may pause). */
async function compressBudgeted(
  rounds: number,
  params: Uint8Array,
  final: boolean,
  budget: Budget,
): Promise<Uint8Array> {
  const { f, mem } = wasm()
  mem.set(params.subarray(0, 208), H_OFFSET)
  f.init(final ? 1 : 0)
  for (let left = rounds; left > 0; ) {
    const n = Math.min(left, CHUNK_ROUNDS)
    f.rounds(n)
    left -= n
    if (left === 0) break
    const pause = budget.tick()
    if (pause !== undefined) {
      // Other executions in this thread may use the instance while we wait.
      const saved = mem.slice(0, STATE_BYTES)
      await pause
      mem.set(saved, 0)
    }
  }
  f.final()
  return mem.slice(H_OFFSET, H_OFFSET + 64)
}

const EMPTY = new Uint8Array(0)

const failure = (gasLimit: bigint, error: EVMError['error']): ExecResult => ({
  returnValue: EMPTY,
  executionGasUsed: gasLimit,
  exceptionError: new EVMError(error),
})

/** The BLAKE2F precompile (an EthereumJS PrecompileFunc). */
export function blake2f(opts: PrecompileInput): ExecResult | Promise<ExecResult> {
  const data = opts.data
  const debug = opts._debug
  if (data.length !== INPUT_LENGTH) {
    debug?.(`BLAKE2f failed: OUT_OF_RANGE dataLength=${data.length}`)
    return failure(opts.gasLimit, EVMError.errorMessages.OUT_OF_RANGE)
  }
  const flag = data[212]!
  if (flag !== 0 && flag !== 1) {
    debug?.(`BLAKE2f failed: OUT_OF_RANGE lastByte=${flag}`)
    return failure(opts.gasLimit, EVMError.errorMessages.OUT_OF_RANGE)
  }
  const rounds = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0
  const gasUsed = opts.common.param('blake2RoundGas') * BigInt(rounds)
  if (opts.gasLimit < gasUsed) {
    debug?.(`BLAKE2f failed: OOG gasLimit=${opts.gasLimit} gasUsed=${gasUsed}`)
    return failure(opts.gasLimit, EVMError.errorMessages.OUT_OF_GAS)
  }
  const params = data.subarray(4, 212)
  const budget = (opts._EVM as unknown as Budgeted)._olBudget
  if (budget === undefined || rounds <= CHUNK_ROUNDS)
    return { executionGasUsed: gasUsed, returnValue: blake2fCompress(rounds, params, flag === 1) }
  return compressBudgeted(rounds, params, flag === 1, budget).then((returnValue) => ({
    executionGasUsed: gasUsed,
    returnValue,
  }))
}
