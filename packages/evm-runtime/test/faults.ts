/**
 * Test-only fault injection: a native module that writes state (storage, a balance transfer) and
 * then throws when the calldata asks for it, and contracts that reach it before, inside and after
 * nested calls. Used to prove that every execution entry point is all-or-nothing.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { encodeFunctionData, parseAbi } from 'viem'
import type { SystemModule } from '../src/index.ts'
import { bytes } from './helpers.ts'
import { compile } from './solc.ts'

export const FAULT_MODULE = bytes('0x4f50454e000000000000000000000000000000fa')

/** Where the probe reaches the module: first in the top frame, inside a nested call, after them. */
export const MODES = { before: 0, inside: 1, after: 2 } as const

export const PROBE_SOL = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
address constant M = 0x4f50454E000000000000000000000000000000fa;
contract Inner {
  uint256 public pokes;
  function poke(bool callModule, bool fault) external payable {
    pokes += 1;
    assembly { tstore(0, add(tload(0), 1)) }
    if (callModule) { (bool ok, ) = M.call(abi.encode(fault)); require(ok); }
  }
}
contract Probe {
  uint256 public counter;
  uint256 public seenTransient;
  event Probed(uint256 counter, uint256 mode);
  function probe(uint256 mode, bool fault, Inner inner) external payable {
    if (mode == 0) { (bool ok, ) = M.call(abi.encode(fault)); require(ok); }
    seenTransient = inner.pokes() + readTransient();
    counter += 1;
    emit Probed(counter, mode);
    assembly { tstore(0, 7) }
    inner.poke{value: msg.value}(mode == 1, fault);
    if (mode == 2) { (bool ok, ) = M.call(abi.encode(fault)); require(ok); }
  }
  function readTransient() internal view returns (uint256 v) { assembly { v := tload(0) } }
}
`

export const probeAbi = parseAbi(['function probe(uint256 mode, bool fault, address inner) payable'])

let compiled: ReturnType<typeof compile> | undefined
export function probeContracts() {
  compiled ??= compile({ 'Probe.sol': PROBE_SOL })
  return compiled as { Probe: (typeof compiled)[string]; Inner: (typeof compiled)[string] }
}

export function probeCall(mode: number, fault: boolean, inner: Uint8Array): Uint8Array {
  return bytes(
    encodeFunctionData({
      abi: probeAbi,
      functionName: 'probe',
      args: [BigInt(mode), fault, `0x${Buffer.from(inner).toString('hex')}`],
    }),
  )
}

/**
 * The module: every call bumps a counter in its storage, records the caller and pays 1 wei back
 * to tx.origin (when it holds any), then throws if the calldata is abi.encode(true) and `armed`.
 * A node whose module is not armed executes the same calls without the fault.
 */
export function faultModule(armed: { on: boolean }): SystemModule {
  return {
    name: 'fault-injector',
    address: FAULT_MODULE,
    async call(ctx) {
      const slot = new Uint8Array(32)
      const n = BigInt(`0x${Buffer.from(await ctx.state.getStorage(FAULT_MODULE, slot)).toString('hex')}`)
      const next = new Uint8Array(32)
      next.set(bytes((n + 1n).toString(16).padStart(64, '0')))
      await ctx.state.putStorage(FAULT_MODULE, slot, next)
      await ctx.state.putStorage(FAULT_MODULE, keccak_256(next), new Uint8Array(32).fill(0xaa))
      if ((await ctx.state.getBalance(FAULT_MODULE)) > 0n)
        await ctx.state.transfer(FAULT_MODULE, ctx.origin, 1n)
      if (armed.on && ctx.data.length === 32 && ctx.data[31] === 1) throw new Error('injected fault')
      return { status: 'success', gasUsed: 5_000n, returnData: new Uint8Array(0), logs: [] }
    },
  }
}
