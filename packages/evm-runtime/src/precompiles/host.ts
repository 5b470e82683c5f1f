/**
 * Hosts the native system modules (interface: module-types.ts) as EthereumJS custom precompiles.
 *
 * EthereumJS v10 gives a precompile only `{data, gasLimit, common, _EVM}`. The module also needs
 * msg.sender, msg.value, the static flag and whether it was reached by DELEGATECALL/CALLCODE.
 * We get them from `HostEVM`, an EVM subclass that keeps a stack of the messages currently inside
 * `_executeCall`: a precompile always runs inside the `_executeCall` of the message addressed to
 * it, so the top of that stack is exactly its message. A subclass was chosen over the
 * beforeMessage/afterMessage events because (1) the events fire around the checkpoint and value
 * transfer, and listeners registered by tracers on the same emitter could reorder or await,
 * (2) it costs nothing on messages that never reach a module, and (3) it cannot be forgotten:
 * every VM this runtime creates uses HostEVM.
 */
import {
  EVM,
  EVMError,
  type EVMOpts,
  type EVMResult,
  type ExecResult,
  type Log,
  Message,
  NobleBN254,
  type PrecompileInput,
} from '@ethereumjs/evm'
import { Address } from '@ethereumjs/util'
import { equalBytes, toHex } from '../bytes.ts'
import { ExecutionFault, isRequestStop } from '../errors.ts'
import { stateAccess } from '../state/module-state.ts'
import type {
  ModuleCallContext,
  ModuleResult,
  ModuleState,
  ModuleSubcallResult,
  SystemModule,
} from './module-types.ts'

export class HostEVM extends EVM {
  /** Messages currently executing a CALL-type frame, innermost last. */
  readonly frames: Array<Message & { to: Address }> = []

  constructor(opts: EVMOpts) {
    super({ bn254: new NobleBN254(), ...opts })
  }

  /**
   * Marks anything that throws inside a message (at any depth) as an ExecutionFault, so that the
   * entry points can tell "execution broke" from "the transaction was invalid" (runTx throws those
   * before any message runs). EthereumJS leaves the message checkpoints of a throw open: the entry
   * points roll them back (isolation.ts).
   */
  override async runCall(opts: Parameters<EVM['runCall']>[0]): Promise<EVMResult> {
    try {
      return await super.runCall(opts)
    } catch (e) {
      throw isRequestStop(e) ? e : ExecutionFault.of(e)
    }
  }

  protected override async _executeCall(message: Message & { to: Address }): Promise<EVMResult> {
    this.frames.push(message)
    try {
      return await super._executeCall(message)
    } finally {
      this.frames.pop()
    }
  }

  /** tx.origin of the running transaction/call. */
  get txOrigin(): Address | undefined {
    return this._tx?.origin
  }

  get currentBlockHeader() {
    return this._block?.header
  }
}

const EMPTY = new Uint8Array(0)

function outOfGas(gasLimit: bigint): ExecResult {
  return {
    executionGasUsed: gasLimit,
    returnValue: EMPTY,
    exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS),
  }
}

/** ModuleState over the EVM's journaled state: writes are undone when the calling frame reverts. */
export function createModuleState(evm: EVM): ModuleState {
  return stateAccess(evm.stateManager, (address, account) => evm.journal.putAccount(address, account))
}

/** Wraps a SystemModule as an EthereumJS precompile function. */
export function modulePrecompile(module: SystemModule, chainId: bigint) {
  return async (input: PrecompileInput): Promise<ExecResult> => {
    const evm = input._EVM as unknown as HostEVM
    const msg = evm.frames[evm.frames.length - 1]
    if (msg === undefined || !equalBytes(msg.codeAddress.bytes, module.address)) {
      // Only reachable if a VM was built without HostEVM: refuse rather than guess the caller.
      throw new Error(`system module ${module.name} invoked outside a HostEVM call frame`)
    }
    const header = evm.currentBlockHeader
    const sub = subcalls(evm, msg, module)
    const ctx: ModuleCallContext = {
      address: module.address,
      caller: msg.caller.bytes,
      origin: (evm.txOrigin ?? msg.caller).bytes,
      value: msg.value,
      isStatic: msg.isStatic,
      // CALLCODE runs the target's code in the caller's context, like DELEGATECALL: `to` is the caller.
      isDelegateCall: msg.delegatecall || !equalBytes(msg.to.bytes, module.address),
      // A copy: the EVM may hand us a view of caller memory that is reused after the call.
      data: input.data.slice(),
      gasLimit: input.gasLimit,
      chainId,
      block: {
        number: header?.number ?? 0n,
        timestamp: header?.timestamp ?? 0n,
        coinbase: header?.coinbase.bytes ?? new Uint8Array(20),
      },
      state: createModuleState(evm),
      call: sub.call,
    }
    let result: ModuleResult
    try {
      result = await module.call(ctx)
    } catch (e) {
      throw new Error(`system module ${module.name} failed: ${(e as Error).message}`)
    }
    const exec = toExecResult(module, result, input.gasLimit)
    // Logs of the module's own calls come first: they happened before its logs were released.
    if (exec.exceptionError === undefined && sub.logs.length > 0)
      exec.logs = [...sub.logs, ...(exec.logs ?? [])]
    return exec
  }
}

