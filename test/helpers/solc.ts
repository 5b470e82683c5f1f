/** Compiles Solidity with solc-js (the devDependency) for tests: abi + bytecode per contract. */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const solc = require('solc') as { compile(input: string): string }

export interface Compiled {
  abi: unknown[]
  bytecode: `0x${string}`
}

export function compileSolidity(sources: Record<string, string>): Record<string, Compiled> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const result: Record<string, Compiled> = {}
  for (const file of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(file)) {
      result[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
    }
  }
  return result
}
