/**
 * Sets of numbers (addresses, ports) as sorted disjoint inclusive intervals, and the searches the
 * fast path makes in them: a bucket table narrowing a binary search to a few steps.
 */

import type { Cidr } from '../rulesets/model'
import { inCidr } from '../rulesets/parse-address'

/** Inclusive ranges, sorted and disjoint. */
export type Intervals = [number, number][]

/** Returns the ranges merged into sorted disjoint intervals (empty ranges dropped). */
export function merge(ranges: [number, number][]): Intervals {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((x, y) => x[0] - y[0])
  const out: Intervals = []
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1]
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else out.push([lo, hi])
  }
  return out
}

/** Returns the numbers of [0, max] outside the intervals. */
export function complement(set: Intervals, max: number): Intervals {
  const out: Intervals = []
  let next = 0
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, Math.min(lo - 1, max)])
    next = Math.max(next, hi + 1)
  }
  if (next <= max) out.push([next, max])
  return out
}

/** Returns the numbers in both sets of intervals. */
export function intersect(a: Intervals, b: Intervals): Intervals {
  const out: Intervals = []
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const lo = Math.max(a[i][0], b[j][0])
    const hi = Math.min(a[i][1], b[j][1])
    if (lo <= hi) out.push([lo, hi])
    if (a[i][1] < b[j][1]) i++
    else j++
  }
  return out
}

/** Whether a number is in any of the ranges, as a closure searching merged intervals by halves. */
export function inIntervals(ranges: [number, number][]): (n: number) => boolean {
  const merged = merge(ranges)
  const L = Float64Array.from(merged, (r) => r[0])
  const H = Float64Array.from(merged, (r) => r[1])
  const n = L.length
  if (n === 0) return () => false
  if (n === 1) {
    const lo = L[0]
    const hi = H[0]
    return (x) => x >= lo && x <= hi
  }
  const t = buckets(L)
  return (x) => {
    // The last interval starting at or below x.
    if (x < L[0]) return false
    return x <= H[bucketSlot(L, t, x)]
  }
}

/**
 * A table narrowing the search in sorted starts: the value line from starts[1] cut into equal
 * buckets (a power of two wide), each giving the index of the start at or below its first value;
 * crowded buckets cut again (fineCuts).
 */
interface Buckets {
  lut: Int32Array
  base: number
  /** 1 / the bucket width. */
  scale: number
  fine: FineCuts
}

/** Returns the bucket table of sorted starts (empty for a few starts: searched by halves alone). */
function buckets(starts: Float64Array): Buckets {
  const n = starts.length
  if (n < 16) return { lut: new Int32Array(0), base: 0, scale: 0, fine: fineCuts(starts, [], 0, 0) }
  const base = starts[1]
  const span = starts[n - 1] - base + 1
  const count = Math.min(1 << 16, 2 ** Math.ceil(Math.log2(n * 2)))
  let shift = 0
  while (2 ** shift * count < span) shift++
  const lut = new Int32Array(count + 1)
  let j = 0
  for (let k = 0; k <= count; k++) {
    const x = base + k * 2 ** shift
    while (j + 1 < n && starts[j + 1] <= x) j++
    lut[k] = j
  }
  return { lut, base, scale: 1 / 2 ** shift, fine: fineCuts(starts, lut, base, shift) }
}

/** slot(starts, x) through the bucket table (x at least 0, below 2^32). */
function bucketSlot(starts: Float64Array, t: Buckets, x: number): number {
  const lut = t.lut
  if (lut.length === 0) return slot(starts, x)
  if (x < t.base) return 0
  const i = Math.floor((x - t.base) * t.scale)
  if (i >= lut.length - 1) return starts.length - 1
  return searchBucket(starts, lut, t.fine, i, x - t.base, x)
}

/** Buckets holding more starts than this are cut again into 256 parts. */
const FINE_MIN = 4

