/**
 * User-side bridge actions over JSON-RPC (the `openledger bridge` commands, the demo and the
 * benchmark use them): deposit on L1, withdraw on L2, and prove / finalise with viem's op-stack
 * actions against this deployment.
 */
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  buildProveWithdrawal,
  finalizeWithdrawal,
  type GetWithdrawalStatusReturnType,
  getL2Output,
  getWithdrawalStatus,
  getWithdrawals,
  proveWithdrawal,
} from 'viem/op-stack'
import { l1ChainOf, l2ChainOf } from './chains.ts'
import { L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS } from './constants.ts'
import { type Deposit, decodeDepositLog, TRANSACTION_DEPOSITED_TOPIC } from './deposits.ts'
import { L1Block, L2OutputOracle, L2ToL1MessagePasser, OpenToken, Portal } from './generated/artifacts.ts'
import type { L1Addresses } from './l1/addresses.ts'

export interface BridgeClients {
  addresses: L1Addresses
  l1Chain: Chain
  l2Chain: Chain
  l1: PublicClient
  l2: PublicClient
  account?: Account
  l1Wallet?: WalletClient
  l2Wallet?: WalletClient
}

export function bridgeClients(o: {
  l1Rpc: string
  l2Rpc: string
  addresses: L1Addresses
  key?: Hex
}): BridgeClients {
  const l1Chain = l1ChainOf(o.addresses, o.l1Rpc)
  const l2Chain = l2ChainOf(o.addresses, o.l2Rpc)
  const account = o.key ? privateKeyToAccount(o.key) : undefined
  return {
    addresses: o.addresses,
    l1Chain,
    l2Chain,
    l1: createPublicClient({ chain: l1Chain, transport: http(o.l1Rpc), cacheTime: 0 }) as PublicClient,
    l2: createPublicClient({ chain: l2Chain, transport: http(o.l2Rpc), cacheTime: 0 }) as PublicClient,
    account,
    l1Wallet: account ? createWalletClient({ chain: l1Chain, account, transport: http(o.l1Rpc) }) : undefined,
    l2Wallet: account ? createWalletClient({ chain: l2Chain, account, transport: http(o.l2Rpc) }) : undefined,
  }
}

function signer(c: BridgeClients): { account: Account; l1: WalletClient; l2: WalletClient } {
  if (!c.account || !c.l1Wallet || !c.l2Wallet) throw new Error('a key is required for this action (--key)')
  return { account: c.account, l1: c.l1Wallet, l2: c.l2Wallet }
}

async function mined(client: PublicClient, hash: Hex, what: string): Promise<TransactionReceipt> {
  const r = await client.waitForTransactionReceipt({ hash, timeout: 120_000 })
  if (r.status !== 'success') throw new Error(`${what} reverted (${hash})`)
  return r
}

/** The deposit a Portal transaction emitted. */
export function depositOf(receipt: TransactionReceipt): Deposit {
  const log = receipt.logs.find((l) => l.topics[0]?.toLowerCase() === TRANSACTION_DEPOSITED_TOPIC)
  if (!log) throw new Error(`transaction ${receipt.transactionHash} made no deposit`)
  return decodeDepositLog({ ...log, topics: log.topics as Hex[] })
}

/** approve (when the allowance is short) + depositERC20Transaction: `amount` wei of OPEN to `to` on L2. */
export async function depositOpen(
  c: BridgeClients,
  o: { amount: bigint; to?: Address; gasLimit?: bigint },
): Promise<{ receipt: TransactionReceipt; deposit: Deposit }> {
  const s = signer(c)
  const token = { abi: OpenToken.abi, address: c.addresses.contracts.openToken } as const
  const allowance = await c.l1.readContract({
    ...token,
    functionName: 'allowance',
    args: [s.account.address, c.addresses.contracts.portal],
  })
  if (allowance < o.amount) {
    const h = await s.l1.writeContract({
      ...token,
      functionName: 'approve',
      args: [c.addresses.contracts.portal, o.amount],
      chain: c.l1Chain,
      account: s.account,
    })
    await mined(c.l1, h, 'approve')
  }
  const call = {
    abi: Portal.abi,
    address: c.addresses.contracts.portal,
    functionName: 'depositERC20Transaction',
    args: [o.to ?? s.account.address, o.amount, 0n, o.gasLimit ?? 100_000n, false, '0x'],
    account: s.account,
  } as const
  // The estimate depends on the per-L1-block budget slot, which other deposits in the same L1
  // block change: without a margin a deposit can run out of gas (seen with 8 parallel senders).
  const gas = ((await c.l1.estimateContractGas(call)) * 13n) / 10n
  const hash = await s.l1.writeContract({ ...call, gas, chain: c.l1Chain })
  const receipt = await mined(c.l1, hash, 'deposit')
  return { receipt, deposit: depositOf(receipt) }
}

/** The L2 block that applied a deposit (0n: not yet). */
export async function depositAppliedAt(c: BridgeClients, sourceHash: Hex): Promise<bigint> {
  return c.l2.readContract({
    abi: L1Block.abi,
    address: L1_BLOCK_ADDRESS,
    functionName: 'applied',
    args: [sourceHash],
  })
}

