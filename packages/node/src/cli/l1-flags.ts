/**
 * The node's L1 settings (--l1-rpc / --l1-addresses / --l1-proposer-key) and `--key` values. The
 * bridge package loads only when an L1 is given: `openledger dev` without one starts without it.
 */
import type { L1Addresses } from '@openledger/bridge'
import type { Hex } from 'viem'
import { readKeyFile } from '../keys/node-key.ts'
import { hex } from '../util/bytes.ts'

/** `--key`: a 0x-hex private key or a key file (`openledger keys new --out F`). */
export async function loadKey(value: string): Promise<Hex> {
  if (/^0x[0-9a-fA-F]{64}$/.test(value.trim())) return value.trim() as Hex
  return hex(await readKeyFile(value)) as Hex
}

/** The node's L1 settings from --l1-rpc / --l1-addresses / --l1-proposer-key. */
export async function resolveL1Flags(
  f: { rpc: string; addresses: string; proposerKey?: string } | undefined,
): Promise<{ rpc: string; addresses: L1Addresses; proposerKey?: Hex } | undefined> {
  if (!f) return undefined
  const { readL1Addresses } = await import('@openledger/bridge')
  return {
    rpc: f.rpc,
    addresses: await readL1Addresses(f.addresses),
    proposerKey: f.proposerKey ? await loadKey(f.proposerKey) : undefined,
  }
}
