/**
 * The range fields of every classified chain of a ruleset (chain-index.ts) cut at once: the
 * ruleset's elementary intervals of each field, so that a packet's value is placed once per
 * decision (a table by its top bits, then a few halvings) instead of once per chain, and each
 * chain finds its row by that place alone.
 */
import type { ChainIndex } from './chain-index'
import { lastAtOrBelow } from './intervals'

/** One range field over a ruleset's classified chains. */
export interface Field {
  starts: Float64Array
  /** By value >>> shift: the elementary interval holding the first value with those top bits. */
  lut: Int32Array
  shift: number
}

/** Source, destination, source port, destination port. */
const SHIFTS = [16, 16, 0, 0]
/** Chains with at most this many intervals in a field search them themselves. */
const LOCAL_MAX = 512
/** The most row offsets kept for one field over all chains (64 MB); past it, chains search. */
const MAX_OFFSETS = 1 << 24

/**
 * Returns the four fields of the classified chains (undefined where no chain needs one), and
 * gives each large chain field its row offsets by the ruleset's elementary interval (while the
 * budget lasts).
 */
export function buildFields(indexes: ChainIndex[]): (Field | undefined)[] {
  if (!indexes.length) return []
  return SHIFTS.map((shift, which) => {
    // A chain with few intervals searches its own (a few lines of memory); the others share.
    const large = indexes.filter((x) => (x.dims[which]?.starts.length ?? 0) > LOCAL_MAX)
    if (!large.length) return undefined
    const points = new Set<number>([0])
    for (const index of large) for (const x of index.dims[which]!.starts) points.add(x)
    const starts = Float64Array.from([...points].sort((x, y) => x - y))
    let kept = 0
    for (const index of large) {
      if (kept + starts.length > MAX_OFFSETS) break
      kept += starts.length
      const d = index.dims[which]!
      d.offsets = offsets(starts, d.starts, index.words)
    }
    return { starts, lut: table(starts, shift), shift }
  })
}

/** The elementary interval of a field holding v (an address or a port). */
export function fieldSlot(f: Field, v: number): number {
  const h = v >>> f.shift
  return lastAtOrBelow(f.starts, v, f.lut[h], f.lut[h + 1])
}

/** By each of the ruleset's elementary intervals, the chain's interval holding it, times words. */
function offsets(all: Float64Array, mine: Float64Array, words: number): Int32Array {
  const out = new Int32Array(all.length)
  let k = 0
  for (let g = 0; g < all.length; g++) {
    while (k + 1 < mine.length && mine[k + 1] <= all[g]) k++
    out[g] = k * words
  }
  return out
}

/** lut[h]: the interval holding h << shift, for every 16-bit h and one past. */
function table(starts: Float64Array, shift: number): Int32Array {
  const lut = new Int32Array((1 << 16) + 1)
  let k = 0
  for (let h = 0; h < lut.length; h++) {
    const x = h * 2 ** shift
    while (k + 1 < starts.length && starts[k + 1] <= x) k++
    lut[h] = k
  }
  return lut
}
