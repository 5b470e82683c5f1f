/** The Datanets module (0x4f50454e…0001): datasets, contributions, curation (curation.ts),
 * versions, licence terms and version shares.
 * Long file: the IDatanets.sol handlers share one storage layout and permission checks (curation is apart).
 */

import type { DefinedModule } from '@openledger/module-kit'
import { defineModule, equalBytes, fromHex, keccak, toHex, u256, ZERO_ADDRESS } from '@openledger/module-kit'
import { datanetsAbi } from '../sol/abi.ts'
import { curationHandlers } from './curation.ts'
import {
  addr,
  bool,
  checkString,
  isCuratorOrOwner,
  requireCurator,
  requireDatanet,
  requireOwner,
  t,
} from './datanets-common.ts'
import { GAS, keccakGas } from './gas.ts'
import {
  allowListSlot,
  CONTRIBUTION_FIELDS,
  contributionSlot,
  curatorSlot,
  DATANET_FIELDS,
  DATANETS_ADDRESS,
  DATANETS_SLOTS,
  datanetSlot,
  operatorApprovalSlot,
  shareBalanceSlot,
  shareTokenId,
  splitShareTokenId,
  writeString,
} from './layout.ts'
import type { ModuleParams } from './params.ts'
import {
  readApprovedContributionAt,
  readContribution,
  readDatanet,
  readDatanetVersion,
  readHeldDatanets,
  readHeldShareTokens,
  readShareSupply,
  readVersionDetails,
} from './read.ts'
import {
  ContributionStatus,
  loadDatanet,
  loadDatanetTerms,
  storeContributionCore,
  storeDatanet,
} from './records.ts'
import { moveShares, readU } from './rewards.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Whether `bytes` decode as UTF-8 (what the attribution engine indexes as a record's text). */
function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

export const DATANET_LIMITS = {
  maxNameBytes: 64,
  maxURIBytes: 256,
  maxCurators: 16,
  /** Inline content is kept by the chain as calldata; bigger files are referenced by hash + URI. */
  maxInlineBytes: 96 * 1024,
  maxWeight: 1_000_000n,
} as const

