/**
 * BLAKE2F (0x09) in WebAssembly (src/precompiles/blake2f.ts) against EthereumJS's own precompile:
 * same output, gas and error for random and edge inputs; EIP-152's test vectors; installed on every
 * VM the runtime builds from Istanbul on; eth_call's time budget reaches inside a long call; the
 * state tests that call 0x09. Speed is measured by bench/blake2f.ts, not here.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createEVM, type EVM, type ExecResult, type PrecompileFunc } from '@ethereumjs/evm'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Budget, ExecutionAborted, withBudget } from '../src/index.ts'
import { BLAKE2F_ADDRESS, blake2f, CHUNK_ROUNDS } from '../src/precompiles/blake2f.ts'
import { LevelStateDB } from '../src/state/level-db.ts'
import { fixtureFiles, runStateTests } from '../src/statetest/index.ts'
import { createChainVM } from '../src/vm.ts'
import { ADDRS, bytes, cleanupDirs, hex, KEYS, makeGenesis, openRuntime, txData } from './helpers.ts'

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const TESTS = join(
  process.env.OPENLEDGER_SHARED ?? join(REPO, '..', 'shared'),
  'ethereum-tests',
  'GeneralStateTests',
)

/** EIP-152's h, m ("abc"), t = 3 and the final flag: vectors 4..8 differ in rounds and flag. */
const ABC =
  '48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b' +
  `616263${'00'.repeat(125)}` +
  `03${'00'.repeat(15)}`
const vector = (rounds: string, flag: string) => bytes(`0x${rounds}${ABC}${flag}`)

/** An in-memory LevelLike holding nothing (the VMs here are only asked for their precompiles). */
const EMPTY = {
  async get() {
    return undefined
  },
  async put() {},
  async del() {},
  async batch() {},
}

/** The EVM of a chain VM as the runtime builds it (HostEVM, our 0x09 installed) at `hardfork`. */
async function chainEvm(hardfork: Hardfork): Promise<EVM> {
  const common = new Common({ chain: Mainnet, hardfork })
  const vm = await createChainVM(
    new LevelStateDB(EMPTY as never),
    { common, modules: [], hooks: [], getBlockHash: async () => undefined },
    { accounts: 10, storage: 10, code: 10, trieNodes: 0 },
  )
  return vm.evm as EVM
}

/** A precompile called as EVM.runPrecompile calls it (that method is protected). */
const invoke = (evm: EVM, fn: PrecompileFunc, data: Uint8Array, gasLimit: bigint) =>
  fn({ data, gasLimit, common: evm.common, _EVM: evm })

let ours: EVM
let reference: EVM
let original: PrecompileFunc

beforeAll(async () => {
  ours = await chainEvm(Hardfork.Cancun)
  // EthereumJS's EVM as shipped: its 0x09 is the pure-JS precompile09.
  reference = await createEVM({ common: new Common({ chain: Mainnet, hardfork: Hardfork.Cancun }) })
  original = reference.getPrecompile(BLAKE2F_ADDRESS)!
  expect(original).toBeTypeOf('function')
  expect(original).not.toBe(blake2f)
})

const run = async (evm: EVM, fn: PrecompileFunc, data: Uint8Array, gas: bigint) =>
  summary(await invoke(evm, fn, data, gas))
const summary = (r: ExecResult) => ({
  out: hex(r.returnValue),
  gas: r.executionGasUsed,
  error: r.exceptionError?.error,
})

describe('installation', () => {
  test('every chain VM from Istanbul on runs our 0x09; before Istanbul there is none', async () => {
    expect(ours.getPrecompile(BLAKE2F_ADDRESS)).toBe(blake2f)
    expect((await chainEvm(Hardfork.Istanbul)).getPrecompile(BLAKE2F_ADDRESS)).toBe(blake2f)
    expect((await chainEvm(Hardfork.Prague)).getPrecompile(BLAKE2F_ADDRESS)).toBe(blake2f)
    expect((await chainEvm(Hardfork.Petersburg)).getPrecompile(BLAKE2F_ADDRESS)).toBeUndefined()
  })
})

