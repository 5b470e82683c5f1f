/**
 * `openledger l1 deploy` and `openledger bridge deposit|withdraw|prove|finalize|status|demo`:
 * the L1 side of a chain and the user's bridge actions, over JSON-RPC to both chains.
 */
import { writeFile } from 'node:fs/promises'
import {
  bridgeClients,
  bridgeStatus,
  deployL1,
  depositAppliedAt,
  depositOpen,
  finalizeWithdrawalTx,
  l1AddressesToJson,
  proveWithdrawalTx,
  readL1Addresses,
  withdrawalStatus,
  withdrawOpen,
} from '@openledger/bridge'
import { parseBigInt, parseOpenAmount, parsePositiveInt } from '@openledger/payable/cli'
import { formatUnits } from '@openledger/payable/format'
import { type Command, Option } from 'commander'
import { getAddress, type Hex, isAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { readKeyFile } from '../keys/node-key.ts'
import { hex } from '../util/bytes.ts'
import { loadKey } from './l1-flags.ts'

function address(value: string, flag: string): `0x${string}` {
  if (!isAddress(value, { strict: false })) throw new Error(`${flag}: not an address: ${value}`)
  return getAddress(value)
}

function txHash(value: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new Error(`--tx: expected a 32-byte transaction hash, got ${value}`)
  return value as Hex
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

function clientFlags(c: Command): Command {
  return c
    .requiredOption('--l1-rpc <url>', 'JSON-RPC URL of the L1')
    .requiredOption('--l1-addresses <file>', 'addresses file written by `openledger l1 deploy`')
    .option('--l2-rpc <url>', 'JSON-RPC URL of an OpenLedger node', 'http://127.0.0.1:8545')
}

async function clients(o: { l1Rpc: string; l2Rpc: string; l1Addresses: string; key?: string }) {
  return bridgeClients({
    l1Rpc: o.l1Rpc,
    l2Rpc: o.l2Rpc,
    addresses: await readL1Addresses(o.l1Addresses),
    key: o.key ? await loadKey(o.key) : undefined,
  })
}

const print = (line: string): void => {
  process.stdout.write(`${line}\n`)
}
const json = (v: unknown) =>
  print(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2))

export function registerBridgeCommands(program: Command): void {
  const l1 = program
    .command('l1')
    .description('the L1 side of a chain (contracts on Ethereum or a local anvil)')
  l1.command('deploy')
    .description('deploy OPEN (unless --token), L2OutputOracle and Portal to an L1; write the addresses file')
    .requiredOption('--l1-rpc <url>', 'JSON-RPC URL of the L1')
    .requiredOption(
      '--key <key>',
      'deployer: 0x private key or key file (pays the L1 gas, holds a new OPEN supply)',
    )
    .addOption(
      new Option('--validators <addresses>', 'L2 validators that sign outputs (comma-separated)')
        .default([])
        .argParser(list),
    )
    .addOption(
      new Option('--validator-keys <files>', 'or their key files (comma-separated)')
        .default([])
        .argParser(list),
    )
    .option('--proposer <address>', 'single proposer instead of validator signatures (OP Stack mode)')
    .option('--challenger <address>', 'may delete outputs before finalisation (default: the deployer)')
    .addOption(new Option('--l2-chain-id <id>', 'chain id of the L2').default(31337n).argParser(parseBigInt))
    .addOption(
      new Option('--submission-interval <blocks>', 'L2 blocks between outputs')
        .default(10)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--finalization-period <seconds>', 'challenge window').default(12n).argParser(parseBigInt),
    )
    .addOption(
      new Option('--confirmations <n>', 'L1 blocks on top of a deposit before the L2 applies it')
        .default(2)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--l2-block-time <seconds>', 'nominal L2 block time').default(1).argParser(parsePositiveInt),
    )
    .option('--token <address>', 'use this OPEN token instead of deploying one')
    .option('--out <file>', 'write the addresses file here (default: stdout)')
    .action(async (o) => {
      const key = await loadKey(o.key)
      const validators = [
        ...o.validators.map((v: string) => address(v, '--validators')),
        ...(await Promise.all(
          o.validatorKeys.map(
            async (f: string) => privateKeyToAccount(hex(await readKeyFile(f)) as Hex).address,
          ),
        )),
      ]
      const addresses = await deployL1({
        rpcUrl: o.l1Rpc,
        account: privateKeyToAccount(key),
        params: {
          l2ChainId: Number(o.l2ChainId),
          validators,
          proposer: o.proposer ? address(o.proposer, '--proposer') : undefined,
          challenger: o.challenger ? address(o.challenger, '--challenger') : undefined,
          submissionInterval: BigInt(o.submissionInterval),
          finalizationPeriodSeconds: o.finalizationPeriod,
          confirmations: o.confirmations,
          l2BlockTime: BigInt(o.l2BlockTime),
          token: o.token ? address(o.token, '--token') : undefined,
        },
      })
      const text = `${JSON.stringify(l1AddressesToJson(addresses), null, 2)}\n`
      if (o.out) {
        await writeFile(o.out, text)
        process.stderr.write(`wrote ${o.out}\n`)
      } else process.stdout.write(text)
    })

  const bridge = program.command('bridge').description('move OPEN between the L1 and this chain')
  clientFlags(bridge.command('deposit'))
    .description('lock OPEN in the Portal on L1; it is minted on L2 once the L1 block is confirmed')
    .requiredOption('--key <key>', 'sender: 0x private key or key file')
    .requiredOption('--amount <OPEN>', 'amount of OPEN', parseOpenAmount)
    .option('--to <address>', 'L2 recipient (default: the sender)')
    .option('--wait', 'wait until the L2 has applied it')
    .action(async (o) => {
      const c = await clients(o)
      const { receipt, deposit } = await depositOpen(c, {
        amount: o.amount,
        to: o.to ? address(o.to, '--to') : undefined,
      })
      print(
        `deposited ${formatUnits(o.amount)} OPEN: L1 tx ${receipt.transactionHash} (block ${receipt.blockNumber})`,
      )
      print(`source hash ${deposit.sourceHash}`)
      if (o.wait) {
        for (const deadline = Date.now() + 600_000; Date.now() < deadline; ) {
          const at = await depositAppliedAt(c, deposit.sourceHash)
          if (at > 0n) return print(`minted on L2 in block ${at}`)
          await new Promise((r) => setTimeout(r, 1000))
        }
        throw new Error('the deposit was not applied on L2 within 10 minutes')
      }
    })
  clientFlags(bridge.command('withdraw'))
    .description(
      'start a withdrawal on L2 (the OPEN is burnt there and released on L1 after prove + finalize)',
    )
    .requiredOption('--key <key>', 'sender: 0x private key or key file')
    .requiredOption('--amount <OPEN>', 'amount of OPEN', parseOpenAmount)
    .option('--to <address>', 'L1 recipient (default: the sender)')
    .action(async (o) => {
      const c = await clients(o)
      const { receipt, withdrawal } = await withdrawOpen(c, {
        amount: o.amount,
        to: o.to ? address(o.to, '--to') : undefined,
      })
      print(
        `withdrawal of ${formatUnits(o.amount)} OPEN: L2 tx ${receipt.transactionHash} (block ${receipt.blockNumber})`,
      )
      print(`withdrawal hash ${withdrawal.withdrawalHash}`)
    })
  clientFlags(bridge.command('prove'))
    .description('prove a withdrawal on L1 against an output covering its L2 block')
    .requiredOption('--key <key>', 'L1 sender: 0x private key or key file')
    .requiredOption('--tx <hash>', 'the L2 transaction that started the withdrawal', txHash)
    .action(async (o) => {
      const r = await proveWithdrawalTx(await clients(o), o.tx)
      print(`proven: L1 tx ${r.transactionHash} (block ${r.blockNumber})`)
    })
  clientFlags(bridge.command('finalize'))
    .description('release a proven withdrawal on L1 once the finalisation period has passed')
    .requiredOption('--key <key>', 'L1 sender: 0x private key or key file')
    .requiredOption('--tx <hash>', 'the L2 transaction that started the withdrawal', txHash)
    .action(async (o) => {
      const r = await finalizeWithdrawalTx(await clients(o), o.tx)
      print(`finalized: L1 tx ${r.transactionHash} (block ${r.blockNumber})`)
    })
  clientFlags(bridge.command('status'))
    .description('bridge totals (minted, locked, released, outputs) or the status of one withdrawal')
    .option('--tx <hash>', 'an L2 withdrawal transaction: print its status', txHash)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const c = await clients(o)
      if (o.tx) {
        const s = await withdrawalStatus(c, o.tx)
        return o.json ? json({ status: s }) : print(s)
      }
      const s = await bridgeStatus(c)
      if (o.json) return json(s)
      print(`L1 head ${s.l1Head}, consumed by L2 up to L1 block ${s.l1Origin}`)
      print(
        `L2 head ${s.l2Head}; outputs ${s.outputs} (latest L2 block ${s.latestOutputBlock}, next ${s.nextOutputBlock})`,
      )
      print(
        `deposits ${s.depositCount}: minted ${formatUnits(s.minted)} OPEN; released ${formatUnits(s.released)} OPEN`,
      )
      print(
        `locked in the Portal ${formatUnits(s.locked)} OPEN: ${s.conserved ? 'conserved' : 'NOT conserved'} (locked = minted − released)`,
      )
    })
  bridge
    .command('demo')
    .description(
      'start a local L1 and a dev chain, run deposit → withdraw → propose → prove → finalise, check conservation',
    )
    .option('--json', 'print one JSON object (amounts in wei as decimal strings)')
    .action(async (o) => {
      const { runBridgeDemo } = await import('./bridge-demo.ts')
      process.exitCode = (await runBridgeDemo({ json: o.json === true })) ? 0 : 1
    })
}
