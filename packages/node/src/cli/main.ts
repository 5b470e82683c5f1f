/** The `openledger` command line. */
import '../polyfills.ts'
import {
  parseBigInt,
  parseDurationMs,
  parseOpenAmount,
  parsePort,
  parsePositiveInt,
} from '@openledger/payable/cli'
import { Command, Option } from 'commander'
import { VERSION } from '../version.ts'
import { addRpcFlags, rpcConfigFromFlags, rpcFlagArgs } from './rpc-flags.ts'

const program = new Command()
program.name('openledger').description('OpenLedger Node: an EVM app-chain for Payable AI').version(VERSION)

const dev = program
  .command('dev')
  .description('start a single-node development chain with funded accounts (like anvil)')
  .addOption(
    new Option('--port <port>', 'JSON-RPC port (HTTP and WebSocket)').default(8545).argParser(parsePort),
  )
  .addOption(new Option('--host <address>', 'interface to bind the RPC server to').default('127.0.0.1'))
  .addOption(
    new Option(
      '--block-time <duration>',
      'mine a block every interval (e.g. 1, 2s, 500ms) instead of on each transaction',
    ).argParser(parseDurationMs),
  )
  .option('--no-mining', 'do not mine automatically: blocks only via evm_mine / anvil_mine')
  .option(
    '--no-throw-on-tx-failures',
    "automine: answer a failed transaction's send with its hash, as anvil (default: Hardhat's error)",
  )
  .option(
    '--disable-code-size-limit',
    "no EIP-170/EIP-3860 contract and initcode size limits (Hardhat's allowUnlimitedContractSize)",
    false,
  )
  .option('--allow-unlimited-contract-size', 'same as --disable-code-size-limit', false)
  .addOption(
    new Option('--accounts <n>', 'number of funded dev accounts (default 20)').argParser(parsePositiveInt),
  )
  .addOption(
    new Option('--balance <OPEN>', 'balance of each dev account in OPEN (default 10000)').argParser(
      parseOpenAmount,
    ),
  )
  .addOption(
    new Option('--chain-id <id>', 'chain id (default 31337)').argParser((v) => Number(parseBigInt(v))),
  )
  .addOption(
    new Option(
      '--gas-limit <gas>',
      "block gas limit (default: the genesis file's; genesis/devnet.json: 100,000,000)",
    ).argParser(parseBigInt),
  )
  .option('--datadir <dir>', 'persist the chain here and resume from it (default: a temporary directory)')
  .option('--genesis <file>', 'genesis file to start from (default genesis/devnet.json)')
  .option('--mnemonic <phrase>', 'BIP-39 mnemonic of the dev accounts')
  .option(
    '--fork-url <url>',
    'fork a remote chain over its JSON-RPC endpoint (http/https): continue from its block, on its state',
  )
  .addOption(
    new Option('--fork-block-number <n>', "block to fork at (default: the remote's latest)").argParser(
      parseBigInt,
    ),
  )
  .addOption(
    new Option(
      '--fork-timeout <duration>',
      'time limit of each request to the fork remote (default 30s)',
    ).argParser(parseDurationMs),
  )
  .addOption(
    new Option(
      '--fork-retries <n>',
      'retries of a fork remote request on network errors, 429, 5xx (default 3)',
    ).argParser((v) => Number(parseBigInt(v))),
  )
  .addOption(
    new Option(
      '--fork-header <header...>',
      'extra HTTP header for the fork remote, "Name: value" (repeatable)',
    ),
  )
  .addOption(
    new Option('--hardfork <name>', "EVM rules from genesis on (default: the genesis file's, osaka)").choices(
      ['prague', 'osaka'],
    ),
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
      .default('warn'),
  )
  .option('--silent', 'print nothing', false)
  .addOption(
    new Option('--metrics.port <port>', 'serve Prometheus /metrics and /health on this port').argParser(
      parsePort,
    ),
  )
  .addOption(new Option('--metrics.host <address>', 'interface for the metrics server').default('127.0.0.1'))
  .option('--l1-rpc <url>', 'settle on this L1: apply its deposits, prove withdrawals (with --l1-addresses)')
  .option('--l1-addresses <file>', 'addresses file of the bridge deployment (`openledger l1 deploy`)')
  .option('--l1-proposer-key <key>', 'sign and propose output roots on L1 with this key (0x key or key file)')
  .action(async (o) => {
    // Loaded on demand: the node (EVM, LevelDB, RPC server) is not needed by the other commands.
    const { runDev } = await import('./dev.ts')
    await runDev({
      port: o.port,
      host: o.host,
      blockTime: o.blockTime,
      mining: o.mining,
      throwOnTxFailures: o.throwOnTxFailures,
      unlimitedContractSize: o.disableCodeSizeLimit || o.allowUnlimitedContractSize,
      accounts: o.accounts,
      balance: o.balance,
      chainId: o.chainId,
      gasLimit: o.gasLimit,
      datadir: o.datadir,
      genesis: o.genesis,
      mnemonic: o.mnemonic,
      hardfork: o.hardfork,
      fork:
        o.forkUrl === undefined
          ? undefined
          : {
              url: o.forkUrl,
              blockNumber: o.forkBlockNumber,
              timeoutMs: o.forkTimeout,
              retries: o.forkRetries,
              headers: o.forkHeader,
            },
      logLevel: o.logLevel,
      silent: o.silent,
      rpc: rpcConfigFromFlags(o, 'dev'),
      metricsPort: o['metrics.port'],
      metricsHost: o['metrics.host'],
      l1: l1Flags(o),
    })
  })
