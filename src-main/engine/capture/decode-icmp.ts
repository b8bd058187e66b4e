import { u16 } from './bytes'
import { formatIpv4 } from './format-address'
import type { Icmp, Quoted } from './packet'

/** Decodes a quoted packet; set by decode-ip to break the module cycle. */
export type QuoteDecoder = (b: Uint8Array, off: number, end: number) => Quoted | undefined

/** ICMP types whose body quotes the offending packet (RFC 792, RFC 1812 §4.3.2). */
const ERROR_TYPES = new Set([3, 4, 5, 11, 12])

/** Returns the ICMP message at `off` (RFC 792, RFC 1191 for the frag-needed MTU), or why not. */
export function decodeIcmp(
  b: Uint8Array,
  off: number,
  end: number,
  quote: QuoteDecoder
): Icmp | string {
  if (end - off < 4) return `ICMP header truncated: ${Math.max(0, end - off)} of 4 bytes`
  const type = b[off]
  const code = b[off + 1]
  const icmp: Icmp = {
    kind: 'icmp',
    type,
    code,
    checksum: u16(b, off + 2),
    id: undefined,
    seq: undefined,
    mtu: undefined,
    gateway: undefined,
    target: undefined,
    inner: undefined
  }
  if (end - off < 8) return icmp
  switch (type) {
    case 0:
    case 8:
    case 13:
    case 14:
    case 15:
    case 16:
    case 17:
    case 18:
      icmp.id = u16(b, off + 4)
      icmp.seq = u16(b, off + 6)
      break
    case 3:
      // RFC 1191 §4: the next-hop MTU sits in the low 16 bits of the unused word.
      if (code === 4) icmp.mtu = u16(b, off + 6)
      break
    case 5:
      icmp.gateway = formatIpv4(b, off + 4)
      break
  }
  if (ERROR_TYPES.has(type)) icmp.inner = quote(b, off + 8, end)
  return icmp
}
