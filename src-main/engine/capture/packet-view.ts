/**
 * A reused, numeric view of one decoded packet: what the conversation tracker
 * and the benchmark read, without an object graph or address text per packet.
 *
 * The common frames (Ethernet with VLAN tags, raw IP; IPv4 without
 * fragmentation; IPv6 without extension headers; TCP and UDP) are decoded
 * straight into the view's numbers. Every other frame (other links, fragments,
 * ICMP, anything malformed) is decoded by the full decoder into a Packet, kept
 * as `full`, and the view's numbers are copied from it; either way the numbers
 * are the ones the Packet would carry.
 *
 * The view and its bytes are valid only while the sink runs: the reader reuses both.
 */
import { decodeFrame, LINKTYPE } from './decode-link'
import { formatIpv4, formatIpv6 } from './format-address'
import type { Packet } from './packet'

/** Transport kinds of `PacketView.l4`: the IP protocol number, 0 when there is none. */
export const L4_NONE = 0
export const L4_ICMP = 1
export const L4_TCP = 6
export const L4_UDP = 17
export const L4_ICMPV6 = 58

/** VLAN tags a view holds; deeper stacks take the full decoder. */
const MAX_VLAN = 4
const EMPTY = new Uint8Array(0)

export class PacketView {
  n = 0
  iface = 0
  sec = 0
  nsec = 0
  timeUs = 0
  len = 0
  caplen = 0
  linkType = 0
  comment: string | undefined = undefined
  /** The frame's bytes (after any FCS is dropped): b[off, end). Valid only inside the sink. */
  b: Uint8Array = EMPTY
  off = 0
  end = 0
  vlanCount = 0
  vlan = new Uint16Array(MAX_VLAN)
  /** EtherType of the link payload, -1 when the link has none. */
  etherType = -1
  /** Linux cooked capture packet type, -1 when not a cooked capture. */
  sllPktType = -1
  /** 4, 6, or 0 when the packet has no IP layer. */
  ipVersion = 0
  /** Offset of the IP header in `b`, -1 when the addresses are only in `full` (text). */
  ipOff = -1
  /** IPv4 addresses as int32 (when ipOff >= 0 and ipVersion is 4). */
  src4 = 0
  dst4 = 0
  ipId = 0
  totalLen = 0
  /** IPv6 payload length. */
  ipPayloadLen = 0
  flowLabel = 0
  ttl = 0
  proto = 0
  df = false
  /** L4_TCP, L4_UDP, L4_ICMP, L4_ICMPV6 or L4_NONE. */
  l4 = 0
  sport = 0
  dport = 0
  seq = 0
  ack = 0
  flags = 0
  win = 0
  checksum = 0
  payloadLen = 0
  /** TCP options: kind mask (0 when none), values or -1 when absent. */
  optMask = 0
  mss = -1
  wscale = -1
  tsval = -1
  tsecr = -1
  /** SACK blocks: count, and the offset of the first in `b` (fast path) or in full's options. */
  sackCount = 0
  sackOff = 0
  icmpType = 0
  icmpCode = 0
  /** Echo identifier and sequence, -1 when absent. */
  icmpId = -1
  icmpSeq = -1
  mtu = -1
  /** The Packet the full decoder made, for frames the view does not decode itself. */
  full: Packet | undefined = undefined

  /** Returns the source address text. */
  srcText(): string {
    if (this.ipOff < 0) return this.full!.ip!.src
    return this.ipVersion === 4
      ? formatIpv4(this.b, this.ipOff + 12)
      : formatIpv6(this.b, this.ipOff + 8)
  }

  /** Returns the destination address text. */
  dstText(): string {
    if (this.ipOff < 0) return this.full!.ip!.dst
    return this.ipVersion === 4
      ? formatIpv4(this.b, this.ipOff + 16)
      : formatIpv6(this.b, this.ipOff + 24)
  }

