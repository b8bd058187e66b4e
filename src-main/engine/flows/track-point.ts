import { ACK, FIN, RST, SYN } from '../capture/decode-tcp'
import type { Packet } from '../capture/packet'
import { L4_ICMP, L4_TCP, L4_UDP, PacketView, viewFromPacket } from '../capture/packet-view'
import type { Proto } from '../../shared/incident'
import { SAME_PACKET_US, type Endpoint, type PointFlow, type Sighting } from './point-flow'
import { trackTcp } from './track-tcp'
import { attachIcmpError } from './join-icmp-errors'
import { createFlowTable } from './flow-table'
import { AddressIds } from './address-ids'
import type { TrackContext } from './track-context'

/** A UDP or echo conversation idle this long is over; the next packet opens a new one. */
const DATAGRAM_IDLE_US = 120_000_000
/** Sightings kept per flow: enough for a handshake, its retransmissions and an answer. */
export const MAX_SIGHTINGS = 48

/**
 * Solicitations after an advertisement came back that make a discovery a failure: the asker
 * never heard the answer. (One more is the kernel confirming an entry it just learnt.)
 */
const ASKED_AGAIN = 2

/**
 * Whether a neighbour discovery was answered and the asker heard it: an advertisement came back
 * and the asker did not go on asking.
 */
export function discoveryHeard(f: PointFlow): boolean {
  return f.fromB > 0 && f.askedAgain < ASKED_AGAIN
}

/** ICMP types that are errors quoting a packet (RFC 792, RFC 4443). */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12])
const ICMPV6_ERRORS = new Set([1, 2, 3, 4])

/** Tracks every conversation one capture point saw; packets must arrive in time order. */
export interface PointTracker {
  /** Adds a packet given as a view (valid only during the call). */
  add(p: PacketView, file: number, digits: number): void
  /** Adds a packet given as a Packet object. */
  addPacket(p: Packet, file: number, digits: number): void
  /**
   * Notes a packet another of the point's files captured already (dropped as a duplicate): a
   * TCP SYN, SYN-ACK, RST or FIN is added to its sighting as seen in this file too.
   */
  alsoSeen(p: Packet, file: number): void
  finish(): PointFlow[]
}

