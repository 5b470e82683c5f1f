/**
 * KZG (EIP-4844) for EthereumJS's `common.customCrypto.kzg`: the point-evaluation precompile
 * (0x0a) and blob commitments/proofs, from `@crate-crypto/node-eth-kzg` (Rust, N-API binaries
 * shipped inside the npm package, the mainnet ceremony's trusted setup compiled in). The choice
 * against kzg-wasm and micro-eth-signer is measured in docs/decisions.md.
 *
 * The library's context takes ~1 s of CPU to build (it decodes and checks the trusted setup), so
 * it is built on first use, not at start-up: a node that never sees 0x0a never pays for it.
 *
 * Error mapping. EthereumJS's precompile turns a thrown error mentioning `C_KZG_BADARGS` (c-kzg's
 * code for malformed input: a field element ≥ the BLS modulus, bytes that are not a compressed
 * G1 point) into INVALID_INPUTS and any other throw into REVERT; `false` is INVALID_PROOF. Both
 * consume all gas, as in every client; the mapping keeps the failure kind the same as c-kzg's.
 */
import { createRequire } from 'node:module'
import type { KZG } from '@ethereumjs/util'
import { fromHex as bytes, toHex as hex } from './bytes.ts'

interface DasContext {
  verifyKzgProof(commitment: Uint8Array, z: Uint8Array, y: Uint8Array, proof: Uint8Array): boolean
  blobToKzgCommitment(blob: Uint8Array): Uint8Array
  computeBlobKzgProof(blob: Uint8Array, commitment: Uint8Array): Uint8Array
  verifyBlobKzgProofBatch(blobs: Uint8Array[], commitments: Uint8Array[], proofs: Uint8Array[]): boolean
  computeCells(blob: Uint8Array): Uint8Array[]
  computeCellsAndKzgProofs(blob: Uint8Array): { cells: Uint8Array[]; proofs: Uint8Array[] }
  recoverCellsAndKzgProofs(
    indices: number[],
    cells: Uint8Array[],
  ): { cells: Uint8Array[]; proofs: Uint8Array[] }
  verifyCellKzgProofBatch(
    commitments: Uint8Array[],
    indices: number[],
    cells: Uint8Array[],
    proofs: Uint8Array[],
  ): boolean
}

let context: DasContext | undefined

function ctx(): DasContext {
  if (context === undefined) {
    // CommonJS N-API module: loaded on demand so that importing the runtime costs nothing.
    const require = createRequire(import.meta.url)
    const lib = require('@crate-crypto/node-eth-kzg') as {
      DasContextJs: { create(o: { usePrecomp: boolean }): DasContext }
    }
    context = lib.DasContextJs.create({ usePrecomp: false })
  }
  return context
}

/** Library errors about the input's encoding become c-kzg's BADARGS (see the header). */
function badArgs<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw new Error(`C_KZG_BADARGS: ${(e as Error)?.message ?? String(e)}`)
  }
}

/** The KZG interface of @ethereumjs/util over node-eth-kzg (hex strings in and out, as EthereumJS passes them). */
export function createKzg(): KZG {
  return {
    verifyProof: (commitment, z, y, proof) =>
      badArgs(() => ctx().verifyKzgProof(bytes(commitment), bytes(z), bytes(y), bytes(proof))),
    blobToKzgCommitment: (blob) => hex(badArgs(() => ctx().blobToKzgCommitment(bytes(blob)))),
    computeBlobProof: (blob, commitment) =>
      hex(badArgs(() => ctx().computeBlobKzgProof(bytes(blob), bytes(commitment)))),
    verifyBlobProofBatch: (blobs, commitments, proofs) =>
      badArgs(() =>
        ctx().verifyBlobKzgProofBatch(blobs.map(bytes), commitments.map(bytes), proofs.map(bytes)),
      ),
    computeCells: (blob) => badArgs(() => ctx().computeCells(bytes(blob))).map(hex),
    computeCellsAndProofs: (blob) => {
      const r = badArgs(() => ctx().computeCellsAndKzgProofs(bytes(blob)))
      return [r.cells.map(hex), r.proofs.map(hex)]
    },
    recoverCellsAndProofs: (indices, cells) => {
      const r = badArgs(() => ctx().recoverCellsAndKzgProofs(indices, cells.map(bytes)))
      return [r.cells.map(hex), r.proofs.map(hex)]
    },
    verifyCellKzgProofBatch: (commitments, indices, cells, proofs) =>
      badArgs(() =>
        ctx().verifyCellKzgProofBatch(commitments.map(bytes), indices, cells.map(bytes), proofs.map(bytes)),
      ),
  }
}
