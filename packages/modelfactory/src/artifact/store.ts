/**
 * Content-addressed artifact store: a local directory holding each artifact as `<keccak256>.olmf`
 * (hex without 0x). Writes are atomic (temporary file, then rename); every read re-hashes the
 * bytes, so a file changed on disk is reported, never served.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ArtifactError, MAX_ARTIFACT_BYTES } from './format.ts'
import { type Hex, isHash, keccakHex } from './hash.ts'

export class ArtifactStore {
  readonly dir: string

  constructor(dir: string) {
    this.dir = resolve(dir)
  }

  path(hash: Hex): string {
    if (!isHash(hash)) throw new ArtifactError(`not an artifact hash: ${hash}`)
    return join(this.dir, `${hash.slice(2)}.olmf`)
  }

  /** Stores bytes under their hash (no-op when present); returns the hash. */
  async put(bytes: Uint8Array): Promise<Hex> {
    if (bytes.length > MAX_ARTIFACT_BYTES) throw new ArtifactError('artifact too large')
    const hash = keccakHex(bytes)
    if (await this.has(hash)) return hash
    await mkdir(this.dir, { recursive: true })
    const tmp = join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`)
    try {
      await writeFile(tmp, bytes)
      await rename(tmp, this.path(hash))
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    return hash
  }

  async has(hash: Hex): Promise<boolean> {
    try {
      return (await stat(this.path(hash))).isFile()
    } catch {
      return false
    }
  }

  /** The artifact's bytes, checked against the hash. */
  async get(hash: Hex): Promise<Uint8Array> {
    const path = this.path(hash)
    let bytes: Uint8Array
    try {
      const st = await stat(path)
      if (st.size > MAX_ARTIFACT_BYTES) throw new ArtifactError(`artifact ${hash} is too large`)
      bytes = new Uint8Array(await readFile(path))
    } catch (err) {
      if (err instanceof ArtifactError) throw err
      throw new ArtifactError(`artifact ${hash} is not in the store ${this.dir}`)
    }
    const actual = keccakHex(bytes)
    if (actual !== hash)
      throw new ArtifactError(`artifact file ${path} does not hash to ${hash} (got ${actual})`)
    return bytes
  }
}