/** Returns a tracker for one capture point. */
export function createPointTracker(point: string): PointTracker {
  const ids = new AddressIds()
  const current = createFlowTable()
  /** Every conversation, in the order it was opened. */
  const opened: PointFlow[] = []
  const scratch = new PacketView()

  const open = (
    proto: Proto,
    a: Endpoint,
    b: Endpoint,
    known: boolean,
    p: PacketView,
    digits: number
  ): PointFlow => {
    // Every field a conversation may get is here from the start: one shape for every flow,
    // all of it inside the object.
    return {
      proto,
      a,
      b,
      openerKnown: known,
      point,
      firstUs: p.timeUs,
      lastUs: p.timeUs,
      firstSec: p.sec,
      firstNsec: p.nsec,
      firstDigits: digits,
      lastSec: p.sec,
      lastNsec: p.nsec,
      lastDigits: digits,
      packets: 0,
      bytes: 0,
      history: '',
      marks: 0,
      sightings: [],
      icmp: undefined,
      pathMtu: undefined,
      isn: undefined,
      synUs: [],
      synAckUs: [],
      synAckSeq: undefined,
      establishedUs: undefined,
      rst: undefined,
      finA: undefined,
      finB: undefined,
      ttlA: undefined,
      ttlB: undefined,
      dataA: undefined,
      dataB: undefined,
      fromA: 0,
      fromB: 0,
      echoId: undefined,
      neighbour: undefined,
      askedAgain: 0,
      firstIpId: undefined,
      firstLen: undefined
    }
  }

  const ctx: TrackContext = {
    point,
    ids,
    lookup: (proto, idX, portX, idY, portY, id) => current.get(proto, idX, portX, idY, portY, id),
    replace(flow, idX, portX, idY, portY, id) {
      const old = current.set(flow.proto, idX, portX, idY, portY, id, flow)
      if (old !== flow) opened.push(flow)
    },
    open
  }

  /** Returns the id of the packet's source (or destination) address. */
  const addressId = (p: PacketView, src: boolean): number => {
    if (p.ipOff < 0) return ids.ofText(src ? p.full!.ip!.src : p.full!.ip!.dst)
    if (p.ipVersion === 4) return ids.v4(src ? p.src4 : p.dst4)
    return ids.v6(p.b, p.ipOff + (src ? 8 : 24))
  }
  const add = (p: PacketView, file: number, digits: number): void => {
    const l4 = p.l4
    if (p.ipVersion === 0 || l4 === 0) return
    if (l4 === L4_TCP) {
      trackTcp(ctx, p, addressId(p, true), addressId(p, false), file, digits)
    } else if (l4 === L4_UDP) {
      trackDatagram(p, addressId(p, true), addressId(p, false), file, digits)
    } else {
      const errors = l4 === L4_ICMP ? ICMP_ERRORS : ICMPV6_ERRORS
      if (errors.has(p.icmpType)) attachIcmpError(ctx, p, file, digits)
      else if (l4 !== L4_ICMP && (p.icmpType === 135 || p.icmpType === 136))
        trackNeighbour(p, addressId(p, true), addressId(p, false), digits)
      else trackEcho(p, addressId(p, true), addressId(p, false), file, digits)
    }
  }

  /** Neighbour discoveries by soliciting address and target, the current one of each pair. */
  const discoveries = new Map<string, PointFlow>()

  return {
    add,
    addPacket(p, file, digits) {
      viewFromPacket(scratch, p)
      add(scratch, file, digits)
    },
    alsoSeen(p, file) {
      const l4 = p.l4
      if (!l4 || !p.ip) return
      viewFromPacket(scratch, p)
      const srcId = addressId(scratch, true)
      const dstId = addressId(scratch, false)
      let flow: PointFlow | undefined
      let what: Sighting['what'] | undefined
      let seq: number | undefined
      if (l4.kind === 'tcp') {
        const kind = segmentKind(l4.flags)
        what = kind !== 'other' ? kind : l4.flags & FIN ? 'fin' : undefined
        if (what === undefined) return
        seq = l4.seq
        flow = current.get('tcp', srcId, l4.sport, dstId, l4.dport, 0)
      } else if (l4.kind === 'udp') {
        flow = current.get('udp', srcId, l4.sport, dstId, l4.dport, 0)
        if (!flow) return
        const fromA = flow.a.port === l4.sport && flow.a.ip === ids.texts[srcId]
        what = fromA ? 'request' : 'reply'
      } else if ((l4.kind === 'icmp' || l4.kind === 'icmpv6') && l4.id !== undefined) {
        const v6 = l4.kind === 'icmpv6'
        const request = v6 ? l4.type === 128 : l4.type === 8
        if (!request && l4.type !== (v6 ? 129 : 0)) return
        flow = current.get(l4.kind, srcId, 0, dstId, 0, l4.id)
        what = request ? 'request' : 'reply'
      }
      if (!flow || what === undefined) return
      const len = ipLength(p)
      const list = flow.sightings
      for (let i = list.length - 1; i >= 0; i--) {
        const s = list[i]
        if (s.what !== what || s.seq !== seq || s.file === file) continue
        if (seq === undefined && s.len !== len) continue
        if (Math.abs(s.timeUs - p.timeUs) > SAME_PACKET_US) continue
        const also = (s.also ??= [])
        for (let k = 0; k < also.length; k += 2) if (also[k] === file) return
        also.push(file, p.n)
        return
      }
    },
    finish() {
      // Neighbour discovery that worked is the link doing its job, in every IPv6 capture: only
      // the solicitations nobody answered are conversations to report.
      // One solicitation with no advertisement seen says nothing: a point beside the link sees
      // the multicast question and never the unicast answer, and the kernel asks three times
      // before it gives up.
      return byFirstPacket(
        opened.filter((f) => !f.neighbour || (!discoveryHeard(f) && (f.fromB > 0 || f.fromA > 1)))
      )
    }
  }

  /**
   * A neighbour solicitation (RFC 4861) opens or continues the discovery of its target by its
   * source; an advertisement for that target sent back to the source answers it. Duplicate
   * address detection (from the unspecified address) and unsolicited advertisements (to all
   * nodes) belong to no discovery.
   */
  function trackNeighbour(p: PacketView, srcId: number, dstId: number, digits: number): void {
    const target = p.full?.l4?.kind === 'icmpv6' ? p.full.l4.target : undefined
    if (target === undefined) return
    const solicit = p.icmpType === 135
    const asker = ids.texts[solicit ? srcId : dstId]
    if (asker === '::' || /^ff/i.test(asker)) return
    const targetId = ids.ofText(target)
    const key = `${solicit ? srcId : dstId}>${targetId}`
    let flow = discoveries.get(key)
    if (!solicit) {
      if (!flow) return
      count(flow, p, digits)
      flow.fromB++
      if (flow.fromB === 1) flow.history += 'a'
      return
    }
    if (!flow || p.timeUs - flow.lastUs > DATAGRAM_IDLE_US) {
      flow = open('icmpv6', { ip: asker, port: 0 }, { ip: target, port: 0 }, true, p, digits)
      flow.neighbour = true
      flow.firstIpId = undefined
      discoveries.set(key, flow)
      opened.push(flow)
    }
    count(flow, p, digits)
    flow.fromA++
    if (flow.fromB > 0) flow.askedAgain++
    if (flow.history.length < 16) flow.history += 'N'
  }

  function trackDatagram(
    udp: PacketView,
    srcId: number,
    dstId: number,
    file: number,
    digits: number
  ): void {
    const p = udp
    const src = ids.texts[srcId]
    let flow = current.get('udp', srcId, udp.sport, dstId, udp.dport, 0)
    if (!flow || p.timeUs - flow.lastUs > DATAGRAM_IDLE_US) {
      flow = open(
        'udp',
        { ip: src, port: udp.sport },
        { ip: ids.texts[dstId], port: udp.dport },
        true,
        p,
        digits
      )
      flow.firstIpId = p.ipVersion === 4 ? p.ipId : undefined
      flow.firstLen = udp.payloadLen
      ctx.replace(flow, srcId, udp.sport, dstId, udp.dport, 0)
    }
    const fromA = flow.a.port === udp.sport && flow.a.ip === src
    count(flow, p, digits)
    if (fromA) {
      flow.fromA++
      if (flow.fromA === 1) {
        flow.history += 'D'
        sight(flow, 'request', p, file, digits, undefined)
      }
    } else {
      flow.fromB++
      if (flow.fromB === 1) {
        flow.history += 'd'
        sight(flow, 'reply', p, file, digits, undefined)
      }
    }
  }

  function trackEcho(
    p: PacketView,
    srcId: number,
    dstId: number,
    file: number,
    digits: number
  ): void {
    const kind = p.l4 === L4_ICMP ? 'icmp' : 'icmpv6'
    const v6 = kind === 'icmpv6'
    const type = p.icmpType
    const request = v6 ? type === 128 : type === 8
    const reply = v6 ? type === 129 : type === 0
    const echoId = p.icmpId
    if (!(request || reply) || echoId < 0) return
    const src = { ip: ids.texts[srcId], port: 0 }
    const dst = { ip: ids.texts[dstId], port: 0 }
    let flow = current.get(kind, srcId, 0, dstId, 0, echoId)
    if (!flow || p.timeUs - flow.lastUs > DATAGRAM_IDLE_US) {
      // The requester opened the conversation, whichever packet came first.
      flow = request
        ? open(kind, src, dst, true, p, digits)
        : open(kind, dst, src, false, p, digits)
      flow.echoId = echoId
      flow.firstIpId = p.ipVersion === 4 ? p.ipId : undefined
      ctx.replace(flow, srcId, 0, dstId, 0, echoId)
    }
    count(flow, p, digits)
    if (request) flow.fromA++
    else flow.fromB++
    if (request ? flow.fromA === 1 : flow.fromB === 1)
      sight(flow, request ? 'request' : 'reply', p, file, digits, undefined)
    if (flow.history.length < 16) flow.history += request ? 'Q' : 'p'
  }
}

