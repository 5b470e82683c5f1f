/** Fee suggestions (eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory) from recent blocks. */
import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'

export const DEFAULT_PRIORITY_FEE = 1_000_000_000n // 1 gwei, as Hardhat and anvil suggest

export function effectiveTip(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxPriorityFeePerGas' in tx && 'maxFeePerGas' in tx) {
    const t = tx as TypedTransaction & { maxPriorityFeePerGas: bigint; maxFeePerGas: bigint }
    const room = t.maxFeePerGas - baseFee
    return room < t.maxPriorityFeePerGas ? room : t.maxPriorityFeePerGas
  }
  const gp = (tx as TypedTransaction & { gasPrice: bigint }).gasPrice
  return gp - baseFee
}

/** Geth-style oracle: the 60th percentile of the tips paid in the last blocks; default 1 gwei. */
export function suggestTip(blocks: Block[]): bigint {
  const tips: bigint[] = []
  for (const b of blocks) {
    const base = b.header.baseFeePerGas ?? 0n
    for (const tx of b.transactions) tips.push(effectiveTip(tx, base))
  }
  if (tips.length === 0) return DEFAULT_PRIORITY_FEE
  tips.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const t = tips[Math.floor(((tips.length - 1) * 60) / 100)]!
  return t > 0n ? t : 1n
}

/** Rewards at the given percentiles, weighted by gas used, as geth's eth_feeHistory does. */
export function rewardPercentiles(block: Block, gasUsedPerTx: bigint[], percentiles: number[]): bigint[] {
  const base = block.header.baseFeePerGas ?? 0n
  if (block.transactions.length === 0) return percentiles.map(() => 0n)
  const items = block.transactions
    .map((tx, i) => ({ tip: effectiveTip(tx, base), gas: gasUsedPerTx[i] ?? tx.gasLimit }))
    .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0))
  const total = block.header.gasUsed
  const out: bigint[] = []
  let idx = 0
  let sum = items[0]!.gas
  for (const p of percentiles) {
    // threshold = gasUsed * p / 100, computed on integers with 4 decimal places of p
    const threshold = (total * BigInt(Math.round(p * 10_000))) / 1_000_000n
    while (sum < threshold && idx < items.length - 1) {
      idx++
      sum += items[idx]!.gas
    }
    out.push(items[idx]!.tip)
  }
  return out
}
