/** The checked-in artifacts are what solc makes of contracts/ now, and the storage layouts the node
 * writes and the proofs read are the ones the Solidity declares. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ARTIFACTS_FILE, compileContracts, renderArtifacts } from '../scripts/compile.ts'
import { L1Block, L2ToL1MessagePasser } from '../src/index.ts'

describe('artifacts', () => {
  it('src/generated/artifacts.ts is up to date (node --import tsx packages/bridge/scripts/compile.ts)', () => {
    expect(readFileSync(ARTIFACTS_FILE, 'utf8')).toBe(renderArtifacts(compileContracts()))
  }, 120_000)

  it('message passer: sentMessages at slot 0, msgNonce at slot 1', () => {
    expect(L2ToL1MessagePasser.storage.map((s) => [s.label, s.slot, s.offset])).toEqual([
      ['sentMessages', 0, 0],
      ['msgNonce', 1, 0],
    ])
  })

  it('L1Block: the slots the deposit step writes', () => {
    expect(L1Block.storage.map((s) => [s.label, s.slot, s.offset])).toEqual([
      ['number', 0, 0],
      ['hash', 1, 0],
      ['depositCount', 2, 0],
      ['totalMinted', 3, 0],
      ['timestamp', 4, 0],
      ['applied', 5, 0],
      ['valueTransferFailed', 6, 0],
    ])
  })
})
