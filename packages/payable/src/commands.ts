/**
 * CLI of the payable-AI loop over JSON-RPC: `rewards`, `provider`, `infer`, `attribution` here,
 * `datanet` (datanet-commands.ts) and `model` (model-commands.ts, ml-commands.ts, job-commands.ts)
 * registered with them (`demo`, which runs a node, is the node CLI's). Every command takes --rpc, a
 * key from --key-file or OPENLEDGER_PRIVATE_KEY (never printed), prints tables by default and JSON
 * with --json.
 */
import { readFile, writeFile } from 'node:fs/promises'
import {
  claim,
  getClaimable,
  getDatanet,
  getHeldShareTokens,
  getShareBalance,
  getTotalShares,
  type InferenceReceipt,
  splitShareTokenId,
} from '@openledger/attribution/sdk'
import { type Command, Option } from 'commander'
import { type Address, formatUnits, type Hex } from 'viem'
import { connect, findLog, requireWallet, sendAndWait } from './chain.ts'
import { registerChallengeCommands, registerProviderBondCommands } from './challenge-commands.ts'
import { type CommonOpts, chainFor, common, print } from './cli-common.ts'
import { parseOpenAmount, parsePort } from './cli-options.ts'
import { registerDatanetCommands } from './datanet-commands.ts'
import { PayableError } from './errors.ts'
import { open, Progress, shorten, table, toJson } from './format.ts'
import { registerJobCommands } from './job-commands.ts'
import { KEY_ENV, requirePrivateKey } from './keys.ts'
import { addOpenLoraOptions, type OpenLoraServeOpts, registerVerify, runOpenLora } from './ml-commands.ts'
import { registerModelCommands } from './model-commands.ts'
import { parseAddress, parseCount, parseId, parseVersion } from './parse.ts'
import { Provider, serveProvider } from './provider.ts'
import { receiptFromJson, receiptToJson } from './receipts.ts'
import { askProvider, checkAnswer, explainSettlement, type SettlementReport, settleAnswer } from './settle.ts'
import { registerParamsCommands } from './terms-commands.ts'
import { verifyReceipt } from './verify.ts'

// ---------------------------------------------------------------- rewards

function registerRewards(program: Command): void {
  const rewards = program.command('rewards').description('rewards earned from inference fees')

  common(rewards.command('show').description('claimable rewards and datanet shares of an account'))
    .option('--account <address>', 'account (default: the key’s address)', parseAddress)
    .action(async (o: CommonOpts & { account?: Address }) => {
      const ctx = await chainFor(o, false)
      const account = o.account ?? ctx.account?.address
      if (account === undefined)
        throw new PayableError(`name --account, or give a key (--key-file or $${KEY_ENV})`)
      const claimable = await getClaimable(ctx.client, { holder: account })
      const held = await getHeldShareTokens(ctx.client, { holder: account })
      const shares = await Promise.all(
        held.map(async (tokenId) => {
          const { datanetId, version } = splitShareTokenId(tokenId)
          const balance = await getShareBalance(ctx.client, { holder: account, id: tokenId })
          const supply = await getTotalShares(ctx.client, { id: tokenId })
          const d = await getDatanet(ctx.client, { datanetId })
          return { datanetId, version, tokenId, name: d.name, shares: balance, totalShares: supply }
        }),
      )
      print(o, { account, claimable, shares }, () =>
        [
          `Account ${account}: ${open(claimable)} claimable`,
          ...(shares.length === 0
            ? []
            : [
                '',
                table(
                  ['datanet', 'version', 'name', 'shares', 'of version total'],
                  shares.map((s) => [s.datanetId, s.version, shorten(s.name, 32), s.shares, s.totalShares]),
                ),
              ]),
        ].join('\n'),
      )
    })

  common(rewards.command('claim').description('claim all accrued rewards to your account')).action(
    async (o: CommonOpts) => {
      const ctx = await chainFor(o, true)
      const { wallet, account } = requireWallet(ctx)
      const before = await getClaimable(ctx.client, { holder: account.address })
      if (before === 0n) throw new PayableError(`nothing to claim for ${account.address}`)
      const mined = await sendAndWait(ctx, 'claim', claim(wallet, {}))
      const amount = findLog(mined, 'RewardsClaimed').amount as bigint
      print(
        o,
        { account: account.address, amount, tx: mined.hash },
        () => `Claimed ${open(amount)} to ${account.address} (tx ${mined.hash})`,
      )
    },
  )
}

// ---------------------------------------------------------------- provider, infer, attribution

