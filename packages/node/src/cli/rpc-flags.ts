/**
 * JSON-RPC flags shared by `openledger dev`, `node` and `devnet` (devnet forwards them to each
 * node): browser access (Host allow-list, CORS, WebSocket origins) and the server's limits.
 * Dev mode keeps CORS and WebSocket origins open like anvil; network nodes default to none.
 */
import type { RpcLimits, RpcServerOptions } from '@openledger/rpc'
import { type Command, Option } from 'commander'
import { parsePositiveInt } from './options.ts'

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
  return cmd
}

/** The RPC server options a parsed command line asks for. */
export function rpcOptionsFromFlags(
  o: Record<string, unknown>,
  mode: RpcFlagMode,
): Pick<RpcServerOptions, 'vhosts' | 'corsOrigins' | 'wsOrigins' | 'limits'> {
  const open = mode === 'dev' ? ['*'] : []
  const limits: Partial<RpcLimits> = {}
  for (const [flag, key] of LIMIT_FLAGS) {
    const v = o[attr(flag)]
    if (typeof v === 'number') limits[key] = v
  }
  return {
    vhosts: (o['http.vhosts'] as string[] | undefined) ?? ['localhost', '127.0.0.1'],
    corsOrigins: (o['rpc.cors'] as string[] | undefined) ?? open,
    wsOrigins: (o['ws.origins'] as string[] | undefined) ?? open,
    limits,
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
  return args
}
