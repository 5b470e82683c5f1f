import solc from 'solc'

export interface Compiled {
  abi: Array<{ type: string; name?: string }>
  bytecode: Uint8Array
}

/** Compiles Solidity sources with solc-js (0.8.30, Prague EVM) and returns every contract. */
export function compile(sources: Record<string, string>): Record<string, Compiled> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion: 'prague',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  }
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>
    contracts: Record<string, Record<string, { abi: Compiled['abi']; evm: { bytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const result: Record<string, Compiled> = {}
  for (const file of Object.values(out.contracts)) {
    for (const [name, c] of Object.entries(file)) {
      result[name] = { abi: c.abi, bytecode: Uint8Array.from(Buffer.from(c.evm.bytecode.object, 'hex')) }
    }
  }
  return result
}
