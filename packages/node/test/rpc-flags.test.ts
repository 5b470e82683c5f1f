/**
 * The execution time limit per mode: `openledger dev` leaves it to the dev node's own default
 * (60 s, DEV_EVM_TIMEOUT_MS), network nodes to geth's 5 s; `--rpc.evmtimeout` overrides both and
 * devnet forwards it only when given.
 */
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { DEFAULT_EXECUTION, DEV_EVM_TIMEOUT_MS } from '../src/backend/exec-limits.ts'
import { addRpcFlags, type RpcFlagMode, rpcConfigFromFlags, rpcFlagArgs } from '../src/cli/rpc-flags.ts'

function parse(mode: RpcFlagMode, args: string[]): Record<string, unknown> {
  const cmd = addRpcFlags(new Command().exitOverride(), mode)
  cmd.parse(args, { from: 'user' })
  return cmd.opts()
}

describe('--rpc.evmtimeout', () => {
  it('defaults per mode: 60 s in dev, 5 s (geth) on network nodes', () => {
    expect(DEV_EVM_TIMEOUT_MS).toBe(60_000)
    expect(DEFAULT_EXECUTION.timeoutMs).toBe(5_000)
    for (const mode of ['dev', 'network'] as const) {
      const o = parse(mode, [])
      // Unset: the node applies its mode's default.
      expect(rpcConfigFromFlags(o, mode).execution.timeoutMs).toBeUndefined()
      expect(rpcFlagArgs(o)).not.toContain('--rpc.evmtimeout')
    }
  })

  it('an explicit value wins and is forwarded by devnet', () => {
    for (const [arg, ms] of [
      ['5s', 5_000],
      ['500ms', 500],
      ['0', 0],
      ['120', 120_000],
    ] as const) {
      const o = parse('network', ['--rpc.evmtimeout', arg])
      expect(rpcConfigFromFlags(o, 'network').execution.timeoutMs).toBe(ms)
      const fwd = rpcFlagArgs(o)
      expect(fwd.slice(fwd.indexOf('--rpc.evmtimeout'))).toEqual(['--rpc.evmtimeout', `${ms}ms`])
    }
    expect(() => parse('dev', ['--rpc.evmtimeout', 'soon'])).toThrow(/expected a duration/)
  })
})
