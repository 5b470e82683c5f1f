/**
 * Where the devnet's CPU goes, per committed transaction: the V8 CPU profiles (`--cpu-prof`) of
 * every thread of every validator, cut to the load window, each sample assigned to the innermost
 * frame of a known component (libp2p transport, gossipsub, JSON-RPC, transaction decoding, trie,
 * …; a native leaf such as a socket write goes to the JavaScript frame that called it), and the
 * shares scaled to the measured process CPU. Under load a sample stands for wall time in the
 * thread, so the shares are the reliable part; process CPU gives the scale.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface CallFrame {
  functionName: string
  url: string
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Component → does this frame belong to it. Checked in order, on each frame from the leaf up. */
const COMPONENTS: Array<[string, (f: CallFrame) => boolean]> = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['worker messaging (postMessage)', (f) => f.functionName === 'postMessage'],
  ['secp256k1 recovery', (f) => f.url.includes('/secp256k1') || f.url.includes('raw-recover')],
  ['gossipsub', (f) => f.url.includes('/gossipsub/') || f.functionName === 'msgIdFn'],
  [
    'libp2p transport (noise, yamux, tcp)',
    (f) =>
      /libp2p-noise|libp2p-yamux|as-chacha20|@libp2p\+tcp|@libp2p\+utils|it-length-prefixed|uint8arraylist|protons-runtime|it-pushable|main-event/.test(
        f.url,
      ),
  ],
  ['other libp2p', (f) => /@libp2p|libp2p@|multiformats|@multiformats/.test(f.url)],
  ['JSON-RPC (HTTP, JSON)', (f) => f.url.includes('/rpc/dist/') || f.url.startsWith('node:_http')],
  ['transaction decoding (EthereumJS)', (f) => f.url.includes('@ethereumjs/tx')],
  ['RLP', (f) => f.url.includes('@ethereumjs/rlp')],
  [
    'trie and state',
    (f) =>
      f.url.includes('@ethereumjs/mpt') ||
      f.url.includes('@ethereumjs/statemanager') ||
      f.url.includes('evm-runtime/dist/state/'),
  ],
  ['LevelDB', (f) => /classic-level|abstract-level|level-transcoder/.test(f.url)],
  [
    'keccak',
    (f) => f.url.startsWith('wasm://') || f.url.includes('hash-wasm') || f.url.includes('@noble/hashes'),
  ],
  ['txpool', (f) => f.url.includes('/node/dist/txpool/')],
  [
    'address index, filters, RPC events',
    (f) => /node\/dist\/(store\/address-index|backend\/events)/.test(f.url),
  ],
  ['chain store', (f) => f.url.includes('/node/dist/store/')],
  ['execution (EVM, block)', (f) => /evm-runtime\/dist|@ethereumjs\/(vm|evm|block)/.test(f.url)],
  ['consensus, WAL, gossip rules', (f) => /consensus\/dist|node\/dist\/(consensus|gossip|p2p)/.test(f.url)],
  ['node (other)', (f) => f.url.includes('/node/dist/')],
  ['V8 (program)', (f) => f.functionName === '(program)'],
]

/** Sample milliseconds per component over `[fromUs, toUs]` (V8 profile clock = CLOCK_MONOTONIC µs). */
export function profileShares(profile: Profile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const component = new Map<number, string | null>()
  const classify = (id: number): string | null => {
    const cached = component.get(id)
    if (cached !== undefined) return cached
    const frame = byId.get(id)!.callFrame
    let found: string | null = null
    if (frame.functionName === '(idle)') found = null
    else {
      const own = COMPONENTS.find(([, match]) => match(frame))?.[0]
      const up = parent.get(id)
      found = own ?? (up === undefined ? 'other' : (classify(up) ?? 'other'))
      if (found === 'other' && frame.functionName === '(root)') found = 'other'
    }
    component.set(id, found)
    return found
  }
  const out = new Map<string, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!
    if (t < fromUs || t > toUs) continue
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const c = classify(profile.samples[i]!)
    if (c !== null) out.set(c, (out.get(c) ?? 0) + ms)
  }
  return out
}

/**
 * Every `.cpuprofile` in `dir` (all threads of all nodes), cut to the window, as milliseconds per
 * transaction: each component's share of all samples × `cpuSeconds` (process CPU of the nodes
 * over the window) / `txs`. Largest first.
 */
export function cpuBreakdown(
  dir: string,
  window: { fromUs: number; toUs: number },
  cpuSeconds: number,
  txs: number,
): Array<{ component: string; ms: number }> {
  const sum = new Map<string, number>()
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    for (const [k, v] of profileShares(p, window.fromUs, window.toUs)) sum.set(k, (sum.get(k) ?? 0) + v)
  }
  const total = [...sum.values()].reduce((a, b) => a + b, 0)
  if (total === 0) return []
  return [...sum]
    .map(([component, ms]) => ({ component, ms: ((ms / total) * cpuSeconds * 1000) / txs }))
    .sort((a, b) => b.ms - a.ms)
}

/** Monotonic clock in µs, the clock V8 stamps profile samples with. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)
