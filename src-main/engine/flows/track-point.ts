import { ACK, FIN, RST, SYN } from '../capture/decode-tcp'
import type { Icmp, Packet, Tcp, Udp } from '../capture/packet'
import type { Proto } from '../../shared/incident'
import type { Endpoint, PointFlow, Sighting, Stamp } from './point-flow'
import { trackTcp } from './track-tcp'
import { attachIcmpError } from './join-icmp-errors'
import { createFlowTable } from './flow-table'
import type { TrackContext } from './track-context'

/** A UDP or echo conversation idle this long is over; the next packet opens a new one. */
const DATAGRAM_IDLE_US = 120_000_000
/** Sightings kept per flow: enough for a handshake, its retransmissions and an answer. */
export const MAX_SIGHTINGS = 48

/** ICMP types that are errors quoting a packet (RFC 792, RFC 4443). */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12])
const ICMPV6_ERRORS = new Set([1, 2, 3, 4])

/** Tracks every conversation one capture point saw; packets must arrive in time order. */
export interface PointTracker {
  add(p: Packet, file: number, digits: number): void
  finish(): PointFlow[]
}

/** Returns a tracker for one capture point. */
export function createPointTracker(point: string): PointTracker {
  const current = createFlowTable()
  const done: PointFlow[] = []

  const open = (
    proto: Proto,
    a: Endpoint,
    b: Endpoint,
    known: boolean,
    p: Packet,
    digits: number
  ): PointFlow => {
    const stamp = { sec: p.sec, nsec: p.nsec, digits }
    return {
      proto,
      a,
      b,
      openerKnown: known,
      point,
      firstUs: p.timeUs,
      lastUs: p.timeUs,
      first: stamp,
      last: { sec: p.sec, nsec: p.nsec, digits },
      packets: 0,
      bytes: 0,
      history: '',
      sightings: [],
      synUs: [],
      synAckUs: [],
      fromA: 0,
      fromB: 0
    }
  }

  const ctx: TrackContext = {
    point,
    lookup: (proto, ipX, portX, ipY, portY, id) => current.get(proto, ipX, portX, ipY, portY, id),
    replace(flow, id) {
      const old = current.set(flow.proto, flow.a.ip, flow.a.port, flow.b.ip, flow.b.port, id, flow)
      if (old) done.push(old)
    },
    open
  }

  return {
    add(p, file, digits) {
      const ip = p.ip
      const l4 = p.l4
      if (!ip || !l4) return
      if (l4.kind === 'tcp') {
        trackTcp(ctx, p, l4, file, digits)
      } else if (l4.kind === 'udp') {
        trackDatagram(p, l4, digits)
      } else {
        const errors = l4.kind === 'icmp' ? ICMP_ERRORS : ICMPV6_ERRORS
        if (errors.has(l4.type)) attachIcmpError(ctx, p, l4, file, digits)
        else trackEcho(p, l4, digits)
      }
    },
    finish() {
      return [...done, ...current.values()].sort((x, y) => x.firstUs - y.firstUs)
    }
  }

  function trackDatagram(p: Packet, udp: Udp, digits: number): void {
    const ip = p.ip!
    let flow = current.get('udp', ip.src, udp.sport, ip.dst, udp.dport, 0)
    if (!flow || p.timeUs - flow.lastUs > DATAGRAM_IDLE_US) {
      flow = open(
        'udp',
        { ip: ip.src, port: udp.sport },
        { ip: ip.dst, port: udp.dport },
        true,
        p,
        digits
      )
      flow.firstIpId = ip.version === 4 ? ip.id : undefined
      flow.firstLen = udp.payloadLen
      ctx.replace(flow, 0)
    }
    const fromA = flow.a.port === udp.sport && flow.a.ip === ip.src
    count(flow, p, digits)
    if (fromA) {
      flow.fromA++
      flow.history += flow.fromA === 1 ? 'D' : ''
    } else {
      flow.fromB++
      flow.history += flow.fromB === 1 ? 'd' : ''
    }
  }

  function trackEcho(p: Packet, icmp: Icmp, digits: number): void {
    const ip = p.ip!
    const v6 = icmp.kind === 'icmpv6'
    const request = v6 ? icmp.type === 128 : icmp.type === 8
    const reply = v6 ? icmp.type === 129 : icmp.type === 0
    if (!(request || reply) || icmp.id === undefined) return
    const src = { ip: ip.src, port: 0 }
    const dst = { ip: ip.dst, port: 0 }
    let flow = current.get(icmp.kind, ip.src, 0, ip.dst, 0, icmp.id)
    if (!flow || p.timeUs - flow.lastUs > DATAGRAM_IDLE_US) {
      // The requester opened the conversation, whichever packet came first.
      flow = request
        ? open(icmp.kind, src, dst, true, p, digits)
        : open(icmp.kind, dst, src, false, p, digits)
      flow.echoId = icmp.id
      flow.firstIpId = ip.version === 4 ? ip.id : undefined
      ctx.replace(flow, icmp.id)
    }
    count(flow, p, digits)
    if (request) flow.fromA++
    else flow.fromB++
    if (flow.history.length < 16) flow.history += request ? 'Q' : 'p'
  }
}

/** Returns the packet's IP length: the same whatever link it was captured on. */
export function ipLength(p: Packet): number {
  const ip = p.ip
  if (!ip) return p.len
  if (ip.version === 4) return ip.totalLen || p.len
  return ip.payloadLen ? ip.payloadLen + 40 : p.len
}

/** Counts a packet on a flow (bytes at the IP layer) and moves its last time. */
export function count(flow: PointFlow, p: Packet, digits: number): void {
  flow.packets++
  flow.bytes += ipLength(p)
  if (p.timeUs >= flow.lastUs) {
    flow.lastUs = p.timeUs
    flow.last.sec = p.sec
    flow.last.nsec = p.nsec
    flow.last.digits = digits
  }
}

/** Keeps a packet of interest on the flow, up to MAX_SIGHTINGS. */
export function sight(
  flow: PointFlow,
  what: Sighting['what'],
  p: Packet,
  file: number,
  digits: number,
  extra: Partial<Sighting> = {}
): void {
  if (flow.sightings.length >= MAX_SIGHTINGS) return
  const stamp: Stamp = { sec: p.sec, nsec: p.nsec, digits }
  flow.sightings.push({
    what,
    timeUs: p.timeUs,
    stamp,
    ref: { file, frame: p.n },
    ttl: p.ip?.ttl ?? 0,
    ipId: p.ip?.version === 4 ? p.ip.id : undefined,
    ...extra
  })
}

/** Returns the order-independent key of a conversation between two endpoints. */
export function datagramKey(proto: string, x: Endpoint, y: Endpoint): string {
  const xs = `${x.ip}|${x.port}`
  const ys = `${y.ip}|${y.port}`
  return xs < ys ? `${proto}|${xs}|${ys}` : `${proto}|${ys}|${xs}`
}

/** Returns whether two endpoints are the same address and port. */
export function sameEndpoint(x: Endpoint, y: Endpoint): boolean {
  return x.port === y.port && x.ip === y.ip
}

/** Returns whether a segment is a bare SYN, a SYN-ACK, or an RST. */
export function segmentKind(tcp: Tcp): 'syn' | 'syn-ack' | 'rst' | 'other' {
  if (tcp.flags & RST) return 'rst'
  if (tcp.flags & SYN) return tcp.flags & ACK ? 'syn-ack' : 'syn'
  return 'other'
}

export { FIN }
