/**
 * The L1 contracts over JSON-RPC on a real anvil, driven by viem's op-stack actions. The L2 side
 * here is a second anvil with the L2ToL1MessagePasser predeploy's runtime code at
 * 0x42…16, so proofs are real eth_getProof proofs of a real trie (the node's own tests do the
 * same against OpenLedger nodes).
 */
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  parseEther,
  parseEventLogs,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  buildProveWithdrawal as buildProveWithdrawal_,
  extractTransactionDepositedLogs,
  finalizeWithdrawal as finalizeWithdrawal_,
  getL2Output as getL2Output_,
  getWithdrawalStatus as getWithdrawalStatus_,
  getWithdrawals,
  opaqueDataToDepositData,
  proveWithdrawal as proveWithdrawal_,
} from 'viem/op-stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileSources } from '../scripts/compile.ts'
import {
  L2OutputOracle,
  L2ToL1MessagePasser,
  type LocalL1,
  l2ChainOf,
  MESSAGE_PASSER_ADDRESS,
  OpenToken,
  outputRootV0,
  Portal,
  signOutput,
  sortSignatures,
  startAnvil,
  validatorsHash,
  withdrawalHash,
} from '../src/index.ts'
import { ANVIL_KEYS, fundOpen, type L1Fixture, sortedKeys, startL1 } from './helpers.ts'

// viem's op-stack parameter types are unions keyed on the chain; the tests pass plain objects.
const getWithdrawalStatus = (c: unknown, a: object) => getWithdrawalStatus_(c as any, a as any)
const getL2Output = (c: unknown, a: object) => getL2Output_(c as any, a as any)
const buildProveWithdrawal = (c: unknown, a: object) => buildProveWithdrawal_(c as any, a as any)
const proveWithdrawal = (c: unknown, a: object) => proveWithdrawal_(c as any, a as any)
const finalizeWithdrawal = (c: unknown, a: object) => finalizeWithdrawal_(c as any, a as any)

const VALIDATOR_KEYS = sortedKeys(4)
const VALIDATORS = VALIDATOR_KEYS.map((k) => privateKeyToAccount(k).address)
const INTERVAL = 2n
const PERIOD = 100n

let l1: L1Fixture
let l2: LocalL1
let l2Public: ReturnType<typeof createPublicClient>
let l2Chain: ReturnType<typeof l2ChainOf>
const user = privateKeyToAccount(ANVIL_KEYS[1]!)

/** The revert reason (string or error name) of a failed viem call. */
async function revertReason(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (e instanceof BaseError) {
      const r = e.walk(
        (x) => x instanceof ContractFunctionRevertedError,
      ) as ContractFunctionRevertedError | null
      if (r) return r.reason ?? r.data?.errorName ?? r.shortMessage
    }
    return String((e as Error).message)
  }
  throw new Error('expected a revert')
}

async function outputAt(n: bigint) {
  const block = await l2Public.getBlock({ blockNumber: n })
  const proof = await l2Public.getProof({ address: MESSAGE_PASSER_ADDRESS, storageKeys: [], blockNumber: n })
  return outputRootV0(block.stateRoot, proof.storageHash, block.hash)
}

async function signedArgs(n: bigint, root: Hex, keys = VALIDATOR_KEYS.slice(0, 3), next = VALIDATORS) {
  const claim = {
    l1ChainId: l1.addresses.l1ChainId,
    oracle: l1.addresses.contracts.l2OutputOracle,
    l2ChainId: l1.addresses.l2ChainId,
    outputRoot: root,
    l2BlockNumber: n,
    nextValidators: next,
  }
  const sigs = await sortSignatures(claim, await Promise.all(keys.map((k) => signOutput(claim, k))))
  const sortedNext = [...next].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  return [root, n, zeroHash, 0n, sortedNext, sigs] as const
}

async function propose(args: Awaited<ReturnType<typeof signedArgs>>) {
  const hash = await l1.wallet().writeContract({
    abi: L2OutputOracle.abi,
    address: l1.addresses.contracts.l2OutputOracle,
    functionName: 'proposeL2OutputSigned',
    args,
    chain: l1.chain,
    account: l1.deployer,
  })
  const r = await l1.public.waitForTransactionReceipt({ hash })
  expect(r.status).toBe('success')
  return r
}

