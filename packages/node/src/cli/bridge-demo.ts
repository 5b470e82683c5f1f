/**
 * `openledger bridge demo [--json]`: a local anvil L1 (from the @foundry-rs/anvil npm package),
 * the bridge deployed on it, and a dev chain that applies deposits and signs and proposes its
 * outputs; then deposit → withdraw → output → prove → finalise with viem's op-stack actions, each
 * step printed, and a conservation check. True only if every step and the check hold.
 */
import {
  bridgeClients,
  bridgeStatus,
  deployL1,
  depositAppliedAt,
  depositOpen,
  finalizationElapsed,
  finalizeWithdrawalTx,
  OpenToken,
  proveWithdrawalTx,
  startAnvil,
  withdrawalStatus,
  withdrawOpen,
} from '@openledger/bridge'
import { parseGenesis } from '@openledger/evm-runtime'
import { formatUnits } from '@openledger/payable'
import { createWalletClient, type Hex, http, parseEther } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bridgedGenesis } from '../genesis/bridged-genesis.ts'
import { buildDevGenesis } from '../genesis/dev-genesis.ts'
import { silentLogger } from '../logger.ts'
import { OpenLedgerNode } from '../node.ts'

/** anvil's first three dev accounts: the operator (deployer, OPEN holder), a user, and the
 * validator-proposer (its own key, so its L1 transactions never race the operator's nonces). */
const OPERATOR: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const PROPOSER: Hex = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
const USER: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const L1_CHAIN_ID = 900
const L2_CHAIN_ID = 1337
const DEPOSIT = parseEther('10')
const WITHDRAW = parseEther('4')
const STEP_TIMEOUT_MS = 120_000

