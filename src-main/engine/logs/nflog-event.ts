/**
 * NFLOG packets in a capture (`tcpdump -i nflog:N`, LINKTYPE 239) are log
 * lines of their own: the packet netfilter logged, its prefix and hook, at
 * the capture's (UTC) time. This turns one into the same event a kernel log
 * line gives, so correlation treats both alike.
 */

import type { Packet } from '../capture/packet'
import type { LogEvent, LoggedPacket } from './log-event'

/** netfilter hook numbers (NF_INET_*). */
const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting']

/**
 * Returns the log event of an NFLOG packet, or undefined for any other packet.
 * `ifname` turns an interface index into its name (from the host's `ip addr`),
 * when known; otherwise the index is written as `if<N>`.
 */
export function nflogEvent(
  p: Packet,
  file: string,
  ifname: (index: number) => string | undefined = () => undefined
): LogEvent | undefined {
  const info = p.link.nflog
  const ip = p.ip
  if (!info || !ip) return undefined
  const name = (i?: number): string => (i === undefined ? '' : (ifname(i) ?? `if${i}`))
  const hook = info.hook !== undefined ? HOOKS[info.hook] : undefined
  // The hook says which interfaces the kernel had: none out on input, none in on output.
  const packet: LoggedPacket = {
    in: hook === 'output' ? '' : name(info.indev),
    out: hook === 'input' || hook === 'prerouting' ? '' : name(info.outdev),
    src: ip.src,
    dst: ip.dst,
    len: ip.version === 4 ? ip.totalLen : ip.payloadLen + 40,
    ttl: ip.ttl,
    proto: protoName(ip.proto)
  }
  if (ip.version === 4) {
    packet.id = ip.id
    packet.df = ip.df
  }
  const l4 = p.l4
  if (l4?.kind === 'tcp' || l4?.kind === 'udp') {
    packet.sport = l4.sport
    packet.dport = l4.dport
  }
  if (l4?.kind === 'tcp') {
    packet.seq = l4.seq
    packet.window = l4.win
    packet.flags = FLAGS.filter(([bit]) => l4.flags & bit).map(([, n]) => n)
  }
  if (l4?.kind === 'icmp' || l4?.kind === 'icmpv6') {
    packet.icmpType = l4.type
    packet.icmpCode = l4.code
    if (l4.id !== undefined) packet.icmpId = l4.id
    if (l4.seq !== undefined) packet.icmpSeq = l4.seq
  }
  if (info.mark !== undefined) packet.mark = info.mark
  return {
    kind: 'packet',
    file,
    line: p.n,
    text: `frame ${p.n}: NFLOG group ${info.group}${hook ? ` ${hook}` : ''} prefix "${info.prefix ?? ''}"`,
    time: { utcUs: p.sec * 1e6 + Math.floor(p.nsec / 1000) },
    prefix: (info.prefix ?? '').trim(),
    packet
  }
}

const FLAGS: [number, string][] = [
  [0x80, 'CWR'],
  [0x40, 'ECE'],
  [0x20, 'URG'],
  [0x10, 'ACK'],
  [0x08, 'PSH'],
  [0x04, 'RST'],
  [0x02, 'SYN'],
  [0x01, 'FIN']
]

function protoName(n: number): string {
  return n === 6 ? 'TCP' : n === 17 ? 'UDP' : n === 1 ? 'ICMP' : n === 58 ? 'ICMPv6' : String(n)
}