  /** Returns the packet as a Packet object (decoded now from the frame's bytes when need be). */
  packet(): Packet {
    if (this.full) return this.full
    const pkt = newPacket(
      this.n,
      this.iface,
      this.sec,
      this.nsec,
      this.len,
      this.caplen,
      this.linkType,
      this.comment
    )
    // The view decodes no fragment, so the reassembler is never needed here.
    decodeFrame(this.linkType, this.b, this.off, this.end, pkt, undefined)
    this.full = pkt
    return pkt
  }
}

/** Returns a Packet with its record facts set and no layer decoded yet. */
export function newPacket(
  n: number,
  iface: number,
  sec: number,
  nsec: number,
  len: number,
  caplen: number,
  linkType: number,
  comment: string | undefined
): Packet {
  return {
    n,
    iface,
    sec,
    nsec,
    timeUs: sec * 1e6 + Math.floor(nsec / 1000),
    len,
    caplen,
    link: {
      type: linkType,
      vlan: undefined,
      sllPktType: undefined,
      sllIfindex: undefined,
      nflog: undefined,
      etherType: undefined
    },
    ip: undefined,
    l4: undefined,
    reassembled: undefined,
    comment,
    problem: undefined
  }
}

/**
 * Decodes the frame b[off, end) into the view; returns false when the frame
 * needs the full decoder (the view's layer fields are then meaningless). `d` is
 * a DataView over the same bytes as `b` (same buffer, same byte offset).
 *
 * Link, IP and transport are read in this one function, in the order the
 * layers come, with no call per layer: this runs for nearly every packet of a
 * capture. Multi-byte fields are read through the DataView: V8 compiles each
 * read to one bounds check and one load, where reading byte by byte checks
 * every byte. Every read lies before `end`, so none can throw.
 */
