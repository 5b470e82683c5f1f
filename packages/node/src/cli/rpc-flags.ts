/**
 * JSON-RPC flags shared by `openledger dev`, `node` and `devnet` (devnet forwards them to each
 * node): browser access (Host allow-list, CORS, WebSocket origins), the server's limits, and the
 * bounds of RPC-requested execution (gas cap, EVM timeout, trace memory, the debug namespace).
 * Dev mode keeps CORS and WebSocket origins open like anvil and serves debug_*; network nodes
 * default to no browser origins and no debug_*.
 */

import { parseBigInt, parsePositiveInt } from '@openledger/payable/cli'
import type { RpcLimits, RpcServerOptions } from '@openledger/rpc'
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { ExecutionConfig } from '../backend/exec-limits.ts'

/** What the RPC flags configure: the server's options and the backend's execution bounds. */
export interface RpcFlagConfig {
  rpc: Pick<RpcServerOptions, 'vhosts' | 'corsOrigins' | 'wsOrigins' | 'limits' | 'debug'> & {
    studio: { allowRemote: boolean } | false
  }
  execution: Partial<ExecutionConfig>
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('expected a non-negative integer')
  return Number(value)
}

/** A duration for --rpc.evmtimeout: 5, 5s, 500ms; 0 disables the limit. */
function parseTimeout(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError('expected a duration such as 5s or 500ms (0: no limit)')
  return Math.round(m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000)
}

export type RpcFlagMode = 'dev' | 'network'

const list = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

/** Flag name → RpcLimits key, for the plain positive-integer limits. */
const LIMIT_FLAGS: Array<[flag: string, key: keyof RpcLimits, what: string]> = [
  ['rpc.max-body', 'maxBodyBytes', 'maximum JSON-RPC request body size (bytes)'],
  ['rpc.max-batch', 'maxBatchSize', 'maximum JSON-RPC batch length'],
  ['rpc.logs-max-range', 'maxLogBlockRange', 'maximum eth_getLogs block range'],
  ['rpc.logs-max-results', 'maxLogResults', 'maximum eth_getLogs results'],
  ['rpc.max-filters', 'maxFilters', 'filters installed at once, all clients'],
  ['rpc.max-filters-per-client', 'maxFiltersPerClient', 'filters installed at once by one client (IP)'],
  ['rpc.max-executions', 'maxPendingExecutions', 'executing requests (eth_call, traces…) admitted at once'],
  [
    'rpc.max-executions-per-client',
    'maxPendingExecutionsPerClient',
    'executing requests admitted at once for one client (IP)',
  ],
  ['ws.max-connections', 'maxWsConnections', 'WebSocket connections, all clients'],
  [
    'ws.max-connections-per-client',
    'maxWsConnectionsPerClient',
    'WebSocket connections from one client (IP)',
  ],
  ['ws.max-subscriptions', 'maxSubscriptionsPerConnection', 'subscriptions per WebSocket connection'],
  ['ws.max-send-buffer', 'maxWsBufferedBytes', 'unsent bytes per WebSocket connection before it is dropped'],
  ['ws.max-send-buffer-total', 'maxWsBufferedBytesTotal', 'unsent bytes on all WebSocket connections'],
]

