/**
 * Tracers in geth's output formats, fed by the EVM's step/beforeMessage/afterMessage events:
 * the default struct logger and `callTracer`.
 *
 * Both count the JSON size of what they hold: past `TraceOptions.maxBytes` (the node's memory
 * budget) they throw TraceTooLargeError, which ends the trace; the struct logger also honours
 * geth's `limit` (stop recording, let execution finish). A 30M-gas transaction would otherwise
 * make the struct logger hold gigabytes (its storage snapshots alone grow quadratically).
 */
import type { BlockHeader } from '@ethereumjs/block'
import type { EVM, EVMResult, InterpreterStep, Message } from '@ethereumjs/evm'
import type { Address } from '@ethereumjs/util'
import type { CallParams, TraceOptions } from './api.ts'
import { Budget } from './budget.ts'
import { bytesToBigint, toHex } from './bytes.ts'
import type { CallEngine, CallOptions } from './call.ts'
import { TraceTooLargeError } from './errors.ts'

const hexNoPrefix = (b: Uint8Array) => toHex(b).slice(2)
const word = (v: bigint) => v.toString(16).padStart(64, '0')
const quantity = (v: bigint) => `0x${v.toString(16)}`

export interface StructLog {
  pc: number
  op: string
  gas: number
  gasCost: number
  depth: number
  stack?: string[]
  memory?: string[]
  storage?: Record<string, string>
  returnData?: string
  refund?: number
  error?: string
}

/** JSON bytes of a storage snapshot: `"<64 hex>":"<64 hex>",` per slot. */
const storageBytes = (st: Record<string, string>) => 12 + Object.keys(st).length * 134

/** Counts the JSON size of a trace result against geth's `limit` and the node's budget. */
class SizeMeter {
  bytes = 0
  constructor(private readonly maxBytes: number | undefined) {}
  add(n: number): void {
    this.bytes += n
    if (this.maxBytes !== undefined && this.maxBytes > 0 && this.bytes > this.maxBytes)
      throw new TraceTooLargeError(this.maxBytes)
  }
}

/** geth's default tracer ("struct logger"). Attach before running the tx, detach after. */
export class StructLogger {
  readonly logs: StructLog[] = []
  private readonly storage = new Map<string, Record<string, string>>()
  private pendingSload: { log: StructLog; addr: string; key: string } | undefined
  private readonly onStep = (step: InterpreterStep) => this.step(step)
  private readonly size: SizeMeter
  private attached = true

  constructor(
    private readonly evm: EVM,
    private readonly opts: TraceOptions,
  ) {
    this.size = new SizeMeter(opts.maxBytes)
    evm.events.on('step', this.onStep)
  }

  detach(): void {
    if (!this.attached) return
    this.attached = false
    this.evm.events.off('step', this.onStep)
  }

  private step(s: InterpreterStep): void {
    // The value an SLOAD read is on top of the stack at the next step.
    if (this.pendingSload !== undefined) {
      const { log, addr, key } = this.pendingSload
      const top = s.stack[s.stack.length - 1]
      if (top !== undefined) {
        const st = this.storage.get(addr) ?? {}
        st[key] = word(top)
        this.storage.set(addr, st)
        if (this.opts.disableStorage !== true) {
          log.storage = { ...st }
          this.size.add(storageBytes(st))
        }
      }
      this.pendingSload = undefined
    }
    // geth's `limit`: once the output is that large, record nothing more (the SLOAD value above
    // still completes the last log). Unhooking also lets the rest run without per-step events.
    const limit = this.opts.limit
    if (limit !== undefined && limit > 0 && this.size.bytes > limit) {
      this.detach()
      return
    }
    const log: StructLog = {
      pc: s.pc,
      op: s.opcode.name,
      gas: Number(s.gasLeft),
      gasCost: Number(s.opcode.dynamicFee ?? BigInt(s.opcode.fee)),
      depth: s.depth + 1,
    }
    let bytes = 80 + log.op.length
    if (s.gasRefund !== 0n) log.refund = Number(s.gasRefund)
    if (this.opts.disableStack !== true) {
      log.stack = s.stack.map(quantity)
      for (const v of log.stack) bytes += v.length + 3
    }
    if (this.opts.enableMemory === true) {
      const mem: string[] = []
      for (let i = 0; i < s.memory.length; i += 32) mem.push(hexNoPrefix(s.memory.subarray(i, i + 32)))
      log.memory = mem
      bytes += mem.length * 67
    }
    const addr = s.address.toString()
    if (s.opcode.name === 'SSTORE' && s.stack.length >= 2) {
      const st = this.storage.get(addr) ?? {}
      st[word(s.stack[s.stack.length - 1])] = word(s.stack[s.stack.length - 2])
      this.storage.set(addr, st)
      if (this.opts.disableStorage !== true) {
        log.storage = { ...st }
        bytes += storageBytes(st)
      }
    } else if (s.opcode.name === 'SLOAD' && s.stack.length >= 1) {
      this.pendingSload = { log, addr, key: word(s.stack[s.stack.length - 1]) }
    }
    this.size.add(bytes)
    this.logs.push(log)
  }

