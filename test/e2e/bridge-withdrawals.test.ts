/**
 * Withdrawals end to end on a real anvil L1 and a dev node that signs and proposes its outputs:
 * initiate on L2 with viem's op-stack `initiateWithdrawal`, wait for the output, prove with
 * `buildProveWithdrawal`/`proveWithdrawal`, finalise with `finalizeWithdrawal` after the window
 * (real time: viem's status reads the wall clock), and check conservation.
 */
import { l2ChainOf, MESSAGE_PASSER_ADDRESS, OpenToken, outputRootV0, Portal } from '@openledger/bridge'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, OpenLedgerNode, silentLogger } from '@openledger/node'
import { createPublicClient, createWalletClient, http, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  buildProveWithdrawal,
  finalizeWithdrawal,
  getL2Output,
  getWithdrawalStatus,
  getWithdrawals,
  initiateWithdrawal,
  proveWithdrawal,
} from 'viem/op-stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  deposit,
  fundL1Open,
  L1_KEYS,
  l1Block,
  startTestL1,
  type TestL1,
  withBridge,
} from '../helpers/bridge.ts'
import { waitFor } from '../helpers/dev-node.ts'

const proposer = privateKeyToAccount(L1_KEYS[0]!)
const user = privateKeyToAccount(L1_KEYS[1]!)
const PERIOD = 12n
let l1: TestL1
let node: OpenLedgerNode

beforeAll(async () => {
  l1 = await startTestL1(
    {
      l2ChainId: 1337,
      validators: [proposer.address],
      submissionInterval: 4n,
      finalizationPeriodSeconds: PERIOD,
      confirmations: 1,
    },
    // Interval mining, as a real L1: finalisation is judged by the timestamp of the next L1 block.
    { blockTime: 1 },
  )
  await fundL1Open(l1, user.address)
  node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(withBridge((await buildDevGenesis({})).json, l1.addresses)),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'interval', blockTimeMs: 500 },
    accounts: [],
    log: silentLogger(),
    l1: { rpc: l1.anvil.url, addresses: l1.addresses, pollMs: 200, proposerKey: L1_KEYS[0] },
  })
}, 120_000)

afterAll(async () => {
  await node?.close()
  await l1?.stop()
})

describe('withdrawals on a dev chain, with viem op-stack actions', () => {
  it('deposit → withdraw → output → prove → finalise after the window; conservation holds', async () => {
    const l2 = l2ChainOf(l1.addresses, node.rpcUrl)
    const l2Public = createPublicClient({ chain: l2, transport: http(node.rpcUrl), cacheTime: 0 })
    const l2Wallet = createWalletClient({ chain: l2, account: user, transport: http(node.rpcUrl) })
    const l1Wallet = createWalletClient({ chain: l1.chain, account: user, transport: http(l1.anvil.url) })
    const balanceL1 = (a: `0x${string}`) =>
      l1.public.readContract({
        abi: OpenToken.abi,
        address: l1.addresses.contracts.openToken,
        functionName: 'balanceOf',
        args: [a],
      })

    await deposit(l1, L1_KEYS[1]!, parseEther('10'))
    await l1.test.mine({ blocks: 1 })
    await waitFor(
      async () => (await l1Block(node.rpcUrl).totalMinted()) === parseEther('10'),
      20_000,
      'minted',
    )

    const l1Before = (await balanceL1(user.address)) as bigint
    const hash = await initiateWithdrawal(
      l2Wallet as any,
      {
        request: { gas: 200_000n, to: user.address, value: parseEther('4') },
      } as any,
    )
    const receipt = await l2Public.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(await l2Public.getBalance({ address: MESSAGE_PASSER_ADDRESS })).toBe(0n)
    const [withdrawal] = getWithdrawals(receipt)
    const statusArgs = { receipt, targetChain: l2 } as any

    await waitFor(
      async () => (await getWithdrawalStatus(l1.public, statusArgs)) === 'ready-to-prove',
      30_000,
      'output covering the withdrawal',
    )
    const output = await getL2Output(l1.public, {
      l2BlockNumber: receipt.blockNumber,
      targetChain: l2,
    } as any)
    // The proposed root is the node's block: recompute it from RPC.
    const block = await l2Public.getBlock({ blockNumber: output.l2BlockNumber })
    const proof = await l2Public.getProof({
      address: MESSAGE_PASSER_ADDRESS,
      storageKeys: [],
      blockNumber: block.number,
    })
    expect(output.outputRoot).toBe(outputRootV0(block.stateRoot, proof.storageHash, block.hash))

    const args = await buildProveWithdrawal(l2Public as any, { withdrawal: withdrawal!, output } as any)
    const proveHash = await proveWithdrawal(l1Wallet as any, args as any)
    const proved = await l1.public.waitForTransactionReceipt({ hash: proveHash })
    expect(proved.status).toBe('success')
    expect(await getWithdrawalStatus(l1.public, statusArgs)).toBe('waiting-to-finalize')
    // Finalising early is refused (judged in the proof's own L1 block: no clock involved).
    const early = await l1.public
      .simulateContract({
        abi: Portal.abi,
        address: l1.addresses.contracts.portal,
        functionName: 'finalizeWithdrawalTransaction',
        args: [withdrawal],
        account: user,
        blockNumber: proved.blockNumber,
      })
      .catch((e: Error) => e)
    expect(String(early)).toMatch(/finalization period has not elapsed/)

    await waitFor(
      async () => (await getWithdrawalStatus(l1.public, statusArgs)) === 'ready-to-finalize',
      30_000,
      'finalisation window',
    )
    // viem reads the wall clock; the Portal judges by the L1 block: wait for a block past the window.
    const provedAt = (await l1.public.getBlock({ blockNumber: proved.blockNumber })).timestamp
    await waitFor(
      async () => (await l1.public.getBlock()).timestamp > provedAt + PERIOD,
      30_000,
      'an L1 block past the window',
    )
    const finHash = await finalizeWithdrawal(
      l1Wallet as any,
      { withdrawal: withdrawal!, targetChain: l2 } as any,
    )
    expect((await l1.public.waitForTransactionReceipt({ hash: finHash })).status).toBe('success')
    expect(await getWithdrawalStatus(l1.public, statusArgs)).toBe('finalized')
    expect(await balanceL1(user.address)).toBe(l1Before + parseEther('4'))

    // Conservation: locked in the Portal = minted by deposits − released by withdrawals.
    const locked = (await balanceL1(l1.addresses.contracts.portal)) as bigint
    const minted = await l1Block(node.rpcUrl).totalMinted()
    const released = (await l1.public.readContract({
      abi: Portal.abi,
      address: l1.addresses.contracts.portal,
      functionName: 'totalReleased',
    })) as bigint
    expect(locked).toBe(minted - released)
    expect(locked).toBe(parseEther('6'))
  })
})
