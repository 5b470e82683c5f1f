import { readFileSync } from 'node:fs'
import { type Compiled, compileSolidity } from './solc.ts'

let cache: Record<string, Compiled> | undefined

/** test/contracts/*.sol compiled once per test file. */
export function testContracts(): Record<string, Compiled> {
  cache ??= compileSolidity({
    'Store.sol': readFileSync(new URL('../contracts/Store.sol', import.meta.url), 'utf8'),
    'Token.sol': readFileSync(new URL('../contracts/Token.sol', import.meta.url), 'utf8'),
  })
  return cache
}
