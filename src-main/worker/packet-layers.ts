import type { Ip, LinkInfo, Packet, Quoted, Transport } from '../engine/capture/packet'
import type { PacketNode } from '../shared/api'

const IP_PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' }
const TCP_FLAGS: [number, string][] = [
  [0x100, 'AE'],
  [0x080, 'CWR'],
  [0x040, 'ECE'],
  [0x020, 'URG'],
  [0x010, 'ACK'],
  [0x008, 'PSH'],
  [0x004, 'RST'],
  [0x002, 'SYN'],
  [0x001, 'FIN']
]

/** Returns a decoded packet as a tree of layers, outermost first, as Wireshark's details pane shows it. */
export function packetLayers(p: Packet, tsDigits: number): PacketNode[] {
  const frame: PacketNode = {
    label: `Frame ${p.n}: ${p.len} bytes on wire, ${p.caplen} bytes captured`,
    children: [
      leaf(`Interface: ${p.iface}`),
      leaf(`Arrival time: ${p.sec}.${String(p.nsec).padStart(9, '0').slice(0, tsDigits)}`),
      ...(p.comment !== undefined ? [leaf(`Comment: ${p.comment}`)] : []),
      ...(p.problem !== undefined ? [leaf(`Not decoded: ${p.problem}`)] : [])
    ]
  }
  const out: PacketNode[] = [frame, linkLayer(p.link)]
  if (p.ip) out.push(ipLayer(p.ip))
  if (p.reassembled)
    out.push(
      leaf(
        `Reassembled from frames ${p.reassembled.frames.join(', ')} (${p.reassembled.length} bytes)`
      )
    )
  if (p.l4) out.push(transportLayer(p.l4))
  return out
}

function leaf(label: string): PacketNode {
  return { label }
}

function linkLayer(link: LinkInfo): PacketNode {
  const children: PacketNode[] = []
  if (link.vlan) children.push(leaf(`VLAN: ${link.vlan.join(' / ')}`))
  if (link.sllPktType !== undefined) children.push(leaf(`Packet type: ${link.sllPktType}`))
  if (link.sllIfindex !== undefined) children.push(leaf(`Interface index: ${link.sllIfindex}`))
  if (link.etherType !== undefined)
    children.push(leaf(`Type: 0x${link.etherType.toString(16).padStart(4, '0')}`))
  if (link.nflog) {
    const n = link.nflog
    children.push(leaf(`NFLOG group ${n.group}${n.prefix ? `, prefix "${n.prefix}"` : ''}`))
    if (n.hook !== undefined) children.push(leaf(`Hook: ${n.hook}`))
  }
  return { label: `Link type ${link.type}`, children }
}

function ipLayer(ip: Ip): PacketNode {
  const proto = IP_PROTO[ip.proto] ?? String(ip.proto)
  if (ip.version === 4)
    return {
      label: `Internet Protocol Version 4, Src: ${ip.src}, Dst: ${ip.dst}`,
      children: [
        leaf(`Header length: ${ip.headerLen} bytes`),
        leaf(`Total length: ${ip.totalLen}`),
        leaf(`Identification: 0x${ip.id.toString(16).padStart(4, '0')} (${ip.id})`),
        leaf(
          `Flags: ${[ip.df ? "Don't fragment" : '', ip.mf ? 'More fragments' : ''].filter(Boolean).join(', ') || 'none'}`
        ),
        leaf(`Fragment offset: ${ip.fragOffset}`),
        leaf(`Time to live: ${ip.ttl}`),
        leaf(`Protocol: ${proto} (${ip.proto})`),
        leaf(`Header checksum: 0x${ip.checksum.toString(16).padStart(4, '0')}`)
      ]
    }
  const children = [
    leaf(`Traffic class: 0x${ip.trafficClass.toString(16).padStart(2, '0')}`),
    leaf(`Flow label: 0x${ip.flowLabel.toString(16).padStart(5, '0')}`),
    leaf(`Payload length: ${ip.payloadLen}`),
    leaf(`Hop limit: ${ip.ttl}`),
    leaf(`Next header: ${proto} (${ip.proto})`)
  ]
  if (ip.fragment)
    children.push(
      leaf(`Fragment: id ${ip.fragment.id}, offset ${ip.fragment.offset}, more ${ip.fragment.more}`)
    )
  return { label: `Internet Protocol Version 6, Src: ${ip.src}, Dst: ${ip.dst}`, children }
}

