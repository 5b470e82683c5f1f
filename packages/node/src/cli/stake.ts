/**
 * `openledger stake …`: validators and delegations over JSON-RPC (the Staking module's SDK). Same
 * conventions as the payable-AI commands: --rpc, a key from --key-file or OPENLEDGER_PRIVATE_KEY
 * (never printed), tables by default and JSON with --json. Reads use the ol_* staking methods.
 */

import {
  type ChainContext,
  connect,
  DEFAULT_RPC,
  describeChainError,
  KEY_ENV,
  loadPrivateKey,
  open,
  PayableError,
  parseAddress,
  parseBigInt,
  parseBps,
  parseOpenAmount,
  requirePrivateKey,
  requireWallet,
  table,
  toJson,
  waitForReceipt,
} from '@openledger/payable'
import { stakingAbi } from '@openledger/staking'
import {
  cancelUnbonding,
  createValidator,
  delegate,
  redelegate,
  undelegate,
  unjail,
  withdrawCommission,
  withdrawRewards,
} from '@openledger/staking/sdk'
import type { Command } from 'commander'
import { type Address, type Hash, parseEventLogs } from 'viem'

export interface CliOpts {
  rpc: string
  keyFile?: string
  json: boolean
}

export function common(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
    .option('--key-file <file>', `file holding the private key (default: $${KEY_ENV})`)
    .option('--json', 'print JSON for scripts instead of tables', false)
}

export async function chainFor(o: CliOpts, needsKey: boolean): Promise<ChainContext> {
  const key = needsKey ? await requirePrivateKey(o.keyFile) : await loadPrivateKey(o.keyFile)
  return connect(o.rpc, key)
}

export function print(o: { json: boolean }, json: unknown, human: () => string): void {
  process.stdout.write(`${o.json ? toJson(json) : human()}\n`)
}

/** Sends, waits for the receipt, and decodes the logs with `abi`; a revert names `what`. */
export async function mine(ctx: ChainContext, what: string, sent: Promise<Hash>, abi: readonly unknown[]) {
  let hash: Hash
  try {
    hash = await sent
  } catch (err) {
    throw new PayableError(`${what} failed: ${describeChainError(err)}`)
  }
  const receipt = await waitForReceipt(ctx, hash, what)
  if (receipt.status !== 'success') throw new PayableError(`${what} failed: transaction ${hash} reverted`)
  const logs = parseEventLogs({ abi: abi as never, logs: receipt.logs }) as unknown as {
    eventName: string
    args: Record<string, unknown>
  }[]
  return { hash, receipt, logs }
}

/** An ol_* call; JSON-RPC errors become one PayableError line. */
export async function ol<T = Record<string, unknown>>(
  ctx: ChainContext,
  method: string,
  params: unknown[],
): Promise<T> {
  try {
    return (await ctx.client.request({ method, params } as never)) as T
  } catch (err) {
    throw new PayableError(`${method} failed: ${describeChainError(err)}`)
  }
}

const STATUSES = ['all', 'bonded', 'unbonding', 'unbonded']
const fromQuantity = (q: unknown) => BigInt(q as string)