addRpcFlags(dev, 'dev')

/** --l1-rpc / --l1-addresses / --l1-proposer-key: all or nothing (the key is optional). */
function l1Flags(o: { l1Rpc?: string; l1Addresses?: string; l1ProposerKey?: string }) {
  if (o.l1Rpc === undefined && o.l1Addresses === undefined) {
    if (o.l1ProposerKey !== undefined) throw new Error('--l1-proposer-key needs --l1-rpc and --l1-addresses')
    return undefined
  }
  if (o.l1Rpc === undefined || o.l1Addresses === undefined)
    throw new Error('--l1-rpc and --l1-addresses go together')
  return { rpc: o.l1Rpc, addresses: o.l1Addresses, proposerKey: o.l1ProposerKey }
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

const node = program
  .command('node')
  .description('run one node of a QBFT network (a validator with --validator-key, else a full node)')
  .requiredOption('--genesis <file>', 'genesis file of the network (`openledger genesis new` writes one)')
  .requiredOption('--datadir <dir>', 'data directory (chain, state, consensus WAL, node key)')
  .option('--validator-key <file>', 'validator private key file (`openledger keys new --out F`)')
  .addOption(
    new Option('--bootnodes <multiaddrs>', 'comma-separated peers to dial').default([]).argParser(list),
  )
  .addOption(
    new Option('--rpc.port <port>', 'JSON-RPC port (HTTP and WebSocket)').default(8545).argParser(parsePort),
  )
  .addOption(new Option('--rpc.host <address>', 'interface to bind the RPC server to').default('127.0.0.1'))
  .addOption(new Option('--p2p.port <port>', 'libp2p TCP port').default(30303).argParser(parsePort))
  .addOption(new Option('--p2p.host <address>', 'interface for libp2p').default('0.0.0.0'))
  .addOption(
    new Option('--metrics.port <port>', 'serve Prometheus /metrics and /health on this port').argParser(
      parsePort,
    ),
  )
  .addOption(new Option('--metrics.host <address>', 'interface for the metrics server').default('127.0.0.1'))
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
      .default('info'),
  )
  .option('--l1-rpc <url>', 'settle on this L1: apply its deposits, sign outputs (with --l1-addresses)')
  .option('--l1-addresses <file>', 'addresses file of the bridge deployment (`openledger l1 deploy`)')
  .option('--l1-proposer-key <key>', 'propose output roots on L1 with this key (0x key or key file)')
  .action(async (o) => {
    const { runNode } = await import('./network.ts')
    await runNode({
      genesis: o.genesis,
      datadir: o.datadir,
      validatorKey: o.validatorKey,
      bootnodes: o.bootnodes,
      rpcHost: o['rpc.host'],
      rpcPort: o['rpc.port'],
      p2pHost: o['p2p.host'],
      p2pPort: o['p2p.port'],
      metricsHost: o['metrics.host'],
      metricsPort: o['metrics.port'],
      logLevel: o.logLevel,
      rpc: rpcConfigFromFlags(o, 'network'),
      l1: l1Flags(o),
    })
  })