/** commander's attribute name for a flag: `rpc.max-body` → `rpc.maxBody`. */
function attr(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

export function addRpcFlags(cmd: Command, mode: RpcFlagMode): Command {
  const open = mode === 'dev'
  cmd
    .addOption(
      new Option(
        '--http.vhosts <hosts>',
        "Host names admitted on HTTP and WebSocket (DNS-rebinding guard; IP literals always pass; '*' any)",
      )
        .default(['localhost', '127.0.0.1'], 'localhost,127.0.0.1')
        .argParser(list),
    )
    .addOption(
      new Option(
        '--rpc.cors <origins>',
        `browser origins allowed by CORS ('*' any; default ${open ? '*' : 'none'})`,
      ).argParser(list),
    )
    .addOption(
      new Option(
        '--ws.origins <origins>',
        `browser origins allowed to open a WebSocket ('*' any; default ${open ? '*' : 'none'})`,
      ).argParser(list),
    )
  for (const [flag, , what] of LIMIT_FLAGS)
    cmd.addOption(new Option(`--${flag} <n>`, what).argParser(parsePositiveInt))
  cmd
    .addOption(
      new Option('--rpc.gascap <gas>', 'gas cap of eth_call, eth_estimateGas and traces (0: none)')
        .default(50_000_000n, '50000000')
        .argParser(parseBigInt),
    )
    .addOption(
      new Option(
        '--rpc.evmtimeout <duration>',
        `wall-clock limit of one eth_call / eth_estimateGas / trace (0: none; default ${open ? '60s' : '5s'})`,
      ).argParser(parseTimeout),
    )
    .addOption(
      new Option(
        '--rpc.exec-threads <n>',
        `worker threads executing eth_call / estimates / traces (0: on the main thread, time-sliced; default ${open ? '0' : 'cores - 1, at most 4'})`,
      ).argParser(parseNonNegativeInt),
    )
    .addOption(
      new Option('--rpc.trace-max-bytes <n>', 'memory budget of one trace result (bytes of JSON)').argParser(
        parsePositiveInt,
      ),
    )
  if (!open)
    cmd.option('--rpc.debug', 'serve the debug_* namespace (traces); off by default on network nodes')
  if (open) cmd.option('--no-studio', 'do not serve OpenLedger Studio at /studio/ on the RPC port')
  else cmd.option('--studio', 'serve OpenLedger Studio (web app and explorer) at /studio/ on the RPC port')
  cmd.option('--studio.remote', 'serve Studio to non-loopback clients too (default: loopback only)')
  return cmd
}

/** What a parsed command line asks of the RPC server and of execution. */
export function rpcConfigFromFlags(o: Record<string, unknown>, mode: RpcFlagMode): RpcFlagConfig {
  const open = mode === 'dev' ? ['*'] : []
  const limits: Partial<RpcLimits> = {}
  for (const [flag, key] of LIMIT_FLAGS) {
    const v = o[attr(flag)]
    if (typeof v === 'number') limits[key] = v
  }
  const execution: Partial<ExecutionConfig> = {}
  if (typeof o['rpc.gascap'] === 'bigint') execution.gasCap = o['rpc.gascap']
  if (typeof o['rpc.evmtimeout'] === 'number') execution.timeoutMs = o['rpc.evmtimeout']
  if (typeof o['rpc.traceMaxBytes'] === 'number') execution.traceMaxBytes = o['rpc.traceMaxBytes']
  if (typeof o['rpc.execThreads'] === 'number') execution.threads = o['rpc.execThreads']
  return {
    rpc: {
      vhosts: (o['http.vhosts'] as string[] | undefined) ?? ['localhost', '127.0.0.1'],
      corsOrigins: (o['rpc.cors'] as string[] | undefined) ?? open,
      wsOrigins: (o['ws.origins'] as string[] | undefined) ?? open,
      limits,
      debug: mode === 'dev' || o['rpc.debug'] === true,
      studio: (mode === 'dev' ? o.studio !== false : o.studio === true) && {
        allowRemote: o['studio.remote'] === true,
      },
    },
    execution,
  }
}

/** The same flags as arguments, for `devnet` to pass to each `openledger node` it starts. */
export function rpcFlagArgs(o: Record<string, unknown>): string[] {
  const args: string[] = []
  const lists: Array<[string, string]> = [
    ['http.vhosts', 'http.vhosts'],
    ['rpc.cors', 'rpc.cors'],
    ['ws.origins', 'ws.origins'],
  ]
  for (const [flag, key] of lists) {
    const v = o[key] as string[] | undefined
    if (v !== undefined) args.push(`--${flag}`, v.join(','))
  }
  for (const [flag] of LIMIT_FLAGS) {
    const v = o[attr(flag)]
    if (typeof v === 'number') args.push(`--${flag}`, String(v))
  }
  for (const flag of ['rpc.gascap', 'rpc.evmtimeout', 'rpc.trace-max-bytes', 'rpc.exec-threads']) {
    const v = o[attr(flag)]
    if (v !== undefined) args.push(`--${flag}`, flag === 'rpc.evmtimeout' ? `${v}ms` : String(v))
  }
  if (o['rpc.debug'] === true) args.push('--rpc.debug')
  if (o.studio === true) args.push('--studio')
  if (o['studio.remote'] === true) args.push('--studio.remote')
  return args
}
