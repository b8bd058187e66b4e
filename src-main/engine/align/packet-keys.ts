/**
 * The fields a logged packet and a captured packet share, as one key: the
 * protocol, addresses, ports, IPv4 ID (or ICMP id/sequence) and IP length.
 * Equal keys are the same packet seen twice: once by the firewall's log,
 * once by tcpdump.
 */

import type { Packet } from '../capture/packet'
import { normalizeAddress } from '../hostfacts/address'
import type { LoggedPacket } from '../logs/log-event'

const PROTO: Record<string, number> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPV6: 58,
  UDPLITE: 136,
  SCTP: 132
}

/** Returns the protocol number a log's PROTO= names, or undefined. */
export function loggedProto(p: LoggedPacket): number | undefined {
  const named = PROTO[p.proto.toUpperCase()]
  if (named !== undefined) return named
  const n = Number(p.proto)
  return Number.isInteger(n) ? n : undefined
}

/** Returns the key of a logged packet, or undefined when it lacks what the key needs. */
export function loggedKey(p: LoggedPacket): string | undefined {
  const proto = loggedProto(p)
  if (proto === undefined || p.len === undefined) return undefined
  const v6 = p.src.includes(':')
  const ident = v6 ? `${p.icmpType ?? ''}/${p.icmpId ?? ''}/${p.icmpSeq ?? ''}` : String(p.id ?? '')
  if (!v6 && p.id === undefined) return undefined
  return key(
    proto,
    normalizeAddress(p.src),
    normalizeAddress(p.dst),
    p.sport,
    p.dport,
    ident,
    p.len
  )
}

/** Returns the key of a captured packet, or undefined for one without an IP layer. */
export function capturedKey(p: Packet): string | undefined {
  const ip = p.ip
  if (!ip) return undefined
  const l4 = p.l4
  let sport: number | undefined
  let dport: number | undefined
  if (l4 && (l4.kind === 'tcp' || l4.kind === 'udp')) {
    sport = l4.sport
    dport = l4.dport
  }
  if (ip.version === 4)
    return key(ip.proto, ip.src, ip.dst, sport, dport, String(ip.id), ip.totalLen)
  const icmp = l4 && l4.kind === 'icmpv6' ? l4 : undefined
  const ident = `${icmp?.type ?? ''}/${icmp?.id ?? ''}/${icmp?.seq ?? ''}`
  return key(ip.proto, ip.src, ip.dst, sport, dport, ident, ip.payloadLen + 40)
}

function key(
  proto: number,
  src: string,
  dst: string,
  sport: number | undefined,
  dport: number | undefined,
  ident: string,
  len: number
): string {
  return `${proto} ${src} ${dst} ${sport ?? ''} ${dport ?? ''} ${ident} ${len}`
}
