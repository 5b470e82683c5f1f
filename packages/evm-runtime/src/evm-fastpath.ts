/**
 * Three per-frame costs of EthereumJS 10.1.3's EVM that dominate short calls (eth_call of a view is
 * ~30 opcodes), removed without changing behaviour:
 *
 * 1. Jump-destination analysis. `Interpreter.run` re-analyses the whole code (a Uint8Array of
 *    valid JUMPDESTs, every PUSH immediate decoded to a bigint, the opcode table per byte) at
 *    every frame that contains a jump. The result depends only on the code bytes and the EVM's
 *    opcode table, so it is cached per code object (and checked against a private copy of the
 *    bytes, so a mutated array can never reuse a stale analysis), per opcode table.
 * 2. Object spreads into non-empty literals, which Node 20's V8 runs on a slow path that copies
 *    the object's map per property (~2 µs per property): `_executeCall` copies every Message
 *    (`{...{codeAddress}, ...message, gasLimit}`, 19 properties) before `runInterpreter`, and
 *    `runInterpreter` merges `{...runState, ...result, ...env}` (~45 properties) into a
 *    `runState` field that nothing in EthereumJS reads. Together ~50–100 µs per call frame.
 *    - `runInterpreter` is re-implemented without the merge; `runState` becomes a lazy property
 *      computed on first read, with the same content.
 *    - `_executeCall` is re-implemented for the EIP set this chain runs (Prague): the same steps
 *      through the library's own helpers (_reduceSenderBalance, _addToBalance, _loadCode,
 *      runPrecompile, postMessageCleanup), minus the copy of the message. EIPs whose branches
 *      it leaves out (verkle/binary-tree witnesses, EIP-2780/7708/7928/8037) and the debug log
 *      and profiler modes fall back to the library's method, checked per activated-EIP list.
 * 3. The interpreter loop. `Interpreter.run` awaits an async `runStep` for every opcode and
 *    re-checks per step what cannot change within a frame (DEBUG, step listeners, the profiler,
 *    verkle code-chunk EIPs). The fast loop checks those once per frame (any of them on: the
 *    library's loop) and awaits only dynamic-gas handlers and async opcodes; a frame of plain
 *    stack/arithmetic opcodes runs without a single await.
 *
 * Installed once, globally, on the library's prototypes (like state/find-path.ts); the fast paths
 * are property-tested against the originals in test/evm-fastpath.test.ts.
 *
 * Both interpreter loops (the fast one and the library's, through a `runStep` wrapper that stays
 * installed when the fast paths are switched off) and precompile calls honour the request budget
 * of budget.ts when the EVM carries one (RPC execution only; blocks never do).
 * Long file: three patches of one EthereumJS version, each with the invariant that keeps it exact.
 */
import { EVM, EVMError, type EVMResult, type ExecResult, type Message } from '@ethereumjs/evm'
import { Account, createZeroAddress } from '@ethereumjs/util'
import type { Budgeted } from './budget.ts'
import { noneActive } from './eips.ts'

interface JumpAnalysis {
  jumps: Uint8Array
  pushes: Record<number, bigint>
  opcodesCached: unknown[]
}

interface InterpreterLike {
  _evm: { _opcodeMap: unknown }
  _getValidJumpDestinations(code: Uint8Array): JumpAnalysis
  _result: { selfdestruct?: unknown; createdAddresses?: unknown; returnValue?: Uint8Array }
  _env: Record<string, unknown>
  run(
    code: Uint8Array,
    opts: unknown,
  ): Promise<{ runState: Record<string, unknown> & { gasLeft: bigint }; exceptionError?: EVMError }>
}
type InterpreterCtor = new (...args: unknown[]) => InterpreterLike

// The Interpreter class is not exported by the package; load its module next to the entry point
// (same URL as the library's own import, hence the same class).
const { Interpreter } = (await import(
  new URL('./interpreter.js', import.meta.resolve('@ethereumjs/evm')).href
)) as { Interpreter: InterpreterCtor }
const { consumeEip7928PostTargetCallOog } = (await import(
  new URL('./opcodes/EIP7928.js', import.meta.resolve('@ethereumjs/evm')).href
)) as { consumeEip7928PostTargetCallOog: (rs: unknown) => void }

/** Total code bytes whose analysis is kept; the analysis itself is ~9× the code size. */
const MAX_CACHED_CODE_BYTES = 4 * 1024 * 1024

interface CacheEntry {
  copy: Uint8Array
  analysis: JumpAnalysis
}

