/**
 * Bridge test helpers: a real anvil L1 with the bridge deployed, deposits from a funded L1
 * account, and reads of the L2's L1Block predeploy.
 */
import {
  bridgePredeploys,
  type DeployParams,
  deployL1,
  L1_BLOCK_ADDRESS,
  type L1Addresses,
  L1Block,
  type LocalL1,
  l1ChainOf,
  OpenToken,
  Portal,
  startAnvil,
} from '@openledger/bridge'
import {
  type Address,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  parseEther,
  type TransactionReceipt,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** anvil's dev keys (the same mnemonic as the L2 dev accounts: the same addresses on both chains). */
export const L1_KEYS: Hex[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
]

/** L1 chain id of test anvils (distinct from every L2 chain id used in tests). */
export const L1_CHAIN_ID = 900

export interface TestL1 {
  anvil: LocalL1
  addresses: L1Addresses
  chain: Chain
  public: any
  test: any
  wallet(key?: Hex): any
  stop(): Promise<void>
}

export async function startTestL1(
  params: DeployParams,
  anvilOpts: { blockTime?: number } = {},
): Promise<TestL1> {
  const anvil = await startAnvil({ chainId: L1_CHAIN_ID, blockTime: anvilOpts.blockTime })
  try {
    const addresses = await deployL1({ rpcUrl: anvil.url, account: privateKeyToAccount(L1_KEYS[0]!), params })
    const chain = l1ChainOf(addresses, anvil.url)
    return {
      anvil,
      addresses,
      chain,
      public: createPublicClient({ chain, transport: http(anvil.url), cacheTime: 0 }),
      test: createTestClient({ chain, mode: 'anvil', transport: http(anvil.url) }),
      wallet: (key = L1_KEYS[0]!) =>
        createWalletClient({ chain, account: privateKeyToAccount(key), transport: http(anvil.url) }),
      stop: () => anvil.stop(),
    }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/** The dev genesis JSON with the bridge predeploys and the deployment's L2 chain id. */
export function withBridge(json: Record<string, unknown>, a: L1Addresses): Record<string, unknown> {
  return {
    ...json,
    chainId: a.l2ChainId,
    alloc: { ...(json.alloc as Record<string, unknown>), ...bridgePredeploys(a) },
  }
}

/** approve + depositERC20Transaction from `key`; returns the deposit's receipt. */
export async function deposit(
  l1: TestL1,
  key: Hex,
  mint: bigint,
  opts: { to?: Address; value?: bigint; gasLimit?: bigint; approve?: boolean } = {},
): Promise<TransactionReceipt> {
  const w = l1.wallet(key)
  const account = privateKeyToAccount(key)
  if (opts.approve !== false) {
    const a = await w.writeContract({
      abi: OpenToken.abi,
      address: l1.addresses.contracts.openToken,
      functionName: 'approve',
      args: [l1.addresses.contracts.portal, mint],
    })
    await l1.public.waitForTransactionReceipt({ hash: a })
  }
  const hash = await w.writeContract({
    abi: Portal.abi,
    address: l1.addresses.contracts.portal,
    functionName: 'depositERC20Transaction',
    args: [opts.to ?? account.address, mint, opts.value ?? 0n, opts.gasLimit ?? 100_000n, false, '0x'],
  })
  const r = await l1.public.waitForTransactionReceipt({ hash })
  if (r.status !== 'success') throw new Error('deposit reverted')
  return r
}

/** Transfers L1 OPEN from the deployer (who holds the supply). */
export async function fundL1Open(l1: TestL1, to: Address, amount = parseEther('1000')): Promise<void> {
  const hash = await l1.wallet().writeContract({
    abi: OpenToken.abi,
    address: l1.addresses.contracts.openToken,
    functionName: 'transfer',
    args: [to, amount],
  })
  await l1.public.waitForTransactionReceipt({ hash })
}

/** Reads a view of the L2's L1Block predeploy. */
export function l1Block(l2Url: string) {
  const c = createPublicClient({ transport: http(l2Url), cacheTime: 0 })
  const read = (functionName: string, args: readonly unknown[] = []) =>
    c.readContract({
      abi: L1Block.abi,
      address: L1_BLOCK_ADDRESS,
      functionName,
      args,
    } as never) as Promise<any>
  return {
    number: () => read('number') as Promise<bigint>,
    hash: () => read('hash') as Promise<Hex>,
    depositCount: () => read('depositCount') as Promise<bigint>,
    totalMinted: () => read('totalMinted') as Promise<bigint>,
    applied: (sourceHash: Hex) => read('applied', [sourceHash]) as Promise<bigint>,
  }
}