/**
 * Returns the flows sorted by first packet time, ties in their given order (the order they
 * were opened): what a stable sort by firstUs gives, comparing numbers in one typed array
 * rather than fields of 50,000 objects spread over the heap.
 */
function byFirstPacket(flows: PointFlow[]): PointFlow[] {
  const keys = new Float64Array(flows.length)
  const order = new Array<number>(flows.length)
  for (let i = 0; i < flows.length; i++) {
    keys[i] = flows[i].firstUs
    order[i] = i
  }
  order.sort((x, y) => keys[x] - keys[y] || x - y)
  return order.map((i) => flows[i])
}

/** Returns the packet's IP length: the same whatever link it was captured on. */
export function ipLength(p: Packet): number {
  const ip = p.ip
  if (!ip) return p.len
  if (ip.version === 4) return ip.totalLen || ip.impliedLen || p.len
  return ip.payloadLen ? ip.payloadLen + 40 : p.len
}

/** ipLength of a packet view. */
export function viewIpLength(p: PacketView): number {
  if (p.ipVersion === 4)
    return p.totalLen || (p.ipOff >= 0 ? p.end - p.ipOff : (impliedLen(p.full) ?? p.len))
  if (p.ipVersion === 6) return p.ipPayloadLen ? p.ipPayloadLen + 40 : p.len
  return p.len
}

