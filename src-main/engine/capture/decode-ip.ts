import { decodeIcmp } from './decode-icmp'
import { decodeIcmpv6 } from './decode-icmpv6'
import { decodeIpv4 } from './decode-ipv4'
import { decodeIpv6 } from './decode-ipv6'
import { decodeTcp } from './decode-tcp'
import { decodeUdp } from './decode-udp'
import { u16, u32 } from './bytes'
import type { Ip, Packet, Quoted, QuotedL4, Transport } from './packet'
import type { createReassembler } from './reassemble-ip'

type Reassembler = ReturnType<typeof createReassembler>

/**
 * Decodes the IP packet at `off` into `pkt.ip` and `pkt.l4`. Fragments go to
 * `frags`; the frame that completes a datagram gets its transport header.
 */
export function decodeIp(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 1) {
    pkt.problem = 'IP header missing'
    return
  }
  const version = b[off] >> 4
  if (version === 4) decodeIpv4Packet(b, off, end, pkt, frags)
  else if (version === 6) decodeIpv6Packet(b, off, end, pkt, frags)
  else pkt.problem = `IP version ${version} is neither 4 nor 6`
}

/** Returns the upper-layer header for protocol `proto` at `off`, or why not. */
export function decodeTransport(
  proto: number,
  b: Uint8Array,
  off: number,
  end: number,
  length: number
): Transport | string | undefined {
  switch (proto) {
    case 6:
      return decodeTcp(b, off, end, length)
    case 17:
      return decodeUdp(b, off, end, length)
    case 1:
      return decodeIcmp(b, off, end, decodeQuoted)
    case 58:
      return decodeIcmpv6(b, off, end, decodeQuoted)
  }
  return undefined
}

function decodeIpv4Packet(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  const ip = decodeIpv4(b, off, end)
  if (typeof ip === 'string') {
    pkt.problem = ip
    return
  }
  pkt.ip = ip
  if (ip.totalLen !== 0 && ip.totalLen < ip.headerLen) {
    pkt.problem = `IPv4 total length ${ip.totalLen} is below the header length ${ip.headerLen}`
    return
  }
  // A total length of 0 is what TSO/GSO captures carry: trust the captured bytes then.
  const ipEnd = ip.totalLen === 0 ? end : off + ip.totalLen
  if (ip.totalLen === 0) ip.impliedLen = end - off
  const dataEnd = Math.min(end, ipEnd)
  const payloadOff = off + ip.headerLen
  if (ip.mf || ip.fragOffset > 0) {
    if (!frags) return
    if (ipEnd > end) return // a fragment cut short by the snapshot length cannot complete a datagram
    const key = `4|${ip.src}|${ip.dst}|${ip.proto}|${ip.id}`
    addFragment(pkt, frags, key, ip.proto, ip.fragOffset, ip.mf, b.subarray(payloadOff, dataEnd))
    return
  }
  setTransport(pkt, ip.proto, b, payloadOff, dataEnd, ipEnd - payloadOff)
}

function decodeIpv6Packet(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  const d = decodeIpv6(b, off, end)
  if (typeof d === 'string') {
    pkt.problem = d
    return
  }
  const ip = d.ip
  pkt.ip = ip
  if (d.problem) {
    pkt.problem = d.problem
    return
  }
  // Payload length 0 means a jumbogram or a TSO capture: trust the captured bytes.
  const ipEnd = ip.payloadLen === 0 ? end : off + 40 + ip.payloadLen
  const dataEnd = Math.min(end, ipEnd)
  if (ip.fragment && (ip.fragment.more || ip.fragment.offset > 0)) {
    if (!frags || ipEnd > end) return
    const key = `6|${ip.src}|${ip.dst}|${ip.fragment.id}`
    addFragment(
      pkt,
      frags,
      key,
      ip.proto,
      ip.fragment.offset,
      ip.fragment.more,
      b.subarray(d.payloadOff, dataEnd)
    )
    return
  }
  setTransport(pkt, ip.proto, b, d.payloadOff, dataEnd, ipEnd - d.payloadOff)
}

/** Hands a fragment to the reassembler; the frame that completes the datagram gets its transport header. */
function addFragment(
  pkt: Packet,
  frags: Reassembler,
  key: string,
  proto: number,
  offset: number,
  more: boolean,
  bytes: Uint8Array
): void {
  const whole = frags.add(key, pkt.n, pkt.timeUs, offset, more, bytes)
  if (whole)
    setTransport(pkt, proto, whole.bytes, 0, whole.bytes.length, whole.bytes.length, whole.frames)
}

function setTransport(
  pkt: Packet,
  proto: number,
  b: Uint8Array,
  off: number,
  end: number,
  length: number,
  frames?: number[]
): void {
  const l4 = decodeTransport(proto, b, off, end, length)
  if (typeof l4 === 'string') pkt.problem = l4
  else if (l4) {
    pkt.l4 = l4
    if (l4.kind === 'tcp' && l4.cut !== undefined)
      pkt.problem = `TCP header truncated: ${l4.cut} of 20 bytes (ports, sequence numbers and flags kept)`
  }
  if (frames) pkt.reassembled = { frames, length }
}

/** Returns the packet quoted inside an ICMP error: IP header and what fits of the transport header. */
export function decodeQuoted(b: Uint8Array, off: number, end: number): Quoted | undefined {
  if (end - off < 1) return undefined
  const version = b[off] >> 4
  let ip: Ip
  let l4Off: number
  if (version === 4) {
    const v4 = decodeIpv4(b, off, end)
    if (typeof v4 === 'string') return undefined
    ip = v4
    l4Off = off + v4.headerLen
    if (v4.fragOffset > 0) return { ip }
  } else if (version === 6) {
    const v6 = decodeIpv6(b, off, end)
    if (typeof v6 === 'string') return undefined
    ip = v6.ip
    l4Off = v6.payloadOff
    if (v6.ip.fragment && v6.ip.fragment.offset > 0) return { ip }
  } else {
    return undefined
  }
  const l4 = quotedL4(ip.proto, b, l4Off, end)
  return l4 ? { ip, l4 } : { ip }
}

function quotedL4(proto: number, b: Uint8Array, off: number, end: number): QuotedL4 | undefined {
  const avail = end - off
  if (proto === 6 || proto === 17) {
    if (avail < 4) return undefined
    const l4: QuotedL4 = {
      kind: proto === 6 ? 'tcp' : 'udp',
      sport: u16(b, off),
      dport: u16(b, off + 2)
    }
    if (proto === 6) {
      if (avail >= 8) l4.seq = u32(b, off + 4)
      if (avail >= 12) l4.ack = u32(b, off + 8)
      if (avail >= 14) l4.flags = ((b[off + 12] & 1) << 8) | b[off + 13]
    }
    return l4
  }
  if (proto === 1 || proto === 58) {
    if (avail < 2) return undefined
    const l4: QuotedL4 = { kind: proto === 1 ? 'icmp' : 'icmpv6', type: b[off], code: b[off + 1] }
    if (avail >= 8) {
      l4.id = u16(b, off + 4)
      l4.seq = u16(b, off + 6)
    }
    return l4
  }
  return undefined
}