class JumpCache {
  private readonly byCode = new Map<Uint8Array, CacheEntry>()
  private bytes = 0

  get(code: Uint8Array): JumpAnalysis | undefined {
    const e = this.byCode.get(code)
    if (e === undefined) return undefined
    if (e.copy.length !== code.length || Buffer.compare(e.copy, code) !== 0) {
      this.byCode.delete(code)
      this.bytes -= e.copy.length
      return undefined
    }
    return e.analysis
  }

  set(code: Uint8Array, analysis: JumpAnalysis): void {
    if (code.length > MAX_CACHED_CODE_BYTES) return
    // Oldest first (Map keeps insertion order): evict until the new entry fits.
    for (const [k, e] of this.byCode) {
      if (this.bytes + code.length <= MAX_CACHED_CODE_BYTES) break
      this.byCode.delete(k)
      this.bytes -= e.copy.length
    }
    this.byCode.set(code, { copy: code.slice(), analysis })
    this.bytes += code.length
  }
}

/** The interpreter's run state as the frame result needs it. */
interface RunStateFields {
  gasLeft: bigint
  gasRefund: bigint
  stateGasSpilled?: bigint
}

/**
 * A frame's result, with the library's keys in the library's order (`{...result, runState,
 * exceptionError, …}`); `runState` (the merge of run state, result and environment that nothing in
 * EthereumJS reads) is an own enumerable accessor computed on first read.
 *
 * Not an object literal with `get runState()`: that form made every eth_call's whole frame
 * (interpreter, stack, memory, environment, ~2.5 KB) survive two young-generation collections
 * and reach the old generation, freed only by a full GC (measured in-process with a minor GC
 * after each call: 2.8 KB against 0.4 KB promoted per call). Here the accessor's functions are
 * shared by all results and the frame is held in private fields.
 */
class FrameResult {
  static readonly #runState: PropertyDescriptor = {
    get(this: FrameResult) {
      return FrameResult.#materialize(this)
    },
    set(this: FrameResult, v: unknown) {
      this.#merged = v
    },
    enumerable: true,
    configurable: true,
  }

  static #materialize(r: FrameResult): unknown {
    r.#merged ??= Object.assign({}, r.#state, r.#result, r.#env)
    return r.#merged
  }

  readonly #state: RunStateFields
  readonly #result: Record<string, unknown>
  readonly #env: Record<string, unknown>
  #merged: unknown
  declare logs: unknown
  declare returnValue: Uint8Array
  declare selfdestruct: unknown
  declare createdAddresses: unknown
  declare exceptionError: unknown
  declare gas: bigint
  declare executionGasUsed: bigint
  declare gasRefund: bigint
  declare stateGasSpilled: bigint | undefined

  constructor(
    result: Record<string, unknown>,
    err: unknown,
    gasUsed: bigint,
    state: RunStateFields,
    env: Record<string, unknown>,
  ) {
    this.#state = state
    this.#result = result
    this.#env = env
    this.logs = result.logs
    this.returnValue = (result.returnValue as Uint8Array | undefined) ?? new Uint8Array(0)
    this.selfdestruct = result.selfdestruct
    this.createdAddresses = result.createdAddresses
    Object.defineProperty(this, 'runState', FrameResult.#runState)
    this.exceptionError = err
    this.gas = state.gasLeft
    this.executionGasUsed = gasUsed
    this.gasRefund = state.gasRefund
    this.stateGasSpilled = state.stateGasSpilled
  }
}

interface Impl {
  run: InterpreterLike['run']
  jumps: InterpreterLike['_getValidJumpDestinations']
  runInterpreter: EvmInternals['runInterpreter']
  executeCall: EvmInternals['_executeCall']
}
let originals: Impl | undefined
let fast: Impl | undefined

function apply(impl: Impl): void {
  ;(Interpreter.prototype as InterpreterLike)._getValidJumpDestinations = impl.jumps
  ;(Interpreter.prototype as InterpreterLike).run = impl.run
  const proto = EVM.prototype as unknown as EvmInternals
  proto.runInterpreter = impl.runInterpreter
  proto._executeCall = impl.executeCall
}

/** Installs the fast paths (idempotent). */
export function installEvmFastPaths(): void {
  if (fast === undefined) fast = build()
  apply(fast)
  installBudgetedRunStep()
}

let budgetedRunStep = false

/**
 * The library's interpreter loop awaits `runStep` per opcode (step listeners, DEBUG, EIPs the fast
 * loop leaves out): the request budget is checked there, every CHECK_EVERY steps.
 */
