/**
 * viem-style actions for the three system modules: `action(client, namedArgs)`. Argument and
 * return types come from the ABI generated from the Solidity interfaces, so a renamed parameter
 * or changed type in IDatanets.sol / IModels.sol / IAttribution.sol is a type error here.
 * Write actions send a transaction and resolve to its hash (use viem's simulateContract with the
 * exported ABIs when the return value is needed before mining); read actions use eth_call.
 */
import type {
  Abi,
  AbiParameterToPrimitiveType,
  Account,
  Address,
  Chain,
  Client,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hash,
  Transport,
} from 'viem'
import { readContract, simulateContract, writeContract } from 'viem/actions'
import { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../sol/abi.ts'

export const DATANETS: Address = '0x4f50454e00000000000000000000000000000001'
export const MODELS: Address = '0x4f50454e00000000000000000000000000000002'
export const ATTRIBUTION: Address = '0x4f50454e00000000000000000000000000000003'
export const MODEL_FACTORY: Address = '0x4f50454e00000000000000000000000000000006'

type AbiFn<abi extends Abi, name extends string> = Extract<abi[number], { type: 'function'; name: name }>

/** A function's inputs as an object keyed by the Solidity parameter names. */
export type NamedArgs<abi extends Abi, name extends string> = {
  [P in AbiFn<abi, name>['inputs'][number] as P['name'] & string]: AbiParameterToPrimitiveType<P, 'inputs'>
}

export type AnyClient = Client<Transport, Chain | undefined, Account | undefined>

/** Transaction options of write actions (the rest comes from the client). */
export interface WriteOptions {
  account?: Account | Address
  chain?: Chain | null
  gas?: bigint
  nonce?: number
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  /** msg.value of payable functions without a fixed value rule (postJob, challengeJob). */
  value?: bigint
}

export interface ReadOptions {
  /** msg.sender of the eth_call. */
  account?: Account | Address
  blockNumber?: bigint
}

type Mutability = 'nonpayable' | 'payable'

function orderedArgs(abi: Abi, functionName: string, named: Record<string, unknown>): unknown[] {
  const fn = abi.find((i) => i.type === 'function' && i.name === functionName)
  if (fn === undefined || fn.type !== 'function') throw new Error(`unknown function ${functionName}`)
  return fn.inputs.map((input) => {
    const key = input.name as string
    if (!(key in named)) throw new TypeError(`${functionName}: missing argument "${key}"`)
    return named[key]
  })
}

export function writeAction<const abi extends Abi, const name extends ContractFunctionName<abi, Mutability>>(
  address: Address,
  abi: abi,
  functionName: name,
  msgValue?: (args: NamedArgs<abi, name>) => bigint,
) {
  return (client: AnyClient, params: NamedArgs<abi, name> & WriteOptions): Promise<Hash> => {
    const named = params as unknown as Record<string, unknown>
    const args = orderedArgs(abi, functionName, named)
    const { account, chain, gas, nonce, maxFeePerGas, maxPriorityFeePerGas } = params as WriteOptions
    return writeContract(client, {
      address,
      abi,
      functionName,
      args,
      account: account ?? client.account,
      // A client without a chain still works: viem then asks the node for its chain id.
      chain: chain === undefined ? (client.chain ?? null) : chain,
      gas,
      nonce,
      maxFeePerGas,
      maxPriorityFeePerGas,
      value: msgValue?.(params) ?? (params as WriteOptions).value,
    } as unknown as Parameters<typeof writeContract>[1])
  }
}

export function simulateAction<
  const abi extends Abi,
  const name extends ContractFunctionName<abi, Mutability>,
>(address: Address, abi: abi, functionName: name, msgValue?: (args: NamedArgs<abi, name>) => bigint) {
  return async (
    client: AnyClient,
    params: NamedArgs<abi, name> & WriteOptions,
  ): Promise<ContractFunctionReturnType<abi, Mutability, name>> => {
    const args = orderedArgs(abi, functionName, params as unknown as Record<string, unknown>)
    const { account } = params as WriteOptions
    const { result } = await simulateContract(client, {
      address,
      abi,
      functionName,
      args,
      account: account ?? client.account,
      value: msgValue?.(params) ?? (params as WriteOptions).value,
    } as unknown as Parameters<typeof simulateContract>[1])
    return result as ContractFunctionReturnType<abi, Mutability, name>
  }
}

export function readAction<
  const abi extends Abi,
  const name extends ContractFunctionName<abi, 'view' | 'pure'>,
>(address: Address, abi: abi, functionName: name) {
  return async (
    client: AnyClient,
    params: NamedArgs<abi, name> & ReadOptions,
  ): Promise<ContractFunctionReturnType<abi, 'view' | 'pure', name>> => {
    const args = orderedArgs(abi, functionName, params as unknown as Record<string, unknown>)
    const { account, blockNumber } = params as ReadOptions
    return (await readContract(client, {
      address,
      abi,
      functionName,
      args,
      account,
      blockNumber,
    } as unknown as Parameters<typeof readContract>[1])) as ContractFunctionReturnType<
      abi,
      'view' | 'pure',
      name
    >
  }
}

// ---- Datanets ----
export const createDatanet = writeAction(DATANETS, datanetsAbi, 'createDatanet')
export const transferDatanetOwnership = writeAction(DATANETS, datanetsAbi, 'transferDatanetOwnership')
export const setContributionPolicy = writeAction(DATANETS, datanetsAbi, 'setContributionPolicy')
export const setCurator = writeAction(DATANETS, datanetsAbi, 'setCurator')
export const setAllowListed = writeAction(DATANETS, datanetsAbi, 'setAllowListed')
export const contribute = writeAction(DATANETS, datanetsAbi, 'contribute')
export const approveContribution = writeAction(DATANETS, datanetsAbi, 'approveContribution')
export const rejectContribution = writeAction(DATANETS, datanetsAbi, 'rejectContribution')
export const publishVersion = writeAction(DATANETS, datanetsAbi, 'publishVersion')
export const transferShares = writeAction(DATANETS, datanetsAbi, 'transferShares')
export const setApprovalForAll = writeAction(DATANETS, datanetsAbi, 'setApprovalForAll')
export const revokeApproval = writeAction(DATANETS, datanetsAbi, 'revokeApproval')
export const setRequiredApprovals = writeAction(DATANETS, datanetsAbi, 'setRequiredApprovals')
export const setLicence = writeAction(DATANETS, datanetsAbi, 'setLicence')
export const setModelOwnerAllowed = writeAction(DATANETS, datanetsAbi, 'setModelOwnerAllowed')
export const setContentPolicy = writeAction(DATANETS, datanetsAbi, 'setContentPolicy')
export const simulateCreateDatanet = simulateAction(DATANETS, datanetsAbi, 'createDatanet')
export const simulateContribute = simulateAction(DATANETS, datanetsAbi, 'contribute')
export const simulatePublishVersion = simulateAction(DATANETS, datanetsAbi, 'publishVersion')

export const getDatanetCount = readAction(DATANETS, datanetsAbi, 'datanetCount')
export const getDatanet = readAction(DATANETS, datanetsAbi, 'getDatanet')
export const getContribution = readAction(DATANETS, datanetsAbi, 'getContribution')
export const getDatanetVersion = readAction(DATANETS, datanetsAbi, 'getVersion')
export const getApprovedContributionAt = readAction(DATANETS, datanetsAbi, 'approvedContributionAt')
export const isCurator = readAction(DATANETS, datanetsAbi, 'isCurator')
export const isAllowListed = readAction(DATANETS, datanetsAbi, 'isAllowListed')
export const getShareBalance = readAction(DATANETS, datanetsAbi, 'balanceOf')
export const getTotalShares = readAction(DATANETS, datanetsAbi, 'totalSupply')
export const isApprovedForAll = readAction(DATANETS, datanetsAbi, 'isApprovedForAll')
export const getHeldDatanets = readAction(DATANETS, datanetsAbi, 'heldDatanets')
export const getHeldShareTokens = readAction(DATANETS, datanetsAbi, 'heldShareTokens')
export const getDatanetVersionDetails = readAction(DATANETS, datanetsAbi, 'getVersionDetails')
export const getDatanetTerms = readAction(DATANETS, datanetsAbi, 'getDatanetTerms')
export const isModelOwnerAllowed = readAction(DATANETS, datanetsAbi, 'isModelOwnerAllowed')
export const getApprovals = readAction(DATANETS, datanetsAbi, 'getApprovals')
/** The chain's answer for shareTokenId (the same as the local `shareTokenId` helper). */
export const getShareTokenId = readAction(DATANETS, datanetsAbi, 'shareTokenId')

// ---- Models ----
export const registerModel = writeAction(MODELS, modelsAbi, 'registerModel')
export const publishModelVersion = writeAction(MODELS, modelsAbi, 'publishModelVersion')
export const transferModelOwnership = writeAction(MODELS, modelsAbi, 'transferModelOwnership')
export const setProvider = writeAction(MODELS, modelsAbi, 'setProvider')
export const setMinFee = writeAction(MODELS, modelsAbi, 'setMinFee')
export const setDerivativeTerms = writeAction(MODELS, modelsAbi, 'setDerivativeTerms')
export const simulateRegisterModel = simulateAction(MODELS, modelsAbi, 'registerModel')
export const registerBaseModel = writeAction(MODELS, modelsAbi, 'registerBaseModel')
export const registerAdapter = writeAction(MODELS, modelsAbi, 'registerAdapter')
export const getTrainingSpec = readAction(MODELS, modelsAbi, 'getTrainingSpec')

export const getModelCount = readAction(MODELS, modelsAbi, 'modelCount')
export const getModel = readAction(MODELS, modelsAbi, 'getModel')
export const getModelVersion = readAction(MODELS, modelsAbi, 'getModelVersion')
export const isTrainedOn = readAction(MODELS, modelsAbi, 'isTrainedOn')
export const getModelTerms = readAction(MODELS, modelsAbi, 'getModelTerms')

// ---- Attribution ----
/** Settles a signed receipt; msg.value is the receipt's fee. */
export const settle = writeAction(ATTRIBUTION, attributionAbi, 'settle', (a) => a.receipt.fee)
export const simulateSettle = simulateAction(ATTRIBUTION, attributionAbi, 'settle', (a) => a.receipt.fee)
export const claim = writeAction(ATTRIBUTION, attributionAbi, 'claim')
export const simulateClaim = simulateAction(ATTRIBUTION, attributionAbi, 'claim')

export const getClaimable = readAction(ATTRIBUTION, attributionAbi, 'claimable')
export const getReceipt = readAction(ATTRIBUTION, attributionAbi, 'getReceipt')
export const getReceiptDigest = readAction(ATTRIBUTION, attributionAbi, 'receiptDigest')
export const isNonceUsed = readAction(ATTRIBUTION, attributionAbi, 'isNonceUsed')
export const getRewardPerShare = readAction(ATTRIBUTION, attributionAbi, 'rewardPerShare')
export const getRewardIndex = readAction(ATTRIBUTION, attributionAbi, 'rewardIndex')
export const getSplitParams = readAction(ATTRIBUTION, attributionAbi, 'splitParams')
export const getParameters = readAction(ATTRIBUTION, attributionAbi, 'parameters')
export const getParameter = readAction(ATTRIBUTION, attributionAbi, 'getParameter')
/** Adds `value` to the caller's provider bond. */
export const bondProvider = writeAction(ATTRIBUTION, attributionAbi, 'bondProvider')
export const unbondProvider = writeAction(ATTRIBUTION, attributionAbi, 'unbondProvider')
export const getProviderBond = readAction(ATTRIBUTION, attributionAbi, 'providerBond')
/** Credits an unchallenged receipt after its challenge window (anyone; the receipt as settled). */
export const finalizeReceipt = writeAction(ATTRIBUTION, attributionAbi, 'finalize')
/** Challenges a receipt in its window; `value` must be the `challengerBond` parameter. */
export const challengeReceipt = writeAction(ATTRIBUTION, attributionAbi, 'challenge')
/** Reveals a challenged receipt's output: the chain re-runs attribution and resolves the challenge. */
export const revealOutput = writeAction(ATTRIBUTION, attributionAbi, 'reveal')
export const simulateReveal = simulateAction(ATTRIBUTION, attributionAbi, 'reveal')
export const resolveUnrevealed = writeAction(ATTRIBUTION, attributionAbi, 'resolveUnrevealed')
export const getChallenge = readAction(ATTRIBUTION, attributionAbi, 'getChallenge')
/** Governance only: what an executed proposal calls (see IAttribution.setParameter). */
export const setParameter = writeAction(ATTRIBUTION, attributionAbi, 'setParameter')

// ---- ModelFactory jobs ----
/** Posts a job; msg.value is the payment (`value`). */
export const postJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'postJob')
export const claimJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'claimJob')
export const submitJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'submitJob')
export const acceptJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'acceptJob')
export const finalizeJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'finalizeJob')
/** Challenges a submission; msg.value is the bond (`value`). */
export const challengeJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'challengeJob')
export const resolveJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'resolveJob')
export const refundJob = writeAction(MODEL_FACTORY, modelFactoryAbi, 'refundJob')
export const getJobCount = readAction(MODEL_FACTORY, modelFactoryAbi, 'jobCount')
export const getJob = readAction(MODEL_FACTORY, modelFactoryAbi, 'getJob')
export const getJobParams = readAction(MODEL_FACTORY, modelFactoryAbi, 'jobParams')
