/**
 * Output roots on L1: validators sign them, a proposer submits them.
 *
 * Driven by the oracle, not by block events, so that restarts and late joiners need no
 * bookkeeping: every poll reads the oracle's `nextBlockNumber`; once this node has that block, a
 * validator computes its output root from its own state, signs it (EIP-712) and publishes the
 * signature (again on later polls until the oracle moves on), and the proposer submits the output
 * once it holds a quorum of signatures of the oracle's current validator set. Signatures from
 * gossip are accepted only when they are for the root this node computed for that block.
 */
import {
  type L1Addresses,
  l1Chain,
  MESSAGE_PASSER_ADDRESS,
  type OutputClaim,
  type OutputSignature,
  oracleAbi,
  outputOf,
  SignatureCollector,
  signOutput,
} from '@openledger/bridge'
import type { ExecutionRuntime } from '@openledger/evm-runtime'
import {
  type Account,
  type Address,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Chain } from '../chain/chain.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { ChainStore } from '../store/index.ts'
import { hex } from '../util/bytes.ts'

export interface OutputServiceOptions {
  chain: Chain
  store: ChainStore
  runtime: ExecutionRuntime
  addresses: L1Addresses
  l1Rpc: string
  /** Signs outputs when its address is in the oracle's validator set (a QBFT validator key). */
  signerKey?: Hex
  /** Submits outputs to L1 (pays the L1 gas). */
  proposerKey?: Hex
  /** The validator set in force after block `n` (what the oracle rotates to); default: the
   * oracle's current set (a dev chain has no validator set of its own). */
  validatorsAfter?: (n: bigint) => readonly Uint8Array[]
  /** Gossips this node's signatures. */
  publish?: (s: OutputSignature) => void
  metrics?: NodeMetrics
  log: Logger
  pollMs?: number
}

export class OutputService {
  readonly collector = new SignatureCollector()
  readonly #l1: PublicClient
  readonly #wallet: ReturnType<typeof createWalletClient> | undefined
  readonly #proposer: Account | undefined
  readonly #signerKey: Hex | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false
  #lastError = ''
  /** Roots this node computed, by block number (bounded). */
  readonly #roots = new Map<bigint, Hex>()
  /** Oracle state read by the last poll. */
  #oracle: { next: bigint; validators: Address[]; quorum: number } | undefined

