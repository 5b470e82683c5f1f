/**
 * Deposits end to end on a real anvil L1 and a dev node: OPEN locked in the Portal is minted on L2
 * exactly once, only after the confirmation depth, and an L1 reorg shallower than that depth
 * neither loses nor doubles a deposit.
 */
import { type Deposit, decodeDepositLog, TRANSACTION_DEPOSITED_TOPIC } from '@openledger/bridge'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, OpenLedgerNode, silentLogger } from '@openledger/node'
import { createPublicClient, type Hex, http, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
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
import { tempDir, waitFor } from '../helpers/dev-node.ts'

const user = privateKeyToAccount(L1_KEYS[1]!)
let l1: TestL1
let node: OpenLedgerNode
let dir: { path: string; remove: () => Promise<void> }
let genesisJson: Record<string, unknown>

function depositOf(receipt: { logs: readonly any[] }): Deposit {
  const log = receipt.logs.find((l) => l.topics[0] === TRANSACTION_DEPOSITED_TOPIC)
  return decodeDepositLog({ ...log, blockNumber: BigInt(log.blockNumber), logIndex: Number(log.logIndex) })
}

async function startNode(): Promise<OpenLedgerNode> {
  return OpenLedgerNode.startDev({
    datadir: dir.path,
    genesis: parseGenesis(genesisJson),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts: [],
    log: silentLogger(),
    l1: { rpc: l1.anvil.url, addresses: l1.addresses, pollMs: 100 },
  })
}

const l2Balance = (a: Hex) =>
  createPublicClient({ transport: http(node.rpcUrl), cacheTime: 0 }).getBalance({ address: a })

beforeAll(async () => {
  l1 = await startTestL1({
    l2ChainId: 1337,
    validators: [],
    proposer: privateKeyToAccount(L1_KEYS[0]!).address,
    confirmations: 2,
  })
  await fundL1Open(l1, user.address)
  dir = await tempDir('ol-bridge-')
  genesisJson = withBridge((await buildDevGenesis({})).json, l1.addresses)
  node = await startNode()
}, 120_000)

afterAll(async () => {
  await node?.close()
  await l1?.stop()
  await dir?.remove()
})

describe('deposits on a dev chain', () => {
  it('mints once, after the confirmation depth', async () => {
    const before = await l2Balance(user.address)
    const r = await deposit(l1, L1_KEYS[1]!, parseEther('5'))
    const d = depositOf(r)
    const view = l1Block(node.rpcUrl)
    // One confirmation is not enough.
    await l1.test.mine({ blocks: 1 })
    await node.bridge!.refresh()
    expect(await view.applied(d.sourceHash)).toBe(0n)
    await l1.test.mine({ blocks: 1 })
    const at = await waitFor(
      async () => (await view.applied(d.sourceHash)) || undefined,
      20_000,
      'deposit applied',
    )
    expect(await l2Balance(user.address)).toBe(before + parseEther('5'))
    expect(await view.depositCount()).toBe(1n)
    expect(await view.totalMinted()).toBe(parseEther('5'))
    // The L2 block that applied it commits to its L1 origin in parentBeaconBlockRoot.
    const block = await createPublicClient({ transport: http(node.rpcUrl) }).getBlock({ blockNumber: at })
    expect(block.parentBeaconBlockRoot).toBe(await view.hash())
    // More L1 blocks and L2 blocks: still once.
    await l1.test.mine({ blocks: 3 })
    await node.sealer.mine()
    await node.bridge!.refresh()
    await node.sealer.mine()
    expect(await l2Balance(user.address)).toBe(before + parseEther('5'))
    expect(await view.depositCount()).toBe(1n)
  })

  it('an L1 reorg shallower than the confirmation depth re-includes a deposit: minted once, from the new block', async () => {
    const view = l1Block(node.rpcUrl)
    const before = await l2Balance(user.address)
    const count = await view.depositCount()
    const r = await deposit(l1, L1_KEYS[1]!, parseEther('2'))
    const original = depositOf(r)
    const tx = await l1.public.getTransaction({ hash: r.transactionHash })
    const raw = await l1.public.request({
      method: 'eth_getRawTransactionByHash',
      params: [r.transactionHash],
    })
    // Replace the deposit's block (depth 1 < 2 confirmations); the same signed transaction lands
    // in the new block 0 of the reorg.
    await l1.test.request({ method: 'anvil_reorg', params: [1, [[raw, 0]]] })
    const moved = await l1.public.getTransactionReceipt({ hash: tx.hash })
    expect(moved.blockHash).not.toBe(r.blockHash)
    const again = depositOf(moved)
    expect(again.sourceHash).not.toBe(original.sourceHash)
    await l1.test.mine({ blocks: 2 })
    await waitFor(
      async () => (await view.applied(again.sourceHash)) || undefined,
      20_000,
      're-included deposit',
    )
    expect(await view.applied(original.sourceHash)).toBe(0n)
    expect(await view.depositCount()).toBe(count + 1n)
    expect(await l2Balance(user.address)).toBe(before + parseEther('2'))
  })

  it('a deposit reorged out before confirmation is never minted', async () => {
    const view = l1Block(node.rpcUrl)
    const before = await l2Balance(user.address)
    const count = await view.depositCount()
    const r = await deposit(l1, L1_KEYS[1]!, parseEther('3'))
    const d = depositOf(r)
    await l1.test.request({ method: 'anvil_reorg', params: [1, []] })
    await l1.test.mine({ blocks: 3 })
    await node.bridge!.refresh()
    await node.sealer.mine()
    expect(await view.applied(d.sourceHash)).toBe(0n)
    expect(await view.depositCount()).toBe(count)
    expect(await l2Balance(user.address)).toBe(before)
  })

  it('a restart between the deposit and its confirmation mints it once', async () => {
    const view = l1Block(node.rpcUrl)
    const before = await l2Balance(user.address)
    const r = await deposit(l1, L1_KEYS[1]!, parseEther('7'))
    const d = depositOf(r)
    await node.close()
    await l1.test.mine({ blocks: 2 })
    node = await startNode()
    await waitFor(
      async () => (await l1Block(node.rpcUrl).applied(d.sourceHash)) || undefined,
      20_000,
      'applied',
    )
    // And a restart after it was applied does not apply it again.
    await node.close()
    node = await startNode()
    await l1.test.mine({ blocks: 2 })
    await node.bridge!.refresh()
    await node.sealer.mine()
    expect(await l2Balance(user.address)).toBe(before + parseEther('7'))
    void view
  })
})
