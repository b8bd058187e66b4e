import type { PointFlow } from './point-flow'
import { datagramKey, sameEndpoint } from './track-point'

/** Two sightings of one conversation at different points start within this of each other. */
const SAME_CONVERSATION_US = 10_000_000
/** Slack allowed when comparing time spans at different points (clocks differ a little). */
const SPAN_SLACK_US = 2_000_000
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
export function mergePoints(flows: PointFlow[]): PointFlow[][] {
  if (new Set(flows.map((f) => f.point)).size < 2) return flows.map((f) => [f])
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
      if (Math.abs(flows[i].firstUs - flows[j].firstUs) <= SAME_CONVERSATION_US)
        tryUnion(i, j, isTranslation(flows[i], flows[j]))
    }
  )
  bucket(
    flows,
    (f) => datagramKey(f.proto, f.a, f.b) + (f.echoId !== undefined ? `|${f.echoId}` : ''),
    (i, j) => {
      const x = flows[i]
      const y = flows[j]
      if (x.firstUs <= y.lastUs + SPAN_SLACK_US && y.firstUs <= x.lastUs + SPAN_SLACK_US)
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
      if (Math.abs(x.firstUs - y.firstUs) > SPAN_SLACK_US) return
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
    g.sort((x, y) => x.firstUs - y.firstUs || (x.point < y.point ? -1 : 1))
  )
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