  constructor(private readonly o: OutputServiceOptions) {
    const chain = l1Chain(o.addresses.l1ChainId, o.l1Rpc, o.addresses.contracts.multicall3)
    this.#l1 = createPublicClient({
      chain,
      transport: http(o.l1Rpc, { timeout: 15_000 }),
      cacheTime: 0,
    }) as PublicClient
    this.#signerKey = o.signerKey
    if (o.proposerKey) {
      this.#proposer = privateKeyToAccount(o.proposerKey)
      this.#wallet = createWalletClient({
        chain,
        account: this.#proposer,
        transport: http(o.l1Rpc, { timeout: 30_000 }),
      })
    }
  }

  get proposerAddress(): Address | undefined {
    return this.#proposer?.address
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return
      this.#running = this.#tick().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.o.pollMs ?? 1000)
      })
    }
    tick()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#running
  }

  /** The output root of canonical block `n` from this node's state (undefined if it lacks the block). */
  async rootAt(n: bigint): Promise<Hex | undefined> {
    const cached = this.#roots.get(n)
    if (cached) return cached
    const block = await this.o.store.getBlockByNumber(n)
    if (!block) return undefined
    const stateRoot = block.header.stateRoot
    const mp = await this.o.runtime.getAccount(stateRoot, hexToBytes(MESSAGE_PASSER_ADDRESS))
    if (!mp) throw new Error(`block ${n} has no message passer at ${MESSAGE_PASSER_ADDRESS}`)
    const { outputRoot } = outputOf({
      number: n,
      hash: hex(block.hash()) as Hex,
      stateRoot: hex(stateRoot) as Hex,
      messagePasserStorageRoot: hex(mp.storageRoot) as Hex,
    })
    this.#roots.set(n, outputRoot)
    if (this.#roots.size > 64) this.#roots.delete(this.#roots.keys().next().value as bigint)
    return outputRoot
  }

  /** A signature from gossip: accepted when it signs the root we computed, by a current validator. */
  async onSignature(s: OutputSignature): Promise<'accept' | 'ignore' | 'reject'> {
    const oracle = this.#oracle
    if (!oracle || s.l2BlockNumber !== oracle.next) return 'ignore'
    const root = await this.rootAt(s.l2BlockNumber)
    if (root === undefined) return 'ignore'
    if (root !== s.outputRoot.toLowerCase()) return 'reject'
    const signer = await this.collector.add(this.#claim(s), s, oracle.validators)
    return signer ? 'accept' : 'reject'
  }

  #claim(s: Pick<OutputSignature, 'l2BlockNumber' | 'outputRoot' | 'nextValidators'>): OutputClaim {
    const a = this.o.addresses
    return {
      l1ChainId: a.l1ChainId,
      oracle: a.contracts.l2OutputOracle,
      l2ChainId: a.l2ChainId,
      outputRoot: s.outputRoot,
      l2BlockNumber: s.l2BlockNumber,
      nextValidators: s.nextValidators,
    }
  }

  async #readOracle() {
    const at = { abi: oracleAbi, address: this.o.addresses.contracts.l2OutputOracle } as const
    const [next, validators, quorum] = await Promise.all([
      this.#l1.readContract({ ...at, functionName: 'nextBlockNumber' }),
      this.#l1.readContract({ ...at, functionName: 'validators' }),
      this.#l1.readContract({ ...at, functionName: 'quorum' }),
    ])
    this.#oracle = { next, validators: [...validators], quorum: Number(quorum) }
    const m = this.o.metrics
    if (m) {
      const count = await this.#l1.readContract({ ...at, functionName: 'nextOutputIndex' })
      if (count > 0n) {
        const last = await this.#l1.readContract({ ...at, functionName: 'getL2Output', args: [count - 1n] })
        m.outputLastBlock.set(Number(last.l2BlockNumber))
        m.outputLastAge.set(Math.max(0, Date.now() / 1000 - Number(last.timestamp)))
      }
    }
    return this.#oracle
  }

  async #tick(): Promise<void> {
    try {
      await this.tick()
      if (this.#lastError) this.o.log.info('output service: L1 reachable again')
      this.#lastError = ''
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!
      if (msg !== this.#lastError) this.o.log.warn({ err: msg }, 'output service: poll failed')
      this.#lastError = msg
    }
  }

  /** Signs and submits what is due; a proposer catching up submits up to 16 outputs in a row. */
  async tick(): Promise<void> {
    for (let i = 0; i < 16 && !this.#stopped; i++) if (!(await this.step())) return
  }

  /** One output: sign it if due, submit it when a quorum is held. True when one was submitted. */
  async step(): Promise<boolean> {
    const oracle = await this.#readOracle()
    const n = oracle.next
    this.collector.prune(n)
    if (this.o.chain.head.header.number < n) return false
    const root = await this.rootAt(n)
    if (root === undefined) return false
    const nextValidators = this.o.validatorsAfter
      ? this.o.validatorsAfter(n).map((v) => getAddress(hex(v)))
      : oracle.validators.map((v) => getAddress(v))
    nextValidators.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    const s = { l2BlockNumber: n, outputRoot: root, nextValidators }
    if (this.#signerKey) {
      const me = privateKeyToAccount(this.#signerKey).address
      if (oracle.validators.some((v) => v.toLowerCase() === me.toLowerCase())) {
        const signature = await signOutput(this.#claim(s), this.#signerKey)
        const sig: OutputSignature = { ...s, signature }
        await this.collector.add(this.#claim(s), sig, oracle.validators)
        this.o.publish?.(sig)
      }
    }
    if (!this.#wallet || !this.#proposer) return false
    const at = { abi: oracleAbi, address: this.o.addresses.contracts.l2OutputOracle } as const
    let hash: Hex
    if (oracle.validators.length === 0) {
      hash = await this.#wallet.writeContract({
        ...at,
        functionName: 'proposeL2Output',
        args: [root, n, zeroHash, 0n],
        chain: undefined,
        account: this.#proposer,
      })
    } else {
      const sigs = this.collector.quorum(s, oracle.quorum)
      if (!sigs) return false
      hash = await this.#wallet.writeContract({
        ...at,
        functionName: 'proposeL2OutputSigned',
        args: [root, n, zeroHash, 0n, nextValidators, sigs],
        chain: undefined,
        account: this.#proposer,
      })
    }
    const receipt = await this.#l1.waitForTransactionReceipt({ hash, timeout: 60_000 })
    if (receipt.status !== 'success') throw new Error(`output proposal for block ${n} reverted (${hash})`)
    this.o.metrics?.outputsProposed.inc()
    this.o.metrics?.outputGas.observe(Number(receipt.gasUsed))
    this.o.log.info({ l2Block: String(n), root, l1Tx: hash, gas: String(receipt.gasUsed) }, 'output proposed')
    return true
  }
}
