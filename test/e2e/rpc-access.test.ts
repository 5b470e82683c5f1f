/**
 * Browser safety of a real `openledger dev` process: a DNS-rebinding page (Host: evil.example)
 * is refused on HTTP and WebSocket by default and admitted only when `--http.vhosts` lists it.
 */
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type NodeProcess, spawnDevProcess } from '../helpers/dev-node.ts'

const procs: NodeProcess[] = []
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.child.kill('SIGKILL')
    await p.exited
  }
})

function postWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url)
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] })
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function wsStatus(url: string, host: string): Promise<number> {
  const ws = new WebSocket(url.replace('http', 'ws'), { headers: { host } })
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close()
      resolve(101)
    })
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('error', () => resolve(0))
  })
}

describe('Host allow-list on a real dev node', () => {
  it('refuses Host: evil.example by default and admits it with --http.vhosts', async () => {
    const plain = await spawnDevProcess([])
    procs.push(plain)
    const refused = await postWithHost(plain.rpcUrl, 'evil.example')
    expect(refused.status).toBe(403)
    expect(JSON.parse(refused.body).error.message).toBe('invalid host specified: evil.example')
    expect(await wsStatus(plain.rpcUrl, 'evil.example')).toBe(403)
    // The unlocked accounts are still served to local tools.
    const local = await postWithHost(plain.rpcUrl, 'localhost:8545')
    expect(JSON.parse(local.body).result).toHaveLength(20)

    const listed = await spawnDevProcess(['--http.vhosts', 'localhost,evil.example'])
    procs.push(listed)
    const admitted = await postWithHost(listed.rpcUrl, 'evil.example')
    expect(admitted.status).toBe(200)
    expect(JSON.parse(admitted.body).result).toHaveLength(20)
    expect(await wsStatus(listed.rpcUrl, 'evil.example:8545')).toBe(101)
  })
})
