/**
 * Gas schedule of the attribution modules: the kit's shared schedule (storage, logs, hashing,
 * payouts; packages/module-kit/src/gas.ts) plus the prices only these modules charge.
 */
import { GAS as KIT_GAS } from '@openledger/module-kit'

export { keccakGas, logGas, words } from '@openledger/module-kit'

export const GAS = {
  ...KIT_GAS,
  /** Per byte of inline contribution content: it is kept by the chain as history, like calldata.
   * 32 rather than calldata's 16: measured on `pnpm bench`, 16 made inline contributions ~2.2× cheaper
   * per CPU-µs than average EVM execution (decoding, hashing and the calldata copy of the host). */
  INLINE_BYTE: 32n,
  /** `settle`, per attribution entry: the entry's share of decoding, EIP-712 hashing, logs and the
   * host's per-slot trie work, which storage prices alone left ~2.3× cheaper per CPU-µs than
   * average EVM execution on `pnpm bench` (8 entries). */
  SETTLE_ENTRY: 10_000n,
} as const
