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
  /** The on-chain re-run of a challenged receipt (judge.ts), charged before the work it pays for:
   * a base, per record of the corpus (besides the storage read of its approval entry), per byte of
   * corpus content (fetching, UTF-8 decoding, hashing, tokenizing, both automaton passes), per
   * history block read for content, per occurrence counted, and per byte of the revealed output.
   * Calibrated by `packages/attribution/bench/judge.ts` against the EVM's gas per CPU-µs. */
  JUDGE_BASE: 50_000n,
  JUDGE_RECORD: 2_000n,
  JUDGE_BYTE: 2n,
  JUDGE_HISTORY_BLOCK: 20_000n,
  JUDGE_HIT: 20n,
  JUDGE_OUTPUT_BYTE: 16n,
  /** Most gas a challenge may commit a re-run to, before its output and occurrences: EIP-7825's
   * per-transaction cap (2^24) less 2,000,000 for the reveal's intrinsic cost, output and hits. A
   * challenge the provider could not answer in one transaction would slash an honest provider. */
  JUDGE_BUDGET: 14_777_216n,
} as const
