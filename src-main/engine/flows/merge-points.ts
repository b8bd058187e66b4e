import type { PointFlow } from './point-flow'
import { datagramKey, sameEndpoint } from './track-point'

/** Two sightings of one conversation at different points start within this of each other. */
const SAME_CONVERSATION_US = 10_000_000
/** Slack allowed when comparing time spans at different points (clocks differ a little). */
const SPAN_SLACK_US = 2_000_000
/**
 * Two points' clocks further apart than this (the median gap between their sightings of the same
 * TCP handshakes) disagree: their times are compared after the difference is taken out.
 */
const CLOCK_SKEW_US = 1_000_000
/** Two sightings of one handshake (same opener ISN and port) are this close even on skewed clocks. */
const SAME_HANDSHAKE_US = 600_000_000
/**
 * One point sees a packet before and after its translation within this (one clock, one box);
 * two conversations of one point further apart only share an IP ID and length by chance.
 */
const SAME_POINT_NAT_US = 200_000

/**
 * Groups the conversations seen at several capture points into one group per
 * real conversation: by the opener's ISN for TCP (it survives NAT), by the
 * 5-tuple and overlapping time otherwise, and by IP ID and length for
 * translated datagrams. Each group is ordered along the path, opener first.
 */
export function mergePoints(flows: PointFlow[], skew?: Map<string, ClockSkew>): PointFlow[][] {
  if (new Set(flows.map((f) => f.point)).size < 2) return flows.map((f) => [f])
  const offsets = clockOffsets(flows)
  if (skew) for (const [point, s] of offsets) skew.set(point, s)
  /** A flow's first and last times on the reference point's clock. */
  const firstOf = (f: PointFlow): number => f.firstUs - (offsets.get(f.point)?.offsetUs ?? 0)
  const lastOf = (f: PointFlow): number => f.lastUs - (offsets.get(f.point)?.offsetUs ?? 0)
  const parent = flows.map((_, i) => i)
  const pointsOf = flows.map((f) => new Set([f.point]))
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])))
  const tryUnion = (i: number, j: number, translated = false): void => {
    const a = find(i)
    const b = find(j)
    if (a === b) return
    // Two conversations of one point are distinct by construction, except where that point
    // sees one conversation before and after a translation (a router doing NAT).
    if (!translated) for (const p of pointsOf[b]) if (pointsOf[a].has(p)) return
    const [root, child] = a < b ? [a, b] : [b, a]
    parent[child] = root
    for (const p of pointsOf[child]) pointsOf[root].add(p)
  }

  bucket(
    flows,
    (f) => (f.proto === 'tcp' && f.isn !== undefined && f.openerKnown ? `isn|${f.isn}` : undefined),
    (i, j) => {
      if (Math.abs(firstOf(flows[i]) - firstOf(flows[j])) <= SAME_CONVERSATION_US)
        tryUnion(i, j, isTranslation(flows[i], flows[j]))
    }
  )
  bucket(
    flows,
    (f) => datagramKey(f.proto, f.a, f.b) + (f.echoId !== undefined ? `|${f.echoId}` : ''),
    (i, j) => {
      const x = flows[i]
      const y = flows[j]
      if (firstOf(x) <= lastOf(y) + SPAN_SLACK_US && firstOf(y) <= lastOf(x) + SPAN_SLACK_US)
        tryUnion(i, j)
    }
  )
  bucket(
    flows,
    (f) =>
      f.proto !== 'tcp' && f.firstIpId
        ? `id|${f.proto}|${f.firstIpId}|${f.firstLen ?? ''}`
        : undefined,
    (i, j) => {
      const x = flows[i]
      const y = flows[j]
      if (Math.abs(firstOf(x) - firstOf(y)) > SPAN_SLACK_US) return
      // Between points a NAT rewrites one end (SNAT the opener's, DNAT the destination):
      // datagrams with no end in common only share an IP ID and length by chance.
      if (x.point !== y.point && !sameEndpoint(x.a, y.a) && !sameEndpoint(x.b, y.b)) return
      tryUnion(i, j, isTranslation(x, y))
    }
  )

  const groups = new Map<number, PointFlow[]>()
  flows.forEach((f, i) => {
    const root = find(i)
    const g = groups.get(root)
    if (g) g.push(f)
    else groups.set(root, [f])
  })
  // Path order: the point that saw the conversation first is nearest the opener.
  return [...groups.values()].map((g) =>
    g.sort((x, y) => firstOf(x) - firstOf(y) || (x.point < y.point ? -1 : 1))
  )
}

