/**
 * Plain value transfers applied without the EVM.
 *
 * EthereumJS's runTx spends ~250 µs on a 21,000-gas transfer (journal set-up and clean-up, the
 * warm set of every precompile, two checkpoints, a message call with no code, a bloom), while the
 * state change is three balance updates and a nonce. Transfers are the commonest transaction, so
 * the block loop applies them here when the outcome is certain to be the one runTx produces, and
 * hands everything else to runTx:
 *
 * - the transaction: type 0, 1 or 2, a recipient, no calldata, an empty access list, value > 0
 *   (a zero-value transfer can touch an empty recipient, which EIP-161 then deletes);
 * - the recipient: no code (so no 7702 delegation either) and not a precompile or system module;
 * - the sender: exists, has no code, the right nonce and funds for gas_limit × fee cap + value;
 * - the fee cap covers the base fee, the gas limit covers 21,000 and fits the block;
 * - the coinbase ends non-empty (a zero tip to an empty coinbase is touched and deleted);
 * - no EIP this file ignores is active (witnesses, block access lists, EIP-7708 transfer logs, the
 *   2D gas of EIP-8037/7778, EIP-2780 account charges), nobody listens to VM/EVM events (tracers),
 *   and neither DEBUG nor the profiler is on.
 *
 * Any state these checks read is re-read in the same order runTx writes it, so a sender that is
 * also the recipient or the coinbase ends with the same balance. Differential tests against runTx:
 * test/transfer.test.ts.
 */
import type { Block } from '@ethereumjs/block'
import { Capability, type TypedTransaction } from '@ethereumjs/tx'
import { Account, Address, KECCAK256_NULL } from '@ethereumjs/util'
import type { PostByzantiumTxReceipt, VM } from '@ethereumjs/vm'
import { equalBytes } from '../bytes.ts'
import { noneActive } from '../eips.ts'

export const TRANSFER_GAS = 21_000n

/** EIPs whose effects on a transfer this file does not implement. */
const UNSUPPORTED_EIPS = [2780, 6800, 7708, 7778, 7864, 7928, 8037]
/** Events whose listeners (tracers, test hooks) must see a transfer go through the EVM. */
const VM_EVENTS = ['beforeTx', 'afterTx'] as const
const EVM_EVENTS = ['beforeMessage', 'afterMessage', 'step', 'newContract'] as const

export interface TransferOutcome {
  gasUsed: bigint
  receipt: PostByzantiumTxReceipt
}

interface Emitter {
  listenerCount(event: string): number
}

interface VmInternals {
  DEBUG: boolean
  events: Emitter
  _opts: { profilerOpts?: { reportAfterTx?: boolean; reportAfterBlock?: boolean } }
  common: { _activatedEIPsCache: readonly number[] }
  evm: {
    DEBUG: boolean
    events?: Emitter
    getPrecompile(address: Address): unknown
    _optsCached?: { profiler?: { enabled?: boolean } }
  }
}

let enabled = true
/** Turns the fast path off and on (differential tests against runTx). */
export function setPlainTransfers(on: boolean): void {
  enabled = on
}

/** Whether the VM runs in a configuration where the fast path is exact. */
function plainVm(vm: VM): boolean {
  const v = vm as unknown as VmInternals
  if (v.DEBUG || v.evm.DEBUG) return false
  if (v._opts.profilerOpts?.reportAfterTx === true || v.evm._optsCached?.profiler?.enabled === true)
    return false
  if (!noneActive(v.common._activatedEIPsCache, UNSUPPORTED_EIPS)) return false
  for (const e of VM_EVENTS) if (v.events.listenerCount(e) > 0) return false
  const evmEvents = v.evm.events
  if (evmEvents !== undefined) for (const e of EVM_EVENTS) if (evmEvents.listenerCount(e) > 0) return false
  return true
}

function isPlainShape(tx: TypedTransaction): boolean {
  if (tx.type > 2 || tx.to === undefined || tx.data.length !== 0 || tx.value <= 0n) return false
  if (tx.supports(Capability.EIP2930AccessLists)) {
    const list = (tx as TypedTransaction & { accessList: unknown[] }).accessList
    if (list.length !== 0) return false
  }
  return true
}

const hasNoCode = (a: Account): boolean => equalBytes(a.codeHash, KECCAK256_NULL)

/**
 * Applies `tx` (sent by `sender`) as a plain transfer on the VM's state, or returns undefined
 * without touching state when runTx must handle it.
 */
export async function applyPlainTransfer(
  vm: VM,
  tx: TypedTransaction,
  sender: Uint8Array,
  block: Block,
  blockGasUsed: bigint,
): Promise<TransferOutcome | undefined> {
  if (!enabled || !isPlainShape(tx) || !plainVm(vm)) return undefined
  const h = block.header
  const baseFee = h.baseFeePerGas ?? 0n
  const gasLimit = tx.gasLimit
  if (gasLimit < TRANSFER_GAS || gasLimit > h.gasLimit) return undefined
  const value = tx.value
  let gasPrice: bigint
  let maxCost: bigint
  if (tx.supports(Capability.EIP1559FeeMarket)) {
    const t = tx as TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
    if (t.maxFeePerGas < baseFee) return undefined
    const room = t.maxFeePerGas - baseFee
    gasPrice = baseFee + (t.maxPriorityFeePerGas < room ? t.maxPriorityFeePerGas : room)
    maxCost = value + gasLimit * t.maxFeePerGas
  } else {
    gasPrice = (tx as TypedTransaction & { gasPrice: bigint }).gasPrice
    if (gasPrice < baseFee) return undefined
    maxCost = value + gasLimit * gasPrice
  }
  const to = tx.to as Address
  if ((vm as unknown as VmInternals).evm.getPrecompile(to) !== undefined) return undefined
  const sm = vm.stateManager
  const from = new Address(sender)
  const fromAccount = await sm.getAccount(from)
  if (fromAccount === undefined || !hasNoCode(fromAccount)) return undefined
  if (fromAccount.nonce !== tx.nonce || fromAccount.balance < maxCost) return undefined
  const toAccount = await sm.getAccount(to)
  if (toAccount !== undefined && !hasNoCode(toAccount)) return undefined
  const coinbase = h.coinbase
  const reward = TRANSFER_GAS * (gasPrice - baseFee)
  if (reward === 0n) {
    const c = await sm.getAccount(coinbase)
    if (c === undefined || c.isEmpty()) return undefined
  }

  // runTx's order: sender pays gas and bumps its nonce, value moves, unused gas is refunded, the
  // coinbase takes the tip. Each account is re-read so aliases (sender = recipient = coinbase) add up.
  fromAccount.nonce += 1n
  fromAccount.balance -= TRANSFER_GAS * gasPrice + value
  await sm.putAccount(from, fromAccount)
  const recipient = (await sm.getAccount(to)) ?? new Account()
  recipient.balance += value
  await sm.putAccount(to, recipient)
  const miner = (await sm.getAccount(coinbase)) ?? new Account()
  miner.balance += reward
  await sm.putAccount(coinbase, miner)
  return {
    gasUsed: TRANSFER_GAS,
    receipt: {
      status: 1,
      cumulativeBlockGasUsed: blockGasUsed + TRANSFER_GAS,
      bitvector: new Uint8Array(256),
      logs: [],
    },
  }
}
