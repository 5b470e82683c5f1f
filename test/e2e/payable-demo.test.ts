/** `openledger demo` as a user runs it: exits 0, and its payouts equal the on-chain claimables. */
import { describe, expect, it } from 'vitest'
import { runCli as run } from '../helpers/dev-node.ts'

describe('openledger demo', () => {
  it('runs the whole loop on an ephemeral chain and exits 0 with payouts equal to claimables', {
    timeout: 300_000,
  }, async () => {
    const r = await run(['demo', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.ok).toBe(true)
    expect(s.datanets).toHaveLength(2)
    expect(s.inferences.filter((i: any) => i.adapter === undefined)).toHaveLength(4)
    expect(s.inferences).toHaveLength(6)
    expect(s.verified.every((v: any) => v.ok)).toBe(true)
    // Exactly, in units of 2^-64 wei: every account's claimable is its exact share rounded down,
    // and the exact shares plus what the version pools carry add up to the fees.
    let total = BigInt(s.carried)
    for (const t of s.totals) {
      expect(t.earned, t.name).toBe(t.claimable)
      expect(BigInt(t.earned)).toBe(BigInt(t.earnedScaled) >> 64n)
      total += BigInt(t.earnedScaled)
    }
    expect(total).toBe(BigInt(s.totalFees) << 64n)
    // Several contributors earned, each with the spans that earned the share.
    const contributors = new Set<string>()
    for (const i of s.inferences) {
      for (const p of i.payouts.filter((x: any) => x.role === 'contributor')) {
        contributors.add(p.account)
        expect(p.spans.length).toBeGreaterThan(0)
        for (const span of p.spans) expect(i.output).toContain(span)
      }
    }
    expect(contributors.size).toBeGreaterThanOrEqual(2)
    // ModelFactory / OpenLoRA: a base model, one adapter per datanet, one provider serving both,
    // a paid inference on each, and `model verify` passing.
    expect(s.adapters).toHaveLength(2)
    expect(s.provider).toEqual({ adaptersServed: 2 })
    for (const [i, a] of s.adapters.entries()) {
      expect(Object.keys(a).sort()).toEqual(
        [
          'artifactHash',
          'baseModelId',
          'datanets',
          'heldOutLossAdapter',
          'heldOutLossBase',
          'modelId',
          'verified',
        ].sort(),
      )
      expect(a.baseModelId).toBe(s.baseModelId)
      expect(a.datanets).toEqual([`${s.datanets[i].datanetId}@${s.datanets[i].version}`])
      expect(a.artifactHash).toMatch(/^0x[0-9a-f]{64}$/)
      expect(a.verified).toBe(true)
      expect(a.heldOutLossAdapter).toBeLessThan(a.heldOutLossBase)
      const paid = s.inferences.filter((inf: any) => inf.adapter === a.modelId)
      expect(paid).toHaveLength(1)
    }
  })

  it('refuses a corpus directory without a manifest', { timeout: 60_000 }, async () => {
    const r = await run(['demo', '--corpus', '/nonexistent-dir'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/openledger: cannot read \/nonexistent-dir\/manifest\.json/)
  })
})