/** Proposes every pending interval up to (and including) the first one ≥ `target`. */
async function proposeThrough(target: bigint) {
  for (;;) {
    const next = (await l1.public.readContract({
      abi: L2OutputOracle.abi,
      address: l1.addresses.contracts.l2OutputOracle,
      functionName: 'nextBlockNumber',
    })) as bigint
    await mineL2To(next)
    await propose(await signedArgs(next, await outputAt(next)))
    if (next >= target) return next
  }
}

async function mineL2To(n: bigint) {
  const t = createTestClient({ mode: 'anvil', transport: http(l2.url) })
  while ((await l2Public.getBlockNumber()) < n) await t.mine({ blocks: 1 })
}

async function withdraw(
  value: bigint,
  target: Address = user.address,
  data: Hex = '0x',
  gasLimit = 100_000n,
) {
  const w = createWalletClient({ account: user, transport: http(l2.url), chain: l2Chain })
  const hash = await w.writeContract({
    abi: L2ToL1MessagePasser.abi,
    address: MESSAGE_PASSER_ADDRESS,
    functionName: 'initiateWithdrawal',
    args: [target, gasLimit, data],
    value,
  })
  const receipt = await l2Public.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

const l1Write = async (
  functionName: string,
  args: readonly unknown[],
  abi: readonly unknown[] = Portal.abi,
  to?: Address,
) => {
  const hash = await l1.wallet(ANVIL_KEYS[1]).writeContract({
    abi,
    address: to ?? l1.addresses.contracts.portal,
    functionName,
    args,
    chain: l1.chain,
    account: user,
    gas: 3_000_000n,
  } as never)
  return l1.public.waitForTransactionReceipt({ hash })
}

beforeAll(async () => {
  l2 = await startAnvil({ chainId: 4242 })
  await createTestClient({ mode: 'anvil', transport: http(l2.url) }).setCode({
    address: MESSAGE_PASSER_ADDRESS,
    bytecode: L2ToL1MessagePasser.deployedBytecode,
  })
  l1 = await startL1({
    l2ChainId: 4242,
    validators: VALIDATORS,
    submissionInterval: INTERVAL,
    finalizationPeriodSeconds: PERIOD,
  })
  l2Chain = l2ChainOf(l1.addresses, l2.url)
  l2Public = createPublicClient({ chain: l2Chain, transport: http(l2.url), cacheTime: 0 }) as never
  await fundOpen(l1, user.address, parseEther('1000'))
}, 120_000)

afterAll(async () => {
  await l1?.stop()
  await l2?.stop()
})

describe('deposits', () => {
  it('locks OPEN and emits TransactionDeposited in the OP Stack encoding', async () => {
    await l1Write(
      'approve',
      [l1.addresses.contracts.portal, parseEther('10')],
      OpenToken.abi,
      l1.addresses.contracts.openToken,
    )
    const r = await l1Write('depositERC20Transaction', [
      user.address,
      parseEther('10'),
      parseEther('1'),
      50_000n,
      false,
      '0x',
    ])
    expect(r.status).toBe('success')
    const [log] = extractTransactionDepositedLogs({ logs: r.logs })
    expect(log!.args.from).toBe(user.address)
    expect(log!.args.to).toBe(user.address)
    expect(log!.args.version).toBe(0n)
    expect(opaqueDataToDepositData(log!.args.opaqueData)).toEqual({
      mint: parseEther('10'),
      value: parseEther('1'),
      gas: 50_000n,
      isCreation: false,
      data: '0x',
    })
    const locked = await l1.public.readContract({
      abi: OpenToken.abi,
      address: l1.addresses.contracts.openToken,
      functionName: 'balanceOf',
      args: [l1.addresses.contracts.portal],
    })
    expect(locked).toBe(parseEther('10'))
  })

  it('refuses ETH, too little gas, creation to an address, and deposits over the per-block gas budget', async () => {
    expect(
      await revertReason(
        l1
          .wallet(ANVIL_KEYS[1])
          .sendTransaction({ to: l1.addresses.contracts.portal, value: 1n, chain: l1.chain, account: user }),
      ),
    ).toMatch(/ETH is not accepted/)
    const abi = [...Portal.abi, ...OpenToken.abi.filter((x) => x.type === 'error')]
    const sim = (fn: string, args: readonly unknown[], value = 0n) =>
      l1.public.simulateContract({
        abi,
        address: l1.addresses.contracts.portal,
        functionName: fn,
        args,
        account: user,
        value,
      } as never)
    expect(
      await revertReason(sim('depositTransaction', [user.address, 0n, 100_000n, false, '0x'], 1n)),
    ).toMatch(/ETH is not accepted/)
    expect(
      await revertReason(sim('depositERC20Transaction', [user.address, 0n, 0n, 20_999n, false, '0x'])),
    ).toBe('Portal: gas limit too small')
    expect(
      await revertReason(sim('depositERC20Transaction', [user.address, 0n, 0n, 30_000n, true, '0x'])),
    ).toBe('Portal: deposits carry no L2 call (empty data, no creation)')
    expect(
      await revertReason(sim('depositERC20Transaction', [user.address, 0n, 0n, 100_000n, false, '0x12'])),
    ).toBe('Portal: deposits carry no L2 call (empty data, no creation)')
    expect(
      await revertReason(sim('depositERC20Transaction', [user.address, 0n, 0n, 10_000_001n, false, '0x'])),
    ).toBe('Portal: deposit gas limit for this L1 block exceeded')
    expect(
      await revertReason(
        sim('depositERC20Transaction', [user.address, parseEther('1000000'), 0n, 30_000n, false, '0x']),
      ),
    ).toBe('ERC20InsufficientAllowance')
    // Two deposits in one L1 block share its budget (10M): 6M fits, the second 6M does not.
    await l1.test.setAutomine(false)
    try {
      const w = l1.wallet(ANVIL_KEYS[1])
      const nonce = await l1.public.getTransactionCount({ address: user.address })
      const send = (i: number) =>
        w.writeContract({
          abi: Portal.abi,
          address: l1.addresses.contracts.portal,
          functionName: 'depositERC20Transaction',
          args: [user.address, 0n, 0n, 6_000_000n, false, '0x'],
          chain: l1.chain,
          account: user,
          gas: 200_000n,
          nonce: nonce + i,
        })
      const hashes = [await send(0), await send(1)]
      await l1.test.mine({ blocks: 1 })
      const receipts = await Promise.all(hashes.map((hash) => l1.public.waitForTransactionReceipt({ hash })))
      expect(receipts.map((r) => r.status)).toEqual(['success', 'reverted'])
      expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber)
    } finally {
      await l1.test.setAutomine(true)
    }
  })
})

