import { u16, u32 } from './bytes'
import { formatIpv6 } from './format-address'
import type { Ipv6 } from './packet'

/** Extension headers that share the "next header, length in 8-octet units" shape (RFC 8200 §4). */
const GENERIC_EXT = new Set([0, 43, 60, 135, 139, 140, 253, 254])

/** The IPv6 header and where its upper-layer payload begins. */
export interface Ipv6Decoded {
  ip: Ipv6
  /** Offset of the upper-layer header (after the extension chain). */
  payloadOff: number
  problem?: string
}

/** Returns the IPv6 header at `off` with its extension chain walked (RFC 8200), or why not. */
export function decodeIpv6(b: Uint8Array, off: number, end: number): Ipv6Decoded | string {
  if (end - off < 40) return `IPv6 header truncated: ${Math.max(0, end - off)} of 40 bytes`
  const word = u32(b, off)
  if (word >>> 28 !== 6) return `IP version ${word >>> 28} where 6 was expected`
  const ip: Ipv6 = {
    version: 6,
    src: formatIpv6(b, off + 8),
    dst: formatIpv6(b, off + 24),
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    payloadLen: u16(b, off + 4),
    ttl: b[off + 7],
    proto: b[off + 6],
    extHeaders: undefined,
    fragment: undefined
  }
  let next = ip.proto
  let o = off + 40
  let problem: string | undefined
  while (GENERIC_EXT.has(next) || next === 44 || next === 51) {
    if (end - o < 8) {
      problem = `IPv6 extension header ${next} truncated at offset ${o - off}`
      break
    }
    ;(ip.extHeaders ??= []).push(next)
    const nh = b[o]
    let len: number
    if (next === 44) {
      // RFC 8200 §4.5: fragment header, fixed 8 bytes.
      const offFlags = u16(b, o + 2)
      ip.fragment = { id: u32(b, o + 4), offset: offFlags & 0xfff8, more: (offFlags & 1) === 1 }
      len = 8
      o += len
      next = nh
      // Only the first fragment carries the upper-layer header.
      if (ip.fragment.offset !== 0) break
      continue
    } else if (next === 51) {
      // RFC 4302 §2.2: AH length is in 4-octet units, minus 2.
      len = (b[o + 1] + 2) * 4
    } else {
      len = (b[o + 1] + 1) * 8
    }
    o += len
    next = nh
  }
  ip.proto = next
  return problem === undefined ? { ip, payloadOff: o } : { ip, payloadOff: o, problem }
}
