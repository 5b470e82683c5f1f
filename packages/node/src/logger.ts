/** Structured logs (pino). Keys and signing payloads are never passed to the logger. */
import { type Logger, pino } from 'pino'

export type { Logger }

export function createLogger(opts: { level?: string; name?: string; destination?: number } = {}): Logger {
  return pino(
    { name: opts.name ?? 'openledger', level: opts.level ?? 'info', base: undefined },
    pino.destination({ dest: opts.destination ?? 2, sync: false }),
  )
}

/** A logger that drops everything: for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