describe('outputs', () => {
  it('accepts an output signed by a quorum and refuses bad signature sets', async () => {
    const n = INTERVAL
    await mineL2To(n)
    const root = await outputAt(n)
    const sim = (args: readonly unknown[], fn = 'proposeL2OutputSigned') =>
      l1.public.simulateContract({
        abi: L2OutputOracle.abi,
        address: l1.addresses.contracts.l2OutputOracle,
        functionName: fn,
        args,
        account: l1.deployer,
      } as never)
    const good = await signedArgs(n, root)
    expect(await revertReason(sim([root, n, zeroHash, 0n], 'proposeL2Output'))).toBe(
      'L2OutputOracle: outputs must be signed by the validator set',
    )
    expect(await revertReason(sim((await signedArgs(n, root, VALIDATOR_KEYS.slice(0, 2))) as never))).toBe(
      'L2OutputOracle: not enough validator signatures',
    )
    const outsider = sortedKeys(1)
    expect(
      await revertReason(
        sim((await signedArgs(n, root, [...VALIDATOR_KEYS.slice(0, 2), ...outsider])) as never),
      ),
    ).toBe('L2OutputOracle: signer is not in the validator set')
    expect(await revertReason(sim([...good.slice(0, 5), [...good[5]].reverse()]))).toBe(
      'L2OutputOracle: signers must be ascending and unique',
    )
    expect(await revertReason(sim([...good.slice(0, 5), [good[5][0], good[5][0], good[5][1]]]))).toBe(
      'L2OutputOracle: signers must be ascending and unique',
    )
    // Signatures over another root recover to other addresses.
    const other = await signedArgs(n, `0x${'11'.repeat(32)}`)
    expect(await revertReason(sim([root, n, zeroHash, 0n, other[4], other[5]]))).toBe(
      'L2OutputOracle: signer is not in the validator set',
    )
    expect(await revertReason(sim([root, n + 1n, zeroHash, 0n, good[4], good[5]]))).toBe(
      'L2OutputOracle: block number must be equal to next expected block number',
    )
    expect(await revertReason(sim([root, n, `0x${'22'.repeat(32)}`, 1n, good[4], good[5]]))).toBe(
      'L2OutputOracle: block hash does not match the hash at the expected height',
    )
    const r = await propose(good)
    expect(r.logs.length).toBeGreaterThan(0)
    const out = await getL2Output(l1.public as never, { l2BlockNumber: n, targetChain: l2Chain as never })
    expect(out.outputRoot).toBe(root)
    expect(out.outputIndex).toBe(0n)
  })

  it('rotates the validator set with the signed next set; deletion restores it', async () => {
    const oracle = { abi: L2OutputOracle.abi, address: l1.addresses.contracts.l2OutputOracle } as const
    const newKeys = sortedKeys(3)
    const newSet = newKeys.map((k) => privateKeyToAccount(k).address)
    const n = (await l1.public.readContract({ ...oracle, functionName: 'nextBlockNumber' })) as bigint
    await mineL2To(n)
    await propose(await signedArgs(n, await outputAt(n), VALIDATOR_KEYS.slice(1), newSet))
    expect(
      ((await l1.public.readContract({ ...oracle, functionName: 'validators' })) as string[]).map((a) =>
        a.toLowerCase(),
      ),
    ).toEqual([...newSet].map((a) => a.toLowerCase()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)))
    const n2 = n + INTERVAL
    await mineL2To(n2)
    // The old set can no longer sign; the new one can.
    const sim = (args: readonly unknown[]) =>
      l1.public.simulateContract({
        ...oracle,
        functionName: 'proposeL2OutputSigned',
        args,
        account: l1.deployer,
      } as never)
    expect(
      await revertReason(
        sim((await signedArgs(n2, await outputAt(n2), VALIDATOR_KEYS.slice(0, 3), newSet)) as never),
      ),
    ).toBe('L2OutputOracle: signer is not in the validator set')
    await sim((await signedArgs(n2, await outputAt(n2), newKeys.slice(0, 2), newSet)) as never)
    // The challenger deletes the rotating output: the original set signs again.
    const idx = (await l1.public.readContract({ ...oracle, functionName: 'latestOutputIndex' })) as bigint
    const del = await l1.wallet().writeContract({
      ...oracle,
      functionName: 'deleteL2Outputs',
      args: [idx],
      chain: l1.chain,
      account: l1.deployer,
    })
    expect((await l1.public.waitForTransactionReceipt({ hash: del })).status).toBe('success')
    expect(await l1.public.readContract({ ...oracle, functionName: 'validators' })).toEqual(VALIDATORS)
    expect(validatorsHash(VALIDATORS)).toMatch(/^0x/)
    await propose(await signedArgs(n, await outputAt(n)))
  })

  it('only the challenger deletes, and never a finalised output', async () => {
    const oracle = { abi: L2OutputOracle.abi, address: l1.addresses.contracts.l2OutputOracle } as const
    expect(
      await revertReason(
        l1.public.simulateContract({ ...oracle, functionName: 'deleteL2Outputs', args: [0n], account: user }),
      ),
    ).toBe('L2OutputOracle: only the challenger address can delete outputs')
    expect(
      await revertReason(
        l1.public.simulateContract({
          ...oracle,
          functionName: 'deleteL2Outputs',
          args: [99n],
          account: l1.deployer,
        }),
      ),
    ).toBe('L2OutputOracle: cannot delete outputs after the latest output index')
  })
})