describe('EIP-152 test vectors', () => {
  const cases: Array<[string, Uint8Array, string | undefined, string]> = [
    ['0: empty input', new Uint8Array(0), 'value out of range', ''],
    ['1: 212 bytes', bytes(`0x00000c${ABC}01`), 'value out of range', ''],
    ['2: 214 bytes', bytes(`0x000000000c${ABC}01`), 'value out of range', ''],
    ['3: final flag 2', vector('0000000c', '02'), 'value out of range', ''],
    [
      '4: 0 rounds',
      vector('00000000', '01'),
      undefined,
      '08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d282e6ad7f520e511f6c3e2b8c68059b9442be0454267ce079217e1319cde05b',
    ],
    [
      '5: 12 rounds',
      vector('0000000c', '01'),
      undefined,
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    ],
    [
      '6: 12 rounds, not final',
      vector('0000000c', '00'),
      undefined,
      '75ab69d3190a562c51aef8d88f1c2775876944407270c42c9844252c26d2875298743e7f6d5ea2f2d3e8d226039cd31b4e426ac4f2d3d666a610c2116fde4735',
    ],
    [
      '7: 1 round',
      vector('00000001', '01'),
      undefined,
      'b63a380cb2897d521994a85234ee2c181b5f844d2c624c002677e9703449d2fba551b3a8333bcdf5f2f7e08993d53923de3d64fcc68c034e717b9293fed7a421',
    ],
  ]
  // Vector 8 (2^32 − 1 rounds) is the state test stTimeConsuming/CALLBlake2f_MaxRounds (docs/evm-runtime.md).
  test.each(cases)('vector %s', async (_name, input, error, output) => {
    const rounds = input.length === 213 ? BigInt(Buffer.from(input.subarray(0, 4)).readUInt32BE()) : 0n
    const r = await run(ours, blake2f, input, 1_000_000n)
    expect(r).toEqual({
      out: `0x${output}`,
      gas: error === undefined ? rounds : 1_000_000n,
      error,
    })
    expect(await run(reference, original, input, 1_000_000n)).toEqual(r)
  })
})

/** Deterministic bytes: sha256 of a label, repeated. */
function pseudo(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i * 32 < n; i++)
    out.set(
      createHash('sha256')
        .update(`${label}/${i}`)
        .digest()
        .subarray(0, Math.min(32, n - i * 32)),
      i * 32,
    )
  return out
}

function input(label: string, rounds: number, flag: number, length = 213): Uint8Array {
  const data = pseudo(label, length)
  if (length >= 4) new DataView(data.buffer).setUint32(0, rounds)
  if (length === 213) data[212] = flag
  return data
}

describe('differential against EthereumJS precompile09', () => {
  // Rounds at the edges of the unrolled 10-round schedule and of the WASM parts (CHUNK_ROUNDS).
  const ROUNDS = [
    0,
    1,
    2,
    9,
    10,
    11,
    12,
    19,
    20,
    21,
    99,
    100,
    1_000,
    CHUNK_ROUNDS - 1,
    CHUNK_ROUNDS,
    CHUNK_ROUNDS + 1,
  ]
  ROUNDS.push(2 * CHUNK_ROUNDS + 7)

  test('random h, m, t at edge round counts, final 0 and 1: identical output and gas', async () => {
    for (const rounds of ROUNDS)
      for (const flag of [0, 1]) {
        const data = input(`edge-${rounds}-${flag}`, rounds, flag)
        const r = await run(ours, blake2f, data, 10_000_000n)
        expect(r.error, `rounds ${rounds}`).toBeUndefined()
        expect(r.gas).toBe(BigInt(rounds))
        expect(r, `rounds ${rounds} flag ${flag}`).toEqual(await run(reference, original, data, 10_000_000n))
      }
  }, 120_000)

  test('500 random inputs: rounds, flag, length and gas limit all random', async () => {
    const lengths = [0, 1, 4, 100, 212, 214, 300]
    for (let i = 0; i < 500; i++) {
      const [a, b, c, d] = pseudo(`random-${i}`, 4)
      const rounds = a! < 40 ? 0 : a! < 200 ? b! % 64 : ((b! << 8) | c!) % 5_000
      const flag = d! < 100 ? 0 : d! < 200 ? 1 : d!
      const length = c! < 230 ? 213 : lengths[c! % lengths.length]!
      // Gas around the price: one short, exactly, one over, far over.
      const gas = [BigInt(rounds) - 1n, BigInt(rounds), BigInt(rounds) + 1n, 1n << 40n][a! % 4]!
      const data = input(`random-${i}`, rounds, flag, length)
      const gasLimit = gas < 0n ? 0n : gas
      expect(await run(ours, blake2f, data, gasLimit), `case ${i}`).toEqual(
        await run(reference, original, data, gasLimit),
      )
    }
  }, 120_000)

  test('rounds beyond the gas: out of gas before any round runs, all gas consumed', async () => {
    const data = input('oog', 0xffffffff, 1)
    const t0 = performance.now()
    const r = await run(ours, blake2f, data, 0xfffffffen)
    expect(performance.now() - t0).toBeLessThan(1_000) // 2^32 rounds would take ~40 s
    expect(r).toEqual({ out: '0x', gas: 0xfffffffen, error: 'out of gas' })
    expect(await run(reference, original, data, 0xfffffffen)).toEqual(r)
  })

  test('the input is not modified and the output is a fresh copy', async () => {
    const data = input('copy', 12, 1)
    const before = data.slice()
    const a = await invoke(ours, blake2f, data, 100n)
    const b = await invoke(ours, blake2f, data, 100n)
    expect(data).toEqual(before)
    expect(a.returnValue).toEqual(b.returnValue)
    expect(a.returnValue.buffer).not.toBe(b.returnValue.buffer)
  })

  test('calls interleaved at budget pauses keep their own state', async () => {
    // sliceMs 0: every part ends in a pause, during which the other call runs its part.
    const rounds = 3 * CHUNK_ROUNDS + 5
    const inputs = [input('interleave-a', rounds, 1), input('interleave-b', rounds, 0)]
    const results = await Promise.all(
      inputs.map((data) =>
        withBudget(ours, new Budget({ sliceMs: 0 }), async () =>
          summary(await invoke(ours, blake2f, data, 1n << 30n)),
        ),
      ),
    )
    for (const [i, data] of inputs.entries())
      expect(results[i]).toEqual(await run(reference, original, data, 1n << 30n))
  }, 60_000)
})

