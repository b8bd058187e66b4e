/**
 * A host that bridges a conversation rather than routing it: both ends are on the segment of
 * one of its bridges (`ip addr` shows the bridge's ports as `master BR`), so the packets cross
 * it between two ports, through the bridge family's hooks — and through the ip-family hooks
 * too when br_netfilter hands bridged packets to them.
 */

import type { Flow, KeyPacket } from '../../shared/incident'
import { normalizeAddress } from '../hostfacts/address'
import { interfaceOf, sysctlValue, type HostEvidence } from './evidence'
import { perHost } from './host-memo'
import { interfaceToward, type FlowEnds } from './host-roles'

/** How a host bridges a conversation. */
export interface BridgeCrossing {
  bridge: string
  /** The port toward the opener (its packets come in by it), when the captures say. */
  toSrc?: string
  /** The port toward the far end, when the captures say (or the bridge has only two ports). */
  toDst?: string
  /** Whether br_netfilter hands the bridged packets to the ip-family chains; unknown: undefined. */
  brNetfilter?: boolean
}

/** Each bridge of a host with its ports, from `ip addr` (`master BR`): made once per snapshot. */
export const bridgesOf: (h: HostEvidence) => ReadonlyMap<string, string[]> = perHost(
  (h) => h.ipAddr,
  (h) => {
    const out = new Map<string, string[]>()
    for (const i of h.ipAddr?.value.interfaces ?? []) {
      if (i.master === undefined) continue
      const ports = out.get(i.master)
      if (ports) ports.push(i.name)
      else out.set(i.master, [i.name])
    }
    return out
  }
)

/**
 * Returns how a host that is on a conversation's way bridges it, or undefined when it routes
 * it (or its facts do not say).
 */
export function bridgeCrossing(
  h: HostEvidence,
  flow: Flow,
  ends: FlowEnds
): BridgeCrossing | undefined {
  const bridges = bridgesOf(h)
  if (bridges.size === 0) return undefined
  const toward = [interfaceToward(h, ends.src), interfaceToward(h, ends.farDst)]
  // The ports that captured the opening packet, then a reply, in the order they saw it.
  const keys = flow.keyPackets ?? []
  const opening = portsSeen(
    h,
    keys.find((k) => k.what === 'syn' || k.what === 'request'),
    bridges
  )
  const reply = portsSeen(
    h,
    keys.find((k) => k.what === 'syn-ack' || k.what === 'reply'),
    bridges
  )
  let bridge: string | undefined
  if (toward[0] !== undefined && toward[1] !== undefined) {
    // Both ends on one bridge's segment: bridged. Ends reached by different interfaces: routed.
    if (toward[0] !== toward[1] || !bridges.has(toward[0])) return undefined
    bridge = toward[0]
  } else if (toward[0] === undefined && toward[1] === undefined) {
    // A bridge with no address on the ends' network: bridged if its ports captured the packets.
    bridge = [...opening, ...reply][0]?.bridge
  } else return undefined
  if (bridge === undefined) return undefined
  const ports = bridges.get(bridge)!
  const mine = (seen: { bridge: string; port: string }[]): string[] =>
    seen.filter((s) => s.bridge === bridge).map((s) => s.port)
  const out = mine(opening)
  const back = mine(reply)
  // What the captures showed of the ends' ports in other conversations, where this one's do not.
  const learnt = (addr: string): string | undefined => {
    const port = h.bridgePorts?.get(normalizeAddress(addr))
    return port !== undefined && ports.includes(port) ? port : undefined
  }
  let toSrc: string | undefined = out[0] ?? back[1] ?? learnt(ends.src)
  let toDst: string | undefined = out[1] ?? back[0] ?? learnt(ends.farDst)
  if (ports.length === 2) {
    if (toSrc !== undefined && toDst === undefined) toDst = ports.find((p) => p !== toSrc)
    if (toDst !== undefined && toSrc === undefined) toSrc = ports.find((p) => p !== toDst)
  }
  if (toSrc === toDst) toDst = undefined
  return { bridge, toSrc, toDst, brNetfilter: brNetfilter(h, ends.src.includes(':')) }
}

