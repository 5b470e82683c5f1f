/**
 * `admin_peers` / `admin_nodeInfo`, geth-shaped where it makes sense. They reveal the node's
 * network identity and peers, so the node registers them only when its RPC server listens on a
 * loopback interface (see docs/rpc.md).
 */
import { expectParams, type RpcMethods } from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import type { P2PNetwork } from '../p2p/index.ts'
import { hex } from '../util/bytes.ts'

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

export function adminRpcMethods(deps: {
  p2p: P2PNetwork
  chain: Chain
  chainId: bigint
  genesisHash: Uint8Array
  clientVersion: string
  validator?: Uint8Array
}): RpcMethods {
  const { p2p, chain } = deps
  return {
    admin_peers: (raw) => {
      expectParams(raw, 0, 0)
      return p2p.peers().map((p) => ({
        id: p.id,
        addresses: p.addresses,
        direction: p.direction,
        score: p.score,
        protocols: p.status
          ? {
              openledger: {
                chainId: `0x${p.status.chainId.toString(16)}`,
                genesis: hex(p.status.genesisHash),
                head: hex(p.status.headHash),
                number: `0x${p.status.headNumber.toString(16)}`,
              },
            }
          : {},
      }))
    },
    admin_nodeInfo: (raw) => {
      expectParams(raw, 0, 0)
      const head = chain.head
      return {
        id: p2p.peerId,
        name: deps.clientVersion,
        listenAddrs: p2p.multiaddrs(),
        protocols: {
          openledger: {
            chainId: `0x${deps.chainId.toString(16)}`,
            genesis: hex(deps.genesisHash),
            head: hex(head.hash()),
            number: `0x${head.header.number.toString(16)}`,
            consensus: 'qbft',
            validator: deps.validator ? hex(deps.validator) : null,
          },
        },
      }
    },
  }
}
