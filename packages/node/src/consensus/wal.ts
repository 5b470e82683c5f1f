/**
 * Consensus write-ahead log: every signature the QBFT state machine produces is appended here and
 * fsynced before it is broadcast, so after a crash the validator can never sign a conflicting
 * message for a (type, height, round) it already signed. Format and recovery rules: docs/wal.md.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { SignedRecord } from '@openledger/consensus'
import { encodeFrame, HEADER_BYTES, type ScannedRecord, scanWal, WalError, walHeader } from './wal-format.ts'

export { MAX_PAYLOAD_BYTES, WAL_VERSION, WalError, type WalErrorCode } from './wal-format.ts'

export interface WalOptions {
  /** Rewrite on prune only once the file is at least this big (default 4 MiB: a proposal record
   * holds its whole block, so a lower bound rewrote — two fsyncs queued ahead of the next height's
   * signatures — after nearly every busy height)... */
  readonly pruneMinBytes?: number
  /** ...or once this many heights were committed since the last rewrite (default 128). */
  readonly pruneEveryHeights?: bigint
}

export interface WalOpenResult {
  readonly wal: ConsensusWal
  /** Every intact record in append order (including heights the caller may already have committed). */
  readonly records: SignedRecord[]
  /** Torn tail that was cut off: how many trailing records were lost is unknowable, so report bytes. */
  readonly recovered: { readonly records: number; readonly truncatedBytes: number }
}

interface IndexEntry {
  readonly height: bigint
  readonly offset: number
  readonly length: number
}

/** Records of `records` the state machine still needs: those above the committed head. */
export function walHistory(records: readonly SignedRecord[], committedHead: bigint): SignedRecord[] {
  return records.filter((r) => r.height > committedHead)
}

function ioError(what: string, path: string, cause: unknown): WalError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new WalError('IO', `WAL ${what} failed for ${path}: ${detail}`, { cause })
}

/** fsync a directory so a rename/create inside it is durable. */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r')
  try {
    await d.sync()
  } finally {
    await d.close()
  }
}

async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done)
    if (bytesWritten <= 0) throw new Error('write made no progress')
    done += bytesWritten
  }
}

export class ConsensusWal {
  readonly path: string
  readonly #tmpPath: string
  readonly #pruneMinBytes: number
  readonly #pruneEveryHeights: bigint
  #fh: FileHandle
  #size: number
  #index: IndexEntry[]
  /** Committed height of the last rewrite (or of open), for the every-N-heights rule. */
  #lastPruneHeight: bigint | undefined
  /** Serialises appends, prunes and close. */
  #chain: Promise<void> = Promise.resolve()
  #closing = false
  #failed: WalError | undefined

  private constructor(path: string, fh: FileHandle, size: number, index: IndexEntry[], opts: WalOptions) {
    this.path = path
    this.#tmpPath = `${path}.prune-tmp`
    this.#fh = fh
    this.#size = size
    this.#index = index
    this.#pruneMinBytes = opts.pruneMinBytes ?? 4 * 1024 * 1024
    this.#pruneEveryHeights = opts.pruneEveryHeights ?? 128n
  }

  /**
   * Open or create the WAL at `path`. A torn tail is cut off (truncate + fsync) and reported;
   * a non-WAL file, damage before the last frame or an I/O error throws WalError.
   */
  static async open(path: string, opts: WalOptions = {}): Promise<WalOpenResult> {
    if (typeof path !== 'string' || path.length === 0)
      throw new WalError('INVALID_ARGUMENT', 'WAL path must be a non-empty string')
    if (
      opts.pruneMinBytes !== undefined &&
      (!Number.isSafeInteger(opts.pruneMinBytes) || opts.pruneMinBytes < 0)
    )
      throw new WalError('INVALID_ARGUMENT', 'pruneMinBytes must be a non-negative integer')
    if (
      opts.pruneEveryHeights !== undefined &&
      (typeof opts.pruneEveryHeights !== 'bigint' || opts.pruneEveryHeights < 1n)
    )
      throw new WalError('INVALID_ARGUMENT', 'pruneEveryHeights must be a bigint >= 1n')
    const tmp = `${path}.prune-tmp`
    // A leftover temp file is from a prune (or create) interrupted before its rename: the file at
    // `path`, if any, is still the complete authoritative copy.
    try {
      await rm(tmp, { force: true })
    } catch (e) {
      throw ioError('removing stale temp file', tmp, e)
    }
    let fh: FileHandle
    try {
      fh = await open(path, 'r+')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('open', path, e)
      fh = await ConsensusWal.#create(path, tmp)
    }
    try {
      let buf: Uint8Array
      try {
        buf = await fh.readFile()
      } catch (e) {
        throw ioError('read', path, e)
      }
      const scan = scanWal(buf, path)
      const truncatedBytes = buf.length - scan.goodEnd
      if (truncatedBytes > 0) {
        try {
          await fh.truncate(scan.goodEnd)
          await fh.datasync()
        } catch (e) {
          throw ioError('truncating torn tail', path, e)
        }
      }
      const index = scan.records.map((s: ScannedRecord) => ({
        height: s.record.height,
        offset: s.offset,
        length: s.length,
      }))
      const wal = new ConsensusWal(path, fh, scan.goodEnd, index, opts)
      return {
        wal,
        records: scan.records.map((s) => s.record),
        recovered: { records: scan.records.length, truncatedBytes },
      }
    } catch (e) {
      await fh.close().catch(() => {})
      throw e
    }
  }

