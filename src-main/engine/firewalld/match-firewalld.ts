import type { PacketSpec } from '../evaluate/packet-spec'
import { compareAddress, inCidr, parseCidr } from '../rulesets/parse-address'
import { icmpNameMatches } from './icmp-types'
import type { AddressSpec, FirewalldConfig, PortProto, RichRule, Service } from './model'
import { canonicalProto } from './parse-values'

/** A match that may rest on something Verdict cannot see (a MAC address, an ipset not read). */
export interface Matched {
  yes: boolean
  uncertain?: string
}

/** Returns whether a port spec covers the packet's destination (or source) port and protocol. */
export function portMatches(p: PortProto, packet: PacketSpec, side: 'dport' | 'sport'): boolean {
  const port = packet[side]
  return (
    canonicalProto(p.proto) === packet.proto && port !== undefined && port >= p.from && port <= p.to
  )
}

/** Returns whether a firewalld protocol value (`icmp`, `ipv6-icmp`, `tcp`, `6`) is the packet's. */
export function protocolMatches(value: string, packet: PacketSpec): boolean {
  return canonicalProto(value) === packet.proto
}

/** Returns whether the packet is ICMP of the named firewalld icmptype. */
export function icmpMatches(name: string, packet: PacketSpec): boolean {
  if (packet.proto !== 'icmp' && packet.proto !== 'icmpv6') return false
  return icmpNameMatches(
    name,
    packet.proto === 'icmpv6',
    packet.icmpType ?? -1,
    packet.icmpCode ?? 0
  )
}

/** Returns whether an address spec holds the packet's source or destination address. */
export function addressMatches(
  config: FirewalldConfig,
  spec: AddressSpec,
  packet: PacketSpec,
  side: 'src' | 'dst'
): Matched {
  if (spec.kind === 'cidr') return { yes: inCidr(packet[side], spec.cidr) }
  if (spec.kind === 'mac')
    return { yes: false, uncertain: `MAC address ${spec.text} is not in the packet spec` }
  const set = config.ipsets.get(spec.name)
  if (!set) return { yes: false, uncertain: `ipset ${spec.name} was not among the files read` }
  for (const entry of set.entries) {
    const first = entry.split(',')[0]
    const range = first.split('-')
    const cidr = parseCidr(range[0])
    if (!cidr) continue
    if (range.length === 2) {
      const to = parseCidr(range[1])
      const a = packet[side]
      const within =
        to?.version === a.version &&
        cidr.version === a.version &&
        compareAddress(a, cidr) >= 0 &&
        compareAddress(a, to) <= 0
      if (within) return { yes: true }
    } else if (inCidr(packet[side], cidr)) return { yes: true }
  }
  return { yes: false }
}

/** Returns the first way (a port, protocol or source port line) a service admits the packet, if any. */
export function serviceMatches(
  config: FirewalldConfig,
  name: string,
  packet: PacketSpec,
  depth = 0
): string | undefined {
  const s: Service | undefined = config.services.get(name)
  if (!s || depth > 8) return undefined
  const d = s.destination
  if (d.ipv4 || d.ipv6) {
    const prefix = packet.dst.version === 4 ? d.ipv4 : d.ipv6
    if (!prefix || !inCidr(packet.dst, prefix)) return undefined
  }
  for (const p of s.ports) if (portMatches(p, packet, 'dport')) return `${p.from}/${p.proto}`
  for (const v of s.protocols) if (protocolMatches(v, packet)) return v
  for (const p of s.sourcePorts) if (portMatches(p, packet, 'sport')) return `source port ${p.from}`
  for (const inc of s.includes) {
    const via = serviceMatches(config, inc, packet, depth + 1)
    if (via) return `${inc}: ${via}`
  }
  return undefined
}

/** Returns whether a rich rule's family, addresses and element all hold for the packet. */
export function richRuleMatches(config: FirewalldConfig, r: RichRule, packet: PacketSpec): Matched {
  if (r.family && (r.family === 'ipv4') !== (packet.src.version === 4)) return { yes: false }
  let uncertain: string | undefined
  for (const [side, spec] of [
    ['src', r.source],
    ['dst', r.destination]
  ] as const) {
    if (!spec) continue
    const m = addressMatches(config, spec.addr, packet, side)
    uncertain ??= m.uncertain
    if (m.uncertain) return { yes: false, uncertain }
    if (m.yes === spec.invert) return { yes: false }
  }
  const e = r.element
  let yes: boolean
  switch (e.kind) {
    case 'none':
      yes = true
      break
    case 'service':
      yes = serviceMatches(config, e.name, packet) !== undefined
      break
    case 'port':
    case 'source-port':
      yes = portMatches(e.port, packet, e.kind === 'port' ? 'dport' : 'sport')
      break
    case 'protocol':
      yes = protocolMatches(e.value, packet)
      break
    case 'icmp-block':
    case 'icmp-type':
      yes = icmpMatches(e.name, packet)
      break
    default:
      yes = false
  }
  if (yes && r.limited) uncertain = `rich rule has a rate limit: '${r.text}'`
  return { yes, uncertain }
}

/** Returns whether the packet's destination is multicast or the limited broadcast address. */
export function packetKind(packet: PacketSpec): 'unicast' | 'broadcast' | 'multicast' {
  const w = packet.dst.words
  if (packet.dst.version === 4) {
    if (w[0] >>> 28 === 0xe) return 'multicast'
    if (w[0] >>> 0 === 0xffffffff) return 'broadcast'
    return 'unicast'
  }
  return w[0] >>> 24 === 0xff ? 'multicast' : 'unicast'
}
