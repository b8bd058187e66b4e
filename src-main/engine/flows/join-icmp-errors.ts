import type { PacketView } from '../capture/packet-view'
import type { FlowIcmp, Proto } from '../../shared/incident'
import type { TrackContext } from './track-context'
import { count, sameEndpoint, sight } from './track-point'

/**
 * Joins an ICMP/ICMPv6 error to the conversation it quotes (by the inner
 * 5-tuple, or echo identifier). A quoted packet whose conversation was not
 * captured here opens one, so an answer is never lost.
 */
export function attachIcmpError(
  ctx: TrackContext,
  p: PacketView,
  file: number,
  digits: number
): void {
  // ICMP comes from the full decoder: the message and its quoted packet are on the Packet.
  const icmp = p.packet().l4
  if (!icmp || (icmp.kind !== 'icmp' && icmp.kind !== 'icmpv6')) return
  const inner = icmp.inner
  const q = inner?.l4
  if (!inner || !q) return
  const src = { ip: inner.ip.src, port: q.sport ?? 0 }
  const dst = { ip: inner.ip.dst, port: q.dport ?? 0 }
  let proto: Proto
  let id = 0
  if (q.kind === 'tcp' || q.kind === 'udp') {
    if (q.sport === undefined || q.dport === undefined) return
    proto = q.kind
  } else {
    if (q.id === undefined) return
    proto = q.kind
    id = q.id
  }
  const srcId = ctx.ids.ofText(src.ip)
  const dstId = ctx.ids.ofText(dst.ip)
  let flow = ctx.lookup(proto, srcId, src.port, dstId, dst.port, id)
  if (!flow) {
    flow = ctx.open(proto, src, dst, true, p, digits)
    if (proto === 'tcp' && q.seq !== undefined && q.flags !== undefined && q.flags & 0x02)
      flow.isn = q.seq
    if (proto === 'icmp' || proto === 'icmpv6') flow.echoId = q.id
    ctx.replace(flow, srcId, src.port, dstId, dst.port, id)
  }
  count(flow, p, digits)
  const aboutOpener = sameEndpoint(flow.a, src)
  const target = aboutOpener ? flow.b.ip : flow.a.ip
  const quoted: FlowIcmp['quoted'] =
    proto === 'tcp'
      ? q.seq !== undefined && q.seq === flow.isn && aboutOpener
        ? 'syn'
        : !aboutOpener &&
            (q.flags !== undefined
              ? (q.flags & 0x12) === 0x12
              : flow.establishedUs === undefined && flow.synUs.length > 0)
          ? 'reply'
          : 'data'
      : !aboutOpener
        ? 'reply'
        : proto === 'udp'
          ? 'datagram'
          : 'echo'
  const isFragNeeded =
    (icmp.kind === 'icmp' && icmp.type === 3 && icmp.code === 4) ||
    (icmp.kind === 'icmpv6' && icmp.type === 2)
  if (isFragNeeded && icmp.mtu !== undefined && icmp.mtu > 0)
    flow.pathMtu = Math.min(flow.pathMtu ?? Infinity, icmp.mtu)
  if (!flow.icmp) {
    const ip = p.packet().ip!
    flow.icmp = {
      type: icmp.type,
      code: icmp.code,
      from: ip.src,
      sender: ip.src === target ? 'destination' : 'router',
      time: '',
      quoted,
      timeUs: p.timeUs
    }
    if (icmp.mtu !== undefined) flow.icmp.mtu = icmp.mtu
  }
  sight(flow, 'icmp', p, file, digits, q.seq)
}
