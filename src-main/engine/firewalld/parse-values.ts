import { parseCidr } from '../rulesets/parse-address'
import type { AddressSpec, PortProto } from './model'

/** Returns the address firewalld writes as `10.0.0.0/8`, `fd00::1`, a MAC or `ipset:NAME`. */
export function parseAddressSpec(text: string): AddressSpec | undefined {
  const t = text.trim()
  if (t.startsWith('ipset:')) return t.length > 6 ? { kind: 'ipset', name: t.slice(6) } : undefined
  if (/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(t)) return { kind: 'mac', text: t }
  const cidr = parseCidr(t)
  return cidr ? { kind: 'cidr', cidr, text: t } : undefined
}

/** Returns the port or range with protocol written `PORT[-PORT]/PROTO`, or undefined. */
export function parsePortProto(text: string): PortProto | undefined {
  const m = /^\s*(\d{1,5})(?:[-:](\d{1,5}))?\/([a-z0-9-]+)\s*$/i.exec(text)
  if (!m) return undefined
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  if (from > 65535 || to > 65535 || to < from) return undefined
  return { from, to, proto: m[3].toLowerCase() }
}

/** Returns `8080/tcp` or `5900-5903/tcp` for a port spec. */
export function formatPortProto(p: PortProto): string {
  return `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.proto}`
}

const PROTO_ALIASES: Record<string, string> = {
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'icmpv6',
  'ipv6-icmp': 'icmpv6',
  icmp6: 'icmpv6'
}

/** Returns the protocol name a packet spec uses for a firewalld protocol value (`ipv6-icmp` is `icmpv6`). */
export function canonicalProto(value: string): string {
  const v = value.toLowerCase()
  return PROTO_ALIASES[v] ?? v
}
