/** eth_estimateGas prices a transaction in the block it will land in (head + 1), so code that
 * stores block.number — like the Datanets module stamping a new datanet — is estimated exactly. */
import { datanetsAbi } from '@openledger/attribution/sdk'
import type { OpenLedgerNode } from '@openledger/node'
import { encodeFunctionData } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
beforeAll(async () => {
  node = await startDevNode({ mining: { kind: 'manual' } })
})
afterAll(async () => {
  await node?.close()
})

describe('eth_estimateGas', () => {
  it('is exactly enough for a module call on a fresh chain (block.number 0 → 1)', async () => {
    const from = DEV_ADDRESSES[0]
    const to = '0x4f50454e00000000000000000000000000000001'
    const data = encodeFunctionData({
      abi: datanetsAbi,
      functionName: 'createDatanet',
      args: ['n', 'u', true, []],
    })
    for (let i = 0; i < 2; i++) {
      const gas = await call(node.rpcUrl, 'eth_estimateGas', [{ from, to, data }])
      const hash = await call(node.rpcUrl, 'eth_sendTransaction', [{ from, to, data, gas }])
      await call(node.rpcUrl, 'evm_mine')
      const receipt = await call(node.rpcUrl, 'eth_getTransactionReceipt', [hash])
      expect(receipt.status).toBe('0x1')
      expect(receipt.gasUsed).toBe(gas)
    }
  })
})
