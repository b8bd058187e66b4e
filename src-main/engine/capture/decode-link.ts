import { u16, u32, u32le } from './bytes'
import { decodeIp } from './decode-ip'
import { decodeNflog } from './link-nflog'
import type { Packet } from './packet'
import type { createReassembler } from './reassemble-ip'

type Reassembler = ReturnType<typeof createReassembler>

/** LINKTYPE_ values Verdict decodes (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  PPP_HDLC: 50,
  RAW_BSD12: 12,
  RAW_BSD14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276
} as const

const SUPPORTED = new Set<number>(Object.values(LINKTYPE))

/** Returns whether packets of this link type can be decoded. */
export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType)
}

/** Returns the name of a link type, for messages. */
export function linkTypeName(linkType: number): string {
  const entry = Object.entries(LINKTYPE).find(([, v]) => v === linkType)
  return entry ? entry[0] : `LINKTYPE ${linkType}`
}

/** Decodes one frame of the given link type into `pkt` (link facts, IP, transport). */
export function decodeFrame(
  linkType: number,
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return decodeEthernet(b, off, end, pkt, frags)
    case LINKTYPE.LINUX_SLL:
      return decodeSll(b, off, end, pkt, frags)
    case LINKTYPE.LINUX_SLL2:
      return decodeSll2(b, off, end, pkt, frags)
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_BSD12:
    case LINKTYPE.RAW_BSD14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return decodeIp(b, off, end, pkt, frags)
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      return decodeLoopback(linkType, b, off, end, pkt, frags)
    case LINKTYPE.NFLOG:
      return decodeNflog(b, off, end, pkt, frags)
    case LINKTYPE.PPP:
    case LINKTYPE.PPP_HDLC:
      return decodePpp(b, off, end, pkt, frags)
  }
  pkt.problem = `unsupported link type ${linkType}`
}

/** Dispatches on an EtherType; 802.1Q/802.1ad tags are peeled first. */
function decodeEtherType(
  type: number,
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  // IEEE 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard QinQ 0x9100.
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (end - off < 4) {
      pkt.problem = 'VLAN tag truncated'
      return
    }
    ;(pkt.link.vlan ??= []).push(u16(b, off) & 0x0fff)
    type = u16(b, off + 2)
    off += 4
  }
  // Cisco VN-Tag (0x8926): a 6-byte tag, then the real EtherType.
  if (type === 0x8926 && end - off >= 6)
    return decodeEtherType(u16(b, off + 4), b, off + 6, end, pkt, frags)
  pkt.link.etherType = type
  if (type === 0x0800 || type === 0x86dd) decodeIp(b, off, end, pkt, frags)
  else if (type === 0x8847 || type === 0x8848) decodeMpls(b, off, end, pkt, frags)
}

/** MPLS (RFC 3032): 4-byte label entries until the bottom-of-stack bit, then IP by its version nibble. */
function decodeMpls(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  let o = off
  while (end - o >= 4) {
    const bottom = (b[o + 2] & 0x01) === 1
    o += 4
    if (bottom) {
      const version = end > o ? b[o] >> 4 : 0
      if (version === 4 || version === 6) decodeIp(b, o, end, pkt, frags)
      return
    }
  }
}

/** PPP (RFC 1661), optionally with the HDLC address/control bytes 0xff 0x03 (RFC 1662). */
function decodePpp(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  let o = off
  if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2
  if (end - o < 1) return
  // Protocol-field compression (RFC 1661 §6.5): an odd first byte is a one-byte protocol.
  let proto: number
  if (b[o] & 1) {
    proto = b[o]
    o += 1
  } else {
    if (end - o < 2) return
    proto = u16(b, o)
    o += 2
  }
  if (proto === 0x21 || proto === 0x57) decodeIp(b, o, end, pkt, frags)
  else if (proto === 0x281 || proto === 0x283) decodeMpls(b, o, end, pkt, frags)
}

function decodeEthernet(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 14) {
    pkt.problem = `Ethernet header truncated: ${Math.max(0, end - off)} of 14 bytes`
    return
  }
  let type = u16(b, off + 12)
  let o = off + 14
  if (type <= 1500) {
    // IEEE 802.3 length field: look for LLC/SNAP carrying an EtherType (RFC 1042).
    if (end - o >= 8 && b[o] === 0xaa && b[o + 1] === 0xaa && b[o + 2] === 0x03) {
      type = u16(b, o + 6)
      o += 8
    } else {
      return
    }
  }
  decodeEtherType(type, b, o, end, pkt, frags)
}

/** Linux cooked capture v1: 16-byte header (pcap-linktype(7), LINKTYPE_LINUX_SLL). */
function decodeSll(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 16) {
    pkt.problem = `Linux cooked header truncated: ${Math.max(0, end - off)} of 16 bytes`
    return
  }
  pkt.link.sllPktType = u16(b, off)
  const hatype = u16(b, off + 2)
  const proto = u16(b, off + 14)
  decodeCookedPayload(hatype, proto, b, off + 16, end, pkt, frags)
}

/** Linux cooked capture v2: 20-byte header with the interface index (LINKTYPE_LINUX_SLL2). */
function decodeSll2(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 20) {
    pkt.problem = `Linux cooked v2 header truncated: ${Math.max(0, end - off)} of 20 bytes`
    return
  }
  const proto = u16(b, off)
  pkt.link.sllIfindex = u32(b, off + 4)
  const hatype = u16(b, off + 8)
  pkt.link.sllPktType = b[off + 10]
  decodeCookedPayload(hatype, proto, b, off + 20, end, pkt, frags)
}

function decodeCookedPayload(
  hatype: number,
  proto: number,
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  // ARPHRD_NETLINK (824) carries netlink messages, not an EtherType.
  if (hatype === 824) return
  decodeEtherType(proto, b, off, end, pkt, frags)
}

/** BSD loopback: a 4-byte address family, host order for NULL, network order for LOOP. */
function decodeLoopback(
  linkType: number,
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 4) {
    pkt.problem = `loopback header truncated: ${Math.max(0, end - off)} of 4 bytes`
    return
  }
  let family = linkType === LINKTYPE.LOOP ? u32(b, off) : u32le(b, off)
  // DLT_NULL is in the capturing host's byte order; a value above 0xffff was written big-endian.
  if (linkType === LINKTYPE.NULL && family > 0xffff) family = u32(b, off)
  // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
  if (family === 2 || family === 10 || family === 24 || family === 28 || family === 30) {
    decodeIp(b, off + 4, end, pkt, frags)
  }
}