export function registerStakingCommands(program: Command): void {
  const stake = program
    .command('stake')
    .description('validators, delegations and staking rewards (Staking module)')

  common(
    stake
      .command('create-validator')
      .description('create a validator operated by the key, self-delegating --amount'),
  )
    .requiredOption(
      '--consensus <address>',
      'QBFT signer address of the validator node (its --validator-key)',
      parseAddress,
    )
    .requiredOption('--amount <OPEN>', 'self-delegation', parseOpenAmount)
    .option('--commission <bps>', 'commission on rewards, basis points', parseBps, 1_000)
    .option('--max-commission <bps>', 'commission can never exceed this', parseBps, 2_000)
    .option('--max-commission-change <bps>', 'largest change per day', parseBps, 100)
    .option('--min-self-delegation <OPEN>', 'below this own stake the validator is jailed', parseOpenAmount)
    .option('--moniker <name>', 'display name', '')
    .option('--website <url>', 'website', '')
    .action(
      async (
        o: CliOpts & {
          consensus: Address
          amount: bigint
          commission: number
          maxCommission: number
          maxCommissionChange: number
          minSelfDelegation?: bigint
          moniker: string
          website: string
        },
      ) => {
        const ctx = await chainFor(o, true)
        const { wallet, account } = requireWallet(ctx)
        const params = await ol<Record<string, string>>(ctx, 'ol_getStakingParams', [])
        const min = o.minSelfDelegation ?? fromQuantity(params.minSelfDelegation)
        const mined = await mine(
          ctx,
          'createValidator',
          createValidator(wallet, {
            description: {
              moniker: o.moniker,
              identity: '',
              website: o.website,
              securityContact: '',
              details: '',
            },
            commissionBps: o.commission,
            maxCommissionBps: o.maxCommission,
            maxCommissionChangeBps: o.maxCommissionChange,
            minSelfDelegation: min,
            consensusAddress: o.consensus,
            value: o.amount,
          }),
          stakingAbi,
        )
        const epoch = await ol<Record<string, string>>(ctx, 'ol_getValidatorSet', [])
        const next = BigInt((epoch.epoch as unknown as Record<string, string>).nextStartBlock as string)
        print(
          o,
          {
            validator: account.address,
            consensus: o.consensus,
            amount: o.amount,
            tx: mined.hash,
            nextEpochBlock: next,
          },
          () =>
            `Created validator ${account.address} (signer ${o.consensus}) with ${open(o.amount)} (tx ${mined.hash}).\n` +
            `The set of the next epoch, from block ${next}, is elected by stake.`,
        )
      },
    )

  common(stake.command('delegate').description('delegate OPEN to a validator'))
    .requiredOption('--validator <address>', 'validator (operator address)', parseAddress)
    .requiredOption('--amount <OPEN>', 'amount', parseOpenAmount)
    .action(async (o: CliOpts & { validator: Address; amount: bigint }) => {
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const mined = await mine(
        ctx,
        'delegate',
        delegate(wallet, { validator: o.validator, value: o.amount }),
        stakingAbi,
      )
      print(
        o,
        { validator: o.validator, amount: o.amount, tx: mined.hash },
        () => `Delegated ${open(o.amount)} to ${o.validator} (tx ${mined.hash})`,
      )
    })

  common(
    stake
      .command('undelegate')
      .description('start unbonding a delegation (paid out after the unbonding time)'),
  )
    .requiredOption('--validator <address>', 'validator (operator address)', parseAddress)
    .requiredOption('--amount <OPEN|all>', 'amount, or "all"')
    .action(async (o: CliOpts & { validator: Address; amount: string }) => {
      const ctx = await chainFor(o, true)
      const { wallet, account } = requireWallet(ctx)
      let amount: bigint
      if (o.amount === 'all') {
        const d = await ol<Record<string, string> | null>(ctx, 'ol_getDelegation', [
          account.address,
          o.validator,
        ])
        amount = d === null ? 0n : fromQuantity(d.balance)
        if (amount === 0n) throw new PayableError(`${account.address} has no delegation to ${o.validator}`)
      } else amount = parseOpenAmount(o.amount)
      const mined = await mine(
        ctx,
        'undelegate',
        undelegate(wallet, { validator: o.validator, amount }),
        stakingAbi,
      )
      const unbond = mined.logs.find((l) => l.eventName === 'Unbond')
      const completion = unbond?.args.completionTime as bigint | undefined
      print(
        o,
        { validator: o.validator, amount, completionTime: completion, tx: mined.hash },
        () =>
          `Unbonding ${open(amount)} from ${o.validator}; paid out at ${completion === undefined ? '?' : new Date(Number(completion) * 1000).toISOString()} (tx ${mined.hash})`,
      )
    })

  common(stake.command('redelegate').description('move a delegation to another validator at once'))
    .requiredOption('--from <address>', 'source validator', parseAddress)
    .requiredOption('--to <address>', 'destination validator', parseAddress)
    .requiredOption('--amount <OPEN>', 'amount', parseOpenAmount)
    .action(async (o: CliOpts & { from: Address; to: Address; amount: bigint }) => {
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const mined = await mine(
        ctx,
        'redelegate',
        redelegate(wallet, { validatorSrc: o.from, validatorDst: o.to, amount: o.amount }),
        stakingAbi,
      )
      print(
        o,
        { from: o.from, to: o.to, amount: o.amount, tx: mined.hash },
        () => `Redelegated ${open(o.amount)} from ${o.from} to ${o.to} (tx ${mined.hash})`,
      )
    })

  common(stake.command('cancel-unbonding').description('bond (part of) an unbonding entry again'))
    .requiredOption('--validator <address>', 'validator', parseAddress)
    .requiredOption('--amount <OPEN>', 'amount', parseOpenAmount)
    .requiredOption('--height <n>', 'creation height of the unbonding entry', parseBigInt)
    .action(async (o: CliOpts & { validator: Address; amount: bigint; height: bigint }) => {
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const mined = await mine(
        ctx,
        'cancelUnbonding',
        cancelUnbonding(wallet, { validator: o.validator, amount: o.amount, creationHeight: o.height }),
        stakingAbi,
      )
      print(
        o,
        { tx: mined.hash },
        () => `Re-delegated ${open(o.amount)} to ${o.validator} (tx ${mined.hash})`,
      )
    })

  common(
    stake
      .command('withdraw')
      .description("withdraw a delegation's rewards (or the commission with --commission)"),
  )
    .option('--validator <address>', 'validator of the delegation', parseAddress)
    .option('--commission', "the key's validator commission instead", false)
    .action(async (o: CliOpts & { validator?: Address; commission: boolean }) => {
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      if (!o.commission && o.validator === undefined)
        throw new PayableError('give --validator or --commission')
      const mined = o.commission
        ? await mine(ctx, 'withdrawCommission', withdrawCommission(wallet, {}), stakingAbi)
        : await mine(ctx, 'withdrawRewards', withdrawRewards(wallet, { validator: o.validator! }), stakingAbi)
      const ev = mined.logs.find(
        (l) => l.eventName === 'WithdrawRewards' || l.eventName === 'WithdrawCommission',
      )
      const amount = (ev?.args.amount as bigint | undefined) ?? 0n
      print(o, { amount, tx: mined.hash }, () => `Withdrew ${open(amount)} (tx ${mined.hash})`)
    })

  common(
    stake.command('unjail').description("end the key's validator jail (downtime or low self-delegation)"),
  ).action(async (o: CliOpts) => {
    const ctx = await chainFor(o, true)
    const { wallet } = requireWallet(ctx)
    const mined = await mine(ctx, 'unjail', unjail(wallet, {}), stakingAbi)
    print(o, { tx: mined.hash }, () => `Unjailed (tx ${mined.hash})`)
  })

  common(
    stake.command('show').description('delegations, pending rewards and unbonding entries of an account'),
  )
    .option('--address <address>', 'account (default: the key)', parseAddress)
    .action(async (o: CliOpts & { address?: Address }) => {
      const ctx = await chainFor(o, false)
      const who = o.address ?? ctx.account?.address
      if (who === undefined) throw new PayableError('give --address or a key')
      const r = await ol<{ delegations: Record<string, unknown>[] }>(ctx, 'ol_getDelegations', [who])
      print(o, r, () =>
        r.delegations.length === 0
          ? `${who} has no delegations`
          : table(
              ['validator', 'balance', 'pending rewards', 'unbonding'],
              r.delegations.map((d) => [
                d.validator as string,
                open(fromQuantity(d.balance)),
                open(fromQuantity(d.pendingRewards)),
                (d.unbonding as Record<string, string>[])
                  .map(
                    (u) =>
                      `${open(BigInt(u.balance!))} at ${new Date(Number(BigInt(u.completionTime!)) * 1000).toISOString()}`,
                  )
                  .join('; ') || '-',
              ]),
            ),
      )
    })

  common(stake.command('validators').description('validators and their stake'))
    .option('--status <status>', `one of ${STATUSES.join(', ')}`, 'all')
    .action(async (o: CliOpts & { status: string }) => {
      if (!STATUSES.includes(o.status)) throw new PayableError(`--status: one of ${STATUSES.join(', ')}`)
      const ctx = await chainFor(o, false)
      const r = await ol<{ total: string; items: Record<string, unknown>[] }>(ctx, 'ol_listValidators', [
        o.status,
        0,
        100,
      ])
      print(o, r, () =>
        table(
          ['operator', 'signer', 'status', 'tokens', 'commission', 'jailed'],
          r.items.map((v) => [
            v.operator as string,
            v.consensusAddress as string,
            v.statusName as string,
            open(fromQuantity(v.tokens)),
            `${Number(fromQuantity(v.commissionBps)) / 100} %`,
            v.tombstoned ? 'tombstoned' : v.jailed ? 'yes' : 'no',
          ]),
        ),
      )
    })

  common(stake.command('set').description('the QBFT validator set and the epoch it belongs to')).action(
    async (o: CliOpts) => {
      const ctx = await chainFor(o, false)
      const r = await ol<{
        forBlock: string
        epoch: Record<string, string>
        validators: Record<string, unknown>[]
      }>(ctx, 'ol_getValidatorSet', [])
      print(o, r, () =>
        [
          `Epoch ${BigInt(r.epoch.number!)}: blocks ${BigInt(r.epoch.startBlock!)}…${BigInt(r.epoch.nextStartBlock!) - 1n}, set hash ${r.epoch.setHash}`,
          table(
            ['signer', 'operator', 'tokens', 'jailed'],
            r.validators.map((v) => [
              v.consensusAddress as string,
              (v.operator as string | null) ?? '-',
              open(fromQuantity(v.tokens)),
              v.jailed ? 'yes' : 'no',
            ]),
          ),
        ].join('\n'),
      )
    },
  )
}
