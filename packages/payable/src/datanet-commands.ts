/**
 * `openledger datanet …`: create datanets, contribute, curate, publish versions and read them over
 * JSON-RPC (common flags and output as the other payable commands, cli-common.ts).
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { DATANET_LIMITS } from '@openledger/attribution'
import {
  approveContribution,
  contribute,
  createDatanet,
  getContribution,
  getDatanet,
  getDatanetCount,
  getDatanetVersion,
  inlineContent,
  publishVersion,
  referencedContent,
  rejectContribution,
} from '@openledger/attribution/sdk'
import type { Command } from 'commander'
import type { Address, Hex } from 'viem'
import { findLog, requireWallet, sendAndWait } from './chain.ts'
import { type CommonOpts, chainFor, common, ids, parseIdArg, print, STATUS } from './cli-common.ts'
import { PayableError } from './errors.ts'
import { shorten, table } from './format.ts'
import {
  collectAddresses,
  parseBytes32,
  parseCount,
  parseName,
  parseOffset,
  parseSize,
  parseUri,
  parseWeight,
} from './parse.ts'
import { registerCurationCommands } from './terms-commands.ts'

export function registerDatanetCommands(program: Command): void {
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
