/**
 * The decoded packet: what every capture reader produces, one per record.
 * Layers are plain objects; a field that does not apply is absent.
 */

/** Link-layer facts kept from the capture's encapsulation. */
export interface LinkInfo {
  /** LINKTYPE_ value of the interface the packet was captured on. */
  type: number
  /** 802.1Q / 802.1ad VLAN IDs, outermost first. */
  vlan?: number[]
  /** Linux cooked capture (SLL/SLL2): packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing). */
  sllPktType?: number
  /** SLL2 only: the interface index on the capturing host. */
  sllIfindex?: number
  /** NFLOG (LINKTYPE 239): what netfilter logged the packet with. */
  nflog?: NflogInfo
  /** EtherType (or equivalent) of the payload that follows the link header. */
  etherType?: number
}

/** The attributes of a packet logged through NFLOG (an iptables NFLOG / nft log group target). */
export interface NflogInfo {
  family: number
  group: number
  prefix?: string
  hook?: number
  hwProtocol?: number
  mark?: number
  indev?: number
  outdev?: number
  uid?: number
  gid?: number
}

export interface Ipv4 {
  version: 4
  src: string
  dst: string
  headerLen: number
  tos: number
  totalLen: number
  /**
   * A total length of 0 (what TSO/GSO captures carry): the bytes captured from the header on,
   * which stand for it (as tshark's reported length does).
   */
  impliedLen?: number
  id: number
  df: boolean
  mf: boolean
  /** Fragment offset in bytes. */
  fragOffset: number
  ttl: number
  /** Upper-layer protocol number. */
  proto: number
  checksum: number
  /** Option type bytes, when the header has options. */
  options?: number[]
}

export interface Ipv6 {
  version: 6
  src: string
  dst: string
  trafficClass: number
  flowLabel: number
  payloadLen: number
  /** Hop limit, named ttl so both families read the same. */
  ttl: number
  /** Next-header values of the extension headers passed, in order. */
  extHeaders?: number[]
  /** Upper-layer protocol after the extension header chain. */
  proto: number
  /** Present when a fragment header was found. */
  fragment?: { id: number; offset: number; more: boolean }
}

export type Ip = Ipv4 | Ipv6

export interface TcpOptions {
  mss?: number
  wscale?: number
  sackPermitted?: boolean
  /** SACK blocks as [left, right] pairs. */
  sack?: [number, number][]
  tsval?: number
  tsecr?: number
  /** Which option kinds are present: bit k for kind k below 31, bit 31 for any kind above. */
  kindMask: number
}

export interface Tcp {
  kind: 'tcp'
  sport: number
  dport: number
  seq: number
  ack: number
  /** Header length in bytes. */
  headerLen: number
  /** The 12 flag bits: FIN 0x001 ... CWR 0x080, ECE 0x040, AE 0x100. */
  flags: number
  win: number
  checksum: number
  urg: number
  options?: TcpOptions
  /** Bytes of payload the IP header says the segment carries. */
  payloadLen: number
  /** Set when the capture cut the header short (after its flags): the bytes of it kept. */
  cut?: number
}

export interface Udp {
  kind: 'udp'
  sport: number
  dport: number
  length: number
  checksum: number
  payloadLen: number
}

/** An ICMP or ICMPv6 message; errors carry the packet they quote. */
export interface Icmp {
  kind: 'icmp' | 'icmpv6'
  type: number
  code: number
  checksum: number
  /** Echo request/reply identifier and sequence. */
  id?: number
  seq?: number
  /** Next-hop MTU of an IPv4 frag-needed, or the MTU of an ICMPv6 packet-too-big. */
  mtu?: number
  /** Redirect gateway (ICMP) or target (ICMPv6 redirect / neighbour discovery). */
  gateway?: string
  target?: string
  /** The quoted packet of an error message. */
  inner?: Quoted
}

/** The packet an ICMP error quotes: its IP header and as much of the transport header as fits. */
export interface Quoted {
  ip: Ip
  l4?: QuotedL4
}

/** The transport header inside an ICMP error: often only its first 8 bytes are quoted. */
export interface QuotedL4 {
  kind: 'tcp' | 'udp' | 'icmp' | 'icmpv6'
  sport?: number
  dport?: number
  seq?: number
  ack?: number
  flags?: number
  type?: number
  code?: number
  id?: number
}

export type Transport = Tcp | Udp | Icmp

/** One captured packet, decoded. */
export interface Packet {
  /** 1-based frame number in its file. */
  n: number
  /** Interface index within the file (pcapng IDB number; 0 for pcap). */
  iface: number
  /** Seconds since the epoch (integer part of the timestamp). */
  sec: number
  /** Nanoseconds within the second. */
  nsec: number
  /** Epoch microseconds (sec * 1e6 + floor(nsec / 1000)). */
  timeUs: number
  /** Original length on the wire. */
  len: number
  /** Bytes captured. */
  caplen: number
  link: LinkInfo
  ip?: Ip
  /** Transport layer; for a fragmented datagram it sits on the frame that completed it. */
  l4?: Transport
  /** Set on frames that completed the reassembly of a fragmented datagram. */
  reassembled?: { frames: number[]; length: number }
  /** pcapng opt_comment of the packet block. */
  comment?: string
  /** What could not be decoded, if anything; the packet is still kept. */
  problem?: string
}
