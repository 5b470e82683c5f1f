/**
 * An in-process libp2p peer that joins a test network's gossip and records every consensus
 * message it sees, then checks the recorded traffic for double signing.
 */
import { RLP } from '@ethereumjs/rlp'
import {
  type Block,
  type BlockCodec,
  decodeMessage,
  hashForCommitSeal,
  messageAuthor,
  messageHeight,
  messageRound,
  type QbftMessage,
  toHex,
} from '@openledger/consensus'
import { generatePrivateKey, hex, P2PNetwork, silentLogger } from '@openledger/node'
import { call } from './dev-node.ts'

/** Just enough of a block codec to decode consensus messages (digest of the header). */
export const headerOnlyCodec: BlockCodec = {
  decode(bytes: Uint8Array): Block {
    const list = RLP.decode(bytes) as unknown as Uint8Array[][]
    const header = list[0]!
    const number = header[8]!
    return {
      height: number.length === 0 ? 0n : BigInt(`0x${Buffer.from(number).toString('hex')}`),
      round: 0,
      digest: hashForCommitSeal(header),
      bytes,
    }
  },
  withRound(): Block {
    throw new Error('not used')
  },
}

export interface Observed {
  author: string
  kind: QbftMessage['type']
  height: bigint
  round: number
  value: string
}

export class GossipObserver {
  readonly seen: Observed[] = []
  undecodable = 0

  private constructor(
    readonly net: P2PNetwork,
    readonly chainId: bigint,
  ) {}

  static async join(opts: {
    rpcUrl: string
    bootnodes: string[]
    maxMessageBytes?: Partial<Record<'tx' | 'consensus' | 'block', number>>
    record?: boolean
  }): Promise<GossipObserver> {
    const chainId = BigInt(await call(opts.rpcUrl, 'eth_chainId'))
    const genesis = await call(opts.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])
    const genesisHash = Buffer.from(genesis.hash.slice(2), 'hex')
    const net = await P2PNetwork.create({
      nodeKey: generatePrivateKey(),
      host: '127.0.0.1',
      port: 0,
      bootnodes: opts.bootnodes,
      chainId,
      genesisHash,
      status: () => ({ chainId, genesisHash, headNumber: 0n, headHash: genesisHash }),
      maxMessageBytes: opts.maxMessageBytes,
      log: silentLogger(),
    })
    const obs = new GossipObserver(net, chainId)
    net.setValidator('tx', () => 'ignore')
    net.setValidator('block', () => 'ignore')
    net.setValidator('consensus', (data) => {
      if (opts.record !== false) obs.record(data)
      return 'accept'
    })
    return obs
  }

  record(data: Uint8Array): void {
    let msg: QbftMessage
    try {
      msg = decodeMessage(data, { chainId: this.chainId, blocks: headerOnlyCodec })
    } catch {
      this.undecodable++
      return
    }
    const s = msg.signed
    const value = msg.type === 'ROUND_CHANGE' ? s.signingHash : (s.payload as { digest: Uint8Array }).digest
    this.seen.push({
      author: hex(messageAuthor(msg)),
      kind: msg.type,
      height: messageHeight(msg),
      round: messageRound(msg),
      value: toHex(value),
    })
  }

  /** (author, kind, height, round) slots signed with two different values. */
  conflicts(): Array<{ slot: string; values: string[] }> {
    const bySlot = new Map<string, Set<string>>()
    for (const o of this.seen) {
      const slot = `${o.author}:${o.kind}:${o.height}:${o.round}`
      const set = bySlot.get(slot) ?? new Set<string>()
      bySlot.set(slot, set)
      set.add(o.value)
    }
    return [...bySlot].filter(([, v]) => v.size > 1).map(([slot, v]) => ({ slot, values: [...v] }))
  }

  close(): Promise<void> {
    return this.net.close()
  }
}
