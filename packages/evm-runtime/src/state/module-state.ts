/**
 * ModuleState (precompiles/module-types.ts) and SystemState (block/hooks.ts) over an EthereumJS
 * state manager. Native modules write through the EVM journal, so that a reverting frame undoes
 * them; block hooks run outside any frame and write to the state manager directly, inside the
 * block's checkpoint.
 */
import type { StateManagerInterface } from '@ethereumjs/common'
import { Account, Address } from '@ethereumjs/util'
import type { SystemState } from '../block/hooks.ts'
import { equalBytes, toHex } from '../bytes.ts'
import type { ModuleState } from '../precompiles/module-types.ts'

type PutAccount = (address: Address, account: Account) => Promise<void>

function pad32(v: Uint8Array): Uint8Array {
  if (v.length === 32) return v
  const out = new Uint8Array(32)
  out.set(v, 32 - v.length)
  return out
}

/** Checked access to storage and balances; account writes go through `putAccount`. */
export function stateAccess(sm: StateManagerInterface, putAccount: PutAccount): ModuleState {
  return {
    async getStorage(account, slot) {
      if (account.length !== 20 || slot.length !== 32)
        throw new Error('ModuleState.getStorage: account must be 20 bytes and slot 32 bytes')
      return pad32(await sm.getStorage(new Address(account), slot))
    },
    async putStorage(account, slot, value) {
      if (account.length !== 20 || slot.length !== 32 || value.length !== 32) {
        throw new Error('ModuleState.putStorage: account must be 20 bytes, slot and value 32 bytes')
      }
      const addr = new Address(account)
      if ((await sm.getAccount(addr)) === undefined) {
        throw new Error(`ModuleState.putStorage: account ${toHex(account)} does not exist`)
      }
      await sm.putStorage(addr, slot, value)
    },
    async getBalance(account) {
      if (account.length !== 20) throw new Error('ModuleState.getBalance: account must be 20 bytes')
      return (await sm.getAccount(new Address(account)))?.balance ?? 0n
    },
    async transfer(from, to, amount) {
      if (from.length !== 20 || to.length !== 20)
        throw new Error('ModuleState.transfer: addresses must be 20 bytes')
      if (amount < 0n) throw new Error('ModuleState.transfer: negative amount')
      const fromAddr = new Address(from)
      const fromAcct = (await sm.getAccount(fromAddr)) ?? new Account()
      if (fromAcct.balance < amount) {
        throw new Error(`ModuleState.transfer: ${toHex(from)} has ${fromAcct.balance} wei, needs ${amount}`)
      }
      if (amount === 0n || equalBytes(from, to)) return
      fromAcct.balance -= amount
      await putAccount(fromAddr, fromAcct)
      const toAddr = new Address(to)
      const toAcct = (await sm.getAccount(toAddr)) ?? new Account()
      toAcct.balance += amount
      await putAccount(toAddr, toAcct)
    },
  }
}

const MAX_BALANCE = (1n << 256n) - 1n

/** SystemState for block hooks: direct writes to the block's state manager. */
export function systemState(sm: StateManagerInterface): SystemState {
  const put: PutAccount = (address, account) => sm.putAccount(address, account)
  return {
    ...stateAccess(sm, put),
    async mint(account, amount) {
      if (account.length !== 20) throw new Error('SystemState.mint: account must be 20 bytes')
      if (amount < 0n) throw new Error('SystemState.mint: negative amount')
      if (amount === 0n) return
      const address = new Address(account)
      const acct = (await sm.getAccount(address)) ?? new Account()
      if (acct.balance + amount > MAX_BALANCE)
        throw new Error(`SystemState.mint: balance of ${toHex(account)} would exceed 2^256 - 1`)
      acct.balance += amount
      await put(address, acct)
    },
    async burn(account, amount) {
      if (account.length !== 20) throw new Error('SystemState.burn: account must be 20 bytes')
      if (amount < 0n) throw new Error('SystemState.burn: negative amount')
      if (amount === 0n) return
      const address = new Address(account)
      const acct = await sm.getAccount(address)
      const balance = acct?.balance ?? 0n
      if (acct === undefined || balance < amount)
        throw new Error(`SystemState.burn: ${toHex(account)} has ${balance} wei, needs ${amount}`)
      acct.balance -= amount
      await put(address, acct)
    },
  }
}
