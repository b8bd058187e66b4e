/**
 * The range fields of every classified chain of a ruleset (chain-index.ts) cut at once: the
 * ruleset's elementary intervals of each field, so that a packet's value is placed once per
 * decision (a table by its top bits, then a few halvings) instead of once per chain, and each
 * chain finds its row by that place alone.
 */
import type { ChainIndex } from './chain-index'
import { fineCuts, searchBucket, type FineCuts } from './intervals'

/** One range field over a ruleset's classified chains. */
export interface Field {
  starts: Float64Array
  /** By value >>> shift: the elementary interval holding the first value with those top bits. */
  lut: Int32Array
  shift: number
  /** The lut's crowded buckets cut again. */
  fine: FineCuts
}

/**
 * Source, destination, source port, destination port: the bits of the value that choose a bucket
 * of the lut are those above `shift` (16 of an address, 8 of a port: small tables, soon cached).
 */
const SHIFTS = [16, 16, 8, 8]
const TOP_BITS = [16, 16, 8, 8]
/** The most row offsets kept for one field over all chains (64 MB); past it, chains search. */
const MAX_OFFSETS = 1 << 24

/**
 * Returns the four fields of the classified chains (undefined where no chain needs one), and
 * gives each chain its row offsets by the ruleset's elementary interval (while the budget lasts,
 * the chains with the most intervals first), so that a packet's value is searched for once.
 */
export function buildFields(indexes: ChainIndex[]): (Field | undefined)[] {
  if (!indexes.length) return []
  return SHIFTS.map((shift, which) => {
    const dims = indexes
      .map((x) => x.dims[which])
      .filter((d) => d !== undefined)
      .sort((x, y) => y.starts.length - x.starts.length)
    if (!dims.length) return undefined
    const points = new Set<number>([0])
    for (const d of dims) for (const x of d.starts) points.add(x)
    const starts = Float64Array.from([...points].sort((x, y) => x - y))
    let kept = 0
    for (const d of dims) {
      if (kept + starts.length > MAX_OFFSETS) break
      kept += starts.length
      d.offsets = offsets(starts, d.starts)
    }
    const lut = table(starts, shift, TOP_BITS[which])
    return { starts, lut, shift, fine: fineCuts(starts, lut, 0, shift) }
  })
}

/** The elementary interval of a field holding v (an address or a port). */
export function fieldSlot(f: Field, v: number): number {
  return searchBucket(f.starts, f.lut, f.fine, v >>> f.shift, v, v)
}

/** By each of the ruleset's elementary intervals, the chain's interval holding it. */
function offsets(all: Float64Array, mine: Float64Array): Int32Array {
  const out = new Int32Array(all.length)
  let k = 0
  for (let g = 0; g < all.length; g++) {
    while (k + 1 < mine.length && mine[k + 1] <= all[g]) k++
    out[g] = k
  }
  return out
}

/** lut[h]: the interval holding h << shift, for every h of `top` bits and one past. */
function table(starts: Float64Array, shift: number, top: number): Int32Array {
  const lut = new Int32Array((1 << top) + 1)
  let k = 0
  for (let h = 0; h < lut.length; h++) {
    const x = h * 2 ** shift
    while (k + 1 < starts.length && starts[k + 1] <= x) k++
    lut[h] = k
  }
  return lut
}