addRpcFlags(node, 'network')

const devnet = program
  .command('devnet')
  .description('start N QBFT validator processes on this machine (node i serves RPC on --port + i)')
  .addOption(new Option('--validators <n>', 'number of validators').default(4).argParser(parsePositiveInt))
  .addOption(
    new Option('--block-time <duration>', 'block period, whole seconds (e.g. 1s)')
      .default(1000)
      .argParser(parseDurationMs),
  )
  .addOption(new Option('--port <port>', 'RPC port of node 0').default(8545).argParser(parsePort))
  .addOption(new Option('--p2p-port <port>', 'libp2p port of node 0').default(30303).argParser(parsePort))
  .addOption(
    new Option('--metrics-port <port>', 'metrics port of node 0 (off when absent)').argParser(parsePort),
  )
  .addOption(
    new Option('--chain-id <id>', 'chain id (default 31337)').argParser((v) => Number(parseBigInt(v))),
  )
  .option('--datadir <dir>', 'keep keys, genesis and chains here (default: a temporary directory)')
  .addOption(
    new Option('--log-level <level>', 'log level of the node processes (written to <datadir>/nodeI/node.log)')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
      .default('info'),
  )
  .addOption(
    new Option('--l1 <kind>', 'settle on an L1: "local" starts anvil and deploys the bridge').choices([
      'local',
    ]),
  )
  .addOption(
    new Option('--l1-port <port>', 'RPC port of the local L1 (default: --port + 100)').argParser(parsePort),
  )
  .action(async (o) => {
    const { runDevnet } = await import('./devnet.ts')
    await runDevnet({
      validators: o.validators,
      blockTimeMs: o.blockTime,
      port: o.port,
      p2pPort: o.p2pPort,
      metricsPort: o.metricsPort,
      datadir: o.datadir,
      chainId: o.chainId,
      logLevel: o.logLevel,
      nodeArgs: rpcFlagArgs(o),
      l1: o.l1,
      l1Port: o.l1Port,
    })
  })
addRpcFlags(devnet, 'network')

const genesisCmd = program.command('genesis').description('genesis files')
genesisCmd
  .command('new')
  .description('write a QBFT genesis for the given validators (funds the 20 dev accounts)')
  .addOption(
    new Option('--validators <addresses>', 'comma-separated validator addresses').default([]).argParser(list),
  )
  .addOption(
    new Option('--validator-keys <files>', 'comma-separated validator key files').default([]).argParser(list),
  )
  .addOption(
    new Option('--chain-id <id>', 'chain id (default 31337)').argParser((v) => Number(parseBigInt(v))),
  )
  .addOption(
    new Option('--block-period <seconds>', 'seconds between blocks').default(1).argParser(parsePositiveInt),
  )
  .addOption(new Option('--request-timeout <seconds>', 'QBFT round-0 timeout').argParser(parsePositiveInt))
  .addOption(
    new Option('--dev-accounts <n>', 'fund this many dev-mnemonic accounts').argParser(parsePositiveInt),
  )
  .option('--l1-addresses <file>', 'settle on L1: add the bridge predeploys (chain id from the file)')
  .addOption(
    new Option('--hardfork <name>', 'EVM rules from genesis on (default osaka)').choices(['prague', 'osaka']),
  )
  .addOption(
    new Option('--stake <OPEN>', 'self-delegation bonded for each validator at genesis (0: none)')
      .default(1000n)
      .argParser(parseBigInt),
  )
  .addOption(new Option('--epoch-length <blocks>', 'blocks per staking epoch').argParser(parsePositiveInt))
  .addOption(
    new Option('--unbonding-time <seconds>', 'unbonding time (default 21 days)').argParser(parsePositiveInt),
  )
  .option('--out <file>', 'write to this file (default: stdout)')
  .action(async (o) => {
    const { runGenesisNew } = await import('./network.ts')
    await runGenesisNew({
      stake: o.stake * 10n ** 18n,
      epochLength: o.epochLength,
      unbondingTime: o.unbondingTime,
      validators: o.validators,
      validatorKeys: o.validatorKeys,
      chainId: o.chainId,
      blockPeriod: o.blockPeriod,
      requestTimeout: o.requestTimeout,
      devAccounts: o.devAccounts,
      hardfork: o.hardfork,
      out: o.out,
      l1Addresses: o.l1Addresses,
    })
  })

