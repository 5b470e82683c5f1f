/** Parsers for CLI flag values: each rejects bad input with a message naming the flag. */
import { InvalidArgumentError } from 'commander'

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a TCP port number (0-65535)')
  const n = Number(value)
  if (n > 65_535) throw new InvalidArgumentError('expected a TCP port number (0-65535)')
  return n
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a positive integer')
  }
  return Number(value)
}

export function parseBigInt(value: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer')
  return BigInt(value)
}

/** Seconds by default; accepts "2", "2s", "500ms", "0.5". */
export function parseDurationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError('expected a duration such as 1, 2s or 500ms')
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000
  if (!(ms >= 1)) throw new InvalidArgumentError('duration must be at least 1ms')
  return Math.round(ms)
}

/** A decimal OPEN amount ("10000", "0.5") as wei. */
export function parseOpenAmount(value: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,18}))?$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError('expected an amount of OPEN such as 10000 or 0.5')
  return BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0') || '0')
}
