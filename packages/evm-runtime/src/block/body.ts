/**
 * executeBlockBody: a block's execution between its parent's state and its state root — block
 * hooks' beginBlock, the transactions, hooks' endBlock (see hooks.ts for the contract). Building,
 * importing and tracing all go through here, so system work can never differ between them.
 */
import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { VM } from '@ethereumjs/vm'
import { BlockHookError } from '../errors.ts'
import { systemState } from '../state/module-state.ts'
import { runTransactions, type TxLoopOptions, type TxLoopResult } from './execute.ts'
import { type BlockHook, type BlockHookContext, blockEnv, runBlockHooks } from './hooks.ts'

export interface BlockBodyOptions extends TxLoopOptions {
  hooks: readonly BlockHook[]
  /** Stop after beginBlock and the transactions (tracing a transaction replays only its prefix). */
  skipEndBlock?: boolean
}

export async function executeBlockBody(
  vm: VM,
  block: Block,
  txs: Iterable<TypedTransaction>,
  chainId: bigint,
  opts: BlockBodyOptions,
): Promise<TxLoopResult> {
  const { hooks } = opts
  if (hooks.length === 0) return runTransactions(vm, block, txs, chainId, opts)
  const ctx: BlockHookContext = {
    chainId,
    block: blockEnv(block.header),
    state: systemState(vm.stateManager),
  }
  const t0 = performance.now()
  await runBlockHooks(hooks, { phase: 'beginBlock', ctx })
  const beginMs = performance.now() - t0
  const loop = await runTransactions(vm, block, txs, chainId, opts)
  const t1 = performance.now()
  if (opts.skipEndBlock !== true) {
    try {
      await runBlockHooks(hooks, {
        phase: 'endBlock',
        ctx: { ...ctx, executed: loop.executed, gasUsed: loop.gasUsed },
      })
    } catch (e) {
      // endBlock sees the transactions: the builder needs them to find the one that fails it.
      if (e instanceof BlockHookError) e.executed = loop.executed.map((x) => x.tx)
      throw e
    }
  }
  // System work is part of the block's execution time.
  loop.hooksMs = beginMs + (performance.now() - t1)
  loop.executionMs += loop.hooksMs
  return loop
}
