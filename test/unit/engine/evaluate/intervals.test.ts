/**
 * The interval searches of the fast path against a plain scan: sets crowded in a few places
 * (where the bucket table is cut again) and spread over the whole address line.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rng } from '../../../../bench/evaluate-rulesets'
import { inIntervals } from '../../../../src-main/engine/evaluate/intervals'

/** Ranges of 32-bit values: most packed into a few /16s, some anywhere, some wide. */
function crowdedRanges(seed: number, count: number): [number, number][] {
  const r = rng(seed)
  const hubs = Array.from({ length: r.int(1, 4) }, () => r.int(0, 0xffff) * 0x10000)
  return Array.from({ length: count }, (): [number, number] => {
    const lo = r.chance(0.8) ? r.pick(hubs) + r.int(0, 0xffff) : r.int(0, 0xfffffff0)
    return [lo, Math.min(0xffffffff, lo + (r.chance(0.7) ? 0 : r.int(1, r.chance(0.9) ? 40 : 1e6)))]
  })
}

describe('inIntervals', () => {
  it('answers as a scan of the ranges (fast-check: 40 sets of up to 5,000 ranges, 400 values each)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 2, max: 5000 }),
        (seed, n) => {
          const ranges = crowdedRanges(seed, n)
          const has = inIntervals(ranges)
          const r = rng(seed + 1)
          for (let i = 0; i < 400; i++) {
            const [lo, hi] = r.pick(ranges)
            const x = r.pick([lo, hi, lo - 1, hi + 1, r.int(lo, hi), r.int(0, 0xffffffff)])
            if (x < 0 || x > 0xffffffff) continue
            expect(has(x), `${x} in ${n} ranges (seed ${seed})`).toBe(
              ranges.some(([a, b]) => x >= a && x <= b)
            )
          }
        }
      ),
      { numRuns: 40 }
    )
  })
})