function installBudgetedRunStep(): void {
  if (budgetedRunStep) return
  budgetedRunStep = true
  const proto = Interpreter.prototype as unknown as {
    runStep(this: { _evm: Budgeted }, op?: unknown): Promise<void>
  }
  const runStep = proto.runStep
  proto.runStep = function (this: { _evm: Budgeted }, op?: unknown): Promise<void> {
    const budget = this._evm._olBudget
    if (budget !== undefined && --budget.countdown <= 0) {
      const pause = budget.tick()
      if (pause !== undefined) return pause.then(() => runStep.call(this, op))
    }
    return runStep.call(this, op)
  }
}

/** Switches between the fast paths and the library's own methods (differential tests). */
export function setEvmFastPaths(enabled: boolean): void {
  if (fast === undefined) fast = build()
  apply(enabled ? fast : (originals as Impl))
}

function build(): Impl {
  const iproto = Interpreter.prototype as InterpreterLike
  const proto = EVM.prototype as unknown as EvmInternals
  originals = {
    run: iproto.run,
    jumps: iproto._getValidJumpDestinations,
    runInterpreter: proto.runInterpreter,
    executeCall: proto._executeCall,
  }
  const analyse = originals.jumps
  const runInterpreter = originals.runInterpreter
  const executeCall = originals.executeCall
  // One cache per opcode table: the table (and the opcode entries the analysis holds) belongs to
  // one EVM instance and hardfork.
  const caches = new WeakMap<object, JumpCache>()
  const jumps = function (this: InterpreterLike, code: Uint8Array) {
    const table = this._evm._opcodeMap as object
    let cache = caches.get(table)
    if (cache === undefined) {
      cache = new JumpCache()
      caches.set(table, cache)
    }
    const hit = cache.get(code)
    if (hit !== undefined) return hit
    const analysis = analyse.call(this, code)
    cache.set(code, analysis)
    return analysis
  }

  const fastRunInterpreter = async function (
    this: EvmInternals,
    message: MessageFields,
    opts: { initialLogs?: unknown[] } = {},
    gasLimit: bigint = message.gasLimit,
  ): Promise<ExecResult> {
    // Unusual set-ups (no block context, the profiler) keep the library's own path.
    if (this._block === undefined || this._optsCached.profiler?.enabled === true) {
      const m = gasLimit === message.gasLimit ? message : ({ ...message, gasLimit } as MessageFields)
      return runInterpreter.call(this, m, opts)
    }
    const to = message.to ?? createZeroAddress()
    const contract = (await this.stateManager.getAccount(to)) ?? new Account()
    const env = {
      address: to,
      caller: message.caller ?? createZeroAddress(),
      callData: message.data ?? Uint8Array.from([0]),
      callValue: message.value ?? 0n,
      code: message.code,
      isStatic: message.isStatic ?? false,
      isCreate: message.isCreate ?? false,
      depth: message.depth ?? 0,
      gasPrice: this._tx.gasPrice,
      origin: this._tx.origin ?? message.caller ?? createZeroAddress(),
      block: this._block,
      contract,
      codeAddress: message.codeAddress,
      gasRefund: message.gasRefund,
      chargeCodeAccesses: message.chargeCodeAccesses,
      blobVersionedHashes: message.blobVersionedHashes ?? [],
      accessWitness: message.accessWitness,
      createdAddresses: message.createdAddresses,
      initialLogs: opts.initialLogs,
    }
    const interpreter = new Interpreter(
      this,
      this.stateManager,
      this.blockchain,
      env,
      gasLimit,
      this.journal,
      this.performanceLogger,
      this._optsCached.profiler,
    )
    if (message.selfdestruct) interpreter._result.selfdestruct = message.selfdestruct
    if (message.createdAddresses) interpreter._result.createdAddresses = message.createdAddresses
    const res = await interpreter.run(message.code as Uint8Array, opts)
    let result: Record<string, unknown> = interpreter._result
    let gasUsed = gasLimit - res.runState.gasLeft
    const err = res.exceptionError
    if (err) {
      if (
        err.error !== EVMError.errorMessages.REVERT &&
        err.error !== EVMError.errorMessages.INVALID_EOF_FORMAT
      )
        gasUsed = gasLimit
      result = { ...result }
      result.logs = []
      result.selfdestruct = new Map()
      result.createdAddresses = new Set()
    }
    message.accessWitness?.commit()
    return new FrameResult(
      result,
      err,
      gasUsed,
      res.runState as unknown as RunStateFields,
      interpreter._env,
    ) as unknown as ExecResult
  }

  const fastExecuteCall = async function (this: EvmInternals, message: MessageFields): Promise<EVMResult> {
    if (
      this.DEBUG ||
      this._optsCached.profiler?.enabled === true ||
      !noneActive(this.common._activatedEIPsCache, UNSUPPORTED_EIPS)
    )
      return executeCall.call(this, message)
    const account = (await this.stateManager.getAccount(message.caller)) ?? new Account()
    let errorMessage: unknown
    if (!message.delegatecall) {
      try {
        await this._reduceSenderBalance(account, message)
      } catch (e) {
        errorMessage = e
      }
    }
    const toAccount = (await this.stateManager.getAccount(message.to)) ?? new Account()
    if (!message.delegatecall) {
      try {
        await this._addToBalance(toAccount, message)
      } catch (e) {
        errorMessage = e
      }
    }
    await this._loadCode(message)
    const code = message.code
    if (!code || (typeof code !== 'function' && code.length === 0) || errorMessage !== undefined) {
      return {
        execResult: {
          gasRefund: message.gasRefund,
          executionGasUsed: 0n,
          exceptionError: errorMessage as EVMError | undefined,
          returnValue: new Uint8Array(0),
          logs: undefined,
        },
      }
    }
    let result: ExecResult
    if (message.isCompiled) {
      // A precompile or native module runs to its end once started: check the budget first.
      ;(this as Budgeted)._olBudget?.check()
      result = await this.runPrecompile(code, message.data, message.gasLimit)
      result.gasRefund = message.gasRefund
    } else {
      result = await (this.runInterpreter as FastRunInterpreter).call(
        this,
        message,
        { initialLogs: undefined },
        message.gasLimit,
      )
    }
    if (message.depth === 0) this.postMessageCleanup()
    return { execResult: result }
  }
  const run = originals.run
  const fastRun = async function (
    this: InterpreterLike,
    code: Uint8Array,
    opts: { pc?: number } = {},
  ): Promise<{ runState: RunState; exceptionError?: EVMError }> {
    const self = this as unknown as InterpreterInternals
    const evm = self._evm
    // EOF code (EIP-3540), verkle/binary-tree code chunks, step listeners (tracers), DEBUG and the
    // profiler keep the library's loop: it is this loop plus their per-step branches.
    if (
      (code[0] === 0xef && self.common.isActivatedEIP(3540)) ||
      evm.DEBUG ||
      self.profilerOpts?.enabled === true ||
      evm.events.listenerCount('step') > 0 ||
      !noneActive(self.common._activatedEIPsCache, UNSUPPORTED_STEP_EIPS)
    )
      return run.call(this, code, opts) as unknown as Promise<{
        runState: RunState
        exceptionError?: EVMError
      }>
    const rs = self._runState
    const common = self.common
    const opMap = evm._opcodeMap
    const budget = (evm as Budgeted)._olBudget
    rs.code = code
    rs.programCounter = opts.pc ?? rs.programCounter
    const start = rs.programCounter
    if (start !== 0 && (start < 0 || start >= code.length))
      throw new Error('Internal error: program counter not in range')
    let err: EVMError | undefined
    let cached: OpcodeEntry[] | undefined
    while (rs.programCounter < code.length) {
      // RPC execution only: time limit, cancellation and time slices (a loop of plain opcodes
      // would otherwise never await).
      if (budget !== undefined && --budget.countdown <= 0) {
        const pause = budget.tick()
        if (pause !== undefined) await pause
      }
      const pc = rs.programCounter
      let entry: OpcodeEntry
      if (cached === undefined) {
        const op = code[pc]!
        // Same trigger as the library: analyse once the code reaches its first jump.
        if (op === 0x56 || op === 0x57 || op === 0x5e) {
          const a = self._getValidJumpDestinations(code)
          rs.validJumps = a.jumps
          rs.cachedPushes = a.pushes
          rs.shouldDoJumpAnalysis = false
          cached = a.opcodesCached as OpcodeEntry[]
        }
        entry = opMap[op]!
        rs.opCode = op
      } else {
        entry = cached[pc]!
        rs.opCode = entry.opcodeInfo.code
      }
      const info = entry.opcodeInfo
      try {
        let gas = info.feeBigInt
        if (info.dynamicGas) gas = await entry.gasHandler(rs, gas, common)
        if (info.isInvalid) throw new EVMError(EVMError.errorMessages.INVALID_OPCODE)
        // useGas, without its DEBUG log (DEBUG takes the library's loop).
        rs.gasLeft -= gas
        if (rs.gasLeft < 0n) {
          rs.gasLeft = 0n
          throw new EVMError(EVMError.errorMessages.OUT_OF_GAS)
        }
        rs.programCounter++
        if (rs.eip7928PostTargetCallOog !== undefined) consumeEip7928PostTargetCallOog(rs)
        if (info.isAsync) await entry.opHandler(rs, common)
        else entry.opHandler(rs, common)
        rs.env.accessWitness?.commit()
      } catch (e) {
        rs.env.accessWitness?.revert()
        if (!(typeof e === 'object' && e !== null && 'errorType' in e && e.errorType === 'EVMError')) throw e
        if ((e as EVMError).error !== EVMError.errorMessages.STOP) err = e as EVMError
        break
      }
    }
    if (err === undefined && rs.eip8037BurnLeftoverAfterCreateHaltOntoAlive === true && rs.gasLeft > 0n) {
      rs.gasLeft = 0n
      err = new EVMError(EVMError.errorMessages.OUT_OF_GAS)
    }
    return { runState: rs, exceptionError: err }
  }

  return {
    run: fastRun as unknown as InterpreterLike['run'],
    jumps,
    runInterpreter: fastRunInterpreter as EvmInternals['runInterpreter'],
    executeCall: fastExecuteCall,
  }
}

