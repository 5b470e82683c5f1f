/**
 * CLI for curation rules, licences and governed parameters (issue 15): `datanet revoke`,
 * `datanet require-approvals`, `datanet licence`, `datanet allow-model-owner`,
 * `model derivative-terms`, `attribution params`. Attached to the `datanet`, `model` and
 * `attribution` commands by commands.ts.
 */
import {
  getDatanetTerms,
  getModelTerms,
  getParameters,
  revokeApproval,
  setDerivativeTerms,
  setLicence,
  setModelOwnerAllowed,
  setRequiredApprovals,
} from '@openledger/attribution/sdk'
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import type { Address } from 'viem'
import { findLog, requireWallet, sendAndWait } from './chain.ts'
import { type CommonOpts, chainFor, common, parseIdArg, print } from './cli-common.ts'
import { PayableError } from './errors.ts'
import { open, table } from './format.ts'
import { parseAddress, parseBps } from './parse.ts'

function parseApprovals(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 16)
    throw new InvalidArgumentError('expected a number of approvals in [1, 16]')
  return Number(value)
}

export const LICENCE_MODES = ['open', 'allow-list'] as const

export function registerCurationCommands(datanet: Command): void {
  common(
    datanet
      .command('revoke <datanet> <contribution>')
      .description('withdraw your approval of a contribution (until the version holding it is published)'),
  ).action(async (d: string, c: string, o: CommonOpts) => {
    const datanetId = parseIdArg(d, 'datanet')
    const contributionId = parseIdArg(c, 'contribution')
    const ctx = await chainFor(o, true)
    const { wallet } = requireWallet(ctx)
    const mined = await sendAndWait(
      ctx,
      'revokeApproval',
      revokeApproval(wallet, { datanetId, contributionId }),
    )
    const ev = findLog(mined, 'ApprovalRevoked')
    const unapproved = mined.logs.some((l) => l.eventName === 'TransferSingle')
    print(o, { datanetId, contributionId, approvals: ev.approvals, unapproved, tx: mined.hash }, () =>
      [
        `Revoked your approval of contribution ${contributionId} of datanet ${datanetId}: ${ev.approvals} approval(s) left`,
        unapproved ? '  it is pending again and its shares were burnt' : '',
        `  (tx ${mined.hash})`,
      ]
        .filter((l) => l !== '')
        .join('\n'),
    )
  })

  common(
    datanet
      .command('require-approvals <datanet> <k>')
      .description('how many curator approvals a contribution needs (owner; the owner counts as a curator)'),
  ).action(async (d: string, k: string, o: CommonOpts) => {
    const datanetId = parseIdArg(d, 'datanet')
    let required: number
    try {
      required = parseApprovals(k)
    } catch (e) {
      throw new PayableError(`<k>: ${(e as Error).message}`)
    }
    const ctx = await chainFor(o, true)
    const { wallet } = requireWallet(ctx)
    const mined = await sendAndWait(
      ctx,
      'setRequiredApprovals',
      setRequiredApprovals(wallet, { datanetId, requiredApprovals: required }),
    )
    print(
      o,
      { datanetId, requiredApprovals: required, tx: mined.hash },
      () => `Datanet ${datanetId} now needs ${required} approval(s) per contribution (tx ${mined.hash})`,
    )
  })

  common(
    datanet
      .command('licence <datanet>')
      .description('who may train models on the datanet, and the least share of fees its contributors get'),
  )
    .option('--mode <mode>', `${LICENCE_MODES.join(' | ')} (allow-list: only model owners you allow)`)
    .option(
      '--min-contributors-bps <bps>',
      'least part of every fee (bps) a model must leave contributors',
      parseBps,
    )
    .action(async (d: string, o: CommonOpts & { mode?: string; minContributorsBps?: number }) => {
      const datanetId = parseIdArg(d, 'datanet')
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const current = await getDatanetTerms(ctx.client, { datanetId })
      let licenceMode = current.licenceMode
      if (o.mode !== undefined) {
        const i = LICENCE_MODES.indexOf(o.mode as (typeof LICENCE_MODES)[number])
        if (i < 0) throw new PayableError(`--mode: expected ${LICENCE_MODES.join(' or ')}, got "${o.mode}"`)
        licenceMode = i
      }
      const minContributorsBps = o.minContributorsBps ?? current.minContributorsBps
      const mined = await sendAndWait(
        ctx,
        'setLicence',
        setLicence(wallet, { datanetId, licenceMode, minContributorsBps }),
      )
      const mode = LICENCE_MODES[licenceMode]
      print(
        o,
        { datanetId, licenceMode: mode, minContributorsBps, tx: mined.hash },
        () =>
          `Datanet ${datanetId} licence: ${mode}, contributors get at least ${minContributorsBps} bps of every fee (tx ${mined.hash})`,
      )
    })

  common(
    datanet
      .command('allow-model-owner <datanet> <address>')
      .description('admit (or with --remove, no longer admit) a model owner under an allow-list licence'),
  )
    .option('--remove', 'remove from the allow-list', false)
    .action(async (d: string, a: string, o: CommonOpts & { remove: boolean }) => {
      const datanetId = parseIdArg(d, 'datanet')
      let modelOwner: Address
      try {
        modelOwner = parseAddress(a)
      } catch (e) {
        throw new PayableError(`<address>: ${(e as Error).message}`)
      }
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const allowed = !o.remove
      const mined = await sendAndWait(
        ctx,
        'setModelOwnerAllowed',
        setModelOwnerAllowed(wallet, { datanetId, modelOwner, allowed }),
      )
      print(
        o,
        { datanetId, modelOwner, allowed, tx: mined.hash },
        () =>
          `${allowed ? 'Allowed' : 'Removed'} model owner ${modelOwner} on datanet ${datanetId} (tx ${mined.hash})`,
      )
    })

  common(datanet.command('terms <datanet>').description('curation and licence terms of a datanet')).action(
    async (d: string, o: CommonOpts) => {
      const datanetId = parseIdArg(d, 'datanet')
      const ctx = await chainFor(o, false)
      const terms = await getDatanetTerms(ctx.client, { datanetId })
      const mode = LICENCE_MODES[terms.licenceMode] ?? String(terms.licenceMode)
      print(o, { datanetId, ...terms, licenceMode: mode }, () =>
        [
          `Datanet ${datanetId}`,
          `  approvals needed       ${terms.requiredApprovals}`,
          `  licence                ${mode}`,
          `  contributors at least  ${terms.minContributorsBps} bps of every fee`,
        ].join('\n'),
      )
    },
  )
}

