/**
 * Bonded providers and optimistic challenges from the command line (docs/attribution-modules.md,
 * "Challenges"): `openledger provider bond|unbond|bond-status` and
 * `openledger attribution challenge|reveal|resolve|finalize|challenge-status`.
 *
 * A challenger normally checks a receipt first (`challenge --output-file` runs `attribution
 * verify` and refuses to spend the bond on a receipt that verifies, unless --force); the provider,
 * who holds the output, answers with `reveal`; the chain re-runs the attribution and resolves.
 */
import { readFile } from 'node:fs/promises'
import {
  challengeReceipt,
  finalizeReceipt,
  getChallenge,
  getParameters,
  getProviderBond,
  getReceipt,
  type InferenceReceipt,
  revealOutput,
  bondProvider as sendBond,
  resolveUnrevealed as sendResolveUnrevealed,
  unbondProvider as sendUnbond,
} from '@openledger/attribution/sdk'
import type { Command } from 'commander'
import { type Hex, toHex } from 'viem'
import { type ChainContext, findLog, type Mined, requireWallet, sendAndWait } from './chain.ts'
import { type CommonOpts, chainFor, print } from './cli-common.ts'
import { parseOpenAmount } from './cli-options.ts'
import { describeChainError, PayableError } from './errors.ts'
import { open } from './format.ts'
import { parseAddress } from './parse.ts'
import { receiptFromJson } from './receipts.ts'
import { settledReceipt, verifyReceipt } from './verify.ts'

/** IAttribution.ChallengeInfo.state. */
export const RECEIPT_STATES = ['final', 'pending', 'challenged', 'finalized', 'corrected'] as const

function receiptIdArg(value: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new PayableError(`<receiptId>: expected a 32-byte receipt id (0x + 64 hex digits), got "${value}"`)
  return value.toLowerCase() as Hex
}

async function readText(file: string, flag: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new PayableError(`cannot read ${flag} ${file}: ${(err as Error).message}`)
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new PayableError(`${flag} ${file} is not UTF-8 text`)
  }
  return bytes
}

/** The signed receipt: from --receipt-file, else from the settle transaction's calldata. */
export async function receiptFor(
  ctx: ChainContext,
  id: Hex,
  receiptFile?: string,
): Promise<InferenceReceipt> {
  if (receiptFile !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(receiptFile, 'utf8'))
    } catch (err) {
      throw new PayableError(`cannot read --receipt-file ${receiptFile}: ${(err as Error).message}`)
    }
    return receiptFromJson((parsed as { receipt?: unknown }).receipt ?? parsed)
  }
  let info: Awaited<ReturnType<typeof getReceipt>>
  try {
    info = await getReceipt(ctx.client, { receiptId: id })
  } catch (err) {
    throw new PayableError(`receipt ${id}: ${describeChainError(err)}`)
  }
  return settledReceipt(ctx, id, info.settledAtBlock)
}

export async function challengeStatus(ctx: ChainContext, id: Hex) {
  try {
    const c = await getChallenge(ctx.client, { receiptId: id })
    return { receiptId: id, ...c, stateName: RECEIPT_STATES[c.state] ?? 'unknown' }
  } catch (err) {
    throw new PayableError(`receipt ${id}: ${describeChainError(err)}`)
  }
}

function resolution(mined: Mined) {
  const r = findLog(mined, 'ChallengeResolved') as {
    providerAtFault: boolean
    revealed: boolean
    recomputedCommitment: Hex
    slashed: bigint
    challengerReward: bigint
  }
  return { ...r, tx: mined.hash, gasUsed: mined.receipt.gasUsed }
}

function describeResolution(id: Hex, r: ReturnType<typeof resolution>): string {
  return r.providerAtFault
    ? [
        `Receipt ${id}: the provider was at fault (${r.revealed ? 'the revealed output gives other weights' : 'nothing revealed'}).`,
        `  slashed           ${open(r.slashed)} (${open(r.challengerReward)} to the challenger, the rest to the contributors)`,
        `  payouts           corrected to the recomputed attribution`,
        `  tx                ${r.tx} (gas ${r.gasUsed})`,
      ].join('\n')
    : [
        `Receipt ${id}: the revealed output gives exactly the signed attribution; the challenge failed.`,
        `  challenger's bond goes to the provider; the fee is credited as signed`,
        `  tx                ${r.tx} (gas ${r.gasUsed})`,
      ].join('\n')
}

export function registerProviderBondCommands(provider: Command, common: (c: Command) => Command): void {
  const moves = [
    ['bond', 'add OPEN to your provider bond (the stake behind your receipts)'],
    ['unbond', 'withdraw OPEN from your bond (once no window or challenge is open)'],
  ] as const
  for (const [name, description] of moves) {
    common(provider.command(`${name} <amount>`).description(description)).action(
      async (amount: string, o: CommonOpts) => {
        const value = parseOpenAmount(amount)
        const ctx = await chainFor(o, true)
        const { wallet, account } = requireWallet(ctx)
        const mined =
          name === 'bond'
            ? await sendAndWait(ctx, 'bondProvider', sendBond(wallet, { value }))
            : await sendAndWait(ctx, 'unbondProvider', sendUnbond(wallet, { amount: value }))
        const [bond] = await getProviderBond(ctx.client, { provider: account.address })
        print(
          o,
          { provider: account.address, bond, tx: mined.hash },
          () => `Bond of ${account.address}: ${open(bond)} (tx ${mined.hash})`,
        )
      },
    )
  }

  common(
    provider
      .command('bond-status [address]')
      .description('show a provider bond (default: your key’s address)'),
  ).action(async (address: string | undefined, o: CommonOpts) => {
    const ctx = await chainFor(o, address === undefined)
    const who = address === undefined ? requireWallet(ctx).account.address : parseAddress(address)
    const [bond, lockedUntil, openChallenges] = await getProviderBond(ctx.client, { provider: who })
    print(o, { provider: who, bond, lockedUntil, openChallenges }, () =>
      [
        `Provider ${who}`,
        `  bond              ${open(bond)}`,
        `  locked until      ${lockedUntil === 0n ? '-' : new Date(Number(lockedUntil) * 1000).toISOString()}`,
        `  open challenges   ${openChallenges}`,
      ].join('\n'),
    )
  })
}