/** EIPs whose per-step branches the fast interpreter loop leaves out (verkle/binary-tree code chunks). */
const UNSUPPORTED_STEP_EIPS = [6800, 7864]

interface OpcodeEntry {
  opcodeInfo: {
    code: number
    feeBigInt: bigint
    dynamicGas: boolean
    isInvalid: boolean
    isAsync: boolean
  }
  gasHandler: (rs: RunState, gas: bigint, common: unknown) => Promise<bigint>
  opHandler: (rs: RunState, common: unknown) => unknown
}

interface RunState {
  code: Uint8Array
  programCounter: number
  opCode: number
  gasLeft: bigint
  gasRefund?: bigint
  validJumps: Uint8Array
  cachedPushes: Record<number, bigint>
  shouldDoJumpAnalysis: boolean
  env: { accessWitness?: { commit(): void; revert(): void } }
  eip7928PostTargetCallOog?: unknown
  eip8037BurnLeftoverAfterCreateHaltOntoAlive?: boolean
}

interface InterpreterInternals {
  _evm: {
    DEBUG: boolean
    _opcodeMap: OpcodeEntry[]
    events: { listenerCount(event: string): number }
  }
  common: { isActivatedEIP(eip: number): boolean; _activatedEIPsCache: number[] }
  profilerOpts?: { enabled?: boolean }
  _runState: RunState
  _getValidJumpDestinations(code: Uint8Array): JumpAnalysis
}

