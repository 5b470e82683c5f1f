import { type VerifyTypedDataParameters, verifyMessage, verifyTypedData } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRpcServer, type RpcServerHandle } from '../src/index.ts'
import { ADDR0, FixtureBackend, KEY0 } from './fixture.ts'
import { httpClient, type Rpc } from './helpers.ts'

const hex = (b: Uint8Array): `0x${string}` => `0x${Buffer.from(b).toString('hex')}`
const account = privateKeyToAccount(hex(KEY0))

// The EIP-712 specification's example message.
const typedData = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: {
    name: 'Ether Mail',
    version: '1',
    chainId: 1,
    verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
  },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
} as const
type TypedArgs = Parameters<typeof account.signTypedData>[0]

describe('signing', () => {
  let server: RpcServerHandle
  let rpc: Rpc
  beforeAll(async () => {
    server = createRpcServer(new FixtureBackend())
    rpc = httpClient((await server.listen(0)).port)
  })
  afterAll(() => server.close())

  it('personal_sign and eth_sign produce the EIP-191 signature viem produces and verifies', async () => {
    const message = new TextEncoder().encode('hello OpenLedger')
    const expected = await account.signMessage({ message: { raw: message } })
    const personal = await rpc.call('personal_sign', [hex(message), hex(ADDR0)])
    const eth = await rpc.call('eth_sign', [hex(ADDR0), hex(message)])
    expect(personal.result).toBe(expected)
    expect(eth.result).toBe(expected)
    const sig = personal.result as `0x${string}`
    expect([27, 28]).toContain(Number.parseInt(sig.slice(-2), 16))
    expect(await verifyMessage({ address: account.address, message: { raw: message }, signature: sig })).toBe(
      true,
    )
  })

  it('eth_signTypedData_v4 matches viem for object and JSON-string payloads', async () => {
    const expected = await account.signTypedData(typedData as unknown as TypedArgs)
    const fromObject = await rpc.call('eth_signTypedData_v4', [hex(ADDR0), typedData])
    const fromString = await rpc.call('eth_signTypedData_v4', [hex(ADDR0), JSON.stringify(typedData)])
    expect(fromObject.result).toBe(expected)
    expect(fromString.result).toBe(expected)
    const verifyArgs = {
      ...typedData,
      address: account.address,
      signature: fromObject.result as `0x${string}`,
    } as unknown as VerifyTypedDataParameters
    expect(await verifyTypedData(verifyArgs)).toBe(true)
  })

  it('refuses unknown accounts and malformed payloads', async () => {
    const stranger = `0x${'12'.repeat(20)}`
    expect((await rpc.call('personal_sign', ['0x01', stranger])).error).toEqual({
      code: -32000,
      message: 'unknown account',
    })
    expect((await rpc.call('personal_sign', ['hello', hex(ADDR0)])).error?.code).toBe(-32602)
    expect((await rpc.call('eth_signTypedData_v4', [hex(ADDR0), '{not json'])).error?.code).toBe(-32602)
    const badValue = {
      ...typedData,
      message: { ...typedData.message, from: { name: 'Cow', wallet: '0x1234' } },
    }
    const res = await rpc.call('eth_signTypedData_v4', [hex(ADDR0), badValue])
    expect(res.error?.code).toBe(-32602)
    expect(res.error?.message).toContain('typedData')
  })
})
