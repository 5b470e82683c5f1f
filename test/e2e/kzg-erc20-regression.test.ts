/**
 * Regression of issue 10 on a real `openledger dev` process, with viem: a KZG point-evaluation call
 * (valid and invalid), a transaction to 0x0a, then an OpenZeppelin-style ERC-20 deploy (constructor
 * mint) and transfer. Before the fix the KZG call left the call VM dirty (the transfer's gas
 * estimate came out 2,800 short and the transfer failed) and the transaction to 0x0a bricked the
 * node (every later state read: "state root … is not available").
 */
import { createBlob4844Tx } from '@ethereumjs/tx'
import { createChainCommon, parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis } from '@openledger/node'
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  parseEventLogs,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { DEV_ADDRESSES, DEV_KEYS, type NodeProcess, rpc, spawnDevProcess } from '../helpers/dev-node.ts'

const P = '0x000000000000000000000000000000000000000a'
const VALID =
  '0x01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d3630624d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a18f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a' as Hex
/** FIELD_ELEMENTS_PER_BLOB (4096) ‖ BLS_MODULUS, each 32 bytes. */
const SUCCESS = `0x${'1000'.padStart(64, '0')}73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001`
const { Token } = testContracts()
const abi = Token!.abi as Abi

let dev: NodeProcess
const chain = defineChain({
  id: 31337,
  name: 'OpenLedger dev',
  nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})

beforeAll(async () => {
  dev = await spawnDevProcess([])
}, 120_000)

afterAll(async () => {
  dev?.child.kill('SIGTERM')
  await dev?.exited
})

it('KZG call → ERC-20 deploy → transfer → balances, and a transaction to 0x0a, on one process', async () => {
  const transport = http(dev.rpcUrl)
  const account = privateKeyToAccount(DEV_KEYS[0] as Hex)
  const pub = createPublicClient({ chain, transport, pollingInterval: 50 })
  const wallet = createWalletClient({ chain, transport, account })
  const [to] = [DEV_ADDRESSES[1]!]

  // 0x0a: the 64-byte success output for a valid proof, a failed call for a broken one.
  expect((await pub.call({ to: P, data: VALID })).data).toBe(SUCCESS)
  await expect(pub.call({ to: P, data: `${VALID.slice(0, -2)}00` as Hex })).rejects.toThrow()

  const deployHash = await wallet.deployContract({ abi, bytecode: Token!.bytecode })
  const deployed = await pub.waitForTransactionReceipt({ hash: deployHash })
  expect(deployed.status).toBe('success')
  const mint = parseEventLogs({ abi, logs: deployed.logs, eventName: 'Transfer' })
  expect(mint).toHaveLength(1)
  expect((mint[0]!.args as { value: bigint }).value).toBe(10n ** 24n)
  const token = deployed.contractAddress!

  // viem estimates the gas (eth_estimateGas on the call VM the KZG call went through).
  const hash = await wallet.writeContract({
    address: token,
    abi,
    functionName: 'transfer',
    args: [to, 1234n],
  })
  const receipt = await pub.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  const balance = (who: Hex) =>
    pub.readContract({ address: token, abi, functionName: 'balanceOf', args: [who] })
  expect(await balance(DEV_ADDRESSES[0] as Hex)).toBe(10n ** 24n - 1234n)
  expect(await balance(to as Hex)).toBe(1234n)

  // A transaction to 0x0a is mined like any other, and the node goes on.
  const kzgTx = await wallet.sendTransaction({ to: P, data: VALID })
  expect((await pub.waitForTransactionReceipt({ hash: kzgTx })).status).toBe('success')
  const nonce = await pub.getTransactionCount({ address: DEV_ADDRESSES[0] as Hex })
  expect(nonce).toBe(3)
  const again = await wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [to, 1n] })
  expect((await pub.waitForTransactionReceipt({ hash: again })).status).toBe('success')
  expect(await balance(to as Hex)).toBe(1235n)
}, 120_000)

it('refuses blob (type 3) transactions with the documented error', async () => {
  const common = createChainCommon(parseGenesis((await buildDevGenesis({})).json))
  const blob = createBlob4844Tx(
    {
      chainId: 31337n,
      nonce: 100n,
      to: DEV_ADDRESSES[1],
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
      maxFeePerBlobGas: 1n,
      blobVersionedHashes: [`0x01${'00'.repeat(31)}`],
    },
    { common },
  ).sign(Uint8Array.from(Buffer.from(DEV_KEYS[0]!.slice(2), 'hex')))
  const { json } = await rpc(dev.rpcUrl, {
    jsonrpc: '2.0',
    id: 1,
    method: 'eth_sendRawTransaction',
    params: [`0x${Buffer.from(blob.serialize()).toString('hex')}`],
  })
  expect(json.error).toMatchObject({ code: -32000, message: 'transaction type not supported' })
})