describe('withdrawals with viem op-stack actions', () => {
  it('withdraw → prove → finalise after the window; refuses early, twice, tampered', async () => {
    const portalBefore = (await l1.public.readContract({
      abi: OpenToken.abi,
      address: l1.addresses.contracts.openToken,
      functionName: 'balanceOf',
      args: [l1.addresses.contracts.portal],
    })) as bigint
    const target = privateKeyToAccount(sortedKeys(1)[0]!).address
    const receipt = await withdraw(parseEther('2'), target)
    // The message passer burns what it is sent.
    expect(await l2Public.getBalance({ address: MESSAGE_PASSER_ADDRESS })).toBe(0n)
    const [w] = getWithdrawals(receipt)
    expect(w!.withdrawalHash).toBe(withdrawalHash(w!))
    expect(w!.nonce).toBe((1n << 240n) | 0n)
    const statusArgs = { receipt, targetChain: l2Chain as never }
    expect(await getWithdrawalStatus(l1.public as never, statusArgs)).toBe('waiting-to-prove')

    await proposeThrough(receipt.blockNumber)
    expect(await getWithdrawalStatus(l1.public as never, statusArgs)).toBe('ready-to-prove')
    const output = await getL2Output(l1.public as never, {
      l2BlockNumber: receipt.blockNumber,
      targetChain: l2Chain as never,
    })
    const args = await buildProveWithdrawal(l2Public as never, { withdrawal: w!, output })

    const proveSim = (a: typeof args) =>
      l1.public.simulateContract({
        abi: Portal.abi,
        address: l1.addresses.contracts.portal,
        functionName: 'proveWithdrawalTransaction',
        args: [a.withdrawal, a.l2OutputIndex, a.outputRootProof, a.withdrawalProof],
        account: user,
      } as never)
    // Tampered: another value, another storage root, a truncated proof.
    expect(
      await revertReason(
        proveSim({ ...args, withdrawal: { ...args.withdrawal, value: args.withdrawal.value + 1n } }),
      ),
    ).toBe('Portal: invalid withdrawal inclusion proof')
    expect(
      await revertReason(
        proveSim({
          ...args,
          outputRootProof: { ...args.outputRootProof, messagePasserStorageRoot: zeroHash },
        }),
      ),
    ).toBe('Portal: invalid output root proof')
    expect(
      await revertReason(proveSim({ ...args, withdrawalProof: args.withdrawalProof.slice(0, -1) })),
    ).toBe('Portal: invalid withdrawal inclusion proof')
    const flipped = args.withdrawalProof.map((p, i) =>
      i === args.withdrawalProof.length - 1
        ? (`${p.slice(0, -2)}${p.endsWith('00') ? '01' : '00'}` as Hex)
        : p,
    )
    expect(await revertReason(proveSim({ ...args, withdrawalProof: flipped }))).toBe(
      'Portal: invalid withdrawal inclusion proof',
    )
    expect(await revertReason(proveSim({ ...args, l2OutputIndex: 99n }))).toBe(
      'L2OutputOracle: no output at this index',
    )

    const wallet = createWalletClient({ chain: l1.chain, account: user, transport: http(l1.anvil.url) })
    const proveHash = await proveWithdrawal(wallet as never, args as never)
    expect((await l1.public.waitForTransactionReceipt({ hash: proveHash })).status).toBe('success')
    expect(await getWithdrawalStatus(l1.public as never, statusArgs)).toBe('waiting-to-finalize')
    expect(await revertReason(proveSim(args))).toBe('Portal: withdrawal hash has already been proven')

    const finSim = () =>
      l1.public.simulateContract({
        abi: Portal.abi,
        address: l1.addresses.contracts.portal,
        functionName: 'finalizeWithdrawalTransaction',
        args: [w!],
        account: user,
        gas: 1_000_000n,
      } as never)
    expect(await revertReason(finSim())).toBe('Portal: proven withdrawal finalization period has not elapsed')

    await l1.test.increaseTime({ seconds: Number(PERIOD) + 1 })
    await l1.test.mine({ blocks: 1 })
    // (viem's legacy status compares the proof's L1 timestamp with the wall clock, so after an
    // anvil time warp it keeps saying waiting-to-finalize; the node e2e test waits in real time.)
    const finHash = await finalizeWithdrawal(
      wallet as never,
      { withdrawal: w!, targetChain: l2Chain as never } as never,
    )
    const fin = await l1.public.waitForTransactionReceipt({ hash: finHash })
    expect(fin.status).toBe('success')
    expect(await getWithdrawalStatus(l1.public as never, statusArgs)).toBe('finalized')
    expect(
      await l1.public.readContract({
        abi: OpenToken.abi,
        address: l1.addresses.contracts.openToken,
        functionName: 'balanceOf',
        args: [target],
      }),
    ).toBe(parseEther('2'))
    expect(await revertReason(finSim())).toBe('Portal: withdrawal has already been finalized')
    const portalAfter = (await l1.public.readContract({
      abi: OpenToken.abi,
      address: l1.addresses.contracts.openToken,
      functionName: 'balanceOf',
      args: [l1.addresses.contracts.portal],
    })) as bigint
    expect(portalBefore - portalAfter).toBe(parseEther('2'))
  })

  it('refuses proving against a deleted output and finalising a withdrawal whose output was deleted', async () => {
    const oracle = { abi: L2OutputOracle.abi, address: l1.addresses.contracts.l2OutputOracle } as const
    const receipt = await withdraw(parseEther('1'))
    const [w] = getWithdrawals(receipt)
    await proposeThrough(receipt.blockNumber)
    const output = await getL2Output(l1.public as never, {
      l2BlockNumber: receipt.blockNumber,
      targetChain: l2Chain as never,
    })
    const args = await buildProveWithdrawal(l2Public as never, { withdrawal: w!, output })
    const wallet = createWalletClient({ chain: l1.chain, account: user, transport: http(l1.anvil.url) })
    await l1.public.waitForTransactionReceipt({ hash: await proveWithdrawal(wallet as never, args as never) })
    // The challenger deletes the output it was proven against.
    await l1.public.waitForTransactionReceipt({
      hash: await l1.wallet().writeContract({
        ...oracle,
        functionName: 'deleteL2Outputs',
        args: [output.outputIndex],
        chain: l1.chain,
        account: l1.deployer,
      }),
    })
    await l1.test.increaseTime({ seconds: Number(PERIOD) + 1 })
    await l1.test.mine({ blocks: 1 })
    const fin = l1.public.simulateContract({
      abi: Portal.abi,
      address: l1.addresses.contracts.portal,
      functionName: 'finalizeWithdrawalTransaction',
      args: [w!],
      account: user,
      gas: 1_000_000n,
    } as never)
    expect(await revertReason(fin)).toBe('Portal: output root proven is not the same as current output root')
    const again = l1.public.simulateContract({
      abi: Portal.abi,
      address: l1.addresses.contracts.portal,
      functionName: 'proveWithdrawalTransaction',
      args: [args.withdrawal, args.l2OutputIndex, args.outputRootProof, args.withdrawalProof],
      account: user,
    } as never)
    expect(await revertReason(again)).toBe('L2OutputOracle: no output at this index')
    // Re-proposed with the same root at the same index: the proof stands (as in the OP Stack), but
    // the new output must age through its own window first.
    await proposeThrough(receipt.blockNumber)
    expect(await getWithdrawalStatus(l1.public, { receipt, targetChain: l2Chain })).toBe(
      'waiting-to-finalize',
    )
    const fin2 = l1.public.simulateContract({
      abi: Portal.abi,
      address: l1.addresses.contracts.portal,
      functionName: 'finalizeWithdrawalTransaction',
      args: [w!],
      account: user,
      gas: 1_000_000n,
    } as never)
    expect(await revertReason(fin2)).toBe('Portal: output proposal finalization period has not elapsed')
    await l1.test.increaseTime({ seconds: Number(PERIOD) + 1 })
    await l1.test.mine({ blocks: 1 })
    const done = await l1.public.waitForTransactionReceipt({
      hash: await finalizeWithdrawal(wallet, { withdrawal: w!, targetChain: l2Chain, gas: 1_000_000n }),
    })
    expect(done.status).toBe('success')
    expect(await getWithdrawalStatus(l1.public, { receipt, targetChain: l2Chain })).toBe('finalized')
  })

  /** Withdraws on L2, proposes, proves with viem and ages the proof past the window (anvil time warp). */
  async function provenAndAged(value: bigint, target: Address, data: Hex, gasLimit: bigint) {
    const receipt = await withdraw(value, target, data, gasLimit)
    const [w] = getWithdrawals(receipt)
    await proposeThrough(receipt.blockNumber)
    const output = await getL2Output(l1.public, { l2BlockNumber: receipt.blockNumber, targetChain: l2Chain })
    const args = await buildProveWithdrawal(l2Public, { withdrawal: w!, output })
    const wallet = createWalletClient({ chain: l1.chain, account: user, transport: http(l1.anvil.url) })
    await l1.public.waitForTransactionReceipt({ hash: await proveWithdrawal(wallet, args) })
    await l1.test.increaseTime({ seconds: Number(PERIOD) + 1 })
    await l1.test.mine({ blocks: 1 })
    return { w: w!, wallet }
  }

  const portalRead = (functionName: string, args: readonly unknown[] = []) =>
    l1.public.readContract({
      abi: Portal.abi,
      address: l1.addresses.contracts.portal,
      functionName,
      args,
    } as never)

  it('a withdrawal with calldata gets its OPEN first, then its call with l2Sender set', async () => {
    const { Probe } = compileSources({
      'Probe.sol': `pragma solidity ^0.8.26;
        interface IPortal { function l2Sender() external view returns (address); }
        interface IERC20 { function balanceOf(address) external view returns (uint256); }
        contract Probe {
          address public sender; uint256 public balanceSeen; address immutable token;
          constructor(address t) { token = t; }
          function record() external { sender = IPortal(msg.sender).l2Sender(); balanceSeen = IERC20(token).balanceOf(address(this)); }
        }`,
    })
    const deployHash = await l1.wallet().deployContract({
      abi: Probe!.abi,
      bytecode: Probe!.bytecode as Hex,
      args: [l1.addresses.contracts.openToken],
      chain: l1.chain,
      account: l1.deployer,
    } as never)
    const probe = (await l1.public.waitForTransactionReceipt({ hash: deployHash })).contractAddress!
    const data = encodeFunctionData({ abi: Probe!.abi, functionName: 'record' })
    const { w, wallet } = await provenAndAged(parseEther('3'), probe, data, 100_000n)
    const released = (await portalRead('totalReleased')) as bigint
    const fin = await l1.public.waitForTransactionReceipt({
      hash: await finalizeWithdrawal(wallet, { withdrawal: w, targetChain: l2Chain }),
    })
    expect(fin.status).toBe('success')
    const read = (functionName: string) =>
      l1.public.readContract({ abi: Probe!.abi, address: probe, functionName } as never)
    expect(await read('sender')).toBe(user.address)
    expect(await read('balanceSeen')).toBe(parseEther('3'))
    expect(await portalRead('totalReleased')).toBe(released + parseEther('3'))
    expect(await portalRead('l2Sender')).toBe('0x000000000000000000000000000000000000dEaD')
  })

  it('a failing call keeps the OPEN in the Portal; too little gas reverts instead of burning it', async () => {
    // The oracle refuses deleteL2Outputs from anyone but the challenger: the call fails.
    const data = encodeFunctionData({ abi: L2OutputOracle.abi, functionName: 'deleteL2Outputs', args: [0n] })
    const { w, wallet } = await provenAndAged(
      parseEther('1'),
      l1.addresses.contracts.l2OutputOracle,
      data,
      200_000n,
    )
    const released = (await portalRead('totalReleased')) as bigint
    const finalize = (gas: bigint) =>
      l1.public.simulateContract({
        abi: Portal.abi,
        address: l1.addresses.contracts.portal,
        functionName: 'finalizeWithdrawalTransaction',
        args: [w],
        account: user,
        gas,
      } as never)
    expect(await revertReason(finalize(250_000n))).toBe('Portal: insufficient gas to finalize withdrawal')
    const fin = await l1.public.waitForTransactionReceipt({
      hash: await finalizeWithdrawal(wallet, { withdrawal: w, targetChain: l2Chain, gas: 1_000_000n }),
    })
    expect(fin.status).toBe('success')
    const [event] = parseEventLogs({ abi: Portal.abi, logs: fin.logs, eventName: 'WithdrawalFinalized' })
    expect(event!.args).toEqual({ withdrawalHash: w.withdrawalHash, success: false })
    expect(await portalRead('totalReleased')).toBe(released)
    expect(await portalRead('finalizedWithdrawals', [w.withdrawalHash])).toBe(true)
  })
})