/** initiateWithdrawal on the message passer: `amount` wei of OPEN to `to` on L1. */
export async function withdrawOpen(
  c: BridgeClients,
  o: { amount: bigint; to?: Address },
): Promise<{ receipt: TransactionReceipt; withdrawal: ReturnType<typeof getWithdrawals>[number] }> {
  const s = signer(c)
  const hash = await s.l2.writeContract({
    abi: L2ToL1MessagePasser.abi,
    address: MESSAGE_PASSER_ADDRESS,
    functionName: 'initiateWithdrawal',
    args: [o.to ?? s.account.address, 100_000n, '0x'],
    value: o.amount,
    chain: c.l2Chain,
    account: s.account,
  })
  const receipt = await mined(c.l2, hash, 'withdrawal')
  const [withdrawal] = getWithdrawals(receipt)
  if (!withdrawal) throw new Error(`transaction ${hash} started no withdrawal`)
  return { receipt, withdrawal }
}

async function l2Receipt(c: BridgeClients, l2Tx: Hex) {
  const receipt = await c.l2.getTransactionReceipt({ hash: l2Tx })
  const [withdrawal] = getWithdrawals(receipt)
  if (!withdrawal) throw new Error(`L2 transaction ${l2Tx} started no withdrawal`)
  return { receipt, withdrawal }
}

// viem's op-stack parameter types are unions over the chain configuration; the deployment's
// chains are built at run time, so the calls go through these narrow casts.
type Loose = Parameters<typeof getWithdrawalStatus>[1]

export async function withdrawalStatus(c: BridgeClients, l2Tx: Hex): Promise<GetWithdrawalStatusReturnType> {
  const { receipt } = await l2Receipt(c, l2Tx)
  return getWithdrawalStatus(c.l1, { receipt, targetChain: c.l2Chain } as unknown as Loose)
}

/** Proves the withdrawal of `l2Tx` against the first output that covers its block (viem op-stack). */
export async function proveWithdrawalTx(c: BridgeClients, l2Tx: Hex): Promise<TransactionReceipt> {
  const s = signer(c)
  const { receipt, withdrawal } = await l2Receipt(c, l2Tx)
  const output = await getL2Output(c.l1, {
    l2BlockNumber: receipt.blockNumber,
    targetChain: c.l2Chain,
  } as unknown as Parameters<typeof getL2Output>[1])
  const args = await buildProveWithdrawal(c.l2, {
    withdrawal,
    output,
  } as unknown as Parameters<typeof buildProveWithdrawal>[1])
  const hash = await proveWithdrawal(s.l1, {
    ...args,
    account: s.account,
    chain: c.l1Chain,
  } as unknown as Parameters<typeof proveWithdrawal>[1])
  return mined(c.l1, hash, 'prove')
}

/** Finalises the withdrawal of `l2Tx` (viem op-stack `finalizeWithdrawal`). */
export async function finalizeWithdrawalTx(c: BridgeClients, l2Tx: Hex): Promise<TransactionReceipt> {
  const s = signer(c)
  const { withdrawal } = await l2Receipt(c, l2Tx)
  const hash = await finalizeWithdrawal(s.l1, {
    withdrawal,
    targetChain: c.l2Chain,
    account: s.account,
    chain: c.l1Chain,
  } as unknown as Parameters<typeof finalizeWithdrawal>[1])
  return mined(c.l1, hash, 'finalize')
}

/** True once the latest L1 block is past the window of the proof made in `provedInBlock`. */
export async function finalizationElapsed(c: BridgeClients, provedInBlock: bigint): Promise<boolean> {
  const [proved, latest, period] = await Promise.all([
    c.l1.getBlock({ blockNumber: provedInBlock }),
    c.l1.getBlock(),
    c.l1.readContract({
      abi: L2OutputOracle.abi,
      address: c.addresses.contracts.l2OutputOracle,
      functionName: 'finalizationPeriodSeconds',
    }),
  ])
  return latest.timestamp > proved.timestamp + period
}

export interface BridgeStatus {
  l1Head: bigint
  l2Head: bigint
  l1Origin: bigint
  depositCount: bigint
  /** wei: OPEN minted on L2 by deposits. */
  minted: bigint
  /** wei: OPEN held by the Portal on L1. */
  locked: bigint
  /** wei: OPEN the Portal released to finalised withdrawals. */
  released: bigint
  outputs: bigint
  latestOutputBlock: bigint
  nextOutputBlock: bigint
  /** locked == minted − released */
  conserved: boolean
}

export async function bridgeStatus(c: BridgeClients): Promise<BridgeStatus> {
  const a = c.addresses.contracts
  const l1b = (functionName: 'number' | 'depositCount' | 'totalMinted') =>
    c.l2.readContract({ abi: L1Block.abi, address: L1_BLOCK_ADDRESS, functionName })
  const oracle = (functionName: 'nextOutputIndex' | 'latestBlockNumber' | 'nextBlockNumber') =>
    c.l1.readContract({ abi: L2OutputOracle.abi, address: a.l2OutputOracle, functionName })
  const [l1Head, l2Head, l1Origin, depositCount, minted, locked, released, outputs, latest, next] =
    await Promise.all([
      c.l1.getBlockNumber(),
      c.l2.getBlockNumber(),
      l1b('number'),
      l1b('depositCount'),
      l1b('totalMinted'),
      c.l1.readContract({
        abi: OpenToken.abi,
        address: a.openToken,
        functionName: 'balanceOf',
        args: [a.portal],
      }),
      c.l1.readContract({ abi: Portal.abi, address: a.portal, functionName: 'totalReleased' }),
      oracle('nextOutputIndex'),
      oracle('latestBlockNumber'),
      oracle('nextBlockNumber'),
    ])
  return {
    l1Head,
    l2Head,
    l1Origin: BigInt(l1Origin),
    depositCount,
    minted,
    locked,
    released,
    outputs,
    latestOutputBlock: latest,
    nextOutputBlock: next,
    conserved: locked === minted - released,
  }
}
