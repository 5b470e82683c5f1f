/**
 * Runs GeneralStateTests cases through the code that executes this chain's blocks:
 * - the VM from `createChainVM` (HostEVM with the fast paths of evm-fastpath.ts, the patched
 *   EthereumJS, BlockStateManager with its batched trie commits, LevelStateDB with its write buffer),
 * - `executeBlockBody` → `runTransactions` (per-transaction isolation, the plain-transfer fast
 *   path, fee handling), inside one block checkpoint, then the same commit and state root.
 * What differs is the chain configuration, because a fixture describes mainnet at its fork, not
 * this chain: the fork's mainnet rules (chain id 1), no system modules, no block hooks, no
 * treasury (the base fee is burnt), blob transactions executed (this chain refuses them at
 * intake), the header fields from the fixture's env, and BLOCKHASH(n) = keccak256(decimal n) as
 * the fixtures were filled with. After the transaction, the coinbase is touched with a zero reward
 * (and deleted if empty), as every state-test runner does (geth's `AddBalance(coinbase, 0)`).
 * docs/statetest.md describes it.
 */
import { type Block, createBlock } from '@ethereumjs/block'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { RLP } from '@ethereumjs/rlp'
import {
  createAccessList2930Tx,
  createBlob4844Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { Address, createAccount, KECCAK256_RLP } from '@ethereumjs/util'
import type { VM } from '@ethereumjs/vm'
import { executeBlockBody } from '../block/body.ts'
import { fromHex, toHex } from '../bytes.ts'
import { createCustomCrypto, keccak256 } from '../crypto.ts'
import { resetTo } from '../isolation.ts'
import { BlockStateManager } from '../state/block-state.ts'
import { type LevelLike, LevelStateDB } from '../state/level-db.ts'
import { createChainVM } from '../vm.ts'
import type { FixtureTest, StateTestCase } from './fixture.ts'

/** geth's `evm statetest --json` result object. */
export interface StateTestResult {
  name: string
  pass: boolean
  stateRoot: string
  fork: string
  error?: string
}

/** Fixture fork names → EthereumJS hardforks. */
export const FORKS: Record<string, Hardfork> = {
  Frontier: Hardfork.Chainstart,
  Homestead: Hardfork.Homestead,
  EIP150: Hardfork.TangerineWhistle,
  EIP158: Hardfork.SpuriousDragon,
  Byzantium: Hardfork.Byzantium,
  Constantinople: Hardfork.Constantinople,
  ConstantinopleFix: Hardfork.Petersburg,
  Istanbul: Hardfork.Istanbul,
  Berlin: Hardfork.Berlin,
  London: Hardfork.London,
  Paris: Hardfork.Paris,
  Merge: Hardfork.Paris,
  Shanghai: Hardfork.Shanghai,
  Cancun: Hardfork.Cancun,
  Prague: Hardfork.Prague,
  Osaka: Hardfork.Osaka,
}

/** A LevelLike that holds nothing: every case's state lives in LevelStateDB's write buffer. */
const EMPTY_LEVEL: LevelLike = {
  async get() {
    return undefined
  },
  async put() {
    throw new Error('statetest: nothing is ever persisted')
  },
  async del() {
    throw new Error('statetest: nothing is ever persisted')
  },
  async batch() {
    throw new Error('statetest: nothing is ever persisted')
  },
}

const big = (h: string | undefined, fallback = 0n): bigint =>
  h === undefined || h === '' ? fallback : BigInt(h)
const bytesOf = (h: string): Uint8Array => (h === '' || h === '0x' ? new Uint8Array(0) : fromHex(h))
const textEncoder = new TextEncoder()

interface ForkVm {
  vm: VM
  db: LevelStateDB
  common: Common
}

export class StateTestRunner {
  private readonly vms = new Map<string, Promise<ForkVm>>()

  /** One VM per fork for the whole run, reset between cases (which exercises the reset too). */
  private forkVm(fork: string): Promise<ForkVm> {
    let p = this.vms.get(fork)
    if (p === undefined) {
      p = (async () => {
        const hardfork = FORKS[fork]
        if (hardfork === undefined) throw new Error(`unknown fork ${fork}`)
        const common = new Common({ chain: Mainnet, hardfork, customCrypto: createCustomCrypto() })
        const db = new LevelStateDB(EMPTY_LEVEL)
        const sizes = { accounts: 10_000, storage: 10_000, code: 1_000, trieNodes: 0 }
        const vm = await createChainVM(
          db,
          {
            common,
            modules: [],
            hooks: [],
            getBlockHash: async (n) => keccak256(textEncoder.encode(n.toString())),
          },
          sizes,
          undefined,
          undefined,
          BlockStateManager,
        )
        return { vm, db, common }
      })()
      this.vms.set(fork, p)
    }
    return p
  }

  async run(c: StateTestCase): Promise<StateTestResult> {
    const result = (pass: boolean, stateRoot: string, error?: string): StateTestResult =>
      error === undefined
        ? { name: c.name, pass, stateRoot, fork: c.fork }
        : { name: c.name, pass, stateRoot, fork: c.fork, error }
    let forkVm: ForkVm
    try {
      forkVm = await this.forkVm(c.fork)
    } catch (e) {
      return result(false, toHex(new Uint8Array(32)), (e as Error).message)
    }
    const { vm, db, common } = forkVm
    const sm = vm.stateManager
    resetTo(vm, KECCAK256_RLP)
    db.beginBuffer()
    try {
      await writePre(vm, c.fixture)
      const block = blockOf(c.fixture, common)
      let tx: TypedTransaction | undefined
      let buildError: string | undefined
      try {
        tx = txOf(c.fixture, c.post.indexes, common)
      } catch (e) {
        buildError = (e as Error).message
      }
      await sm.checkpoint()
      const loop = await executeBlockBody(vm, block, tx === undefined ? [] : [tx], common.chainId(), {
        hooks: [],
        mode: 'build',
        allowBlobs: true,
        yieldEveryMs: Number.POSITIVE_INFINITY,
      })
      if (common.gteHardfork(Hardfork.SpuriousDragon)) {
        const coinbase = block.header.coinbase
        const acct = await sm.getAccount(coinbase)
        if (acct?.isEmpty()) await sm.deleteAccount(coinbase)
      }
      await sm.commit()
      const root = toHex(await sm.getStateRoot())
      const rejected = buildError ?? loop.rejected[0]?.reason
      if (c.post.expectException !== undefined) {
        return rejected !== undefined
          ? result(true, root)
          : result(
              false,
              root,
              `expected exception ${c.post.expectException}, but the transaction was executed`,
            )
      }
      if (rejected !== undefined) return result(false, root, `transaction rejected: ${rejected}`)
      const logs = loop.executed[0]?.logs ?? []
      const logsHash = toHex(keccak256(RLP.encode(logs.map((l) => [l.address, l.topics, l.data]))))
      if (root !== c.post.hash.toLowerCase())
        return result(false, root, `post state root mismatch: got ${root}, want ${c.post.hash}`)
      if (logsHash !== c.post.logs.toLowerCase())
        return result(false, root, `post state logs hash mismatch: got ${logsHash}, want ${c.post.logs}`)
      return result(true, root)
    } catch (e) {
      return result(false, toHex(new Uint8Array(32)), `runner error: ${(e as Error).message}`)
    } finally {
      db.discardBuffer()
    }
  }
}

async function writePre(vm: VM, t: FixtureTest): Promise<void> {
  const sm = vm.stateManager
  for (const [addr, a] of Object.entries(t.pre)) {
    const address = new Address(fromHex(addr))
    await sm.putAccount(address, createAccount({ nonce: big(a.nonce), balance: big(a.balance) }))
    const code = bytesOf(a.code)
    if (code.length > 0) await sm.putCode(address, code)
    for (const [slot, value] of Object.entries(a.storage ?? {})) {
      if (big(value) === 0n) continue
      await sm.putStorage(address, pad32(slot), pad32(value))
    }
  }
  await sm.getStateRoot()
}

function pad32(h: string): Uint8Array {
  const v = big(h)
  return fromHex(`0x${v.toString(16).padStart(64, '0')}`)
}

function blockOf(t: FixtureTest, common: Common): Block {
  const e = t.env
  const postMerge = common.gteHardfork(Hardfork.Paris)
  const header: Record<string, unknown> = {
    number: big(e.currentNumber),
    coinbase: fromHex(e.currentCoinbase),
    timestamp: big(e.currentTimestamp),
    gasLimit: big(e.currentGasLimit),
    difficulty: postMerge ? 0n : big(e.currentDifficulty),
    // PREVRANDAO after the merge.
    mixHash: postMerge && e.currentRandom !== undefined ? pad32(e.currentRandom) : new Uint8Array(32),
  }
  if (common.gteHardfork(Hardfork.London)) header.baseFeePerGas = big(e.currentBaseFee, 10n)
  if (common.gteHardfork(Hardfork.Cancun)) {
    header.excessBlobGas = big(e.currentExcessBlobGas)
    header.blobGasUsed = 0n
    header.parentBeaconBlockRoot = new Uint8Array(32)
  }
  return createBlock({ header }, { common, setHardfork: false, skipConsensusFormatValidation: true })
}

/** geth's choice of transaction type: blob hashes → 3, a fee cap → 2, an access list → 1, else 0. */
function txOf(
  t: FixtureTest,
  idx: { data: number; gas: number; value: number },
  common: Common,
): TypedTransaction {
  const x = t.transaction
  const data = x.data[idx.data]
  const gas = x.gasLimit[idx.gas]
  const value = x.value[idx.value]
  if (data === undefined || gas === undefined || value === undefined)
    throw new Error(`indexes ${JSON.stringify(idx)} out of range`)
  const base = {
    nonce: big(x.nonce),
    gasLimit: big(gas),
    value: big(value),
    data: bytesOf(data),
    to: x.to === '' ? undefined : fromHex(x.to),
  }
  const list = x.accessLists?.[idx.data] ?? undefined
  const accessList = list?.map((i) => ({ address: i.address, storageKeys: i.storageKeys })) as
    | Array<{ address: `0x${string}`; storageKeys: `0x${string}`[] }>
    | undefined
  const key = fromHex(x.secretKey)
  if (x.blobVersionedHashes !== undefined) {
    return createBlob4844Tx(
      {
        ...base,
        maxFeePerGas: big(x.maxFeePerGas),
        maxPriorityFeePerGas: big(x.maxPriorityFeePerGas),
        maxFeePerBlobGas: big(x.maxFeePerBlobGas),
        blobVersionedHashes: x.blobVersionedHashes as `0x${string}`[],
        accessList: accessList ?? [],
      },
      { common },
    ).sign(key)
  }
  if (x.maxFeePerGas !== undefined) {
    return createFeeMarket1559Tx(
      {
        ...base,
        maxFeePerGas: big(x.maxFeePerGas),
        maxPriorityFeePerGas: big(x.maxPriorityFeePerGas),
        accessList: accessList ?? [],
      },
      { common },
    ).sign(key)
  }
  if (accessList !== undefined)
    return createAccessList2930Tx({ ...base, gasPrice: big(x.gasPrice), accessList }, { common }).sign(key)
  return createLegacyTx({ ...base, gasPrice: big(x.gasPrice) }, { common }).sign(key)
}