export function decodeViewFrame(
  v: PacketView,
  linkType: number,
  b: Uint8Array,
  off: number,
  end: number,
  d: DataView
): boolean {
  v.vlanCount = 0
  v.etherType = -1
  v.sllPktType = -1
  v.ipVersion = 0
  v.ipOff = -1
  v.l4 = L4_NONE
  if (linkType === LINKTYPE.ETHERNET) {
    if (end - off < 14) return false
    let type = d.getUint16(off + 12)
    off += 14
    if (type <= 1500) return false
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      const vlan = v.vlan
      let count = 0
      do {
        if (end - off < 4 || count === MAX_VLAN) return false
        vlan[count] = d.getUint16(off) & 0x0fff
        v.vlanCount = ++count
        type = d.getUint16(off + 2)
        off += 4
      } while (type === 0x8100 || type === 0x88a8 || type === 0x9100)
    }
    if (type === 0x8926 || type === 0x8847 || type === 0x8848) return false
    v.etherType = type
    if (type !== 0x0800 && type !== 0x86dd) return true
  } else if (
    linkType !== LINKTYPE.RAW &&
    linkType !== LINKTYPE.RAW_BSD12 &&
    linkType !== LINKTYPE.RAW_BSD14 &&
    linkType !== LINKTYPE.IPV4 &&
    linkType !== LINKTYPE.IPV6
  ) {
    return false
  }

  // IP: b[off] is the first byte of the IPv4 or IPv6 header.
  if (end - off < 1) return false
  const version = b[off] >> 4
  let ipEnd: number
  let o: number
  let proto: number
  if (version === 4) {
    if (end - off < 20) return false
    const headerLen = (b[off] & 0x0f) * 4
    if (headerLen < 20) return false
    const totalLen = d.getUint16(off + 2)
    if (totalLen !== 0 && totalLen < headerLen) return false
    const flagsFrag = d.getUint16(off + 6)
    // Fragments go through the full decoder and its reassembler.
    if ((flagsFrag & 0x3fff) !== 0) return false
    proto = b[off + 9]
    v.ipVersion = 4
    v.src4 = d.getInt32(off + 12)
    v.dst4 = d.getInt32(off + 16)
    v.totalLen = totalLen
    v.ipId = d.getUint16(off + 4)
    v.df = (flagsFrag & 0x4000) !== 0
    v.ttl = b[off + 8]
    v.proto = proto
    ipEnd = totalLen === 0 ? end : off + totalLen
    o = off + headerLen
  } else if (version === 6) {
    if (end - off < 40) return false
    proto = b[off + 6]
    // Extension headers (RFC 8200 §4) take the full decoder.
    if (proto === 0 || proto === 43 || proto === 44 || proto === 51 || proto === 60) return false
    if (proto === 135 || proto === 139 || proto === 140 || proto === 253 || proto === 254)
      return false
    const payloadLen = d.getUint16(off + 4)
    v.ipVersion = 6
    v.flowLabel = ((b[off + 1] & 0x0f) << 16) | d.getUint16(off + 2)
    v.ipPayloadLen = payloadLen
    v.ttl = b[off + 7]
    v.proto = proto
    ipEnd = payloadLen === 0 ? end : off + 40 + payloadLen
    o = off + 40
  } else {
    return false
  }
  v.ipOff = off
  // The transport header at b[o]: its bytes end at dataEnd, its length by the IP header.
  const dataEnd = end < ipEnd ? end : ipEnd
  const length = ipEnd - o

  if (proto === 6) {
    if (dataEnd - o < 20) return false
    const headerLen = (b[o + 12] >> 4) * 4
    if (headerLen < 20) return false
    const payload = length - headerLen
    v.l4 = L4_TCP
    v.sport = d.getUint16(o)
    v.dport = d.getUint16(o + 2)
    v.seq = d.getUint32(o + 4)
    v.ack = d.getUint32(o + 8)
    v.flags = ((b[o + 12] & 0x01) << 8) | b[o + 13]
    v.win = d.getUint16(o + 14)
    v.checksum = d.getUint16(o + 16)
    v.payloadLen = payload > 0 ? payload : 0
    v.sackCount = 0
    if (headerLen === 20) {
      v.optMask = 0
      v.mss = -1
      v.wscale = -1
      v.tsval = -1
      v.tsecr = -1
    } else if (
      headerLen === 32 &&
      dataEnd - o >= 32 &&
      b[o + 20] === 1 &&
      b[o + 21] === 1 &&
      b[o + 22] === 8 &&
      b[o + 23] === 10
    ) {
      // NOP, NOP, timestamps and nothing else: what most segments of a Linux peer carry.
      v.optMask = (1 << 1) | (1 << 8)
      v.mss = -1
      v.wscale = -1
      v.tsval = d.getUint32(o + 24)
      v.tsecr = d.getUint32(o + 28)
    } else {
      decodeViewTcpOptions(v, b, o + 20, o + headerLen < dataEnd ? o + headerLen : dataEnd)
    }
    return true
  }
  if (proto === 17) {
    if (dataEnd - o < 8) return false
    const udpLen = d.getUint16(o + 4)
    const payload = (udpLen < length ? udpLen : length) - 8
    v.l4 = L4_UDP
    v.sport = d.getUint16(o)
    v.dport = d.getUint16(o + 2)
    v.checksum = d.getUint16(o + 6)
    v.payloadLen = payload > 0 ? payload : 0
    return true
  }
  // ICMP and ICMPv6 (rare, and errors quote a packet) take the full decoder.
  return proto !== 1 && proto !== 58
}

/**
 * Walks the TCP options at b[o, end) into the view: the same walk as
 * decodeTcpOptions (RFC 9293 §3.2, RFC 7323, RFC 2018). Most segments of a
 * Linux peer carry NOP, NOP, timestamps and nothing else: that layout is read
 * in one step before the general walk takes whatever follows.
 */
