/** Test helpers: real anvil processes and a deployment on them. */
import {
  type Address,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  parseEther,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import {
  type DeployParams,
  deployL1,
  type L1Addresses,
  type LocalL1,
  l1ChainOf,
  OpenToken,
  startAnvil,
} from '../src/index.ts'

/** anvil's first dev account (mnemonic "test test … junk"). */
export const ANVIL_KEYS: Hex[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
]

export function sortedKeys(n: number): Hex[] {
  const keys = Array.from({ length: n }, () => generatePrivateKey())
  return keys.sort((a, b) => {
    const x = BigInt(privateKeyToAccount(a).address)
    const y = BigInt(privateKeyToAccount(b).address)
    return x < y ? -1 : 1
  })
}

export interface L1Fixture {
  anvil: LocalL1
  addresses: L1Addresses
  chain: Chain
  public: ReturnType<typeof createPublicClient>
  test: ReturnType<typeof createTestClient>
  deployer: ReturnType<typeof privateKeyToAccount>
  wallet: (key?: Hex) => ReturnType<typeof createWalletClient>
  stop(): Promise<void>
}

export async function startL1(
  params: DeployParams,
  anvilArgs: { blockTime?: number } = {},
): Promise<L1Fixture> {
  const anvil = await startAnvil({ blockTime: anvilArgs.blockTime })
  try {
    const deployer = privateKeyToAccount(ANVIL_KEYS[0]!)
    const addresses = await deployL1({ rpcUrl: anvil.url, account: deployer, params })
    const chain = l1ChainOf(addresses, anvil.url)
    const pub = createPublicClient({ chain, transport: http(anvil.url), cacheTime: 0 })
    const test = createTestClient({ chain, mode: 'anvil', transport: http(anvil.url) })
    return {
      anvil,
      addresses,
      chain,
      public: pub as never,
      test: test as never,
      deployer,
      wallet: (key = ANVIL_KEYS[0]!) =>
        createWalletClient({ chain, account: privateKeyToAccount(key), transport: http(anvil.url) }) as never,
      stop: () => anvil.stop(),
    }
  } catch (e) {
    await anvil.stop()
    throw e
  }
}

/** Sends OPEN from the deployer (who holds the supply) and returns the receipt status. */
export async function fundOpen(l1: L1Fixture, to: Address, amount = parseEther('1000')): Promise<void> {
  const w = l1.wallet()
  const hash = await w.writeContract({
    abi: OpenToken.abi,
    address: l1.addresses.contracts.openToken,
    functionName: 'transfer',
    args: [to, amount],
    chain: l1.chain,
    account: l1.deployer,
  })
  await l1.public.waitForTransactionReceipt({ hash })
}
