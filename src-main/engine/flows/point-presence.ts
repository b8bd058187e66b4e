import type { PointFlow } from './point-flow'

/** What a capture point covered: when it was capturing, whose traffic it carries. */
export interface PointPresence {
  point: string
  firstUs: number
  lastUs: number
  /** Addresses in at least half of the point's packets: the host's own, for a host capture. */
  owned: Set<string>
  /** Address pairs that talked through this point ("a|b", sorted). */
  pairs: Set<string>
}

/** Returns each point's presence, learnt from the conversations it saw. */
export function pointPresence(
  point: string,
  flows: PointFlow[],
  /** The host's own addresses from its `ip addr` (by address), when it was read. */
  hostAddresses?: Pick<ReadonlyMap<string, unknown>, 'has'>
): PointPresence {
  const counts = new Map<string, number>()
  const pairs = new Set<string>()
  let total = 0
  let firstUs = Infinity
  let lastUs = -Infinity
  for (const f of flows) {
    total += f.packets
    counts.set(f.a.ip, (counts.get(f.a.ip) ?? 0) + f.packets)
    if (f.b.ip !== f.a.ip) counts.set(f.b.ip, (counts.get(f.b.ip) ?? 0) + f.packets)
    pairs.add(pairKey(f.a.ip, f.b.ip))
    firstUs = Math.min(firstUs, f.firstUs)
    lastUs = Math.max(lastUs, f.lastUs)
  }
  const owned = new Set<string>()
  if (hostAddresses)
    // The host's own addresses, from its `ip addr`: a capture of one conversation has both ends
    // in every packet, and only the snapshot says which end the host is.
    for (const ip of counts.keys()) {
      if (hostAddresses.has(ip)) owned.add(ip)
    }
  else if (total >= 3) for (const [ip, n] of counts) if (n * 2 >= total) owned.add(ip)
  return { point, firstUs, lastUs, owned, pairs }
}

/**
 * Returns the points that should have seen a conversation and saw none of it:
 * they were capturing at the time and either own one of its addresses or
 * carried other traffic between the same two addresses.
 */
export function silentPoints(group: PointFlow[], presence: PointPresence[]): string[] {
  if (presence.length < 2) return []
  const seen = new Set(group.map((f) => f.point))
  const firstUs = Math.min(...group.map((f) => f.firstUs))
  const lastUs = Math.max(...group.map((f) => f.lastUs))
  const addresses = new Set(group.flatMap((f) => [f.a.ip, f.b.ip]))
  const pairs = new Set(group.map((f) => pairKey(f.a.ip, f.b.ip)))
  const out: string[] = []
  for (const p of presence) {
    // Capturing while the conversation went on: its first and last packets bracket some of it.
    if (seen.has(p.point) || p.firstUs > lastUs || p.lastUs < firstUs) continue
    const owns = [...addresses].some((a) => p.owned.has(a))
    const carries = [...pairs].some((k) => p.pairs.has(k))
    if (owns || carries) out.push(p.point)
  }
  return out
}

function pairKey(x: string, y: string): string {
  return x < y ? `${x}|${y}` : `${y}|${x}`
}
