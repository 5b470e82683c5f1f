import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

export const VERSION = pkg.version
export const CLIENT_VERSION = `OpenLedger/v${VERSION}/${process.platform}-${process.arch}/node${process.versions.node}`

/** Hardhat's version whose dev-node behaviour `openledger dev` reproduces. */
export const HARDHAT_COMPAT_VERSION = '2.29.1'

/**
 * web3_clientVersion of `openledger dev`. Tools decide by its first '/'-separated word whether a
 * node is a development network: @nomicfoundation/hardhat-network-helpers (loadFixture, time,
 * mine, impersonateAccount …) and hardhat-predeploy accept only `HardhatNetwork`, `anvil` or
 * `zksync`, @openzeppelin/upgrades-core `HardhatNetwork` or `anvil`. The dev node answers
 * `HardhatNetwork/<hardhat version>/…` because its defaults are Hardhat's (automine failures
 * answered as errors, hardhat_* methods); the rest names this node. See docs/decisions.md.
 */
export const DEV_CLIENT_VERSION = `HardhatNetwork/${HARDHAT_COMPAT_VERSION}/openledger/v${VERSION}`
