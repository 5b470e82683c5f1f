/**
 * Hardhat Network compatibility of `openledger dev` over JSON-RPC (issue 13, causes 1–5): the
 * client identity the network helpers accept, the pending block on the next block's environment,
 * impersonated contracts, Hardhat's automine failure errors, numeric block parameters and the
 * Hardhat dev methods. Shapes and messages were checked against `hardhat node` 2.29.1 over HTTP.
 */
import type { OpenLedgerNode } from '@openledger/node'
import { ContractFactory, Interface, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, spawnDevProcess, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
let url: string
const { Store } = testContracts()
const iface = new Interface(Store!.abi as never)
const hex = (n: bigint | number) => `0x${n.toString(16)}`
const num = async (method: string, params: unknown[] = []) => BigInt(await call(url, method, params))
const A0 = DEV_ADDRESSES[0]!
const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected an error')
    },
    (e) => e,
  )

// Returns (timestamp, number, basefee, coinbase, prevrandao, gaslimit) of the executing block.
const ENV_CODE = '0x42600052436020524860405241606052446080524560a05260c06000f3'
const ENV = '0x00000000000000000000000000000000000e0001'
// Reverts unless block.timestamp >= T.
const gate = (t: bigint) => `0x63${t.toString(16).padStart(8, '0')}4210600b57005b60006000fd`
const GATE = '0x00000000000000000000000000000000000e0002'

function decodeEnv(ret: string) {
  const w = (i: number) => BigInt(`0x${ret.slice(2 + i * 64, 2 + (i + 1) * 64)}`)
  return { timestamp: w(0), number: w(1), baseFee: w(2), coinbase: w(3), prevRandao: w(4), gasLimit: w(5) }
}

async function deployStore(): Promise<string> {
  const tx = await new ContractFactory(Store!.abi as never, Store!.bytecode).getDeployTransaction(1n)
  const h = await call(url, 'eth_sendTransaction', [{ from: A0, data: tx.data }])
  return (await call(url, 'eth_getTransactionReceipt', [h])).contractAddress
}

beforeAll(async () => {
  node = await startDevNode()
  url = node.rpcUrl
  await call(url, 'hardhat_setCode', [ENV, ENV_CODE])
})
afterAll(async () => {
  await node?.close()
})

