/** The `openledger` command line. */
import '../polyfills.ts'
import { Command, Option } from 'commander'
import { registerPayableCommands } from '../payable/commands.ts'
import { VERSION } from '../version.ts'
import { parseBigInt, parseDurationMs, parseOpenAmount, parsePort, parsePositiveInt } from './options.ts'

const program = new Command()
program.name('openledger').description('OpenLedger Node: an EVM app-chain for Payable AI').version(VERSION)

program
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
  .option('--datadir <dir>', 'persist the chain here and resume from it (default: a temporary directory)')
  .option('--genesis <file>', 'genesis file to start from (default genesis/devnet.json)')
  .option('--mnemonic <phrase>', 'BIP-39 mnemonic of the dev accounts')
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
      .default('warn'),
  )
  .option('--silent', 'print nothing', false)
  .addOption(
    new Option('--rpc.max-body <bytes>', 'maximum JSON-RPC request body size').argParser(parsePositiveInt),
  )
  .addOption(new Option('--rpc.max-batch <n>', 'maximum JSON-RPC batch length').argParser(parsePositiveInt))
  .addOption(
    new Option('--rpc.logs-max-range <blocks>', 'maximum eth_getLogs block range').argParser(
      parsePositiveInt,
    ),
  )
  .addOption(
    new Option('--rpc.logs-max-results <n>', 'maximum eth_getLogs results').argParser(parsePositiveInt),
  )
  .addOption(
    new Option('--metrics.port <port>', 'serve Prometheus /metrics and /health on this port').argParser(
      parsePort,
    ),
  )
  .addOption(new Option('--metrics.host <address>', 'interface for the metrics server').default('127.0.0.1'))
  .action(async (o) => {
    // Loaded on demand: the node (EVM, LevelDB, RPC server) is not needed by the other commands.
    const { runDev } = await import('./dev.ts')
    await runDev({
      port: o.port,
      host: o.host,
      blockTime: o.blockTime,
      mining: o.mining,
      accounts: o.accounts,
      balance: o.balance,
      chainId: o.chainId,
      datadir: o.datadir,
      genesis: o.genesis,
      mnemonic: o.mnemonic,
      logLevel: o.logLevel,
      silent: o.silent,
      rpcMaxBody: o['rpc.maxBody'],
      rpcMaxBatch: o['rpc.maxBatch'],
      rpcLogsMaxRange: o['rpc.logsMaxRange'],
      rpcLogsMaxResults: o['rpc.logsMaxResults'],
      metricsPort: o['metrics.port'],
      metricsHost: o['metrics.host'],
    })
  })

registerPayableCommands(program)

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`openledger: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