export function createDatanetsModule(genesis: ModuleParams): DefinedModule {
  return defineModule({
    name: 'Datanets',
    address: DATANETS_ADDRESS,
    abi: datanetsAbi,
    handlers: {
      createDatanet: {
        mutating: true,
        async run(env, args) {
          const [name, uri, open, curators] = args as [string, string, boolean, readonly string[]]
          const nameBytes = checkString(name, DATANET_LIMITS.maxNameBytes)
          const uriBytes = checkString(uri, DATANET_LIMITS.maxURIBytes)
          if (curators.length > DATANET_LIMITS.maxCurators) {
            t.fail('TooManyItems', BigInt(curators.length), BigInt(DATANET_LIMITS.maxCurators))
          }
          const curatorAddrs = curators.map(addr)
          // The zero address as owner would make the datanet unreadable (owner ≠ 0 marks existence);
          // only an eth_call without `from` can have it as caller.
          if (equalBytes(env.caller, ZERO_ADDRESS) || curatorAddrs.some((c) => equalBytes(c, ZERO_ADDRESS))) {
            t.fail('ZeroAddress')
          }
          const { x, ctx } = env
          const countSlot = u256(DATANETS_SLOTS.datanetCount)
          const id = (await readU(x, DATANETS_ADDRESS, countSlot)) + 1n
          x.write(DATANETS_ADDRESS, countSlot, u256(id))
          storeDatanet(
            x,
            id,
            {
              owner: env.caller,
              open,
              contributionCount: 0n,
              approvedCount: 0n,
              versionCount: 0n,
              createdAtBlock: ctx.block.number,
              totalShares: 0n,
            },
            true,
          )
          // A new id: none of its slots has ever been written, so they need no read to be priced.
          writeString(x, DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.name), nameBytes, true)
          writeString(x, DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.metadataURI), uriBytes, true)
          x.emit(
            t.log('DatanetCreated', {
              datanetId: id,
              owner: toHex(env.caller),
              name,
              metadataURI: uri,
              open,
            }),
          )
          for (const c of curatorAddrs) {
            x.writeFresh(DATANETS_ADDRESS, curatorSlot(id, c), bool(true))
            x.emit(t.log('CuratorSet', { datanetId: id, curator: toHex(c), enabled: true }))
          }
          return id
        },
      },

      transferDatanetOwnership: {
        mutating: true,
        async run(env, args) {
          const [id, newOwnerHex] = args as [bigint, string]
          const newOwner = addr(newOwnerHex)
          if (equalBytes(newOwner, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const d = await requireDatanet(env, id)
          requireOwner(env, id, d)
          storeDatanet(env.x, id, { ...d, owner: newOwner })
          env.x.emit(
            t.log('DatanetOwnershipTransferred', {
              datanetId: id,
              previousOwner: toHex(d.owner),
              newOwner: toHex(newOwner),
            }),
          )
        },
      },

      setContributionPolicy: {
        mutating: true,
        async run(env, args) {
          const [id, open] = args as [bigint, boolean]
          const d = await requireDatanet(env, id)
          requireOwner(env, id, d)
          storeDatanet(env.x, id, { ...d, open })
          env.x.emit(t.log('ContributionPolicySet', { datanetId: id, open }))
        },
      },

      setCurator: {
        mutating: true,
        async run(env, args) {
          const [id, curatorHex, enabled] = args as [bigint, string, boolean]
          const curator = addr(curatorHex)
          if (equalBytes(curator, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const d = await requireDatanet(env, id)
          requireOwner(env, id, d)
          env.x.write(DATANETS_ADDRESS, curatorSlot(id, curator), bool(enabled))
          env.x.emit(t.log('CuratorSet', { datanetId: id, curator: toHex(curator), enabled }))
        },
      },

      setAllowListed: {
        mutating: true,
        async run(env, args) {
          const [id, accountHex, allowed] = args as [bigint, string, boolean]
          const account = addr(accountHex)
          if (equalBytes(account, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const d = await requireDatanet(env, id)
          await requireCurator(env, id, d)
          env.x.write(DATANETS_ADDRESS, allowListSlot(id, account), bool(allowed))
          env.x.emit(t.log('AllowListSet', { datanetId: id, account: toHex(account), allowed }))
        },
      },

      contribute: {
        mutating: true,
        intrinsic(args) {
          const content = args[4] as string
          const len = (content.length - 2) / 2
          return len === 0 ? 0n : GAS.INLINE_BYTE * BigInt(len) + keccakGas(len)
        },
        async run(env, args) {
          const [id, contentHashHex, size, uri, contentHex] = args as [bigint, string, bigint, string, string]
          const uriBytes = checkString(uri, DATANET_LIMITS.maxURIBytes)
          const contentHash = fromHex(contentHashHex)
          if (size === 0n) t.fail('InvalidContentSize', size)
          const content = fromHex(contentHex)
          const inlined = content.length > 0
          let text = false
          if (inlined) {
            if (content.length > DATANET_LIMITS.maxInlineBytes) {
              t.fail('InlineContentTooLarge', BigInt(content.length), BigInt(DATANET_LIMITS.maxInlineBytes))
            }
            const actual = keccak(content)
            if (!equalBytes(actual, contentHash) || BigInt(content.length) !== size) {
              t.fail('InlineContentMismatch', contentHashHex, size, toHex(actual), BigInt(content.length))
            }
            text = isUtf8(content)
          }
          const { x, ctx } = env
          const d = await requireDatanet(env, id)
          if (!text && (await loadDatanetTerms(x, id)).inlineTextOnly) t.fail('ContentNotRecomputable', id)
          if (!d.open && !(await isCuratorOrOwner(env, id, d))) {
            if ((await readU(x, DATANETS_ADDRESS, allowListSlot(id, env.caller))) === 0n) {
              t.fail('NotAllowListed', id, toHex(env.caller))
            }
          }
          const cid = d.contributionCount + 1n
          storeDatanet(x, id, { ...d, contributionCount: cid })
          storeContributionCore(x, id, cid, {
            contributor: env.caller,
            status: ContributionStatus.Pending,
            inlined,
            text,
            approvals: 0,
            size,
            weight: 0n,
            approvalIndex: 0n,
            submittedAtBlock: ctx.block.number,
          })
          x.write(DATANETS_ADDRESS, contributionSlot(id, cid, CONTRIBUTION_FIELDS.contentHash), contentHash)
          writeString(
            x,
            DATANETS_ADDRESS,
            contributionSlot(id, cid, CONTRIBUTION_FIELDS.metadataURI),
            uriBytes,
          )
          x.emit(
            t.log('ContributionSubmitted', {
              datanetId: id,
              contributionId: cid,
              contributor: toHex(env.caller),
              contentHash: contentHashHex,
              size,
              metadataURI: uri,
              inlined,
            }),
          )
          // The bytes go to the chain's history (this transaction's receipt), where a challenge's
          // re-run of attribution finds them (judge.ts); state keeps only the hash.
          if (inlined)
            x.emit(t.log('ContributionContent', { datanetId: id, contributionId: cid, content: contentHex }))
          return cid
        },
      },

      ...curationHandlers(genesis),

      transferShares: {
        mutating: true,
        async run(env, args) {
          const [fromHexS, toHexS, id, amount] = args as [string, string, bigint, bigint]
          const from = addr(fromHexS)
          const to = addr(toHexS)
          if (equalBytes(to, ZERO_ADDRESS)) t.fail('ZeroAddress')
          const { x } = env
          const { datanetId, version } = splitShareTokenId(id)
          if (version === 0n) t.fail('InvalidShareToken', id)
          const d = await loadDatanet(x, datanetId)
          if (d === undefined) return t.fail('InvalidShareToken', id)
          // Shares of an unpublished version may still be revoked with their contribution.
          if (version > d.versionCount) t.fail('SharesLocked', id)
          if (!equalBytes(from, env.caller)) {
            if ((await readU(x, DATANETS_ADDRESS, operatorApprovalSlot(from, env.caller))) === 0n) {
              t.fail('NotOwnerNorApproved', toHex(from), toHex(env.caller))
            }
          }
          const balance = await readU(x, DATANETS_ADDRESS, shareBalanceSlot(id, from))
          if (balance < amount) t.fail('InsufficientShares', toHex(from), id, balance, amount)
          await moveShares(x, id, from, to, amount)
          x.emit(
            t.log('TransferSingle', {
              operator: toHex(env.caller),
              from: toHex(from),
              to: toHex(to),
              id,
              value: amount,
            }),
          )
        },
      },

      setApprovalForAll: {
        mutating: true,
        async run(env, args) {
          const [operatorHex, approved] = args as [string, boolean]
          const operator = addr(operatorHex)
          if (equalBytes(operator, ZERO_ADDRESS)) t.fail('ZeroAddress')
          env.x.write(DATANETS_ADDRESS, operatorApprovalSlot(env.caller, operator), bool(approved))
          env.x.emit(
            t.log('ApprovalForAll', { account: toHex(env.caller), operator: toHex(operator), approved }),
          )
        },
      },

      datanetCount: {
        mutating: false,
        async run(env) {
          return readU(env.x, DATANETS_ADDRESS, u256(DATANETS_SLOTS.datanetCount))
        },
      },
      getDatanet: {
        mutating: false,
        async run(env, args) {
          const [id] = args as [bigint]
          return (await readDatanet(env.x, id)) ?? t.fail('DatanetNotFound', id)
        },
      },
      getContribution: {
        mutating: false,
        async run(env, args) {
          const [id, cid] = args as [bigint, bigint]
          return (await readContribution(env.x, id, cid)) ?? t.fail('ContributionNotFound', id, cid)
        },
      },
      getVersion: {
        mutating: false,
        async run(env, args) {
          const [id, version] = args as [bigint, bigint]
          return (await readDatanetVersion(env.x, id, version)) ?? t.fail('VersionNotFound', id, version)
        },
      },
      approvedContributionAt: {
        mutating: false,
        async run(env, args) {
          const [id, index] = args as [bigint, bigint]
          return (
            (await readApprovedContributionAt(env.x, id, index)) ?? t.fail('ContributionNotFound', id, index)
          )
        },
      },
      isCurator: {
        mutating: false,
        async run(env, args) {
          const [id, account] = args as [bigint, string]
          return (await readU(env.x, DATANETS_ADDRESS, curatorSlot(id, addr(account)))) !== 0n
        },
      },
      isAllowListed: {
        mutating: false,
        async run(env, args) {
          const [id, account] = args as [bigint, string]
          return (await readU(env.x, DATANETS_ADDRESS, allowListSlot(id, addr(account)))) !== 0n
        },
      },
      balanceOf: {
        mutating: false,
        async run(env, args) {
          const [account, id] = args as [string, bigint]
          return readU(env.x, DATANETS_ADDRESS, shareBalanceSlot(id, addr(account)))
        },
      },
      totalSupply: {
        mutating: false,
        async run(env, args) {
          const [id] = args as [bigint]
          return readShareSupply(env.x, id)
        },
      },
      isApprovedForAll: {
        mutating: false,
        async run(env, args) {
          const [account, operator] = args as [string, string]
          return (
            (await readU(env.x, DATANETS_ADDRESS, operatorApprovalSlot(addr(account), addr(operator)))) !== 0n
          )
        },
      },
      heldDatanets: {
        mutating: false,
        async run(env, args) {
          const [account] = args as [string]
          return readHeldDatanets(env.x, addr(account))
        },
      },
      heldShareTokens: {
        mutating: false,
        async run(env, args) {
          const [account] = args as [string]
          return readHeldShareTokens(env.x, addr(account))
        },
      },
      shareTokenId: {
        mutating: false,
        async run(_env, args) {
          const [id, version] = args as [bigint, bigint]
          if (version === 0n || id >= 1n << 128n) t.fail('InvalidShareToken', id)
          return shareTokenId(id, version)
        },
      },
      getVersionDetails: {
        mutating: false,
        async run(env, args) {
          const [id, version] = args as [bigint, bigint]
          return (await readVersionDetails(env.x, id, version)) ?? t.fail('VersionNotFound', id, version)
        },
      },
    },
  })
}
