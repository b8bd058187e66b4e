import type { Flow } from '../../shared/incident'

/** Returns "ip:port" (brackets around IPv6 with a port), or the address alone. */
export function endpoint(ip: string, port?: number): string {
  if (port === undefined) return ip
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

/** Returns "SRC > DST" of a flow, its opener first. */
export function flowEnds(f: Flow): string {
  return `${endpoint(f.src, f.sport)} > ${endpoint(f.dst, f.dport)}`
}

/** Returns the facts that say how a flow failed: retransmissions, the ICMP answer, the RST, a stuck segment, a loss between points, NAT. */
export function flowFacts(f: Flow): string[] {
  const facts: string[] = []
  if (f.synRetransmits)
    facts.push(
      `${f.synRetransmits} SYN retransmission(s) at +${f.synRetransmitOffsets?.join('s, +')}s`
    )
  if (f.synAckRetransmits) facts.push(`${f.synAckRetransmits} SYN-ACK retransmission(s)`)
  if (f.icmp) {
    facts.push(
      `ICMP${f.proto === 'icmpv6' || f.src.includes(':') ? 'v6' : ''} type ${f.icmp.type} code ${f.icmp.code}${f.icmp.mtu !== undefined ? ` mtu ${f.icmp.mtu}` : ''} from ${f.icmp.from} (${f.icmp.quoted === 'reply' ? 'refusing the answer' : f.icmp.sender})`
    )
  }
  if (f.rst)
    facts.push(
      `RST by the ${f.rst.by}, TTL ${f.rst.ttl}${f.rst.usualTtl !== undefined ? ` (its other packets: ${f.rst.usualTtl})` : ''}`
    )
  if (f.data?.stuckPayload !== undefined) {
    facts.push(
      `${f.data.stuckPayload}-byte segment${f.data.stuckDf ? ' with DF' : ''} retransmitted ${f.data.stuckRetransmits} time(s), never acknowledged; largest acknowledged ${f.data.maxAckedPayload}`
    )
  }
  const lost = f.keyPackets?.find((k) => k.missingAt && (k.what === 'syn' || k.what === 'syn-ack'))
  if (lost)
    facts.push(
      `${lost.what} seen at ${lost.seenAt.join(', ')}, missing at ${lost.missingAt!.join(', ')}`
    )
  if (f.neighbourDiscovery)
    facts.push(`${f.requests ?? 0} neighbour solicitation(s), no advertisement`)
  if (f.nat) facts.push(`translated: ${f.nat.from} became ${f.nat.to}`)
  if (f.loggedAt && f.seenAt.length === 0)
    facts.push(`logged at ${f.loggedAt.join(', ')}; no capture saw it`)
  return facts
}

/** Returns one line for a flow: id, protocol, ends, first time and the facts of its failure. */
export function describeFlow(f: Flow): string {
  const facts = flowFacts(f)
  return `${f.id} ${f.proto} ${flowEnds(f)} at ${when(f)}${facts.length ? ': ' + facts.join('; ') : ''}`
}

/** Before this, a time is no date: seconds since boot of a log no boot time placed (2001). */
const BOOT_CLOCK_BEFORE_MS = 1e12

/**
 * A flow's first time: the ISO time, or, for a conversation only a log saw whose clock counts
 * seconds since boot with no boot time known, those seconds, so that 1970 is not read as a date.
 */
function when(f: Flow): string {
  const ms = Date.parse(f.first)
  if (f.seenAt.length > 0 || !(ms < BOOT_CLOCK_BEFORE_MS)) return f.first
  // The fraction as written (microseconds or nanoseconds), which Date.parse would cut to ms.
  const fraction = /\.(\d+)Z$/.exec(f.first)?.[1]
  const seconds = `${Math.floor(ms / 1000)}${fraction ? `.${fraction}` : ''}`
  return `${seconds} s after boot (boot time unknown: --boot-time)`
}
