import { u16, u32 } from './bytes'
import { formatIpv6 } from './format-address'
import type { QuoteDecoder } from './decode-icmp'
import type { Icmp } from './packet'

/** Returns the ICMPv6 message at `off` (RFC 4443, RFC 4861 for neighbour discovery), or why not. */
export function decodeIcmpv6(
  b: Uint8Array,
  off: number,
  end: number,
  quote: QuoteDecoder
): Icmp | string {
  if (end - off < 4) return `ICMPv6 header truncated: ${Math.max(0, end - off)} of 4 bytes`
  const type = b[off]
  const code = b[off + 1]
  const icmp: Icmp = {
    kind: 'icmpv6',
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
    case 2:
      // RFC 4443 §3.2: the MTU of the next-hop link.
      icmp.mtu = u32(b, off + 4)
      break
    case 128:
    case 129:
      icmp.id = u16(b, off + 4)
      icmp.seq = u16(b, off + 6)
      break
    case 135:
    case 136:
      if (end - off >= 24) icmp.target = formatIpv6(b, off + 8)
      break
    case 137:
      if (end - off >= 40) {
        icmp.target = formatIpv6(b, off + 8)
        icmp.gateway = icmp.target
      }
      break
  }
  // RFC 4443 §2.1: types below 128 are errors and quote the invoking packet.
  if (type < 128 && type >= 1 && type <= 4) icmp.inner = quote(b, off + 8, end)
  return icmp
}