/**
 * Learns, for every host with bridges, which port each address is behind: from every
 * conversation's key packets that two or more of its port captures hold, the first port an
 * opening packet was seen on is toward its source and the last toward its destination, and the
 * other way round for an answer. The first port learnt for an address stays.
 */
export function learnBridgePorts(hosts: Iterable<HostEvidence>, flows: Flow[]): void {
  for (const h of hosts) {
    const bridges = bridgesOf(h)
    if (bridges.size === 0 || h.captures.length < 2) continue
    const learnt = new Map<string, string>()
    const learn = (addr: string, port: string | undefined): void => {
      const key = normalizeAddress(addr)
      if (port !== undefined && !learnt.has(key)) learnt.set(key, port)
    }
    for (const f of flows)
      for (const k of f.keyPackets ?? []) {
        const opening = k.what === 'syn' || k.what === 'request'
        if (!opening && k.what !== 'syn-ack' && k.what !== 'reply') continue
        // One port alone does not say whether the packet came in or went out by it.
        const seen = portsSeen(h, k, bridges).map((s) => s.port)
        if (seen.length < 2) continue
        learn(opening ? f.src : f.dst, seen[0])
        learn(opening ? f.dst : f.src, seen[seen.length - 1])
      }
    h.bridgePorts = learnt
  }
}

/**
 * The bridge ports whose captures hold a key packet, in the order they captured it: a point's
 * files are read in time order, so the frame references of one packet run from the port it
 * came in by to the one it left by.
 */
function portsSeen(
  h: HostEvidence,
  key: KeyPacket | undefined,
  bridges: ReadonlyMap<string, string[]>
): { bridge: string; port: string }[] {
  const out: { bridge: string; port: string }[] = []
  for (const ref of key?.frames ?? []) {
    const c = h.captures.find((x) => ref.startsWith(`${x.point}:${x.file}#`))
    const iface = c && interfaceOf(h, c)
    if (iface === undefined) continue
    for (const [bridge, ports] of bridges)
      if (ports.includes(iface) && !out.some((o) => o.port === iface))
        out.push({ bridge, port: iface })
  }
  return out
}

/**
 * Whether br_netfilter passes the host's bridged packets to its ip-family hooks: its sysctl
 * (which exists only while the module is loaded) says; rules that match bridge ports
 * (-m physdev) say the module is in use; otherwise not known.
 */
export function brNetfilter(h: HostEvidence, v6: boolean): boolean | undefined {
  const key = `net.bridge.bridge-nf-call-${v6 ? 'ip6tables' : 'iptables'}`
  const v = sysctlValue(h, key, (s) => s === '0' || s === '1')
  if (v) return v.value === '1'
  return matchesPhysdev(h) ? true : undefined
}

/** Whether any rule of a host's snapshots matches bridge ports (-m physdev). */
const matchesPhysdev = perHost(
  (h) => h.rulesets.length,
  (h) =>
    h.rulesets.some((r) =>
      r.value.tables.some((t) =>
        t.chains.some((c) => c.rules.some((rule) => rule.matches.some((m) => m.kind === 'physdev')))
      )
    )
)

/**
 * Whether a routed packet crossed no bridge at a host: its facts name the interfaces its path
 * takes in and out, and none is a bridge.
 */
export function crossesNoBridge(
  h: HostEvidence,
  path: 'input' | 'forward' | 'output',
  iif: string | undefined,
  oif: string | undefined
): boolean {
  if (!h.ipAddr) return false
  const bridges = bridgesOf(h)
  const plain = (dev: string | undefined): boolean => dev !== undefined && !bridges.has(dev)
  return (path === 'output' || plain(iif)) && (path === 'input' || plain(oif))
}
