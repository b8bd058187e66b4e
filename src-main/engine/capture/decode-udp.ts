import { u16 } from './bytes'
import type { Udp } from './packet'

/** Returns the UDP header at `off` (RFC 768), or why it could not be read. */
export function decodeUdp(
  b: Uint8Array,
  off: number,
  end: number,
  datagramLen: number
): Udp | string {
  if (end - off < 8) return `UDP header truncated: ${Math.max(0, end - off)} of 8 bytes`
  const length = u16(b, off + 4)
  return {
    kind: 'udp',
    sport: u16(b, off),
    dport: u16(b, off + 2),
    length,
    checksum: u16(b, off + 6),
    payloadLen: Math.max(0, Math.min(length, datagramLen) - 8)
  }
}
