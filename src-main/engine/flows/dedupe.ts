import type { Packet } from '../capture/packet'
import { SAME_PACKET_US } from './point-flow'
import { ipLength } from './track-point'

/** Returns a filter that answers true for a packet already seen at this point within the window. */
export function createDeduper(): (p: Packet) => boolean {
  const seen = new Map<string, number>()
  let sincePrune = 0
  return (p) => {
    const ip = p.ip
    if (!ip) return false
    const l4 = p.l4
    // The TTL is left out: a forwarded packet is the same packet on both interfaces.
    // The IP length, not the frame length: the link header differs between -i any and -i eth0.
    let key = `${ip.src}>${ip.dst}/${ip.proto}/${ip.version === 4 ? ip.id : (ip.fragment?.id ?? '')}/${ipLength(p)}`
    if (l4?.kind === 'tcp')
      key += `/${l4.sport}/${l4.dport}/${l4.seq}/${l4.ack}/${l4.flags}/${l4.win}`
    else if (l4?.kind === 'udp') key += `/${l4.sport}/${l4.dport}/${l4.checksum}`
    else if (l4) key += `/${l4.type}/${l4.code}/${l4.checksum}`
    const prev = seen.get(key)
    seen.set(key, p.timeUs)
    if (++sincePrune >= 4096) {
      sincePrune = 0
      for (const [k, t] of seen) if (p.timeUs - t > SAME_PACKET_US) seen.delete(k)
    }
    return prev !== undefined && Math.abs(p.timeUs - prev) <= SAME_PACKET_US
  }
}