  result(gasUsed: bigint, failed: boolean, returnValue: Uint8Array) {
    return { gas: Number(gasUsed), failed, returnValue: toHex(returnValue), structLogs: this.logs }
  }
}

export interface CallFrame {
  type: 'CALL' | 'STATICCALL' | 'DELEGATECALL' | 'CALLCODE' | 'CREATE' | 'CREATE2'
  from: string
  to?: string
  value?: string
  gas: string
  gasUsed: string
  input: string
  output?: string
  error?: string
  revertReason?: string
  logs?: Array<{ address: string; topics: string[]; data: string; position: string }>
  calls?: CallFrame[]
}

const ERROR_NAMES: Record<string, string> = {
  revert: 'execution reverted',
  'out of gas': 'out of gas',
  'invalid opcode': 'invalid opcode',
  'static state change': 'write protection',
  'stack underflow': 'stack underflow',
  'stack overflow': 'stack overflow',
  'invalid JUMP': 'invalid jump destination',
  'insufficient balance': 'insufficient balance for transfer',
}

/** Decodes an `Error(string)` revert payload; undefined for anything else. */
export function decodeRevertReason(data: Uint8Array): string | undefined {
  if (data.length < 68 || toHex(data.subarray(0, 4)) !== '0x08c379a0') return undefined
  try {
    const offset = Number(bytesToBigint(data.subarray(4, 36)))
    const len = Number(bytesToBigint(data.subarray(4 + offset, 36 + offset)))
    const start = 36 + offset
    if (start + len > data.length) return undefined
    return new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(start, start + len))
  } catch {
    return undefined
  }
}

interface Open {
  frame: CallFrame
  address: Address | undefined
  isStatic: boolean
  childLogs: Set<unknown>
}

/** geth's callTracer. */
export class CallTracer {
  private readonly stack: Open[] = []
  private root: CallFrame | undefined
  private readonly onBefore = (m: Message) => this.before(m)
  private readonly onAfter = (r: EVMResult) => this.after(r)
  private readonly size: SizeMeter

  constructor(
    private readonly evm: EVM,
    private readonly opts: TraceOptions,
  ) {
    this.size = new SizeMeter(opts.maxBytes)
    evm.events.on('beforeMessage', this.onBefore)
    evm.events.on('afterMessage', this.onAfter)
  }

  detach(): void {
    this.evm.events.off('beforeMessage', this.onBefore)
    this.evm.events.off('afterMessage', this.onAfter)
  }

