/**
 * Browser-facing access rules, as geth's: the Host allow-list (`--http.vhosts`) against DNS
 * rebinding, CORS (`--http.corsdomain`) and WebSocket Origin checks (`--ws.origins`).
 *
 * DNS rebinding needs a host *name* (the attacker's domain re-resolved to 127.0.0.1), so a Host
 * that is an IP literal always passes, as in geth; names must be listed ('*' admits any).
 */
import { isIP } from 'node:net'

/** Lower-cases and strips the port (and IPv6 brackets) of a Host header value. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    return end < 0 ? h : h.slice(1, end)
  }
  const colon = h.indexOf(':')
  // More than one colon and no brackets: a bare IPv6 address.
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) return h.slice(0, colon)
  return h
}

/** Whether a request's Host header is admitted by the `vhosts` allow-list. */
export function hostAllowed(host: string | undefined, vhosts: readonly string[]): boolean {
  // HTTP/1.0 requests may omit Host; Node refuses HTTP/1.1 requests without one.
  if (host === undefined || host === '') return true
  if (vhosts.includes('*')) return true
  const name = hostName(host)
  if (isIP(name) !== 0) return true
  return vhosts.some((v) => v.toLowerCase() === name)
}

/**
 * Whether an Origin header matches an allow-list entry: '*', an exact origin
 * (`https://app.example:8080`), or a bare host name (`app.example`), which admits that host
 * on any scheme and port.
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true
  const o = origin.toLowerCase()
  let host: string | undefined
  try {
    host = new URL(o).hostname.replace(/^\[|\]$/g, '')
  } catch {
    host = undefined
  }
  return allowed.some((entry) => {
    const e = entry.toLowerCase().replace(/\/+$/, '')
    return e.includes('://') ? e === o : host !== undefined && e === host
  })
}

/** Normalised client identity for per-client limits: the remote IP (IPv4-mapped IPv6 unwrapped). */
export function clientKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown'
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress
}

/** The Origin header names the very host:port the request was sent to (a page this server served). */
export function isSameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false
  try {
    const u = new URL(origin)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}