const keysCmd = program.command('keys').description('validator and node keys')
keysCmd
  .command('new')
  .description('generate a secp256k1 key: validator address and libp2p peer id')
  .option('--out <file>', 'write the key to this file (mode 0600) instead of printing it')
  .action(async (o) => {
    const { runKeysNew } = await import('./network.ts')
    await runKeysNew({ out: o.out })
  })

const evm = program.command('evm').description('EVM tools')
evm
  .command('statetest')
  .description(
    "run Ethereum GeneralStateTests (a file or a directory) through the chain's block execution; exit 1 on any failure",
  )
  .argument('<path>', 'fixture file or directory (e.g. ../shared/ethereum-tests/GeneralStateTests)')
  .option('--fork <name>', 'only cases of this fork (fixture name, e.g. Cancun)')
  .option('--run <regex>', 'only cases whose name (test/fork/index) matches')
  .option('--json', 'one go-ethereum result object per line: {name, pass, stateRoot, fork, error}', false)
  .option('--all', 'also run the cases on the checked-in exclusion list', false)
  .option('--jobs <n>', 'worker threads running files in parallel (same output, same order)', '1')
  .action(async (path: string, o) => {
    const { runStateTestCli } = await import('./statetest.ts')
    const jobs = /^\d+$/.test(o.jobs) ? Number(o.jobs) : Number.NaN
    process.exitCode = await runStateTestCli({
      path,
      fork: o.fork,
      run: o.run,
      json: o.json,
      all: o.all,
      jobs,
    })
  })

// The command groups below (payable AI, staking, governance, bridge) are clients of a running chain:
// their modules (chain clients, the model factory, wallet actions) load only when the command line
// may name one of them. A command of this file (`dev`, `node`, …) runs without them, which keeps
// them out of `openledger dev`'s start-up; help, --version or an unknown name registers them all.
const own = new Set(['demo', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])])
const first = process.argv[2]
if (first === undefined || !own.has(first)) await registerCommandGroups(program)
registerDemo(program)

async function registerCommandGroups(program: Command): Promise<void> {
  const [payable, staking, governance, bridge] = await Promise.all([
    import('@openledger/payable/cli'),
    import('./stake.ts'),
    import('./gov.ts'),
    import('./bridge.ts'),
  ])
  await payable.registerPayableCommands(program)
  staking.registerStakingCommands(program)
  governance.registerGovernanceCommands(program)
  bridge.registerBridgeCommands(program)
}

/** `openledger demo`: a dev node in this process and the payable tools against it. */
function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole Payable AI loop on a fresh ephemeral dev chain with the shipped corpus')
    .option(
      '--corpus <dir>',
      'corpus directory with manifest.json (default: the shipped public-domain corpus)',
    )
    .option('--json', 'print a JSON summary', false)
    .action(async (o: { corpus?: string; json: boolean }) => {
      const { runDemo } = await import('./demo.ts')
      const ok = await runDemo({ corpusDir: o.corpus, json: o.json })
      process.exitCode = ok ? 0 : 1
    })
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`openledger: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