describe('identity (cause 1)', () => {
  it('answers a client version the Hardhat network helpers and OpenZeppelin upgrades accept', async () => {
    const version: string = await call(url, 'web3_clientVersion')
    // @nomicfoundation/hardhat-network-helpers (utils.js) and hardhat-predeploy
    expect(version.toLowerCase().startsWith('hardhatnetwork')).toBe(true)
    // @openzeppelin/upgrades-core isDevelopmentNetwork
    expect(version.split('/', 1)[0]).toBe('HardhatNetwork')
    expect(version).toMatch(/openledger/)
    const meta = await call(url, 'hardhat_metadata')
    expect(meta.clientVersion).toBe(version)
    expect(meta.chainId).toBe(31337)
    expect(meta.instanceId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(meta.latestBlockNumber).toBe(Number(await num('eth_blockNumber')))
    expect(await call(url, 'anvil_metadata')).toEqual(meta)
  })

  it('serves the helpers under all three prefixes: hardhat_*, anvil_* and evm_*', async () => {
    const who = '0x00000000000000000000000000000000000e00aa'
    for (const [i, p] of ['hardhat', 'anvil'].entries()) {
      expect(await call(url, `${p}_setBalance`, [who, hex(1000 + i)])).toBe(true)
      expect(await num('eth_getBalance', [who, 'latest'])).toBe(BigInt(1000 + i))
      expect(await call(url, `${p}_setNonce`, [who, hex(5 + i)])).toBe(true)
      expect(await call(url, `${p}_setCode`, [who, '0x6001'])).toBe(true)
      expect(await call(url, `${p}_setStorageAt`, [who, '0x1', `0x${'00'.repeat(31)}0${i}`])).toBe(true)
      expect(await call(url, `${p}_impersonateAccount`, [who])).toBe(true)
      expect(await call(url, `${p}_stopImpersonatingAccount`, [who])).toBe(true)
      expect(await call(url, `${p}_setCoinbase`, [who])).toBe(true)
      expect(await call(url, `${p}_setNextBlockBaseFeePerGas`, ['0x3b9aca00'])).toBe(true)
      expect(await call(url, `${p}_setPrevRandao`, [`0x${'22'.repeat(32)}`])).toBe(true)
      expect(await call(url, `${p}_mine`, ['0x1'])).toBe(true)
      expect(await call(url, `${p}_getAutomine`)).toBe(true)
    }
    expect(await call(url, 'evm_setBlockGasLimit', ['0x1c9c380'])).toBe(true)
    expect(await call(url, 'anvil_setBlockGasLimit', ['0x1c9c380'])).toBe(true)
    expect(await call(url, 'evm_mine')).toBe('0')
    const snap = await call(url, 'evm_snapshot')
    expect(await call(url, 'evm_revert', [snap])).toBe(true)
    await call(url, 'hardhat_setCoinbase', ['0x0000000000000000000000000000000000000000'])
  })
})

describe('the pending block (cause 2)', () => {
  it('eth_call and eth_estimateGas at pending run at evm_setNextBlockTimestamp / evm_increaseTime', async () => {
    const head = await call(url, 'eth_getBlockByNumber', ['latest', false])
    const target = BigInt(head.timestamp) + 100_000n
    await call(url, 'hardhat_setCode', [GATE, gate(target)])
    // Before the clock moves, the gate is closed at pending.
    expect((await fail(call(url, 'eth_estimateGas', [{ from: A0, to: GATE }, 'pending']))).code).toBe(3)
    expect(await call(url, 'evm_setNextBlockTimestamp', [Number(target)])).toBe(target.toString())
    const env = decodeEnv(await call(url, 'eth_call', [{ to: ENV }, 'pending']))
    expect(env.timestamp).toBe(target)
    expect(env.number).toBe(BigInt(head.number) + 1n)
    expect(await num('eth_estimateGas', [{ from: A0, to: GATE }, 'pending'])).toBeGreaterThan(21_000n)
    // hardhat-ethers sends at pending after estimating there: the block lands at the set time
    await call(url, 'eth_sendTransaction', [{ from: A0, to: GATE }])
    expect(BigInt((await call(url, 'eth_getBlockByNumber', ['latest', false])).timestamp)).toBe(target)

    // evm_increaseTime: the pending block is that much later (and so is the mined one).
    const target2 = target + 50_000n
    await call(url, 'hardhat_setCode', [GATE, gate(target2)])
    expect((await fail(call(url, 'eth_call', [{ to: GATE }, 'pending']))).code).toBe(3)
    await call(url, 'evm_increaseTime', [50_000])
    expect(await call(url, 'eth_call', [{ to: GATE }, 'pending'])).toBe('0x')
    const pendingTs = BigInt((await call(url, 'eth_getBlockByNumber', ['pending', false])).timestamp)
    expect(pendingTs).toBeGreaterThanOrEqual(target2)
    await call(url, 'evm_mine')
    expect(
      BigInt((await call(url, 'eth_getBlockByNumber', ['latest', false])).timestamp),
    ).toBeGreaterThanOrEqual(target2)
  })

  it('carries the next base fee, coinbase, prevrandao and gas limit', async () => {
    const coinbase = '0x00000000000000000000000000000000000c0ffe'
    const randao = `0x${'ab'.repeat(32)}`
    await call(url, 'hardhat_setCoinbase', [coinbase])
    await call(url, 'hardhat_setPrevRandao', [randao])
    await call(url, 'hardhat_setNextBlockBaseFeePerGas', ['0x77359400'])
    await call(url, 'evm_setBlockGasLimit', ['0x1312d00'])
    const p = await call(url, 'eth_getBlockByNumber', ['pending', false])
    expect(p.hash).toBe(null)
    expect(BigInt(p.number)).toBe((await num('eth_blockNumber')) + 1n)
    expect(p.miner).toBe(coinbase)
    expect(p.mixHash).toBe(randao)
    expect(p.baseFeePerGas).toBe('0x77359400')
    expect(p.gasLimit).toBe('0x1312d00')
    // with a fee paid, so BASEFEE is the block's (a fee-less call sees 0, as on geth and Hardhat)
    const paid = {
      from: A0,
      to: ENV,
      gas: '0x10000',
      maxFeePerGas: '0x77359400',
      maxPriorityFeePerGas: '0x0',
    }
    const env = decodeEnv(await call(url, 'eth_call', [paid, 'pending']))
    expect(env.coinbase).toBe(BigInt(coinbase))
    expect(env.prevRandao).toBe(BigInt(randao))
    expect(env.baseFee).toBe(0x77359400n)
    expect(env.gasLimit).toBe(0x1312d00n)
    await call(url, 'evm_mine')
    const mined = await call(url, 'eth_getBlockByNumber', ['latest', false])
    expect([mined.miner, mined.mixHash, mined.baseFeePerGas, mined.gasLimit]).toEqual([
      coinbase,
      randao,
      '0x77359400',
      '0x1312d00',
    ])
    // prevrandao and base fee were for one block; the gas limit stays
    const next = await call(url, 'eth_getBlockByNumber', ['pending', false])
    expect(next.mixHash).toBe(`0x${'00'.repeat(32)}`)
    expect(next.gasLimit).toBe('0x1312d00')
    await call(url, 'evm_setBlockGasLimit', ['0x1c9c380'])
    await call(url, 'hardhat_setCoinbase', ['0x0000000000000000000000000000000000000000'])
  })

  it('is built from the pool: transactions, balances and nonces at pending (manual mining)', async () => {
    const to = '0x00000000000000000000000000000000000e00bb'
    await call(url, 'evm_setAutomine', [false])
    try {
      const nonce = await num('eth_getTransactionCount', [A0, 'latest'])
      const h1 = await call(url, 'eth_sendTransaction', [{ from: A0, to, value: '0x64' }])
      const h2 = await call(url, 'eth_sendTransaction', [{ from: A0, to, value: '0x64' }])
      expect(await num('eth_getTransactionCount', [A0, 'pending'])).toBe(nonce + 2n)
      expect(await num('eth_getTransactionCount', [A0, 'latest'])).toBe(nonce)
      expect(await num('eth_getBalance', [to, 'pending'])).toBe(200n)
      expect(await num('eth_getBalance', [to, 'latest'])).toBe(0n)
      const p = await call(url, 'eth_getBlockByNumber', ['pending', true])
      expect(p.transactions.map((t: { hash: string }) => t.hash)).toEqual([h1, h2])
      expect(p.transactions[0].blockHash).toBe(null)
      expect(BigInt(p.gasUsed)).toBe(42_000n)
      expect(await num('eth_getBlockTransactionCountByNumber', ['pending'])).toBe(2n)
      // a call at pending sees the pool's effects
      expect(
        await call(url, 'eth_call', [
          { from: to, to: A0, value: '0xc8', gas: '0x5208', gasPrice: '0x0' },
          'pending',
        ]),
      ).toBe('0x')
      await call(url, 'evm_mine')
      expect(await num('eth_getBalance', [to, 'latest'])).toBe(200n)
      const mined = await call(url, 'eth_getBlockByNumber', ['latest', false])
      expect(mined.transactions).toEqual([h1, h2])
    } finally {
      await call(url, 'evm_setAutomine', [true])
    }
  })
})

describe('impersonation (cause 3)', () => {
  it('mines a transaction sent from an impersonated account that has code', async () => {
    const store = await deployStore()
    await call(url, 'hardhat_impersonateAccount', [store])
    await call(url, 'hardhat_setBalance', [store, hex(10n ** 18n)])
    const target = await deployStore()
    const h = await call(url, 'eth_sendTransaction', [
      { from: store, to: target, data: iface.encodeFunctionData('set', [7n]) },
    ])
    const receipt = await call(url, 'eth_getTransactionReceipt', [h])
    expect(receipt.status).toBe('0x1')
    expect(receipt.from).toBe(store.toLowerCase())
    const writes = await call(url, 'eth_call', [
      { to: target, data: iface.encodeFunctionData('writes', [store]) },
      'latest',
    ])
    expect(BigInt(writes)).toBe(1n)
    await call(url, 'hardhat_stopImpersonatingAccount', [store])
  })

  it('never answers a hash for a transaction it drops instead of mining', async () => {
    // Admitted against the head's gas limit, then too large for the block the sealer builds.
    await call(url, 'evm_setBlockGasLimit', ['0x30d40'])
    try {
      const before = await num('eth_blockNumber')
      const err = await fail(
        call(url, 'eth_sendTransaction', [{ from: A0, to: DEV_ADDRESSES[1], gas: '0x493e0' }]),
      )
      expect(err.message).toMatch(/was not mined: gas limit 300000 exceeds the block gas limit 200000/)
      expect(await call(url, 'txpool_status')).toEqual({ pending: '0x0', queued: '0x0' })
      // Nothing else was pending: no empty block is committed for the dropped transaction.
      expect(await num('eth_blockNumber')).toBe(before)
    } finally {
      await call(url, 'evm_setBlockGasLimit', ['0x1c9c380'])
      await call(url, 'evm_mine')
    }
  })
})

describe("Hardhat's automine failure errors (cause 4)", () => {
  const CODES: Array<[string, string, number, string, string]> = [
    [
      'revert without data',
      '0x60006000fd',
      -32603,
      'Error: Transaction reverted without a reason string',
      '0x',
    ],
    [
      'Error(string)',
      '0x7f08c379a000000000000000000000000000000000000000000000000000000000600052602060045260016024527f780000000000000000000000000000000000000000000000000000000000000060445260646000fd',
      -32603,
      "Error: VM Exception while processing transaction: reverted with reason string 'x'",
      '0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000017800000000000000000000000000000000000000000000000000000000000000',
    ],
    [
      'Panic(0x11)',
      '0x7f4e487b7100000000000000000000000000000000000000000000000000000000600052601160045260246000fd',
      -32603,
      'Error: VM Exception while processing transaction: reverted with panic code 0x11 (Arithmetic operation overflowed outside of an unchecked block)',
      '0x4e487b710000000000000000000000000000000000000000000000000000000000000011',
    ],
    [
      'custom error',
      '0x63deadbeef60e01b60005260046000fd',
      -32603,
      'Error: VM Exception while processing transaction: reverted with an unrecognized custom error (return data: 0xdeadbeef)',
      '0xdeadbeef',
    ],
    ['out of gas', '0x5b600056', -32000, 'Transaction ran out of gas', '0x'],
    [
      'invalid opcode',
      '0xfe',
      -32603,
      'Error: VM Exception while processing transaction: invalid opcode',
      '0x',
    ],
  ]

  it.each(CODES)(
    '%s: the send answers the error; the transaction is mined with status 0',
    async (_, code, errCode, message, data) => {
      const target = `0x00000000000000000000000000000000000f${(CODES.findIndex((c) => c[1] === code) + 1).toString(16).padStart(4, '0')}`
      await call(url, 'hardhat_setCode', [target, code])
      const before = await num('eth_blockNumber')
      const err = await fail(call(url, 'eth_sendTransaction', [{ from: A0, to: target, gas: '0x30000' }]))
      expect(err.code).toBe(errCode)
      expect(err.message).toBe(message)
      expect(err.data.message).toBe(message)
      expect(err.data.data).toBe(data)
      expect(await num('eth_blockNumber')).toBe(before + 1n)
      const receipt = await call(url, 'eth_getTransactionReceipt', [err.data.txHash])
      expect(receipt.status).toBe('0x0')
    },
  )

  it('eth_sendRawTransaction fails the same way', async () => {
    const store = await deployStore()
    const w = new Wallet(DEV_KEYS[2]!)
    const raw = await w.signTransaction({
      to: store,
      data: iface.encodeFunctionData('set', [13n]),
      gasLimit: 200_000n,
      chainId: 31337n,
      nonce: Number(await num('eth_getTransactionCount', [DEV_ADDRESSES[2], 'pending'])),
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 1n,
    })
    const err = await fail(call(url, 'eth_sendRawTransaction', [raw]))
    expect(err.message).toBe(
      "Error: VM Exception while processing transaction: reverted with reason string 'unlucky number'",
    )
    expect((await call(url, 'eth_getTransactionReceipt', [err.data.txHash])).status).toBe('0x0')
  })

  it('a successful send still answers the hash, and manual mining never throws', async () => {
    const store = await deployStore()
    const h = await call(url, 'eth_sendTransaction', [
      { from: A0, to: store, data: iface.encodeFunctionData('set', [5n]) },
    ])
    expect(h).toMatch(/^0x[0-9a-f]{64}$/)
    await call(url, 'evm_setAutomine', [false])
    try {
      const pendingHash = await call(url, 'eth_sendTransaction', [
        { from: A0, to: store, data: iface.encodeFunctionData('set', [13n]), gas: '0x30000' },
      ])
      await call(url, 'evm_mine')
      expect((await call(url, 'eth_getTransactionReceipt', [pendingHash])).status).toBe('0x0')
    } finally {
      await call(url, 'evm_setAutomine', [true])
    }
  })
})

describe('block parameters and dev methods (cause 5)', () => {
  it('accepts numeric block parameters', async () => {
    const b1 = await call(url, 'eth_getBlockByNumber', [1, false])
    expect(b1.number).toBe('0x1')
    expect(await call(url, 'eth_getBlockByNumber', [0, false])).toEqual(
      await call(url, 'eth_getBlockByNumber', ['0x0', false]),
    )
    expect(await call(url, 'eth_getBalance', [A0, 0])).toBe(await call(url, 'eth_getBalance', [A0, '0x0']))
    expect((await fail(call(url, 'eth_getBlockByNumber', [-1, false]))).code).toBe(-32602)
    expect((await fail(call(url, 'eth_getBlockByNumber', [1.5, false]))).code).toBe(-32602)
  })

  it('hardhat_mine with an interval moves time, and the clock goes on from there', async () => {
    const head = await call(url, 'eth_getBlockByNumber', ['latest', false])
    await call(url, 'hardhat_mine', ['0x3', '0x3c'])
    const n = BigInt(head.number)
    const ts = async (k: bigint) =>
      BigInt((await call(url, 'eth_getBlockByNumber', [hex(k), false])).timestamp)
    const t1 = await ts(n + 1n)
    expect(await ts(n + 2n)).toBe(t1 + 60n)
    expect(await ts(n + 3n)).toBe(t1 + 120n)
    await call(url, 'evm_mine')
    expect(await ts(n + 4n)).toBeGreaterThan(t1 + 120n)
    expect(await ts(n + 4n)).toBeLessThan(t1 + 130n)
    // hardhat_mine(0) mines nothing
    expect(await call(url, 'hardhat_mine', ['0x0'])).toBe(true)
    expect(await num('eth_blockNumber')).toBe(n + 4n)
  })

  it('evm_setNextBlockTimestamp answers the timestamp; evm_increaseTime the total offset', async () => {
    const head = await call(url, 'eth_getBlockByNumber', ['latest', false])
    const t = BigInt(head.timestamp) + 1000n
    expect(await call(url, 'evm_setNextBlockTimestamp', [hex(t)])).toBe(t.toString())
    await call(url, 'evm_mine')
    const offset = BigInt(await call(url, 'evm_increaseTime', [0]))
    const now = BigInt(Math.floor(Date.now() / 1000))
    // the block at t moved the clock: offset ≈ t - now
    expect(offset - (t - now)).toBeLessThanOrEqual(2n)
    expect(await call(url, 'anvil_increaseTime', [0])).toBeTypeOf('number')
  })

  it("a block edited by cheats keeps the edit once it is no longer the head (Hardhat's irregular state)", async () => {
    // chai-matchers' changeEtherBalances reads balances at the block before the transaction.
    const who = '0x00000000000000000000000000000000000abcde'
    const n = await call(url, 'eth_blockNumber')
    await call(url, 'hardhat_setBalance', [who, '0x2a'])
    expect(await call(url, 'eth_getBalance', [who, n])).toBe('0x2a')
    await call(url, 'eth_sendTransaction', [{ from: A0, to: who, value: '0x1' }])
    expect(await call(url, 'eth_getBalance', [who, n])).toBe('0x2a')
    expect(await call(url, 'eth_getBalance', [who, 'latest'])).toBe('0x2b')
  })

  it('hardhat_reset returns to genesis with a fresh instance id', async () => {
    const before = await call(url, 'hardhat_metadata')
    expect(before.latestBlockNumber).toBeGreaterThan(0)
    await call(url, 'hardhat_impersonateAccount', [ENV])
    await call(url, 'evm_setAutomine', [false])
    await call(url, 'evm_increaseTime', [1_000_000])
    expect(await call(url, 'hardhat_reset', [])).toBe(true)
    const after = await call(url, 'hardhat_metadata')
    expect(after.latestBlockNumber).toBe(0)
    expect(after.instanceId).not.toBe(before.instanceId)
    expect(await call(url, 'eth_getCode', [ENV, 'latest'])).toBe('0x')
    expect(await call(url, 'hardhat_getAutomine')).toBe(true)
    expect(BigInt(await call(url, 'evm_increaseTime', [0]))).toBe(0n)
    expect((await fail(call(url, 'eth_sendTransaction', [{ from: ENV, to: A0 }]))).message).toMatch(
      /unknown account/,
    )
    // the chain goes on from genesis
    await call(url, 'eth_sendTransaction', [{ from: A0, to: DEV_ADDRESSES[1], value: '0x1' }])
    expect(await num('eth_blockNumber')).toBe(1n)
    await call(url, 'hardhat_setCode', [ENV, ENV_CODE])
  })
})

describe('dev options', () => {
  // Initcode returning 30,000 zero bytes: above EIP-170's 24,576-byte limit.
  const BIG = '0x6175306000f3'

  it('--no-throw-on-tx-failures answers failed sends with their hash, as anvil', async () => {
    const anvilStyle = await startDevNode({ throwOnTransactionFailures: false })
    try {
      const u = anvilStyle.rpcUrl
      await call(u, 'hardhat_setCode', [GATE, '0x60006000fd'])
      const h = await call(u, 'eth_sendTransaction', [{ from: A0, to: GATE, gas: '0x30000' }])
      expect((await call(u, 'eth_getTransactionReceipt', [h])).status).toBe('0x0')
      // and the code size limit holds by default
      const d = await call(u, 'eth_sendTransaction', [{ from: A0, data: BIG, gas: '0xf00000' }])
      const r = await call(u, 'eth_getTransactionReceipt', [d])
      expect(r.status).toBe('0x0')
    } finally {
      await anvilStyle.close()
    }
  })

  it('allowUnlimitedContractSize (--disable-code-size-limit) deploys code above 24 KiB', async () => {
    const unlimited = await startDevNode({ allowUnlimitedContractSize: true })
    try {
      const u = unlimited.rpcUrl
      const gas = await call(u, 'eth_estimateGas', [{ from: A0, data: BIG }])
      expect(BigInt(gas)).toBeGreaterThan(6_000_000n)
      const d = await call(u, 'eth_sendTransaction', [{ from: A0, data: BIG }])
      const r = await call(u, 'eth_getTransactionReceipt', [d])
      expect(r.status).toBe('0x1')
      expect((await call(u, 'eth_getCode', [r.contractAddress, 'latest'])).length).toBe(2 + 60_000)
      // initcode above EIP-3860's 49,152 bytes too (the transaction is 60 KB)
      const initcode = `0x${'5b'.repeat(60_000)}00`
      const big = await call(u, 'eth_sendTransaction', [{ from: A0, data: initcode, gas: '0xf00000' }])
      expect((await call(u, 'eth_getTransactionReceipt', [big])).status).toBe('0x1')
    } finally {
      await unlimited.close()
    }
  })
})

describe('openledger dev process', () => {
  it("a throwaway chain's genesis is the start time, as Hardhat's (time.latest() of a fresh chain is now)", async () => {
    const before = Math.floor(Date.now() / 1000)
    const p = await spawnDevProcess([])
    try {
      const genesis = await call(p.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])
      expect(Number(genesis.timestamp)).toBeGreaterThanOrEqual(before)
      expect(Number(genesis.timestamp)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
    } finally {
      p.child.kill('SIGKILL')
      await p.exited
    }
  })
})