describe('eth_call', () => {
  const CALLER = bytes(`0x${'09'.repeat(20)}`)
  /** Forwards its calldata to 0x09 with all gas and returns 0x09's output (reverts if the call fails). */
  const FORWARD = bytes('0x36600060003760406000366000600060095af115601c5760406000f35b600080fd')
  let rt: Awaited<ReturnType<typeof openRuntime>>

  beforeAll(async () => {
    rt = await openRuntime(
      makeGenesis({
        alloc: {
          [hex(ADDRS[0])]: { balance: (10n ** 24n).toString() },
          [hex(CALLER)]: { balance: '0', code: hex(FORWARD) },
        },
      }),
    )
  })
  afterAll(async () => {
    await rt.runtime.close()
    await rt.db.level.close()
    cleanupDirs()
  })

  test('answers the EIP-152 output, directly and from a contract', async () => {
    const head = rt.runtime.genesisBlock.header
    const expected =
      '0xba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923'
    const direct = await rt.runtime.call({ to: bytes(BLAKE2F_ADDRESS), data: vector('0000000c', '01') }, head)
    expect(hex(direct.returnData)).toBe(expected)
    const forwarded = await rt.runtime.call({ to: CALLER, data: vector('0000000c', '01') }, head)
    expect(hex(forwarded.returnData)).toBe(expected)
    const invalid = await rt.runtime.call({ to: CALLER, data: vector('0000000c', '02') }, head)
    expect(invalid.error?.reverted).toBe(true)
  })

  test('the time limit stops a call inside 2^32 − 1 rounds; the event loop keeps running', async () => {
    const head = rt.runtime.genesisBlock.header
    let last = performance.now()
    let maxGapMs = 0
    const timer = setInterval(() => {
      maxGapMs = Math.max(maxGapMs, performance.now() - last)
      last = performance.now()
    }, 5)
    const t0 = performance.now()
    try {
      const call = rt.runtime.call(
        { to: bytes(BLAKE2F_ADDRESS), data: vector('ffffffff', '01'), gas: 1n << 33n },
        head,
        { limits: { timeoutMs: 300, sliceMs: 5 } },
      )
      await expect(call).rejects.toBeInstanceOf(ExecutionAborted)
    } finally {
      clearInterval(timer)
    }
    // 2^32 rounds take ~40 s at full speed: stopping near 300 ms means the budget is checked inside.
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(maxGapMs).toBeLessThan(250)
  })

  test('a block of a 2^24-gas transaction of rounds is built with the rounds charged', async () => {
    const g = rt.runtime.genesisBlock.header
    const rounds = 2 ** 24 - 100_000
    const data = input('block', rounds, 1)
    const tx = txData(rt.runtime.common, KEYS[0], 0n, bytes(BLAKE2F_ADDRESS), data, { gas: 2n ** 24n })
    const built = await rt.runtime.buildBlock(g, [tx], { timestamp: g.timestamp + 1n, coinbase: ADDRS[2] })
    const [executed] = built.executed
    expect(executed!.status).toBe(1)
    const intrinsic = 21_000n + data.reduce((s, b) => s + (b === 0 ? 4n : 16n), 0n)
    expect(executed!.gasUsed).toBe(intrinsic + BigInt(rounds))
  }, 60_000)
})

describe('state tests calling 0x09', () => {
  const FILES = [
    'stPreCompiledContracts/blake2B.json',
    'stPreCompiledContracts/delegatecall09Undefined.json',
    'stPreCompiledContracts/precompsEIP2929Cancun.json',
    'stPreCompiledContracts/idPrecomps.json',
  ]

  test('pass (all forks in the fixtures)', async () => {
    if (!existsSync(TESTS))
      throw new Error(
        `GeneralStateTests not found at ${TESTS}: set OPENLEDGER_SHARED to the directory holding ethereum-tests/`,
      )
    const files = (await Promise.all(FILES.map((f) => fixtureFiles(join(TESTS, f))))).flat()
    const failures: string[] = []
    let cases = 0
    for await (const ev of runStateTests(files)) {
      if (ev.kind === 'error') failures.push(`${ev.file}: ${ev.error}`)
      if (ev.kind !== 'result') continue
      cases++
      if (!ev.result.pass) failures.push(`${ev.result.name}: ${ev.result.error}`)
    }
    expect(failures).toEqual([])
    expect(cases).toBeGreaterThan(100)
  }, 600_000)
})
