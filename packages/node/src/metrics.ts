/**
 * Prometheus metrics (prom-client, one registry per node) and the /metrics + /health endpoint.
 * Names follow geth/CometBFT conventions (chain_*, txpool_*, rpc_*). The *_seconds_total counters
 * let a benchmark say where the time went between two scrapes.
 */
import { createServer, type Server } from 'node:http'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export class NodeMetrics {
  readonly registry = new Registry()
  readonly headBlock = new Gauge({
    name: 'chain_head_block',
    help: 'Number of the head block',
    registers: [this.registry],
  })
  readonly blockTxs = new Histogram({
    name: 'chain_block_tx_count',
    help: 'Transactions per committed block',
    buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2000],
    registers: [this.registry],
  })
  readonly blockImport = new Histogram({
    name: 'chain_block_import_seconds',
    help: 'Time to build or execute and commit one block',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  })
  /** Cumulative time per phase of transaction processing. */
  readonly phaseSeconds = new Counter({
    name: 'node_phase_seconds_total',
    help: 'Cumulative seconds spent per phase: recovery, txpool, execution, roots, storage, observers (and observer:<name> for each chain observer); dev automine waiting for a block commit (commit_wait); block import (import_seals, import_senders, import_execution, import_after_execute) and range sync (sync_fetch_wait, sync_decode)',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  })
  readonly pipelinedBlocks = new Counter({
    name: 'automine_pipelined_blocks_total',
    help: 'Dev automine blocks built while their parent was still being committed',
    registers: [this.registry],
  })
  readonly txpoolPending = new Gauge({
    name: 'txpool_pending',
    help: 'Executable transactions in the pool',
    registers: [this.registry],
  })
  readonly txpoolQueued = new Gauge({
    name: 'txpool_queued',
    help: 'Future (nonce-gapped) transactions in the pool',
    registers: [this.registry],
  })
  readonly txpoolRejected = new Counter({
    name: 'txpool_rejected_total',
    help: 'Transactions refused by the pool',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly qbftRound = new Gauge({
    name: 'qbft_round',
    help: 'Current QBFT round at the height being decided',
    registers: [this.registry],
  })
  readonly qbftRoundChanges = new Counter({
    name: 'qbft_round_changes_total',
    help: 'QBFT rounds started after round 0 (timeouts or round-change quorums)',
    registers: [this.registry],
  })
  readonly peers = new Gauge({
    name: 'p2p_peers',
    help: 'Connected libp2p peers',
    registers: [this.registry],
  })
  readonly gossipMessages = new Counter({
    name: 'p2p_gossip_messages_total',
    help: 'Gossip messages by topic and validation verdict (accept, ignore, reject)',
    labelNames: ['topic', 'verdict'] as const,
    registers: [this.registry],
  })
  readonly syncTarget = new Gauge({
    name: 'sync_target_block',
    help: 'Highest block announced by peers while syncing (0 when in sync)',
    registers: [this.registry],
  })
  /**
   * RPC requests are tallied here and folded into the two counters below when they are read: a
   * labelled `inc` per request (label validation and hashing) was ~1.7 % of an eth_call's
   * main-thread time. By method: requests by error code, and seconds.
   */
  readonly #rpcTally = new Map<string, { codes: Map<number, number>; seconds: number }>()
  readonly rpcRequests = new Counter({
    name: 'rpc_requests_total',
    help: 'JSON-RPC calls handled, by method and error code (0: success)',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
    collect: () => this.#foldRpcTally(),
  })
  readonly rpcSeconds = new Counter({
    name: 'rpc_request_seconds_total',
    help: 'Cumulative seconds spent answering JSON-RPC calls',
    labelNames: ['method'] as const,
    registers: [this.registry],
    collect: () => this.#foldRpcTally(),
  })

  #foldRpcTally(): void {
    for (const [method, t] of this.#rpcTally) {
      for (const [code, n] of t.codes) this.rpcRequests.inc({ method, code: String(code) }, n)
      this.rpcSeconds.inc({ method }, t.seconds)
    }
    this.#rpcTally.clear()
  }

  // L1 bridge (set only on bridged chains, `--l1-rpc`).
  readonly l1Head = new Gauge({
    name: 'l1_head_block',
    help: "Latest block of this node's L1 endpoint",
    registers: [this.registry],
  })
  readonly l1Origin = new Gauge({
    name: 'l1_origin_block',
    help: 'L1 block whose deposits the head has applied',
    registers: [this.registry],
  })
  readonly l1LagBlocks = new Gauge({
    name: 'l1_lag_blocks',
    help: 'L1 head minus the L1 block the head has consumed (includes the confirmation depth)',
    registers: [this.registry],
  })
  readonly l1LagSeconds = new Gauge({
    name: 'l1_lag_seconds',
    help: 'Seconds since the timestamp of the L1 block the head has consumed',
    registers: [this.registry],
  })
  readonly bridgeDeposits = new Counter({
    name: 'bridge_deposits_applied_total',
    help: 'L1 deposits applied by blocks this node built or imported',
    registers: [this.registry],
  })
  readonly outputLastBlock = new Gauge({
    name: 'bridge_output_last_l2_block',
    help: 'L2 block of the latest output on the L1 oracle',
    registers: [this.registry],
  })
  readonly outputLastAge = new Gauge({
    name: 'bridge_output_last_age_seconds',
    help: 'Seconds since the latest output was proposed on L1',
    registers: [this.registry],
  })
  readonly outputsProposed = new Counter({
    name: 'bridge_outputs_proposed_total',
    help: 'Outputs this node proposed on L1',
    registers: [this.registry],
  })
  readonly outputGas = new Histogram({
    name: 'bridge_output_proposal_gas',
    help: 'L1 gas used per output proposal by this node',
    buckets: [50_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000],
    registers: [this.registry],
  })

  /** Gauges read from the RPC server at scrape time (set by trackRpcServer). */
  private rpcStats: (() => RpcServerStats) | undefined
  readonly rpcExecutions = new Gauge({
    name: 'rpc_executions',
    help: 'Executing JSON-RPC requests (eth_call, eth_estimateGas, traces), by state: running, waiting',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const s = this.rpcStats?.()
      if (!s) return
      this.rpcExecutions.set({ state: 'running' }, s.executionsRunning)
      this.rpcExecutions.set({ state: 'waiting' }, s.executionsWaiting)
    },
  })
  readonly wsConnections = new Gauge({
    name: 'rpc_ws_connections',
    help: 'Open JSON-RPC WebSocket connections',
    registers: [this.registry],
    collect: () => {
      const s = this.rpcStats?.()
      if (s) this.wsConnections.set(s.wsConnections)
    },
  })
  readonly wsBuffered = new Gauge({
    name: 'rpc_ws_buffered_bytes',
    help: 'Bytes waiting to be sent on all WebSocket connections',
    registers: [this.registry],
    collect: () => {
      const s = this.rpcStats?.()
      if (s) this.wsBuffered.set(s.wsBufferedBytes)
    },
  })

  trackRpcServer(stats: () => RpcServerStats): void {
    this.rpcStats = stats
  }

  /** RequestObserver for the RPC server. Unknown methods share one label to bound cardinality. */
  readonly observeRpc = (e: { method: string; seconds: number; code?: number }): void => {
    const method = e.code === -32601 || e.code === -32600 ? 'invalid' : e.method
    let t = this.#rpcTally.get(method)
    if (t === undefined) {
      t = { codes: new Map(), seconds: 0 }
      this.#rpcTally.set(method, t)
    }
    const code = e.code ?? 0
    t.codes.set(code, (t.codes.get(code) ?? 0) + 1)
    t.seconds += e.seconds
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }

  /** Adds the wall time of `fn` to a phase counter. */
  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now()
    try {
      return await fn()
    } finally {
      this.phaseSeconds.inc({ phase }, (performance.now() - start) / 1000)
    }
  }
}

export interface RpcServerStats {
  executionsRunning: number
  executionsWaiting: number
  wsConnections: number
  wsBufferedBytes: number
}

export type HealthState = 'ready' | 'syncing' | 'not-ready'

/** Serves GET /metrics and GET /health (200 ready, 206 syncing, 503 not ready) on its own port. */
export async function serveMetrics(
  metrics: NodeMetrics,
  health: () => HealthState,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405).end()
      return
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      )
      return
    }
    if (path === '/health') {
      const h = health()
      res
        .writeHead(h === 'ready' ? 200 : h === 'syncing' ? 206 : 503, { 'content-type': 'text/plain' })
        .end(h)
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const addr = server.address()
  return { server, port: typeof addr === 'object' && addr ? addr.port : port }
}
