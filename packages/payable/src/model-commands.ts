/**
 * `openledger model …`: register and train models (the built-in n-gram model, or a LoRA adapter of
 * a base model on datanet versions rebuilt from chain), their terms, and reads over JSON-RPC.
 */
import { getModel, getModelCount } from '@openledger/attribution/sdk'
import type { Command } from 'commander'
import type { Address, Hex } from 'viem'
import { type CommonOpts, chainFor, common, ids, parseIdArg, print } from './cli-common.ts'
import { parseOpenAmount } from './cli-options.ts'
import { readModel } from './corpus.ts'
import { PayableError } from './errors.ts'
import { open, Progress, shorten, table } from './format.ts'
import { addLoraTrainOptions, type LoraTrainOpts, registerBaseTrain, runLoraTrain } from './ml-commands.ts'
import {
  collectDatanetRefs,
  parseAddress,
  parseBaseModel,
  parseBps,
  parseBytes32,
  parseCount,
  parseId,
  parseName,
  parseOffset,
  parseUri,
  parseVersion,
} from './parse.ts'
import { registerModelTermsCommands } from './terms-commands.ts'
import { BUILTIN_BASE_MODEL, registerModelOnChain, trainFromChain, writeArtifacts } from './trainer.ts'

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('train, register and inspect models')
  registerBaseTrain(model, common)

  const train = common(
    model
      .command('train')
      .description(
        'train on datanet versions rebuilt from chain and register: a LoRA adapter of a base model (--base), else the built-in n-gram model',
      ),
  )
    .requiredOption(
      '--datanet <id@version>',
      'datanet version to train on (repeatable)',
      collectDatanetRefs,
      [],
    )
    .requiredOption('--name <name>', 'model name (≤ 64 bytes)', parseName)
    .requiredOption('--provider <address>', 'address whose key signs inference receipts', parseAddress)
    .option('--out <dir>', 'where to write the artifact, config and training log (default ./models/<name>)')
    .option('--order <n>', 'n-gram order (2…8)', (v) => parseCount(v, 8), 4)
    .option(
      '--artifact-uri <uri>',
      'artifact URI to register (default: file:// URI of the written artifact)',
      parseUri,
    )
    .option('--min-fee <OPEN>', 'minimum fee per inference in OPEN', parseOpenAmount, 10n ** 15n)
    .option('--owner-share <bps>', 'model owner share of each fee in basis points', parseBps, 2000)
    .option('--content-dir <dir>', 'content of contributions referenced by hash')
  addLoraTrainOptions(train).action(
    async (
      o: CommonOpts & {
        datanet: { datanetId: bigint; version: bigint }[]
        name: string
        provider: Address
        out?: string
        order: number
        artifactUri?: string
        minFee: bigint
        ownerShare: number
        contentDir?: string
        base?: bigint
      },
    ) => {
      if (o.base !== undefined) return runLoraTrain(o as unknown as LoraTrainOpts)
      const ctx = await chainFor(o, true)
      const progress = new Progress(!o.json)
      const trained = await trainFromChain(ctx, {
        datanets: o.datanet,
        order: o.order,
        contentDir: o.contentDir,
        onPhase: (p, d) => progress.phase(p, d),
        onProgress: (p, d, t) => progress.step(p === 'read' ? 'records' : 'training', d, t),
      })
      const dir = o.out ?? `models/${o.name.replace(/[^A-Za-z0-9._-]+/g, '-')}`
      const written = await writeArtifacts(trained, dir)
      const artifactURI = o.artifactUri ?? written.artifactURI
      if (Buffer.byteLength(artifactURI) > 256)
        throw new PayableError(`artifact URI ${artifactURI} is longer than 256 bytes: pass --artifact-uri`)
      progress.phase('register', 'registering the model on chain')
      const { modelId, mined } = await registerModelOnChain(ctx, {
        name: o.name,
        baseModel: BUILTIN_BASE_MODEL,
        datanets: o.datanet,
        trainingConfigHash: trained.trainingConfigHash,
        trainingLogHash: trained.trainingLogHash,
        artifactHash: trained.artifactHash,
        artifactURI,
        provider: o.provider,
        minFeePerInference: o.minFee,
        ownerShareBps: o.ownerShare,
      })
      const r = {
        modelId,
        version: 1,
        records: trained.corpus.records.length,
        tokens: trained.model.tokenCount,
        vocabulary: trained.model.vocabulary.length,
        contexts: trained.model.contextCount,
        artifactHash: trained.artifactHash,
        trainingConfigHash: trained.trainingConfigHash,
        trainingLogHash: trained.trainingLogHash,
        artifactURI,
        files: { artifact: written.artifactPath, config: written.configPath, log: written.logPath },
        tx: mined.hash,
      }
      print(o, r, () =>
        [
          `Registered model ${modelId} "${o.name}" trained on ${o.datanet.map((d) => `${d.datanetId}@${d.version}`).join(', ')}`,
          `  records ${r.records}, tokens ${r.tokens}, vocabulary ${r.vocabulary}, contexts ${r.contexts}`,
          `  artifact         ${written.artifactPath}`,
          `  artifact hash    ${r.artifactHash}`,
          `  config hash      ${r.trainingConfigHash}  (${written.configPath})`,
          `  training log     ${r.trainingLogHash}  (${written.logPath})`,
          `  tx               ${mined.hash}`,
        ].join('\n'),
      )
    },
  )

  common(
    model
      .command('register')
      .description('register a model trained elsewhere (e.g. a LoRA adapter) with its audit hashes'),
  )
    .requiredOption('--name <name>', 'model name (≤ 64 bytes)', parseName)
    .requiredOption(
      '--datanet <id@version>',
      'datanet version trained on (repeatable)',
      collectDatanetRefs,
      [],
    )
    .requiredOption('--provider <address>', 'address whose key signs inference receipts', parseAddress)
    .requiredOption('--artifact-hash <hash>', 'keccak256 of the artifact (adapter weights)', parseBytes32)
    .option('--artifact-uri <uri>', 'where the artifact can be fetched', parseUri, '')
    .option('--config-hash <hash>', 'keccak256 of the training config', parseBytes32, `0x${'00'.repeat(32)}`)
    .option('--log-hash <hash>', 'keccak256 of the training log', parseBytes32, `0x${'00'.repeat(32)}`)
    .option('--base-model <id>', 'base model id (≤ 128 bytes)', parseBaseModel, '')
    .option('--parent <modelId>', 'parent model (derivative; its owner earns a royalty)', parseId)
    .option('--min-fee <OPEN>', 'minimum fee per inference in OPEN', parseOpenAmount, 10n ** 15n)
    .option('--owner-share <bps>', 'model owner share of each fee in basis points', parseBps, 2000)
    .action(
      async (
        o: CommonOpts & {
          name: string
          datanet: { datanetId: bigint; version: bigint }[]
          provider: Address
          artifactHash: Hex
          artifactUri: string
          configHash: Hex
          logHash: Hex
          baseModel: string
          parent?: bigint
          minFee: bigint
          ownerShare: number
        },
      ) => {
        const ctx = await chainFor(o, true)
        const { modelId, mined } = await registerModelOnChain(ctx, {
          name: o.name,
          baseModel: o.baseModel,
          parentId: o.parent,
          datanets: o.datanet,
          trainingConfigHash: o.configHash,
          trainingLogHash: o.logHash,
          artifactHash: o.artifactHash,
          artifactURI: o.artifactUri,
          provider: o.provider,
          minFeePerInference: o.minFee,
          ownerShareBps: o.ownerShare,
        })
        print(
          o,
          { modelId, tx: mined.hash },
          () => `Registered model ${modelId} "${o.name}" (tx ${mined.hash})`,
        )
      },
    )

  registerModelTermsCommands(model)

  common(model.command('show <model>').description('a model and a version (default: the latest)'))
    .option('--version <n>', 'model version', parseVersion)
    .action(async (m: string, o: CommonOpts & { version?: number }) => {
      const ctx = await chainFor(o, false)
      const info = await readModel(ctx, parseIdArg(m, 'model'), o.version)
      print(o, info, () =>
        [
          `Model ${info.id} "${info.name}" (version ${info.version} of ${info.versionCount})`,
          `  owner            ${info.owner} (share ${info.ownerShareBps} bps)`,
          `  provider         ${info.provider}`,
          `  base model       ${info.baseModel || '-'}`,
          `  parent           ${info.parentId === 0n ? '-' : info.parentId}`,
          `  min fee          ${open(info.minFeePerInference)}`,
          `  trained on       ${info.datanets.map((d) => `datanet ${d.datanetId}@${d.version}`).join(', ')}`,
          `  artifact         ${info.artifactURI || '-'}`,
          `  artifact hash    ${info.artifactHash}`,
          `  config hash      ${info.trainingConfigHash}`,
          `  training log     ${info.trainingLogHash}`,
        ].join('\n'),
      )
    })

  common(model.command('list').description('list models'))
    .option('--offset <n>', 'skip this many', parseOffset, 0n)
    .option('--limit <n>', 'at most this many', (v) => parseCount(v, 1000), 50)
    .action(async (o: CommonOpts & { offset: bigint; limit: number }) => {
      const ctx = await chainFor(o, false)
      const count = await getModelCount(ctx.client, {})
      const list = await Promise.all(
        ids(o.offset + 1n, count, o.limit).map((modelId) => getModel(ctx.client, { modelId })),
      )
      print(o, { count, models: list }, () =>
        list.length === 0
          ? 'No models.'
          : table(
              ['id', 'name', 'owner', 'provider', 'versions', 'min fee'],
              list.map((m) => [
                m.id,
                shorten(m.name, 32),
                m.owner,
                m.provider,
                m.versionCount,
                open(m.minFeePerInference),
              ]),
            ),
      )
    })
}