/**
 * The crowded buckets of a bucket table cut into 256 equal parts: from at[i] in `cuts`, the
 * index of the start at or below each part's first value, and one past (the next bucket's).
 */
export interface FineCuts {
  at: Int32Array
  cuts: Int32Array
  /** 1 / the part width. */
  scale: number
}

/**
 * Cuts the crowded buckets of lut (bucket i from base + i × 2^shift) into parts; buckets less
 * than 256 wide are left as they are.
 */
export function fineCuts(
  starts: Float64Array,
  lut: ArrayLike<number>,
  base: number,
  shift: number
): FineCuts {
  const crowded: number[] = []
  if (shift >= 8)
    for (let i = 0; i + 1 < lut.length; i++) if (lut[i + 1] - lut[i] > FINE_MIN) crowded.push(i)
  const at = new Int32Array(crowded.length ? lut.length : 0)
  const cuts = new Int32Array(crowded.length * 257)
  crowded.forEach((i, c) => {
    at[i] = c * 257
    let k = lut[i]
    for (let j = 0; j <= 256; j++) {
      const x = base + i * 2 ** shift + j * 2 ** (shift - 8)
      while (k + 1 < starts.length && starts[k + 1] <= x) k++
      cuts[c * 257 + j] = k
    }
  })
  return { at, cuts, scale: 1 / 2 ** (shift - 8) }
}

/**
 * The last start at or below x in bucket i of lut (d: x less the table's base), through the
 * bucket's finer cuts when it has them.
 */
export function searchBucket(
  starts: Float64Array,
  lut: Int32Array,
  fine: FineCuts,
  i: number,
  d: number,
  x: number
): number {
  let from = lut[i]
  let to = lut[i + 1]
  if (to - from > FINE_MIN && fine.at.length !== 0) {
    const k = fine.at[i] + (Math.floor(d * fine.scale) & 255)
    from = fine.cuts[k]
    to = fine.cuts[k + 1]
  }
  return lastAtOrBelow(starts, x, from, to)
}

/** The elementary interval holding x: the last start at or below it (starts[0] at or below x). */
export function slot(starts: Float64Array, x: number): number {
  return lastAtOrBelow(starts, x, 0, starts.length - 1)
}

/**
 * The last of starts[from..to] at or below x, given starts[from] is: halving without branches
 * (a select per step), as the packet's values are not predictable.
 */
export function lastAtOrBelow(starts: Float64Array, x: number, from: number, to: number): number {
  let at = from
  let n = to - from + 1
  while (n > 1) {
    const half = n >>> 1
    at = starts[at + half] <= x ? at + half : at
    n -= half
  }
  return at
}

/** An IPv4 prefix as the range of addresses in it. */
export function prefixRange(c: { words: number[]; bits: number }): [number, number] {
  const bits = Math.min(32, c.bits)
  const mask = bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  const lo = (c.words[0] & mask) >>> 0
  return [lo, (lo | ~mask) >>> 0]
}

/** Membership tests already made, per list of prefixes (nft rules naming one set share it). */
const memberships = new WeakMap<Cidr[], (addr: Cidr) => boolean>()

/**
 * Returns whether an address is in any of the prefixes (inCidr's answer), as a closure: IPv4
 * prefixes merged into intervals and searched, IPv6 ones tested in turn. Made once per list.
 */
export function cidrMembership(cidrs: Cidr[]): (addr: Cidr) => boolean {
  const known = memberships.get(cidrs)
  if (known) return known
  const v6 = cidrs.filter((c) => c.version === 6)
  const v4 = inIntervals(cidrs.filter((c) => c.version === 4).map(prefixRange))
  const has6 = v6.length > 0
  const test = (addr: Cidr): boolean => {
    if (addr.version === 4) return v4(addr.words[0] >>> 0)
    if (!has6) return false
    for (let i = 0; i < v6.length; i++) if (inCidr(addr, v6[i])) return true
    return false
  }
  memberships.set(cidrs, test)
  return test
}
