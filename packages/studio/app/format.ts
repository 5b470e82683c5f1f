/** Display helpers. */
import { formatEther } from 'viem'

export const num = (q: string | number | bigint | null | undefined): string =>
  q === null || q === undefined ? '—' : BigInt(q).toString()

export const open = (wei: string | bigint): string => `${formatEther(BigInt(wei))} OPEN`

export const short = (h: string | null | undefined): string =>
  !h ? '—' : h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h

export function age(timestamp: string | bigint): string {
  const s = Math.max(0, Math.floor(Date.now() / 1000) - Number(BigInt(timestamp)))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

export const time = (timestamp: string | bigint): string =>
  new Date(Number(BigInt(timestamp)) * 1000).toISOString().replace('T', ' ').replace('.000Z', ' UTC')