  /** Create atomically (temp + rename) so `path` never exists with a partial header. */
  static async #create(path: string, tmp: string): Promise<FileHandle> {
    let fh: FileHandle | undefined
    try {
      fh = await open(tmp, 'w+')
      await writeFully(fh, walHeader(), 0)
      await fh.datasync()
      await rename(tmp, path)
      await syncDir(dirname(path))
      return fh
    } catch (e) {
      await fh?.close().catch(() => {})
      await rm(tmp, { force: true }).catch(() => {})
      throw ioError('create', path, e)
    }
  }

  /** Current file size in bytes. */
  size(): number {
    return this.#size
  }

  /** Append one record and fsync; resolves only once it is durable. Calls are applied in call order. */
  append(record: SignedRecord): Promise<void> {
    let frame: Uint8Array
    try {
      frame = encodeFrame(record)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#enqueue(async () => {
      const at = this.#size
      try {
        await writeFully(this.#fh, frame, at)
      } catch (e) {
        // The write never reached fsync: cut whatever part of it landed so later appends stay clean.
        try {
          await this.#fh.truncate(at)
          await this.#fh.datasync()
        } catch (e2) {
          this.#fail(ioError('rollback of a failed append', this.path, e2))
        }
        throw ioError('append', this.path, e)
      }
      try {
        await this.#fh.datasync()
      } catch (e) {
        // After a failed fsync the kernel may have dropped the dirty pages and marked them clean,
        // so a later fsync could "succeed" without them: stop writing; a restart re-reads the disk.
        const err = ioError('fsync', this.path, e)
        this.#fail(err)
        throw err
      }
      this.#size = at + frame.length
      this.#index.push({ height: record.height, offset: at, length: frame.length })
    })
  }

  /**
   * Drop records with height <= committedHeight. Rewrites only when there is something to drop
   * and the file reached `pruneMinBytes` or `pruneEveryHeights` heights passed since the last
   * rewrite; otherwise a cheap no-op. Crash safe: temp file + fsync + rename + directory fsync.
   */
  prune(committedHeight: bigint): Promise<void> {
    if (typeof committedHeight !== 'bigint')
      return Promise.reject(new WalError('INVALID_ARGUMENT', 'prune: committedHeight must be a bigint'))
    return this.#enqueue(async () => {
      if (!this.#index.some((e) => e.height <= committedHeight)) return
      this.#lastPruneHeight ??= committedHeight
      const due =
        this.#size >= this.#pruneMinBytes ||
        committedHeight - this.#lastPruneHeight >= this.#pruneEveryHeights
      if (!due) return
      await this.#rewrite(committedHeight)
      this.#lastPruneHeight = committedHeight
    })
  }

  async #rewrite(committedHeight: bigint): Promise<void> {
    const keep = this.#index.filter((e) => e.height > committedHeight)
    const keptBytes = keep.reduce((n, e) => n + e.length, 0)
    const image = new Uint8Array(HEADER_BYTES + keptBytes)
    image.set(walHeader(), 0)
    const index: IndexEntry[] = []
    let at = HEADER_BYTES
    try {
      for (const e of keep) {
        const { bytesRead } = await this.#fh.read(image, at, e.length, e.offset)
        if (bytesRead !== e.length) throw new Error(`short read at offset ${e.offset}`)
        index.push({ height: e.height, offset: at, length: e.length })
        at += e.length
      }
    } catch (e) {
      throw ioError('prune read', this.path, e)
    }
    let tmp: FileHandle | undefined
    try {
      tmp = await open(this.#tmpPath, 'w+')
      await writeFully(tmp, image, 0)
      await tmp.datasync()
      await rename(this.#tmpPath, this.path)
    } catch (e) {
      // Nothing was renamed: the old file is intact and stays in use.
      await tmp?.close().catch(() => {})
      await rm(this.#tmpPath, { force: true }).catch(() => {})
      throw ioError('prune', this.path, e)
    }
    // From here `path` names the new file. Appends must go to it, and only once the rename is
    // durable: otherwise a crash could bring back the old file without them.
    const old = this.#fh
    this.#fh = tmp
    this.#size = image.length
    this.#index = index
    await old.close().catch(() => {})
    try {
      await syncDir(dirname(this.path))
    } catch (e) {
      const err = ioError('directory fsync after prune', this.path, e)
      this.#fail(err)
      throw err
    }
  }

  /** Wait for queued operations, then close the file. Further calls reject with WalError('CLOSED'). */
  close(): Promise<void> {
    if (this.#closing) return this.#chain
    this.#closing = true
    // Runs even after a failure (it bypasses the failed check) so the handle is always released.
    const p = this.#chain.then(() => this.#fh.close())
    this.#chain = p.then(
      () => {},
      () => {},
    )
    return p.catch((e) => {
      throw ioError('close', this.path, e)
    })
  }

  #fail(err: WalError): void {
    this.#failed ??= new WalError(
      'FAILED',
      `WAL ${this.path} is unusable after an I/O failure; restart the node`,
      {
        cause: err,
      },
    )
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    if (this.#closing) return Promise.reject(new WalError('CLOSED', `WAL ${this.path} is closed`))
    const run = async (): Promise<void> => {
      if (this.#failed !== undefined) throw this.#failed
      await op()
    }
    const p = this.#chain.then(run)
    this.#chain = p.then(
      () => {},
      () => {},
    )
    return p
  }
}
