/** Consensus data recomputed by a client from what JSON-RPC returns: block hash, transactions
 * root, receipts root, and eth_getProof against the block's stateRoot. Encodings are rebuilt here
 * (ethers for transactions, RLP + a fresh trie for the rest), not taken from the node's code. */
import { createMPT, MerklePatriciaTrie, verifyMPTWithMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { OpenLedgerNode } from '@openledger/node'
import {
  ContractFactory,
  getBytes,
  JsonRpcProvider,
  Transaction,
  toBeArray,
  Wallet,
  zeroPadValue,
} from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
let provider: JsonRpcProvider
let storeAddress: string
let blockNumber: number

const q = (hex: string): Uint8Array => (BigInt(hex) === 0n ? new Uint8Array() : toBeArray(BigInt(hex)))
const b = (hex: string): Uint8Array => getBytes(hex)
const hex = (u: Uint8Array): string => `0x${Buffer.from(u).toString('hex')}`

beforeAll(async () => {
  node = await startDevNode({ mining: { kind: 'manual' } })
  provider = new JsonRpcProvider(node.rpcUrl, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
    cacheTimeout: -1,
  })
  const { Store } = testContracts()
  // Several transactions of different types in ONE block, including a failing one.
  const w0 = new Wallet(DEV_KEYS[0]!, provider)
  const w1 = new Wallet(DEV_KEYS[1]!, provider)
  const deploy = await new ContractFactory(Store!.abi as never, Store!.bytecode, w0).getDeployTransaction(3n)
  const fee = await provider.getFeeData()
  const txs = [
    await w0.signTransaction({
      ...deploy,
      nonce: 0,
      gasLimit: 1_000_000n,
      type: 2,
      maxFeePerGas: fee.maxFeePerGas,
      maxPriorityFeePerGas: 1n,
      chainId: 31337n,
    }),
    await w1.signTransaction({
      to: DEV_ADDRESSES[2],
      value: 10n,
      nonce: 0,
      gasLimit: 21_000n,
      type: 0,
      gasPrice: fee.gasPrice,
      chainId: 31337n,
    }),
    await w1.signTransaction({
      to: DEV_ADDRESSES[2],
      value: 11n,
      nonce: 1,
      gasLimit: 30_000n,
      type: 1,
      gasPrice: fee.gasPrice,
      chainId: 31337n,
      accessList: [{ address: DEV_ADDRESSES[3]!, storageKeys: [zeroPadValue('0x01', 32)] }],
    }),
  ]
  for (const raw of txs) await call(node.rpcUrl, 'eth_sendRawTransaction', [raw])
  await call(node.rpcUrl, 'evm_mine', [])
  storeAddress = (await provider.getTransactionReceipt(Transaction.from(txs[0]!).hash!))!.contractAddress!
  // a second block with a call that emits a log and a reverting call
  const set = new Wallet(DEV_KEYS[0]!, provider)
  const iface = new ContractFactory(Store!.abi as never, Store!.bytecode).interface
  await call(node.rpcUrl, 'eth_sendRawTransaction', [
    await set.signTransaction({
      to: storeAddress,
      data: iface.encodeFunctionData('set', [9n]),
      nonce: 1,
      gasLimit: 100_000n,
      type: 2,
      maxFeePerGas: fee.maxFeePerGas,
      maxPriorityFeePerGas: 2n,
      chainId: 31337n,
    }),
  ])
  await call(node.rpcUrl, 'eth_sendRawTransaction', [
    await set.signTransaction({
      to: storeAddress,
      data: iface.encodeFunctionData('set', [5000n]),
      nonce: 2,
      gasLimit: 100_000n,
      type: 2,
      maxFeePerGas: fee.maxFeePerGas,
      maxPriorityFeePerGas: 2n,
      chainId: 31337n,
    }),
  ])
  await call(node.rpcUrl, 'evm_mine', [])
  blockNumber = await provider.getBlockNumber()
})

afterAll(async () => {
  provider?.destroy()
  await node?.close()
})

function headerFields(blk: Record<string, string>): Uint8Array[] {
  const fields = [
    b(blk.parentHash!),
    b(blk.sha3Uncles!),
    b(blk.miner!),
    b(blk.stateRoot!),
    b(blk.transactionsRoot!),
    b(blk.receiptsRoot!),
    b(blk.logsBloom!),
    q(blk.difficulty!),
    q(blk.number!),
    q(blk.gasLimit!),
    q(blk.gasUsed!),
    q(blk.timestamp!),
    b(blk.extraData!),
    b(blk.mixHash!),
    b(blk.nonce!),
    q(blk.baseFeePerGas!),
  ]
  if (blk.withdrawalsRoot) fields.push(b(blk.withdrawalsRoot))
  if (blk.blobGasUsed) fields.push(q(blk.blobGasUsed), q(blk.excessBlobGas!))
  if (blk.parentBeaconBlockRoot) fields.push(b(blk.parentBeaconBlockRoot))
  if (blk.requestsHash) fields.push(b(blk.requestsHash))
  return fields
}