export function registerModelTermsCommands(model: Command): void {
  common(
    model
      .command('derivative-terms <model>')
      .description('whether others may register derivatives of your model, and the royalty they pay you'),
  )
    .option('--allow', 'allow derivatives', false)
    .option('--deny', 'refuse derivatives (the default until you allow them)', false)
    .option('--royalty <bps>', 'share of a derivative’s owner part paid to you (bps)', parseBps)
    .action(async (m: string, o: CommonOpts & { allow: boolean; deny: boolean; royalty?: number }) => {
      const modelId = parseIdArg(m, 'model')
      if (o.allow === o.deny) throw new PayableError('give exactly one of --allow or --deny')
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const current = await getModelTerms(ctx.client, { modelId })
      const royaltyBps = o.royalty ?? current.derivativeRoyaltyBps
      const mined = await sendAndWait(
        ctx,
        'setDerivativeTerms',
        setDerivativeTerms(wallet, { modelId, allowed: o.allow, royaltyBps }),
      )
      print(
        o,
        { modelId, allowed: o.allow, royaltyBps, tx: mined.hash },
        () =>
          `Model ${modelId}: derivatives ${o.allow ? `allowed, royalty ${royaltyBps} bps of their owner part` : 'refused'} (tx ${mined.hash})`,
      )
    })
}

export function registerParamsCommands(attribution: Command): void {
  common(
    attribution
      .command('params')
      .description('the governed parameters of the attribution modules (fee split, caps, bonds, windows)'),
  ).action(async (o: CommonOpts) => {
    const ctx = await chainFor(o, false)
    const p = await getParameters(ctx.client, {})
    const rows: [string, string][] = Object.entries(p).map(([k, v]) => [
      k,
      k.endsWith('Bond') ? open(v as bigint) : String(v),
    ])
    print(o, p, () => table(['parameter', 'value'], rows))
  })
}
