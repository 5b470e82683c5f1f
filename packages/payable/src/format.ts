/** Human output of the payable-AI commands: aligned tables, OPEN amounts, progress on stderr. */
export function open(wei: bigint): string {
  return `${formatUnits(wei)} OPEN`
}

/** Plain aligned table; numeric-looking columns are right-aligned. */
export function table(headers: string[], rows: (string | number | bigint)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?[\d.,]+( OPEN)?$/.test(r[i] ?? '')),
  )
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

export function shorten(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)
}

/**
 * Progress of long steps on stderr (so stdout stays parseable): a live counter on a terminal,
 * one line per phase otherwise; silent in --json mode.
 */
export class Progress {
  private lastDraw = 0
  constructor(
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  phase(name: string, detail?: string): void {
    if (!this.enabled) return
    this.clear()
    this.stream.write(`» ${detail ?? name}\n`)
  }

  step(label: string, done: number, total: number): void {
    if (!this.enabled || !this.stream.isTTY) return
    const now = Date.now()
    if (done < total && now - this.lastDraw < 100) return
    this.lastDraw = now
    this.stream.write(`\r  ${label} ${done}/${total}${done === total ? '\n' : ''}`)
  }

  private clear(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K')
  }
}

/** Formats wei as a decimal OPEN amount with up to 18 decimals, e.g. 10000.0 */
export function formatUnits(wei: bigint, decimals = 18): string {
  const neg = wei < 0n
  const v = neg ? -wei : wei
  const base = 10n ** BigInt(decimals)
  const int = v / base
  const frac = (v % base).toString().padStart(decimals, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${int}.${frac === '' ? '0' : frac}`
}