export async function runBridgeDemo(o: { json: boolean }): Promise<boolean> {
  const say = o.json ? () => {} : (line: string) => process.stdout.write(`${line}\n`)
  const result = { deposited: 0n, minted: 0n, withdrawn: 0n, proven: 0n, finalized: 0n, conserved: false }
  const anvil = await startAnvil({ chainId: L1_CHAIN_ID, blockTime: 1 })
  let node: OpenLedgerNode | undefined
  let ok = false
  try {
    say(`L1: anvil at ${anvil.url} (chain ${L1_CHAIN_ID}, 1 s blocks)`)
    const operator = privateKeyToAccount(OPERATOR)
    const addresses = await deployL1({
      rpcUrl: anvil.url,
      account: operator,
      params: {
        l2ChainId: L2_CHAIN_ID,
        validators: [privateKeyToAccount(PROPOSER).address],
        submissionInterval: 5n,
        finalizationPeriodSeconds: 6n,
        confirmations: 2,
      },
    })
    say(
      `deployed: OPEN ${addresses.contracts.openToken}, L2OutputOracle ${addresses.contracts.l2OutputOracle}, Portal ${addresses.contracts.portal}`,
    )
    const { json } = await buildDevGenesis({})
    node = await OpenLedgerNode.startDev({
      genesis: parseGenesis(bridgedGenesis(json, addresses)),
      rpc: { host: '127.0.0.1', port: 0 },
      mining: { kind: 'interval', blockTimeMs: 1000 },
      accounts: [],
      log: silentLogger(),
      l1: { rpc: anvil.url, addresses, proposerKey: PROPOSER },
    })
    say(`L2: dev chain at ${node.rpcUrl} (chain ${L2_CHAIN_ID}); it signs and proposes its outputs`)

    const user = privateKeyToAccount(USER)
    const c = bridgeClients({ l1Rpc: anvil.url, l2Rpc: node.rpcUrl, addresses, key: USER })
    const token = { abi: OpenToken.abi, address: addresses.contracts.openToken } as const
    const fund = await createWalletClient({ account: operator, transport: http(anvil.url) }).writeContract({
      ...token,
      functionName: 'transfer',
      args: [user.address, parseEther('100')],
      chain: c.l1Chain,
    })
    await c.l1.waitForTransactionReceipt({ hash: fund })

    // 1. Deposit on L1, minted on L2 after 2 confirmations.
    const l2Before = await c.l2.getBalance({ address: user.address })
    const { receipt: dr, deposit } = await depositOpen(c, { amount: DEPOSIT })
    result.deposited = DEPOSIT
    say(`1. deposit ${formatUnits(DEPOSIT)} OPEN on L1: tx ${dr.transactionHash}, block ${dr.blockNumber}`)
    const appliedAt = await until('the deposit on L2', async () => {
      const at = await depositAppliedAt(c, deposit.sourceHash)
      return at > 0n ? at : undefined
    })
    result.minted = (await c.l2.getBalance({ address: user.address })) - l2Before
    say(
      `   minted ${formatUnits(result.minted)} OPEN on L2 in block ${appliedAt} (source hash ${deposit.sourceHash})`,
    )

    // 2. Withdraw on L2 (burnt there).
    const { receipt: wr, withdrawal } = await withdrawOpen(c, { amount: WITHDRAW })
    result.withdrawn = withdrawal.value
    say(`2. withdraw ${formatUnits(WITHDRAW)} OPEN on L2: tx ${wr.transactionHash}, block ${wr.blockNumber}`)

    // 3. An output covering it is proposed (validator-signed).
    await until(
      'an output covering the withdrawal',
      async () => (await withdrawalStatus(c, wr.transactionHash)) === 'ready-to-prove',
    )
    const s1 = await bridgeStatus(c)
    say(`3. output proposed on L1 for L2 block ${s1.latestOutputBlock} (${s1.outputs} outputs)`)

    // 4. Prove with viem's op-stack actions.
    const proved = await proveWithdrawalTx(c, wr.transactionHash)
    result.proven = withdrawal.value
    say(
      `4. proven on L1: tx ${proved.transactionHash}; status ${await withdrawalStatus(c, wr.transactionHash)}`,
    )

    // 5. Finalise after the window.
    await until(
      'the finalisation window',
      async () =>
        (await withdrawalStatus(c, wr.transactionHash)) === 'ready-to-finalize' &&
        (await finalizationElapsed(c, proved.blockNumber)),
    )
    const l1Before = await c.l1.readContract({ ...token, functionName: 'balanceOf', args: [user.address] })
    const fin = await finalizeWithdrawalTx(c, wr.transactionHash)
    const l1After = await c.l1.readContract({ ...token, functionName: 'balanceOf', args: [user.address] })
    result.finalized = l1After - l1Before
    say(
      `5. finalized on L1: tx ${fin.transactionHash}; ${formatUnits(result.finalized)} OPEN released; status ${await withdrawalStatus(c, wr.transactionHash)}`,
    )

    // 6. Conservation.
    const s = await bridgeStatus(c)
    result.conserved =
      s.conserved &&
      s.locked === result.deposited - result.finalized &&
      s.minted === result.minted &&
      (await c.l2.getBalance({ address: '0x4200000000000000000000000000000000000016' })) === 0n
    say(
      `6. locked in the Portal ${formatUnits(s.locked)} = minted ${formatUnits(s.minted)} − released ${formatUnits(s.released)}: ${result.conserved ? 'conserved' : 'NOT conserved'}`,
    )
    ok =
      result.minted === result.deposited &&
      result.withdrawn === WITHDRAW &&
      result.proven === WITHDRAW &&
      result.finalized === WITHDRAW &&
      result.conserved
  } catch (e) {
    if (!o.json) process.stderr.write(`demo failed: ${(e as Error).message}\n`)
    else process.stderr.write(`${(e as Error).message}\n`)
  } finally {
    await node?.close()
    await anvil.stop()
  }
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({
        deposited: result.deposited.toString(),
        minted: result.minted.toString(),
        withdrawn: result.withdrawn.toString(),
        proven: result.proven.toString(),
        finalized: result.finalized.toString(),
        conserved: result.conserved,
      })}\n`,
    )
  } else say(ok ? 'all steps hold' : 'FAILED')
  return ok
}

/** Polls `fn` every 500 ms until it returns a value (or true), for at most STEP_TIMEOUT_MS. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}