/** How far a point's clock is from the reference point's, learnt from handshakes both saw. */
export interface ClockSkew {
  /** The point whose clock the others are compared with. */
  ref: string
  /** This point's clock minus the reference's, µs (median over the handshakes). */
  offsetUs: number
  /** How many handshakes both points saw. */
  samples: number
}

/**
 * Every point's clock offset from a reference point's, where it is larger than CLOCK_SKEW_US:
 * from the TCP handshakes two points both saw (the same opener ISN and destination port, which
 * survive NAT), the median gap between their first sightings. The reference is the point with
 * the most such handshakes; points reached through another are offset through it.
 */
function clockOffsets(flows: PointFlow[]): Map<string, ClockSkew> {
  const gaps = new Map<string, Map<string, number[]>>()
  const add = (from: string, to: string, gap: number): void => {
    let m = gaps.get(from)
    if (!m) gaps.set(from, (m = new Map()))
    const list = m.get(to)
    if (list) list.push(gap)
    else m.set(to, [gap])
  }
  bucket(
    flows,
    (f) =>
      f.proto === 'tcp' && f.isn !== undefined && f.openerKnown
        ? `${f.isn}|${f.b.port}`
        : undefined,
    (i, j) => {
      const x = flows[i]
      const y = flows[j]
      const gap = y.firstUs - x.firstUs
      if (x.point === y.point || Math.abs(gap) > SAME_HANDSHAKE_US) return
      add(x.point, y.point, gap)
      add(y.point, x.point, -gap)
    }
  )
  const out = new Map<string, ClockSkew>()
  if (gaps.size === 0) return out
  let ref = ''
  let most = -1
  for (const [point, m] of gaps) {
    let n = 0
    for (const list of m.values()) n += list.length
    if (n > most || (n === most && point < ref)) [ref, most] = [point, n]
  }
  // Breadth first from the reference: each point's offset through the first point that knows it.
  const offset = new Map<string, { us: number; samples: number }>([[ref, { us: 0, samples: 0 }]])
  const queue = [ref]
  while (queue.length > 0) {
    const from = queue.shift()!
    for (const [to, list] of gaps.get(from) ?? []) {
      if (offset.has(to)) continue
      offset.set(to, { us: offset.get(from)!.us + median(list), samples: list.length })
      queue.push(to)
    }
  }
  for (const [point, o] of offset)
    if (Math.abs(o.us) > CLOCK_SKEW_US) out.set(point, { ref, offsetUs: o.us, samples: o.samples })
  return out
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Returns whether two conversations of one point are the same packets before and after NAT:
 * different addresses or ports, the same first IP ID (translation leaves it alone), first seen
 * at once, and the same opener sequence number for TCP (already the bucket key).
 */
function isTranslation(x: PointFlow, y: PointFlow): boolean {
  if (x.point !== y.point || Math.abs(x.firstUs - y.firstUs) > SAME_POINT_NAT_US) return false
  const sameTuple =
    x.a.ip === y.a.ip && x.a.port === y.a.port && x.b.ip === y.b.ip && x.b.port === y.b.port
  return !sameTuple && x.firstIpId !== undefined && x.firstIpId === y.firstIpId
}

/** Calls `pair` for every two flows sharing a bucket key. */
function bucket(
  flows: PointFlow[],
  keyOf: (f: PointFlow) => string | undefined,
  pair: (i: number, j: number) => void
): void {
  const buckets = new Map<string, number[]>()
  flows.forEach((f, i) => {
    const k = keyOf(f)
    if (k === undefined) return
    const list = buckets.get(k)
    if (list) list.push(i)
    else buckets.set(k, [i])
  })
  for (const list of buckets.values()) {
    if (list.length < 2) continue
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) pair(list[x], list[y])
  }
}
