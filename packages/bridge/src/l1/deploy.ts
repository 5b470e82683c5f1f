/**
 * Deploys the L1 side of the bridge (OPEN unless one is given, L2OutputOracle, Portal, and a
 * Multicall3 when the L1 has none at the canonical address) and returns the addresses file.
 */
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  parseEther,
} from 'viem'
import { L2OutputOracle, Multicall3, OpenToken, Portal } from '../generated/artifacts.ts'
import type { L1Addresses } from './addresses.ts'

/** Where Multicall3 lives on every public chain (deployed by a keyless transaction). */
export const CANONICAL_MULTICALL3: Address = '0xcA11bde05977b3631167028862bE2a173976CA11'

export interface DeployParams {
  l2ChainId: number
  /** QBFT validators of the L2 (sorted here); empty: single-proposer mode with `proposer`. */
  validators: readonly Address[]
  /** Required without validators; with validators, unused (anyone may submit signed outputs). */
  proposer?: Address
  /** May delete outputs before finalisation; default the deployer. */
  challenger?: Address
  submissionInterval?: bigint
  finalizationPeriodSeconds?: bigint
  l2BlockTime?: bigint
  startingBlockNumber?: bigint
  startingTimestamp?: bigint
  confirmations?: number
  maxDepositGasPerBlock?: bigint
  /** An existing OPEN token on the L1; default: deploy one. */
  token?: Address
  /** Supply of a new OPEN token, minted to `tokenHolder` (default the deployer). */
  tokenSupply?: bigint
  tokenHolder?: Address
}

export const DEPLOY_DEFAULTS = {
  submissionInterval: 10n,
  finalizationPeriodSeconds: 12n,
  l2BlockTime: 1n,
  confirmations: 2,
  maxDepositGasPerBlock: 10_000_000n,
  tokenSupply: parseEther('1000000000'),
} as const

/** A viem chain for an L1 reached by URL (chain id read from it), with its Multicall3. */
export function l1Chain(id: number, url: string, multicall3?: Address): Chain {
  return defineChain({
    id,
    name: `L1 ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
    contracts: multicall3 ? { multicall3: { address: multicall3 } } : undefined,
  })
}

export async function deployL1(opts: {
  rpcUrl: string
  account: Account
  params: DeployParams
}): Promise<L1Addresses> {
  const probe = createPublicClient({ transport: http(opts.rpcUrl) })
  const l1ChainId = await probe.getChainId()
  const chain = l1Chain(l1ChainId, opts.rpcUrl)
  const publicClient = createPublicClient({ chain, transport: http(opts.rpcUrl) })
  const wallet = createWalletClient({ chain, account: opts.account, transport: http(opts.rpcUrl) })
  const p = opts.params
  const deployer = opts.account.address
  const validators = [...p.validators].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  if (validators.length === 0 && p.proposer === undefined)
    throw new Error('deploy: give the L2 validators (signed outputs) or a proposer address')

  const deploy = async (abi: readonly unknown[], bytecode: Hex, args: readonly unknown[]) => {
    const hash = await wallet.deployContract({ abi, bytecode, args } as never)
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || !receipt.contractAddress)
      throw new Error(`deploy: transaction ${hash} failed`)
    return receipt
  }

  let multicall3 = CANONICAL_MULTICALL3
  const code = await publicClient.getCode({ address: CANONICAL_MULTICALL3 })
  if (code === undefined || code === '0x')
    multicall3 = (await deploy(Multicall3.abi, Multicall3.bytecode, [])).contractAddress!

  let token = p.token
  if (token === undefined) {
    const supply = p.tokenSupply ?? DEPLOY_DEFAULTS.tokenSupply
    token = (await deploy(OpenToken.abi, OpenToken.bytecode, [p.tokenHolder ?? deployer, supply]))
      .contractAddress!
  }

  const submissionInterval = p.submissionInterval ?? DEPLOY_DEFAULTS.submissionInterval
  const finalizationPeriodSeconds = p.finalizationPeriodSeconds ?? DEPLOY_DEFAULTS.finalizationPeriodSeconds
  const l2BlockTime = p.l2BlockTime ?? DEPLOY_DEFAULTS.l2BlockTime
  const oracle = await deploy(L2OutputOracle.abi, L2OutputOracle.bytecode, [
    BigInt(p.l2ChainId),
    submissionInterval,
    l2BlockTime,
    p.startingBlockNumber ?? 0n,
    p.startingTimestamp ?? 0n,
    validators.length > 0 ? '0x0000000000000000000000000000000000000000' : p.proposer!,
    p.challenger ?? deployer,
    finalizationPeriodSeconds,
    validators,
  ])
  const maxDepositGasPerBlock = p.maxDepositGasPerBlock ?? DEPLOY_DEFAULTS.maxDepositGasPerBlock
  const portal = await deploy(Portal.abi, Portal.bytecode, [
    oracle.contractAddress!,
    token,
    maxDepositGasPerBlock,
  ])
  // Derivation covers every L1 block after the one before the Portal existed.
  const start = await publicClient.getBlock({ blockNumber: portal.blockNumber - 1n })
  return {
    version: 1,
    l1ChainId,
    l2ChainId: p.l2ChainId,
    startBlock: { number: start.number, hash: start.hash },
    contracts: {
      openToken: token,
      l2OutputOracle: oracle.contractAddress!,
      portal: portal.contractAddress!,
      multicall3,
    },
    params: {
      confirmations: p.confirmations ?? DEPLOY_DEFAULTS.confirmations,
      submissionInterval,
      finalizationPeriodSeconds,
      l2BlockTime,
      maxDepositGasPerBlock,
    },
  }
}