async function trieRoot(values: Uint8Array[]): Promise<string> {
  const trie = await createMPT()
  for (let i = 0; i < values.length; i++) await trie.put(RLP.encode(i), values[i]!)
  return hex(trie.root())
}

describe('consensus data checked by a client', () => {
  for (const which of ['first', 'second'] as const) {
    it(`block hash, transactions root and receipts root of the ${which} block recompute`, async () => {
      const n = which === 'first' ? blockNumber - 1 : blockNumber
      const blk = await call(node.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, true])
      expect(hex(keccak_256(RLP.encode(headerFields(blk))))).toBe(blk.hash)
      expect(blk.transactions.length).toBeGreaterThan(1)

      const rawTxs = blk.transactions.map((t: Record<string, unknown>) => {
        const tx = Transaction.from({
          type: Number(t.type),
          to: t.to as string | null,
          nonce: Number(t.nonce),
          gasLimit: BigInt(t.gas as string),
          gasPrice: Number(t.type) < 2 ? BigInt(t.gasPrice as string) : null,
          maxFeePerGas: Number(t.type) === 2 ? BigInt(t.maxFeePerGas as string) : null,
          maxPriorityFeePerGas: Number(t.type) === 2 ? BigInt(t.maxPriorityFeePerGas as string) : null,
          data: t.input as string,
          value: BigInt(t.value as string),
          chainId: BigInt(t.chainId as string),
          accessList: (t.accessList as never) ?? null,
          signature: { r: t.r as string, s: t.s as string, v: BigInt(t.v as string) },
        })
        expect(tx.hash).toBe(t.hash)
        return b(tx.serialized)
      })
      expect(await trieRoot(rawTxs)).toBe(blk.transactionsRoot)

      const receipts = await call(node.rpcUrl, 'eth_getBlockReceipts', [blk.hash])
      expect(receipts).toHaveLength(blk.transactions.length)
      const encoded = receipts.map((r: Record<string, any>) => {
        const body = RLP.encode([
          q(r.status),
          q(r.cumulativeGasUsed),
          b(r.logsBloom),
          r.logs.map((l: Record<string, any>) => [b(l.address), l.topics.map(b), b(l.data)]),
        ])
        const type = Number(r.type)
        return type === 0 ? body : new Uint8Array([type, ...body])
      })
      expect(await trieRoot(encoded)).toBe(blk.receiptsRoot)
      // per-tx receipt lookups agree with the block receipts
      const single = await call(node.rpcUrl, 'eth_getTransactionReceipt', [receipts[0].transactionHash])
      expect(single).toEqual(receipts[0])
    })
  }

  it('eth_getProof of an account and a storage slot verifies against the stateRoot', async () => {
    const blk = await call(node.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
    const proof = await call(node.rpcUrl, 'eth_getProof', [
      storeAddress,
      [zeroPadValue('0x00', 32)],
      'latest',
    ])
    const trie = new MerklePatriciaTrie({ useKeyHashing: true })
    const account = await verifyMPTWithMerkleProof(
      trie,
      b(blk.stateRoot),
      b(storeAddress),
      proof.accountProof.map(b),
    )
    expect(account).not.toBeNull()
    expect(hex(account!)).toBe(
      hex(RLP.encode([q(proof.nonce), q(proof.balance), b(proof.storageHash), b(proof.codeHash)])),
    )
    const slot = proof.storageProof[0]
    expect(BigInt(slot.value)).toBe(9n) // Store.value after set(9); the reverted set(5000) left it
    const storageTrie = new MerklePatriciaTrie({ useKeyHashing: true })
    const value = await verifyMPTWithMerkleProof(
      storageTrie,
      b(proof.storageHash),
      b(slot.key),
      slot.proof.map(b),
    )
    expect(hex(value!)).toBe(hex(RLP.encode(q(slot.value))))
    // An EOA with no storage: the proof still verifies the balance.
    const eoa = await call(node.rpcUrl, 'eth_getProof', [DEV_ADDRESSES[4], [], 'latest'])
    const acc = await verifyMPTWithMerkleProof(
      new MerklePatriciaTrie({ useKeyHashing: true }),
      b(blk.stateRoot),
      b(DEV_ADDRESSES[4]!),
      eoa.accountProof.map(b),
    )
    expect(RLP.decode(acc!)[1]).toEqual(q(eoa.balance))
  })
})
