import { u16 } from './bytes'
import { formatIpv4 } from './format-address'
import type { Ipv4 } from './packet'

/** Returns the IPv4 header at `off` (RFC 791 §3.1), or why it could not be read. */
export function decodeIpv4(b: Uint8Array, off: number, end: number): Ipv4 | string {
  if (end - off < 20) return `IPv4 header truncated: ${Math.max(0, end - off)} of 20 bytes`
  const vihl = b[off]
  if (vihl >> 4 !== 4) return `IP version ${vihl >> 4} where 4 was expected`
  // RFC 791 §3.1: IHL is in 32-bit words.
  const headerLen = (vihl & 0x0f) * 4
  if (headerLen < 20) return `IPv4 header length ${headerLen} is below the 20-byte minimum`
  const flagsFrag = u16(b, off + 6)
  const ip: Ipv4 = {
    version: 4,
    src: formatIpv4(b, off + 12),
    dst: formatIpv4(b, off + 16),
    headerLen,
    tos: b[off + 1],
    totalLen: u16(b, off + 2),
    id: u16(b, off + 4),
    df: (flagsFrag & 0x4000) !== 0,
    mf: (flagsFrag & 0x2000) !== 0,
    fragOffset: (flagsFrag & 0x1fff) * 8,
    ttl: b[off + 8],
    proto: b[off + 9],
    checksum: u16(b, off + 10),
    options: undefined
  }
  if (headerLen > 20) ip.options = optionTypes(b, off + 20, Math.min(off + headerLen, end))
  return ip
}

function optionTypes(b: Uint8Array, off: number, end: number): number[] {
  const types: number[] = []
  let o = off
  while (o < end) {
    const t = b[o]
    types.push(t)
    if (t === 0) break
    if (t === 1) {
      o++
      continue
    }
    const len = o + 1 < end ? b[o + 1] : 0
    if (len < 2) break
    o += len
  }
  return types
}
