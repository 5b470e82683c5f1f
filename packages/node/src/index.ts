export { blockLogs } from './backend/events.ts'
export { NodeBackend } from './backend/node-backend.ts'
export { Chain, type ChainObserver, type CommitSource, type CommittedBlock } from './chain/chain.ts'
export { decodeQbftBlock, withQbftHash } from './consensus/block-codec.ts'
export { nativeRecover, nativeSigner } from './consensus/crypto.ts'
export { DevControls } from './dev/dev-controls.ts'
export { buildDevGenesis, DEVNET_GENESIS_URL } from './genesis/dev-genesis.ts'
export { buildQbftGenesis, type QbftGenesisOptions } from './genesis/qbft-genesis.ts'
export {
  addressFromPrivateKey,
  DEV_DERIVATION_PATH,
  DEV_MNEMONIC,
  type DevAccount,
  deriveDevAccounts,
} from './keys/dev-accounts.ts'
export { generatePrivateKey, readKeyFile, writeKeyFile } from './keys/node-key.ts'
export { createLogger, type Logger, silentLogger } from './logger.ts'
export { DevSealer, type MiningMode } from './miner/dev-sealer.ts'
export { checkQbftGenesis, NetworkConfigError, NetworkNode, type NetworkNodeOptions } from './network-node.ts'
export {
  DatadirInUseError,
  type DevNodeOptions,
  OpenLedgerNode,
  openCore,
  openDatabase,
  serveApis,
} from './node.ts'
export { type ChainStatus, P2PNetwork, type P2POptions, peerIdFromNodeKey, topicName } from './p2p/index.ts'
export { AddressIndex } from './store/address-index.ts'
export { bytesEqual, fromHex, hex } from './util/bytes.ts'
export { CLIENT_VERSION, DEV_CLIENT_VERSION, VERSION } from './version.ts'