function registerProvider(program: Command): void {
  const provider = program.command('provider').description('serve a model as a paid inference provider')
  registerProviderBondCommands(provider, common)
  const serve = common(
    provider.command('serve').description('answer prompts over HTTP with attributed, signed receipts'),
  )
    .option('--model <id>', 'model to serve (or --base: every adapter of a base model)', parseId)
    .option('--key <file>', 'provider key file (same as --key-file)')
    .option('--model-version <n>', 'model version (default: the latest)', parseVersion)
    .addOption(new Option('--port <port>', 'HTTP port').default(8080).argParser(parsePort))
    .option('--host <address>', 'interface to bind', '127.0.0.1')
    .option(
      '--upstream <url>',
      `forward generation to an OpenAI-compatible API base URL (API key from $OPENLEDGER_UPSTREAM_API_KEY)`,
    )
    .option('--upstream-model <name>', 'model name sent upstream')
    .option('--artifact <file>', 'built-in model artifact (default: the registered file: URI)')
    .option('--fee <OPEN>', 'fee per inference in OPEN (default: the model minimum)', parseOpenAmount)
    .option('--ttl <seconds>', 'receipt validity', (v) => parseCount(v, 86_400 * 30), 600)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .option('--quiet', 'do not log requests', false)
  addOpenLoraOptions(serve).action(
    async (
      o: CommonOpts & {
        model?: bigint
        base?: bigint
        key?: string
        modelVersion?: number
        port: number
        host: string
        upstream?: string
        upstreamModel?: string
        artifact?: string
        fee?: bigint
        ttl: number
        contentDir?: string
        quiet: boolean
      },
    ) => {
      if (o.base !== undefined) {
        if (o.model !== undefined) throw new PayableError('give --model or --base, not both')
        return runOpenLora(o as unknown as OpenLoraServeOpts)
      }
      if (o.model === undefined) throw new PayableError('give --model <id> (or --base <id> for OpenLoRA)')
      if (o.key !== undefined && o.keyFile !== undefined)
        throw new PayableError('give --key or --key-file, not both')
      const privateKey = await requirePrivateKey(o.key ?? o.keyFile)
      const ctx = await connect(o.rpc)
      if (o.upstream !== undefined) {
        try {
          new URL(o.upstream)
        } catch {
          throw new PayableError(`--upstream: not a URL: ${o.upstream}`)
        }
      }
      const progress = new Progress(!o.json)
      const p = await Provider.load(ctx, {
        modelId: o.model as bigint,
        modelVersion: o.modelVersion,
        privateKey,
        artifactPath: o.artifact,
        upstream:
          o.upstream === undefined
            ? undefined
            : { url: o.upstream, model: o.upstreamModel, apiKey: process.env.OPENLEDGER_UPSTREAM_API_KEY },
        contentDir: o.contentDir,
        fee: o.fee,
        ttlSeconds: o.ttl,
        onPhase: (ph, d) => progress.phase(ph, d),
        onProgress: (_ph, d, t) => progress.step('records', d, t),
      })
      const server = await serveProvider(p, {
        host: o.host,
        port: o.port,
        onRequest: o.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
      })
      const info = p.info()
      print(o, { ...info, url: server.url }, () =>
        [
          `Serving model ${p.model.id} v${p.model.version} "${p.model.name}" (${info.mode}) as ${p.address}`,
          `  fee ${open(p.fee)} per inference; corpus ${p.corpus.records.length} records, ${p.index.tokenCount} tokens`,
          `Provider listening on ${server.url}`,
        ].join('\n'),
      )
      const stop = () => {
        server.close().then(() => process.exit(0))
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    },
  )
}

export function formatSettlement(r: SettlementReport, output: string): string {
  const rows = r.payouts.map((p) => [p.role, p.account, open(p.amount), p.why])
  const spanLines = r.payouts
    .filter((p) => p.spans.length > 0)
    .flatMap((p) => [
      `  contribution ${p.contributionId} of datanet ${p.datanetId} (${p.account}):`,
      ...p.spans.map((s) => `    “${shorten(s, 100)}”`),
    ])
  return [
    `Output: ${output}`,
    '',
    `Settled receipt ${r.receiptId} in block ${r.block} (tx ${r.txHash}), fee ${open(r.fee)}`,
    '',
    table(['role', 'account', 'earned', 'why'], rows),
    ...(spanLines.length > 0
      ? ['', 'Spans of the output that earned each contributor share:', ...spanLines]
      : []),
  ].join('\n')
}

function registerInfer(program: Command): void {
  common(
    program
      .command('infer')
      .description('ask a provider, settle its receipt on chain (paying the fee) and show who earned what'),
  )
    .requiredOption('--provider <url>', 'provider base URL, e.g. http://127.0.0.1:8080')
    .requiredOption('--prompt <text>', 'prompt')
    .option('--max-tokens <n>', 'maximum tokens to generate', (v) => parseCount(v, 512), 64)
    .option('--seed <n>', 'generation seed', (v) => parseCount(v, Number.MAX_SAFE_INTEGER), undefined)
    .option('--max-fee <OPEN>', 'refuse to pay more than this', parseOpenAmount, 10n ** 18n)
    .option('--model <id>', 'model to ask (an OpenLoRA provider serves several adapters)', parseId)
    .option('--save-output <file>', 'write the output text (exact bytes, for attribution verify)')
    .option('--save-receipt <file>', 'write the signed receipt and evidence as JSON')
    .action(
      async (
        o: CommonOpts & {
          provider: string
          prompt: string
          maxTokens: number
          seed?: number
          maxFee: bigint
          saveOutput?: string
          saveReceipt?: string
          model?: bigint
        },
      ) => {
        const ctx = await chainFor(o, true)
        const { account } = requireWallet(ctx)
        const answer = await askProvider(o.provider, {
          prompt: o.prompt,
          maxTokens: o.maxTokens,
          seed: o.seed,
          payer: account.address,
          model: o.model?.toString(),
        })
        await checkAnswer(ctx, answer, o.maxFee)
        if (o.saveOutput !== undefined) await writeFile(o.saveOutput, answer.output)
        if (o.saveReceipt !== undefined) {
          await writeFile(
            o.saveReceipt,
            toJson({
              receipt: receiptToJson(answer.receipt),
              signature: answer.signature,
              receiptId: answer.receiptId,
              output: answer.output,
              evidence: answer.evidence,
            }),
          )
        }
        const mined = await settleAnswer(ctx, answer)
        const report = await explainSettlement(ctx, mined, answer.evidence)
        print(o, { output: answer.output, ...report, evidence: answer.evidence }, () =>
          formatSettlement(report, answer.output),
        )
      },
    )
}

function registerAttribution(program: Command): void {
  const attribution = program
    .command('attribution')
    .description('check attribution receipts, challenge them, and read the governed parameters')
  registerParamsCommands(attribution)
  registerChallengeCommands(attribution, common)
  common(
    attribution
      .command('verify')
      .description('recompute a settled receipt’s attribution from chain data and check it'),
  )
    .requiredOption('--receipt <id>', 'receipt id (0x…, the EIP-712 digest)')
    .requiredOption('--output-file <file>', 'the output text exactly as answered')
    .option('--receipt-file <file>', 'signed receipt JSON (when a contract settled it)')
    .option('--k <n>', 'minimum span length the provider used', (v) => parseCount(v, 64), 6)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
    .action(
      async (
        o: CommonOpts & {
          receipt: string
          outputFile: string
          receiptFile?: string
          k: number
          contentDir?: string
        },
      ) => {
        let output: string
        try {
          output = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(o.outputFile))
        } catch (err) {
          throw new PayableError(
            `cannot read --output-file ${o.outputFile} as UTF-8 text: ${(err as Error).message}`,
          )
        }
        let receipt: InferenceReceipt | undefined
        if (o.receiptFile !== undefined) {
          let parsed: unknown
          try {
            parsed = JSON.parse(await readFile(o.receiptFile, 'utf8'))
          } catch (err) {
            throw new PayableError(`cannot read --receipt-file ${o.receiptFile}: ${(err as Error).message}`)
          }
          receipt = receiptFromJson((parsed as { receipt?: unknown }).receipt ?? parsed)
        }
        const ctx = await chainFor(o, false)
        const progress = new Progress(!o.json)
        const v = await verifyReceipt(ctx, o.receipt as Hex, output, {
          k: o.k,
          contentDir: o.contentDir,
          receipt,
          onPhase: (p, d) => progress.phase(p, d),
        })
        print(
          o,
          {
            ok: v.ok,
            reasons: v.reasons,
            receiptId: v.receiptId,
            model: { id: v.model.id, version: v.model.version },
            entries: v.receipt.entries,
            basis: v.recomputed?.basis,
            spans: v.recomputed?.spans.length,
          },
          () =>
            v.ok
              ? `OK: receipt ${v.receiptId} matches the attribution recomputed from chain data (model ${v.model.id} v${v.model.version}, ${v.recomputed?.spans.length ?? 0} span(s), basis ${v.recomputed?.basis})`
              : [
                  `FAILED: receipt ${v.receiptId} does not match the recomputed attribution:`,
                  ...v.reasons.map((r) => `  - ${r}`),
                ].join('\n'),
        )
        if (!v.ok) process.exitCode = 1
      },
    )
}

/** Adds the payable-AI commands to the `openledger` program. */
export function registerPayableCommands(program: Command): void {
  registerDatanetCommands(program)
  registerModelCommands(program)
  const model = program.commands.find((c) => c.name() === 'model') as Command
  registerVerify(model, common)
  registerJobCommands(model, common)
  registerRewards(program)
  registerProvider(program)
  registerInfer(program)
  registerAttribution(program)
  describeBigintDefaults(program)
}

/** Commander prints option defaults with JSON.stringify, which throws on a bigint: `--help` of any
 * command with one failed. Spell them as a user types them (OPEN amounts in OPEN). */
function describeBigintDefaults(cmd: Command): void {
  for (const o of cmd.options) {
    if (typeof o.defaultValue === 'bigint' && o.defaultValueDescription === undefined)
      o.defaultValueDescription = o.flags.includes('<OPEN>')
        ? formatUnits(o.defaultValue, 18)
        : o.defaultValue.toString()
  }
  for (const c of cmd.commands) describeBigintDefaults(c)
}