const MAX_DEPTH = 1024

/**
 * ModuleCallContext.call for one module invocation: a nested message from the module's address,
 * one level deeper than the message that reached it (as the CALL opcode makes it). Successful
 * calls' logs, self-destructs and created addresses are gathered for the module's frame.
 */
function subcalls(evm: HostEVM, msg: Message & { to: Address }, module: SystemModule) {
  const logs: Log[] = []
  const call = async (
    to: Uint8Array,
    value: bigint,
    data: Uint8Array,
    gasLimit: bigint,
  ): Promise<ModuleSubcallResult> => {
    if (to.length !== 20) throw new Error(`system module ${module.name}: call target must be 20 bytes`)
    if (value < 0n || gasLimit < 0n) throw new Error(`system module ${module.name}: negative value or gas`)
    const fail = { success: false, returnData: EMPTY, gasUsed: 0n }
    if (msg.depth + 1 >= MAX_DEPTH) return fail
    if (value > 0n) {
      if (msg.isStatic) return fail
      const balance = (await evm.stateManager.getAccount(new Address(module.address)))?.balance ?? 0n
      if (balance < value) return fail
    }
    const selfdestruct = new Map(msg.selfdestruct ?? [])
    const createdAddresses = new Set(msg.createdAddresses ?? [])
    const r = await evm.runCall({
      message: new Message({
        caller: new Address(module.address),
        to: new Address(to),
        value,
        data: data.slice(),
        gasLimit,
        isStatic: msg.isStatic,
        depth: msg.depth + 1,
        selfdestruct,
        createdAddresses,
      }),
    })
    const ok = r.execResult.exceptionError === undefined
    if (ok) {
      logs.push(...(r.execResult.logs ?? []))
      for (const [k, v] of selfdestruct) msg.selfdestruct?.set(k, v)
      for (const a of createdAddresses) msg.createdAddresses?.add(a)
    }
    return {
      success: ok,
      returnData: r.execResult.returnValue.slice(),
      gasUsed: r.execResult.executionGasUsed,
    }
  }
  return { call, logs }
}

export function toExecResult(module: SystemModule, r: ModuleResult, gasLimit: bigint): ExecResult {
  if (r.status === 'outOfGas' || r.gasUsed < 0n || r.gasUsed > gasLimit) return outOfGas(gasLimit)
  if (r.status === 'revert') {
    return {
      executionGasUsed: r.gasUsed,
      returnValue: r.returnData.slice(),
      exceptionError: new EVMError(EVMError.errorMessages.REVERT),
    }
  }
  if (r.status !== 'success')
    throw new Error(`system module ${module.name} returned unknown status ${String(r.status)}`)
  for (const l of r.logs) {
    if (l.topics.length > 4 || l.topics.some((t) => t.length !== 32)) {
      throw new Error(
        `system module ${module.name} emitted a log with invalid topics (at most 4 of 32 bytes)`,
      )
    }
  }
  return {
    executionGasUsed: r.gasUsed,
    // Copies, so that nothing the module keeps can alias consensus data (logs, return data).
    returnValue: r.returnData.slice(),
    logs: r.logs.map((l) => [module.address.slice(), l.topics.map((t) => t.slice()), l.data.slice()]),
  }
}

/** Validates the module list (20-byte, unique addresses, not a standard precompile). */
export function checkModules(modules: readonly SystemModule[]): void {
  const seen = new Set<string>()
  for (const m of modules) {
    if (!(m.address instanceof Uint8Array) || m.address.length !== 20)
      throw new Error(`system module ${m.name}: address must be 20 bytes`)
    const hex = toHex(m.address)
    if (seen.has(hex)) throw new Error(`system module ${m.name}: duplicate address ${hex}`)
    if (BigInt(hex) <= 0x100n)
      throw new Error(`system module ${m.name}: address ${hex} collides with the standard precompile range`)
    seen.add(hex)
  }
}