  private before(m: Message): void {
    const parent = this.stack[this.stack.length - 1]
    let type: CallFrame['type']
    if (m.to === undefined) type = m.salt !== undefined ? 'CREATE2' : 'CREATE'
    else if (m.delegatecall) type = 'DELEGATECALL'
    else if (m.isStatic && (parent === undefined || !parent.isStatic)) type = 'STATICCALL'
    else if (m.codeAddress !== undefined && m.to !== undefined && !m.codeAddress.equals(m.to))
      type = 'CALLCODE'
    else type = 'CALL'
    // geth names the executing contract as `from` and the code target as `to` for
    // DELEGATECALL/CALLCODE; EthereumJS keeps msg.sender in `caller` for those.
    const from = parent?.address?.toString() ?? m.caller.toString()
    const to = type === 'DELEGATECALL' || type === 'CALLCODE' ? m.codeAddress.toString() : m.to?.toString()
    const frame: CallFrame = {
      type,
      from,
      to,
      gas: quantity(m.gasLimit),
      gasUsed: '0x0',
      input: toHex(m.data),
    }
    if (type !== 'DELEGATECALL' && type !== 'STATICCALL') frame.value = quantity(m.value)
    // The same large memory region can be passed to thousands of calls for a few gas each.
    if (parent === undefined || this.opts.onlyTopCall !== true) this.size.add(200 + frame.input.length)
    if (parent !== undefined && this.opts.onlyTopCall !== true) {
      parent.frame.calls ??= []
      parent.frame.calls.push(frame)
    }
    if (parent === undefined) this.root = frame
    this.stack.push({ frame, address: m.to, isStatic: m.isStatic, childLogs: new Set() })
  }

  private after(r: EVMResult): void {
    const open = this.stack.pop()
    if (open === undefined) return
    const { frame } = open
    const ex = r.execResult
    frame.gasUsed = quantity(ex.executionGasUsed)
    if (r.createdAddress !== undefined) frame.to = r.createdAddress.toString()
    if (ex.returnValue.length > 0 || ex.exceptionError?.error === 'revert') {
      frame.output = toHex(ex.returnValue)
      if (this.stack.length === 0 || this.opts.onlyTopCall !== true) this.size.add(frame.output.length + 12)
    }
    if (ex.exceptionError !== undefined) {
      frame.error = ERROR_NAMES[ex.exceptionError.error] ?? ex.exceptionError.error
      if (ex.exceptionError.error === 'revert') {
        const reason = decodeRevertReason(ex.returnValue)
        if (reason !== undefined) frame.revertReason = reason
      } else {
        delete frame.output
      }
    }
    const logs = ex.logs ?? []
    if (this.opts.withLog === true && logs.length > 0) {
      const own = logs.filter((l) => !open.childLogs.has(l))
      if (own.length > 0) {
        frame.logs = own.map(([address, topics, data]) => ({
          address: toHex(address),
          topics: topics.map(toHex),
          data: toHex(data),
          position: quantity(BigInt(frame.calls?.length ?? 0)),
        }))
        for (const l of frame.logs) this.size.add(100 + l.topics.length * 69 + l.data.length)
      }
    }
    const parent = this.stack[this.stack.length - 1]
    if (parent !== undefined) for (const l of logs) parent.childLogs.add(l)
  }

  /** The top frame; geth reports the whole tx's gas there (intrinsic included). */
  result(txGasLimit: bigint, txGasUsed: bigint): CallFrame {
    if (this.root === undefined) throw new Error('callTracer: no call was executed')
    this.root.gas = quantity(txGasLimit)
    this.root.gasUsed = quantity(txGasUsed)
    return this.root
  }
}

/**
 * debug_traceCall: the call as eth_call runs it (same engine, gas cap, state overrides, budget,
 * rollback), with a tracer attached; the result has debug_traceTransaction's shape.
 */
export async function traceCall(
  engine: CallEngine,
  p: CallParams,
  header: BlockHeader,
  opts: CallOptions,
  traceOpts: TraceOptions,
): Promise<unknown> {
  const budget = opts.limits ? new Budget(opts.limits) : undefined
  if (traceOpts.tracer === 'callTracer') {
    let tracer: CallTracer | undefined
    const r = await engine.run(p, header, opts, budget, (evm) => {
      tracer = new CallTracer(evm, traceOpts)
      return tracer
    })
    return tracer!.result(r.gasLimit, r.gasUsed)
  }
  let logger: StructLogger | undefined
  const r = await engine.run(p, header, opts, budget, (evm) => {
    logger = new StructLogger(evm, traceOpts)
    return logger
  })
  return logger!.result(r.gasUsed, r.error !== undefined, r.returnData)
}