/** The captured bytes that stand for an IPv4 total length of 0, of a fully decoded packet. */
function impliedLen(p: Packet | undefined): number | undefined {
  return p?.ip?.version === 4 ? p.ip.impliedLen : undefined
}

/** Counts a packet on a flow (bytes at the IP layer) and moves its last time. */
export function count(flow: PointFlow, p: PacketView, digits: number): void {
  flow.packets++
  flow.bytes += viewIpLength(p)
  if (p.timeUs >= flow.lastUs) {
    flow.lastUs = p.timeUs
    flow.lastSec = p.sec
    flow.lastNsec = p.nsec
    flow.lastDigits = digits
  }
}

/** Keeps a packet of interest on the flow, up to MAX_SIGHTINGS. */
export function sight(
  flow: PointFlow,
  what: Sighting['what'],
  p: PacketView,
  file: number,
  digits: number,
  seq: number | undefined
): void {
  if (flow.sightings.length >= MAX_SIGHTINGS) return
  flow.sightings = appended(flow.sightings, {
    what,
    timeUs: p.timeUs,
    sec: p.sec,
    nsec: p.nsec,
    digits,
    file,
    frame: p.n,
    ttl: p.ipVersion !== 0 ? p.ttl : 0,
    len: viewIpLength(p),
    ipId: p.ipVersion === 4 ? p.ipId : undefined,
    seq,
    flags: p.l4 === L4_TCP ? p.flags : undefined,
    also: undefined
  })
}

/**
 * Returns the list with the item added: the list itself, or a new list of just the item when the
 * list was empty. Most conversations keep one SYN and one sighting; a first push would give the
 * empty list room for 17 items, about 150 bytes per list per conversation.
 */
export function appended<T>(list: T[], item: T): T[] {
  if (list.length > 0) {
    list.push(item)
    return list
  }
  return [item]
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

/** Returns whether a segment with these flags is a bare SYN, a SYN-ACK, or an RST. */
export function segmentKind(flags: number): 'syn' | 'syn-ack' | 'rst' | 'other' {
  if (flags & RST) return 'rst'
  if (flags & SYN) return flags & ACK ? 'syn-ack' : 'syn'
  return 'other'
}

export { FIN }
