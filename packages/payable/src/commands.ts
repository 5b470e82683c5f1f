/**
 * CLI of the payable-AI loop over JSON-RPC: `datanet`, `model`, `rewards`, `provider`, `infer`,
 * `attribution` (`demo`, which runs a node, is the node CLI's). Every command takes --rpc, a key
 * from --key-file or OPENLEDGER_PRIVATE_KEY (never printed), prints tables by default and JSON
 * with --json.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { DATANET_LIMITS } from '@openledger/attribution'
import {
  approveContribution,
  claim,
  contribute,
  createDatanet,
  getClaimable,
  getContribution,
  getDatanet,
  getDatanetCount,
  getDatanetVersion,
  getHeldShareTokens,
  getModel,
  getModelCount,
  getShareBalance,
  getTotalShares,
  type InferenceReceipt,
  inlineContent,
  publishVersion,
  referencedContent,
  rejectContribution,
  splitShareTokenId,
} from '@openledger/attribution/sdk'
import { type Command, Option } from 'commander'
import { type Address, formatUnits, type Hex } from 'viem'
import { connect, findLog, requireWallet, sendAndWait } from './chain.ts'
import { registerChallengeCommands, registerProviderBondCommands } from './challenge-commands.ts'
import { type CommonOpts, chainFor, common, parseIdArg, print, STATUS } from './cli-common.ts'
import { parseOpenAmount, parsePort } from './cli-options.ts'
import { readModel } from './corpus.ts'
import { PayableError } from './errors.ts'
import { open, Progress, shorten, table, toJson } from './format.ts'
import { registerJobCommands } from './job-commands.ts'
import { KEY_ENV, requirePrivateKey } from './keys.ts'
import {
  addLoraTrainOptions,
  addOpenLoraOptions,
  type LoraTrainOpts,
  type OpenLoraServeOpts,
  registerBaseTrain,
  registerVerify,
  runLoraTrain,
  runOpenLora,
} from './ml-commands.ts'
import {
  collectAddresses,
  collectDatanetRefs,
  parseAddress,
  parseBaseModel,
  parseBps,
  parseBytes32,
  parseCount,
  parseId,
  parseName,
  parseOffset,
  parseSize,
  parseUri,
  parseVersion,
  parseWeight,
} from './parse.ts'
import { Provider, serveProvider } from './provider.ts'
import { receiptFromJson, receiptToJson } from './receipts.ts'
import { askProvider, checkAnswer, explainSettlement, type SettlementReport, settleAnswer } from './settle.ts'
import {
  registerCurationCommands,
  registerModelTermsCommands,
  registerParamsCommands,
} from './terms-commands.ts'
import { BUILTIN_BASE_MODEL, registerModelOnChain, trainFromChain, writeArtifacts } from './trainer.ts'
import { verifyReceipt } from './verify.ts'

// ---------------------------------------------------------------- datanet

function registerDatanet(program: Command): void {
  const datanet = program
    .command('datanet')
    .description('create and curate datanets (datasets with on-chain provenance)')

  common(datanet.command('create').description('create a datanet (you become its owner and a curator)'))
    .requiredOption('--name <name>', 'datanet name (≤ 64 bytes)', parseName)
    .option('--metadata-uri <uri>', 'metadata URI (≤ 256 bytes)', parseUri, '')
    .option('--allow-list', 'only allow-listed accounts may contribute (default: open)', false)
    .option('--curator <address>', 'additional curator (repeatable)', collectAddresses, [])
    .action(
      async (
        o: CommonOpts & { name: string; metadataUri: string; allowList: boolean; curator: Address[] },
      ) => {
        const ctx = await chainFor(o, true)
        const { wallet } = requireWallet(ctx)
        const mined = await sendAndWait(
          ctx,
          'createDatanet',
          createDatanet(wallet, {
            name: o.name,
            metadataURI: o.metadataUri,
            open: !o.allowList,
            curators: o.curator,
          }),
        )
        const id = findLog(mined, 'DatanetCreated').datanetId as bigint
        print(
          o,
          { datanetId: id, tx: mined.hash },
          () => `Created datanet ${id} "${o.name}" (tx ${mined.hash})`,
        )
      },
    )

  common(
    datanet
      .command('contribute <datanet>')
      .description(
        'contribute content: inline in calldata (--file) or referenced by hash (--hash/--uri/--size)',
      ),
  )
    .option('--file <file>', 'content file; carried inline in calldata (≤ 96 KiB) unless --by-hash')
    .option(
      '--by-hash',
      'with --file: record only its hash and size (content stays off chain, give --uri)',
      false,
    )
    .option('--hash <hash>', 'keccak256 of content stored elsewhere', parseBytes32)
    .option('--size <bytes>', 'size of content referenced by --hash', parseSize)
    .option('--uri <uri>', 'where referenced content lives (metadata URI)', parseUri)
    .option('--metadata-uri <uri>', 'metadata URI of an inline contribution', parseUri)
    .action(
      async (
        datanetArg: string,
        o: CommonOpts & {
          file?: string
          byHash: boolean
          hash?: Hex
          size?: bigint
          uri?: string
          metadataUri?: string
        },
      ) => {
        const datanetId = parseIdArg(datanetArg, 'datanet')
        let args: { contentHash: Hex; size: bigint; content: Hex }
        let metadataURI: string
        if (o.file !== undefined) {
          if (o.hash !== undefined || o.size !== undefined)
            throw new PayableError('give either --file or --hash/--size, not both')
          let bytes: Uint8Array
          try {
            bytes = new Uint8Array(await readFile(o.file))
          } catch (err) {
            throw new PayableError(
              `cannot read --file ${o.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
            )
          }
          if (bytes.length === 0) throw new PayableError(`--file ${o.file} is empty`)
          if (!o.byHash && bytes.length > DATANET_LIMITS.maxInlineBytes) {
            throw new PayableError(
              `--file ${o.file} is ${bytes.length} bytes; inline content is limited to ${DATANET_LIMITS.maxInlineBytes}: use --by-hash --uri <uri>`,
            )
          }
          args = o.byHash ? referencedContent(bytes) : inlineContent(bytes)
          metadataURI = o.byHash
            ? (o.uri ?? o.metadataUri ?? '')
            : (o.metadataUri ?? o.uri ?? basename(o.file))
          if (Buffer.byteLength(metadataURI) > DATANET_LIMITS.maxURIBytes) metadataURI = ''
        } else {
          if (o.hash === undefined || o.size === undefined) {
            throw new PayableError('give --file <file>, or --hash <keccak256> --size <bytes> [--uri <uri>]')
          }
          args = { contentHash: o.hash, size: o.size, content: '0x' }
          metadataURI = o.uri ?? o.metadataUri ?? ''
        }
        const ctx = await chainFor(o, true)
        const { wallet } = requireWallet(ctx)
        const mined = await sendAndWait(
          ctx,
          'contribute',
          contribute(wallet, { datanetId, metadataURI, ...args }),
        )
        const ev = findLog(mined, 'ContributionSubmitted')
        const result = {
          datanetId,
          contributionId: ev.contributionId as bigint,
          contentHash: args.contentHash,
          size: args.size,
          inlined: ev.inlined as boolean,
          tx: mined.hash,
        }
        print(
          o,
          result,
          () =>
            `Submitted contribution ${result.contributionId} to datanet ${datanetId} (${result.size} bytes, ${result.inlined ? 'inline' : 'by hash'}, hash ${result.contentHash}); it is pending curation (tx ${mined.hash})`,
        )
      },
    )

  common(
    datanet
      .command('approve <datanet> <contribution>')
      .description('vote to approve a pending contribution (curators; never your own)'),
  )
    .option('--weight <n>', 'shares minted to the contributor (1…1,000,000)', parseWeight, 1000n)
    .action(async (d: string, c: string, o: CommonOpts & { weight: bigint }) => {
      const datanetId = parseIdArg(d, 'datanet')
      const contributionId = parseIdArg(c, 'contribution')
      const ctx = await chainFor(o, true)
      const { wallet } = requireWallet(ctx)
      const mined = await sendAndWait(
        ctx,
        'approveContribution',
        approveContribution(wallet, { datanetId, contributionId, weight: o.weight }),
      )
      const vote = findLog(mined, 'ApprovalVoted')
      const approved = mined.logs.find((l) => l.eventName === 'ContributionApproved')?.args
      print(
        o,
        {
          datanetId,
          contributionId,
          weight: o.weight,
          approvals: vote.approvals,
          approved: approved !== undefined,
          approvalIndex: approved?.approvalIndex ?? null,
          tx: mined.hash,
        },
        () =>
          approved !== undefined
            ? `Approved contribution ${contributionId} of datanet ${datanetId} with weight ${o.weight} (tx ${mined.hash})`
            : `Voted to approve contribution ${contributionId} of datanet ${datanetId} with weight ${o.weight}: ` +
              `${vote.approvals} approval(s), more needed (tx ${mined.hash})`,
      )
    })

  common(
    datanet
      .command('reject <datanet> <contribution>')
      .description('reject a pending contribution (curators)'),
  ).action(async (d: string, c: string, o: CommonOpts) => {
    const datanetId = parseIdArg(d, 'datanet')
    const contributionId = parseIdArg(c, 'contribution')
    const ctx = await chainFor(o, true)
    const { wallet } = requireWallet(ctx)
    const mined = await sendAndWait(
      ctx,
      'rejectContribution',
      rejectContribution(wallet, { datanetId, contributionId }),
    )
    print(
      o,
      { datanetId, contributionId, tx: mined.hash },
      () => `Rejected contribution ${contributionId} of datanet ${datanetId} (tx ${mined.hash})`,
    )
  })

  common(
    datanet
      .command('publish <datanet>')
      .description('publish a version committing to all approved contributions'),
  ).action(async (d: string, o: CommonOpts) => {
    const datanetId = parseIdArg(d, 'datanet')
    const ctx = await chainFor(o, true)
    const { wallet } = requireWallet(ctx)
    const mined = await sendAndWait(ctx, 'publishVersion', publishVersion(wallet, { datanetId }))
    const ev = findLog(mined, 'VersionPublished')
    const r = {
      datanetId,
      version: ev.version as bigint,
      root: ev.root as Hex,
      count: ev.count as bigint,
      tx: mined.hash,
    }
    print(
      o,
      r,
      () =>
        `Published datanet ${datanetId} version ${r.version}: ${r.count} contributions, root ${r.root} (tx ${mined.hash})`,
    )
  })

  registerCurationCommands(datanet)

  common(datanet.command('show <datanet>').description('a datanet, its versions and contributions'))
    .option('--limit <n>', 'contributions to list', (v) => parseCount(v, 1000), 100)
    .action(async (d: string, o: CommonOpts & { limit: number }) => {
      const datanetId = parseIdArg(d, 'datanet')
      const ctx = await chainFor(o, false)
      const info = await getDatanet(ctx.client, { datanetId }).catch(() => {
        throw new PayableError(`datanet ${datanetId} does not exist`)
      })
      const versions = await Promise.all(
        ids(1n, info.versionCount, 1000).map((version) =>
          getDatanetVersion(ctx.client, { datanetId, version }),
        ),
      )
      const contributions = await Promise.all(
        ids(1n, info.contributionCount, o.limit).map((contributionId) =>
          getContribution(ctx.client, { datanetId, contributionId }),
        ),
      )
      print(o, { ...info, versions, contributions }, () =>
        [
          `Datanet ${info.id} "${info.name}"`,
          `  owner          ${info.owner}`,
          `  policy         ${info.open ? 'open' : 'allow-list'}`,
          `  metadata       ${info.metadataURI || '-'}`,
          `  contributions  ${info.contributionCount} (${info.approvedCount} approved)`,
          `  total shares   ${info.totalShares}`,
          `  created        block ${info.createdAtBlock}`,
          '',
          versions.length === 0
            ? 'No published version.'
            : table(
                ['version', 'contributions', 'root', 'block'],
                versions.map((v) => [v.version, v.count, v.root, v.publishedAtBlock]),
              ),
          '',
          contributions.length === 0
            ? 'No contributions.'
            : table(
                ['id', 'contributor', 'status', 'weight', 'bytes', 'content', 'uri'],
                contributions.map((c) => [
                  c.contributionId,
                  c.contributor,
                  STATUS[c.status] ?? String(c.status),
                  c.status === 2 ? c.weight : '-',
                  c.size,
                  c.inlined ? 'inline' : 'by hash',
                  shorten(c.metadataURI || '-', 40),
                ]),
              ),
        ].join('\n'),
      )
    })

  common(datanet.command('list').description('list datanets'))
    .option('--offset <n>', 'skip this many', parseOffset, 0n)
    .option('--limit <n>', 'at most this many', (v) => parseCount(v, 1000), 50)
    .action(async (o: CommonOpts & { offset: bigint; limit: number }) => {
      const ctx = await chainFor(o, false)
      const count = await getDatanetCount(ctx.client, {})
      const list = await Promise.all(
        ids(o.offset + 1n, count, o.limit).map((datanetId) => getDatanet(ctx.client, { datanetId })),
      )
      print(o, { count, datanets: list }, () =>
        list.length === 0
          ? 'No datanets.'
          : table(
              ['id', 'name', 'owner', 'contributions', 'approved', 'versions', 'shares'],
              list.map((d) => [
                d.id,
                shorten(d.name, 32),
                d.owner,
                d.contributionCount,
                d.approvedCount,
                d.versionCount,
                d.totalShares,
              ]),
            ),
      )
    })
}

/** Ids first…last, at most `limit` of them. */
function ids(first: bigint, last: bigint, limit: number): bigint[] {
  const out: bigint[] = []
  for (let i = first; i <= last && out.length < limit; i++) out.push(i)
  return out
}

// ---------------------------------------------------------------- model

function registerModelCommands(program: Command): void {
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
  registerDatanet(program)
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