function decodeViewTcpOptions(v: PacketView, b: Uint8Array, o: number, end: number): void {
  let mask = 0
  let mss = -1
  let wscale = -1
  let tsval = -1
  let tsecr = -1
  if (end - o >= 12 && b[o] === 1 && b[o + 1] === 1 && b[o + 2] === 8 && b[o + 3] === 10) {
    mask = (1 << 1) | (1 << 8)
    tsval = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0
    tsecr = ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0
    o += 12
  }
  while (o < end) {
    const kind = b[o]
    mask |= 1 << (kind < 31 ? kind : 31)
    if (kind === 0) break
    if (kind === 1) {
      o++
      continue
    }
    if (o + 1 >= end) break
    const len = b[o + 1]
    if (len < 2 || o + len > end) break
    if (kind === 2) {
      if (len === 4) mss = (b[o + 2] << 8) | b[o + 3]
    } else if (kind === 3) {
      if (len === 3) wscale = b[o + 2]
    } else if (kind === 5) {
      v.sackCount = (len - 2) >> 3
      v.sackOff = o + 2
    } else if (kind === 8 && len === 10) {
      tsval = ((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0
      tsecr = ((b[o + 6] << 24) | (b[o + 7] << 16) | (b[o + 8] << 8) | b[o + 9]) >>> 0
    }
    o += len
  }
  v.optMask = mask
  v.mss = mss
  v.wscale = wscale
  v.tsval = tsval
  v.tsecr = tsecr
}

/** Copies a Packet's numbers into the view; `full` becomes the packet. */
export function viewFromPacket(v: PacketView, p: Packet): void {
  v.n = p.n
  v.iface = p.iface
  v.sec = p.sec
  v.nsec = p.nsec
  v.timeUs = p.timeUs
  v.len = p.len
  v.caplen = p.caplen
  v.linkType = p.link.type
  v.comment = p.comment
  v.full = p
  v.b = EMPTY
  v.off = 0
  v.end = 0
  const vlan = p.link.vlan
  v.vlanCount = 0
  if (vlan) for (let i = 0; i < vlan.length && i < MAX_VLAN; i++) v.vlan[v.vlanCount++] = vlan[i]
  v.etherType = p.link.etherType ?? -1
  v.sllPktType = p.link.sllPktType ?? -1
  v.ipOff = -1
  const ip = p.ip
  v.ipVersion = ip ? ip.version : 0
  if (ip) {
    v.ttl = ip.ttl
    v.proto = ip.proto
    if (ip.version === 4) {
      v.ipId = ip.id
      v.totalLen = ip.totalLen
      v.df = ip.df
    } else {
      v.ipPayloadLen = ip.payloadLen
      v.flowLabel = ip.flowLabel
    }
  }
  const l4 = p.l4
  v.l4 = L4_NONE
  if (!l4) return
  if (l4.kind === 'tcp') {
    v.l4 = L4_TCP
    v.sport = l4.sport
    v.dport = l4.dport
    v.seq = l4.seq
    v.ack = l4.ack
    v.flags = l4.flags
    v.win = l4.win
    v.checksum = l4.checksum
    v.payloadLen = l4.payloadLen
    const o = l4.options
    v.optMask = o ? o.kindMask : 0
    v.mss = o?.mss ?? -1
    v.wscale = o?.wscale ?? -1
    v.tsval = o?.tsval ?? -1
    v.tsecr = o?.tsecr ?? -1
    v.sackCount = o?.sack?.length ?? 0
    v.sackOff = 0
  } else if (l4.kind === 'udp') {
    v.l4 = L4_UDP
    v.sport = l4.sport
    v.dport = l4.dport
    v.checksum = l4.checksum
    v.payloadLen = l4.payloadLen
  } else {
    v.l4 = l4.kind === 'icmp' ? L4_ICMP : L4_ICMPV6
    v.icmpType = l4.type
    v.icmpCode = l4.code
    v.checksum = l4.checksum
    v.icmpId = l4.id ?? -1
    v.icmpSeq = l4.seq ?? -1
    v.mtu = l4.mtu ?? -1
  }
}