function transportLayer(l4: Transport): PacketNode {
  if (l4.kind === 'tcp') {
    const flags = TCP_FLAGS.filter(([bit]) => l4.flags & bit).map(([, name]) => name)
    const children = [
      leaf(`Source port: ${l4.sport}`),
      leaf(`Destination port: ${l4.dport}`),
      leaf(`Sequence number: ${l4.seq}`),
      leaf(`Acknowledgment number: ${l4.ack}`),
      leaf(`Header length: ${l4.headerLen} bytes`),
      leaf(`Flags: 0x${l4.flags.toString(16).padStart(3, '0')} (${flags.join(', ') || 'none'})`),
      leaf(`Window: ${l4.win}`),
      leaf(`Checksum: 0x${l4.checksum.toString(16).padStart(4, '0')}`),
      leaf(`Payload: ${l4.payloadLen} bytes`)
    ]
    const o = l4.options
    if (o) {
      const opts: PacketNode[] = []
      if (o.mss !== undefined) opts.push(leaf(`Maximum segment size: ${o.mss}`))
      if (o.wscale !== undefined) opts.push(leaf(`Window scale: ${o.wscale}`))
      if (o.sackPermitted) opts.push(leaf('SACK permitted'))
      if (o.sack) opts.push(leaf(`SACK: ${o.sack.map(([a, b]) => `${a}-${b}`).join(' ')}`))
      if (o.tsval !== undefined) opts.push(leaf(`Timestamps: val ${o.tsval}, ecr ${o.tsecr ?? 0}`))
      children.push({ label: 'Options', children: opts })
    }
    return {
      label: `Transmission Control Protocol, Src Port: ${l4.sport}, Dst Port: ${l4.dport}, [${flags.join(', ')}]`,
      children
    }
  }
  if (l4.kind === 'udp')
    return {
      label: `User Datagram Protocol, Src Port: ${l4.sport}, Dst Port: ${l4.dport}`,
      children: [
        leaf(`Length: ${l4.length}`),
        leaf(`Checksum: 0x${l4.checksum.toString(16).padStart(4, '0')}`),
        leaf(`Payload: ${l4.payloadLen} bytes`)
      ]
    }
  const children: PacketNode[] = [
    leaf(`Type: ${l4.type}`),
    leaf(`Code: ${l4.code}`),
    leaf(`Checksum: 0x${l4.checksum.toString(16).padStart(4, '0')}`)
  ]
  if (l4.id !== undefined) children.push(leaf(`Identifier: ${l4.id}`))
  if (l4.seq !== undefined) children.push(leaf(`Sequence: ${l4.seq}`))
  if (l4.mtu !== undefined) children.push(leaf(`MTU of next hop: ${l4.mtu}`))
  if (l4.gateway !== undefined) children.push(leaf(`Gateway: ${l4.gateway}`))
  if (l4.target !== undefined) children.push(leaf(`Target: ${l4.target}`))
  if (l4.inner) children.push(quotedLayer(l4.inner))
  const name =
    l4.kind === 'icmp'
      ? 'Internet Control Message Protocol'
      : 'Internet Control Message Protocol v6'
  return { label: `${name}, type ${l4.type} code ${l4.code}`, children }
}

/** The packet an ICMP error quotes, as its own small tree. */
function quotedLayer(q: Quoted): PacketNode {
  const children: PacketNode[] = [ipLayer(q.ip)]
  const l4 = q.l4
  if (l4) {
    const facts: PacketNode[] = []
    if (l4.sport !== undefined) facts.push(leaf(`Source port: ${l4.sport}`))
    if (l4.dport !== undefined) facts.push(leaf(`Destination port: ${l4.dport}`))
    if (l4.seq !== undefined) facts.push(leaf(`Sequence number: ${l4.seq}`))
    if (l4.flags !== undefined)
      facts.push(leaf(`Flags: 0x${l4.flags.toString(16).padStart(3, '0')}`))
    if (l4.type !== undefined) facts.push(leaf(`Type ${l4.type} code ${l4.code ?? 0}`))
    children.push({ label: `Quoted ${l4.kind.toUpperCase()} header`, children: facts })
  }
  return { label: `Quoted packet: ${q.ip.src} > ${q.ip.dst}`, children }
}
