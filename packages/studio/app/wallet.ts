/**
 * Who signs: in dev mode the node's unlocked dev accounts (eth_accounts; the node signs
 * eth_sendTransaction, no key reaches the page); otherwise any EIP-1193 wallet injected as
 * window.ethereum (MetaMask & co.).
 */
import { decodeRevert } from './decode.ts'
import { type Receipt, RpcError, rpc, waitForReceipt } from './rpc.ts'

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>
}

declare global {
  interface Window {
    ethereum?: Eip1193
  }
}

export interface Wallet {
  kind: 'dev' | 'injected' | 'none'
  accounts: string[]
  selected: string | undefined
}

export const wallet: Wallet = { kind: 'none', accounts: [], selected: undefined }
const listeners = new Set<() => void>()
export const onWalletChange = (fn: () => void) => listeners.add(fn)

export async function initWallet(): Promise<void> {
  const dev = await rpc<string[]>('eth_accounts').catch(() => [])
  if (dev.length > 0) Object.assign(wallet, { kind: 'dev', accounts: dev, selected: dev[0] })
  else if (window.ethereum) Object.assign(wallet, { kind: 'injected', accounts: [], selected: undefined })
  for (const l of listeners) l()
}

export async function connectInjected(): Promise<void> {
  if (!window.ethereum) throw new Error('No browser wallet found (window.ethereum).')
  const accounts = (await window.ethereum.request({ method: 'eth_requestAccounts' })) as string[]
  Object.assign(wallet, { kind: 'injected', accounts, selected: accounts[0] })
  for (const l of listeners) l()
}

export function select(account: string): void {
  wallet.selected = account
  for (const l of listeners) l()
}

/** Sends a transaction from the selected account and waits for its receipt. */
export async function send(tx: { to: string; data?: string; value?: bigint }): Promise<Receipt> {
  if (!wallet.selected) throw new Error('Choose an account first (dev accounts or a browser wallet).')
  const req = {
    from: wallet.selected,
    to: tx.to,
    data: tx.data ?? '0x',
    value: `0x${(tx.value ?? 0n).toString(16)}`,
  }
  let hash: string
  try {
    hash =
      wallet.kind === 'injected' && window.ethereum
        ? ((await window.ethereum.request({ method: 'eth_sendTransaction', params: [req] })) as string)
        : await rpc<string>('eth_sendTransaction', [req])
  } catch (e) {
    // A dev node executes at once and answers a revert with its data: name the module's error.
    const data = (e as { data?: unknown }).data
    const reason = typeof data === 'string' ? decodeRevert(tx.to, data) : undefined
    if (reason) throw new Error(`The transaction reverted: ${reason}`)
    throw e instanceof RpcError ? new Error(e.message) : e
  }
  const receipt = await waitForReceipt(hash)
  if (receipt.status !== '0x1') throw new Error(`transaction ${hash} failed (see its page for the error)`)
  return receipt
}
