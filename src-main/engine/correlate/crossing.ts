/**
 * Where inside a host a packet was lost, when the host captured each interface on its own (a
 * router's tcpdump on its inside and its outside interface): a packet captured arriving on one
 * interface and never leaving by the one its route takes was dropped inside that host — by its
 * firewall, its reverse-path filter or its routing — not on a wire beyond it. Captures see a
 * packet arriving before netfilter does and a packet leaving after it.
 */

import type { Flow, KeyPacket } from '../../shared/incident'
import { isoToUs } from '../report/time'
import { interfaceOf, sysctlValue, type HostCapture, type HostEvidence } from './evidence'
import { forwardRoute, interfaceToward, type FlowRoles } from './host-roles'

/** A packet a host received on one interface and never sent by the one its route takes. */
export interface Crossing {
  host: HostEvidence
  /** The packet, in words ("the SYN"). */
  what: string
  key: KeyPacket
  /** Where it arrived: the interface and the capture of it that saw the packet. */
  inIface: string
  inFile: string
  /** Where it should have left: the interface toward its destination and its capture. */
  outIface: string
  outFile: string
  /** Whether that capture holds no packet at all. */
  outEmpty: boolean
  /** The packet's source and destination as this host saw them. */
  src: string
  dst: string
}

/**
 * Returns the crossing a failed flow's lost packet shows at a host, if it shows one: the SYN
 * of a connection nothing answered (or that was refused), the SYN-ACK of a one-way handshake.
 */
export function lostInside(flow: Flow, host: HostEvidence, roles: FlowRoles): Crossing | undefined {
  if (host.captures.length < 2) return undefined
  const keys = flow.keyPackets ?? []
  const ends = roles.ends
  // A bridged packet leaves by the port toward its destination, not by an interface of a route.
  const bridged = roles.bridged.get(host)
  if (flow.outcome === 'one-way') {
    const k = keys.find((x) => x.what === 'syn-ack')
    const out = bridged ? bridged.toSrc : forwardRoute(host, ends, true).choice?.dev
    return k && crossing(host, k, 'the SYN-ACK', ends.farDst, ends.src, out)
  }
  if (['syn-timeout', 'refused-rst', 'icmp-unreachable', 'unanswered'].includes(flow.outcome)) {
    const k = keys.find((x) => x.what === 'syn' || x.what === 'request')
    const out = bridged ? bridged.toDst : forwardRoute(host, ends, false).choice?.dev
    const what =
      k?.what === 'syn'
        ? 'the SYN'
        : flow.proto === 'udp'
          ? 'the first datagram'
          : 'the first echo request'
    return k && crossing(host, k, what, ends.src, ends.farDst, out)
  }
  return undefined
}

function crossing(
  host: HostEvidence,
  key: KeyPacket,
  what: string,
  src: string,
  dst: string,
  outIface: string | undefined
): Crossing | undefined {
  if (!outIface) return undefined
  const captures = host.captures.map((c) => ({ c, iface: interfaceOf(host, c) }))
  const out = captures.filter((x) => x.iface === outIface)
  // One capture of the way out, running while the packet would have left.
  if (out.length !== 1) return undefined
  const outCap = out[0].c
  const t = isoToUs(key.time)
  // A file that captured nothing at all was running (it was left in the incident) and saw
  // nothing leave; one with packets must have been running at the time.
  const empty = outCap.firstUs === undefined || outCap.lastUs === undefined
  if (!empty && !(outCap.firstUs! <= t && outCap.lastUs! >= t)) return undefined
  const frames = key.frames ?? []
  const saw = (c: HostCapture): boolean => frames.some((f) => f.startsWith(`${c.point}:${c.file}#`))
  if (saw(outCap)) return undefined
  const arrived = captures.find((x) => x.iface !== undefined && x.iface !== outIface && saw(x.c))
  if (!arrived) return undefined
  // Seen on a third interface: it left another way than the main routing table's (policy
  // routing), not lost inside.
  if (captures.some((x) => x.c !== arrived.c && saw(x.c))) return undefined
  return {
    host,
    what,
    key,
    inIface: arrived.iface!,
    inFile: arrived.c.file,
    outIface,
    outFile: outCap.file,
    outEmpty: empty,
    src,
    dst
  }
}

/** The evidence sentence of a crossing. */
export function crossingText(x: Crossing): string {
  const name = x.host.name || 'the host'
  return `${name} captured ${x.what} arriving on ${x.inIface} (${x.inFile}) and never leaving on ${x.outIface} (${x.outFile}, ${x.outEmpty ? 'which captured nothing at all' : 'which was capturing at the time'}): ${name} itself did not forward it`
}

/**
 * Why a host that accepts a packet by its ruleset may still drop it: a strict reverse-path
 * filter (rp_filter 1, the larger of `all` and the interface's value counts) drops a packet
 * whose source the host would answer by another interface than the one it arrived on; a loose
 * one (2) one whose source it has no route back to at all.
 */
export function reversePathDrop(x: Crossing): ReversePath | undefined {
  if (x.src.includes(':')) return undefined
  const { all, setting } = rpFilter(x.host, x.inIface)
  if (!setting || (setting.value !== 1 && setting.value !== 2)) return undefined
  const mode = setting.value
  // The kernel looks the source up as a destination, from the packet's destination, with no in
  // interface (fib_validate_source).
  const back = interfaceToward(x.host, x.src, { src: x.dst })
  if (mode === 1 ? back === x.inIface : back !== undefined) return undefined
  // Loose mode lets in any source with a route back; without one, only no filtering does.
  const target = back === undefined ? 0 : 2
  return { mode, back, setting, fix: rpFilterFix(x.inIface, all, target) }
}

/**
 * A host's reverse-path filter on one interface: the `all` and the interface's sysctl values as
 * its snapshots give them (whole numbers, with where they were read), and the one in force, the
 * larger (of equal values, the interface's own is the one to show).
 */
export function rpFilter(
  h: HostEvidence,
  dev: string
): { all?: ReversePath['setting']; setting?: ReversePath['setting'] } {
  const read = (key: string): ReversePath['setting'] | undefined => {
    const v = sysctlValue(h, key, (s) => Number.isInteger(Number(s)))
    return v && { key, value: Number(v.value), file: v.file, line: v.line }
  }
  const all = read('net.ipv4.conf.all.rp_filter')
  const own = read(`net.ipv4.conf.${dev}.rp_filter`)
  return { all, setting: !all ? own : !own ? all : all.value > own.value ? all : own }
}

/**
 * The sysctl commands that set an interface's reverse-path filter to `target`: the larger of
 * `all` and the interface's value counts, so `all` is lowered too when it is above.
 */
export function rpFilterFix(
  dev: string,
  all: ReversePath['setting'] | undefined,
  target: number
): string {
  const fix = [`sysctl -w net.ipv4.conf.${dev}.rp_filter=${target}`]
  if (all && all.value > target) fix.push(`sysctl -w net.ipv4.conf.all.rp_filter=${target}`)
  return fix.join('\n')
}

/** A reverse-path filter that drops a crossing's packet. */
export interface ReversePath {
  /** 1 strict, 2 loose. */
  mode: 1 | 2
  /** The interface the host's route back to the source takes (none: no route back). */
  back: string | undefined
  /** The sysctl that sets the mode, as the snapshot gives it. */
  setting: { key: string; value: number; file: string; line?: number }
  /** sysctl commands that make the filter let the packet in. */
  fix: string
}