/** EIPs with branches in EVM._executeCall that the fast path does not implement. */
const UNSUPPORTED_EIPS = [2780, 6800, 7708, 7864, 7928, 8037]

type MessageFields = Message & {
  to: NonNullable<Message['to']>
  isCreate?: boolean
  chargeCodeAccesses?: boolean
  code?: Uint8Array | ((...args: unknown[]) => unknown)
}

type FastRunInterpreter = (
  message: MessageFields,
  opts: { initialLogs?: unknown[] },
  gasLimit: bigint,
) => Promise<ExecResult>

/** The EVM internals the fast paths use (all exist in @ethereumjs/evm 10.1.3). */
interface EvmInternals {
  DEBUG: boolean
  common: { _activatedEIPsCache: number[] }
  stateManager: EVM['stateManager']
  blockchain: EVM['blockchain']
  journal: EVM['journal']
  performanceLogger: unknown
  _block?: unknown
  _tx: { gasPrice: bigint; origin?: unknown }
  _optsCached: { profiler?: { enabled?: boolean } }
  runInterpreter(message: MessageFields, opts?: { initialLogs?: unknown[] }): Promise<ExecResult>
  _executeCall(message: MessageFields): Promise<EVMResult>
  _reduceSenderBalance(account: Account, message: MessageFields): Promise<void>
  _addToBalance(account: Account, message: MessageFields): Promise<void>
  _loadCode(message: MessageFields): Promise<void>
  runPrecompile(code: unknown, data: Uint8Array, gasLimit: bigint): Promise<ExecResult>
  postMessageCleanup(): void
}