export function registerChallengeCommands(attribution: Command, common: (c: Command) => Command): void {
  common(
    attribution
      .command('challenge <receiptId>')
      .description('dispute a settled receipt within its challenge window, posting the challenger bond'),
  )
    .option(
      '--output-file <file>',
      'the answered output: verify the receipt first and challenge only if it fails',
    )
    .option('--force', 'challenge even if the receipt verifies', false)
    .action(async (idArg: string, o: CommonOpts & { outputFile?: string; force: boolean }) => {
      const id = receiptIdArg(idArg)
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      let reasons: string[] = []
      if (o.outputFile !== undefined) {
        const output = new TextDecoder().decode(await readText(o.outputFile, '--output-file'))
        const v = await verifyReceipt(ctx, id, output)
        reasons = v.reasons
        if (v.ok && !o.force)
          throw new PayableError(`receipt ${id} verifies: nothing to challenge (--force to challenge anyway)`)
      }
      const { challengerBond } = await getParameters(ctx.client, {})
      const mined = await sendAndWait(
        ctx,
        'challenge',
        challengeReceipt(wallet, { receiptId: id, value: challengerBond }),
      )
      const ev = findLog(mined, 'ReceiptChallenged') as { bond: bigint; revealDeadline: bigint }
      print(
        o,
        { receiptId: id, bond: ev.bond, revealDeadline: ev.revealDeadline, reasons, tx: mined.hash },
        () =>
          [
            `Challenged receipt ${id} with a bond of ${open(ev.bond)} (tx ${mined.hash}).`,
            `The provider must reveal the output by ${new Date(Number(ev.revealDeadline) * 1000).toISOString()}; after that, \`openledger attribution resolve ${id}\`.`,
            ...reasons.map((r) => `  - ${r}`),
          ].join('\n'),
      )
    })

  common(
    attribution
      .command('reveal <receiptId>')
      .description('answer a challenge with the output: the chain re-runs the attribution and resolves it'),
  )
    .requiredOption('--output-file <file>', 'the output text exactly as answered')
    .option('--receipt-file <file>', 'signed receipt JSON (when a contract settled it)')
    .action(async (idArg: string, o: CommonOpts & { outputFile: string; receiptFile?: string }) => {
      const id = receiptIdArg(idArg)
      const output = await readText(o.outputFile, '--output-file')
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const receipt = await receiptFor(ctx, id, o.receiptFile)
      const mined = await sendAndWait(ctx, 'reveal', revealOutput(wallet, { receipt, output: toHex(output) }))
      const r = resolution(mined)
      print(o, { receiptId: id, ...r }, () => describeResolution(id, r))
    })

  common(
    attribution
      .command('resolve <receiptId>')
      .description(
        'after the reveal deadline of an unanswered challenge: slash the provider, pay by the fallback',
      ),
  )
    .option('--receipt-file <file>', 'signed receipt JSON (when a contract settled it)')
    .action(async (idArg: string, o: CommonOpts & { receiptFile?: string }) => {
      const id = receiptIdArg(idArg)
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const receipt = await receiptFor(ctx, id, o.receiptFile)
      const mined = await sendAndWait(ctx, 'resolveUnrevealed', sendResolveUnrevealed(wallet, { receipt }))
      const r = resolution(mined)
      print(o, { receiptId: id, ...r }, () => describeResolution(id, r))
    })

  common(
    attribution
      .command('finalize <receiptId>')
      .description('after an unchallenged receipt’s window: credit its fee as signed (anyone may)'),
  )
    .option('--receipt-file <file>', 'signed receipt JSON (when a contract settled it)')
    .action(async (idArg: string, o: CommonOpts & { receiptFile?: string }) => {
      const id = receiptIdArg(idArg)
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const receipt = await receiptFor(ctx, id, o.receiptFile)
      const mined = await sendAndWait(ctx, 'finalize', finalizeReceipt(wallet, { receipt }))
      print(
        o,
        { receiptId: id, tx: mined.hash },
        () => `Receipt ${id} finalized: its fee is claimable (tx ${mined.hash})`,
      )
    })

  common(
    attribution.command('challenge-status <receiptId>').description('show a receipt’s challenge state'),
  ).action(async (idArg: string, o: CommonOpts) => {
    const ctx = await chainFor(o, false)
    const c = await challengeStatus(ctx, receiptIdArg(idArg))
    const when = (t: bigint) => (t === 0n ? '-' : new Date(Number(t) * 1000).toISOString())
    print(o, c, () =>
      [
        `Receipt ${c.receiptId}: ${c.stateName}`,
        `  provider (signer) ${c.signer}`,
        `  window ends       ${when(c.windowEnds)}`,
        ...(c.state === 2 || c.state === 4 || c.bond > 0n
          ? [
              `  challenger        ${c.challenger}`,
              `  challenger bond   ${open(c.bond)}`,
              `  reveal deadline   ${when(c.revealDeadline)}`,
            ]
          : []),
        `  credited at block ${c.creditedAtBlock === 0n ? '-' : c.creditedAtBlock}`,
      ].join('\n'),
    )
  })
}
