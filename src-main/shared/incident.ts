/**
 * The Incident: the command line's JSON output and the app's state, one
 * versioned, serialisable object. Fields are added, never renamed.
 */

export const INCIDENT_SCHEMA = 'verdict.incident/1'

export type InputKind = 'capture' | 'log' | 'ruleset' | 'conntrack' | 'sysctl' | 'unknown'

/** One file the incident was made from. */
export interface InputInfo {
  path: string
  kind: InputKind
  format: string
  /** The host the file belongs to (its folder in an incident folder, or NAME=PATH). */
  host?: string
  /** A capture's point: where on the path it was taken (defaults to the host). */
  point?: string
  /** Records read: packets for a capture, lines for a log. */
  records: number
  warnings: string[]
  errors: string[]
}

export type Proto = 'tcp' | 'udp' | 'icmp' | 'icmpv6'

export type TcpOutcome =
  | 'established'
  | 'syn-timeout'
  | 'refused-rst'
  | 'icmp-unreachable'
  | 'one-way'
  | 'stalled'
  | 'reset-midstream'
  | 'incomplete'

export type DatagramOutcome = 'answered' | 'unanswered' | 'icmp-unreachable'

export type Outcome = TcpOutcome | DatagramOutcome

/** The ICMP error that answered a flow. */
export interface FlowIcmp {
  type: number
  code: number
  mtu?: number
  /** Who sent it. */
  from: string
  /** "destination" when the flow's destination sent it, "router" when a hop on the way did. */
  sender: 'destination' | 'router'
  time: string
  /** What the error quoted: the SYN, a data segment, a datagram, an echo request. */
  quoted: 'syn' | 'data' | 'datagram' | 'echo' | 'other'
}

/** The facts that help tell a host's RST from a firewall's forged one. */
export interface RstFacts {
  time: string
  /** Which side sent it. */
  by: 'initiator' | 'responder'
  ttl: number
  /** TTL of the same side's other packets, when any were seen. */
  usualTtl?: number
  ipId?: number
  win: number
  /** Seconds between the packet it answered and the RST, when known. */
  afterSec?: number
  /** Handshake RTT of the same flow, for comparison, when known. */
  handshakeRttSec?: number
  answeredSyn: boolean
}

/** A packet of interest (SYN, SYN-ACK, RST, ICMP error) and the capture points that saw it. */
export interface KeyPacket {
  what: 'syn' | 'syn-ack' | 'rst' | 'fin' | 'icmp' | 'data-retransmit'
  time: string
  /** Points that captured it, in path order. */
  seenAt: string[]
  /** Points that captured the flow but not this packet. */
  missingAt?: string[]
  /** Frame numbers, per point ("point:file#frame"). */
  frames?: string[]
}

/** Data-phase health: what the PMTUD black-hole signature rests on. */
export interface DataHealth {
  retransmits: number
  /** Largest payload that was acknowledged. */
  maxAckedPayload: number
  /** Payload of the segment retransmitted without ever being acknowledged. */
  stuckPayload?: number
  stuckDf?: boolean
  /** Retransmissions of that segment. */
  stuckRetransmits?: number
  /** MSS each side advertised. */
  mssInitiator?: number
  mssResponder?: number
  /** Path MTU learnt from ICMP frag-needed / packet-too-big, when seen. */
  pathMtu?: number
}

/** A translation seen between capture points (src or dst rewritten). */
export interface NatSeen {
  /** The conversation as the opener's side saw it, and as the far side saw it. */
  from: string
  to: string
  /** The addresses as first seen at each point. */
  points: Record<string, { src: string; sport?: number; dst: string; dport?: number }>
  /** Every view in path order; a point that captured both sides of the translation appears twice. */
  views: { point: string; src: string; sport?: number; dst: string; dport?: number }[]
  /** Points that saw the conversation both before and after translation: where NAT happens. */
  translatedAt?: string[]
}

/** One conversation, its opener as src. */
export interface Flow {
  id: string
  proto: Proto
  src: string
  sport?: number
  dst: string
  dport?: number
  first: string
  last: string
  outcome: Outcome
  synRetransmits?: number
  synAckRetransmits?: number
  /** Seconds from the first SYN-ACK to each retransmission of it (the server's back-off). */
  synAckRetransmitOffsets?: number[]
  /** Seconds from the first SYN to each retransmission (1, 3, 7 ... for Linux's back-off). */
  synRetransmitOffsets?: number[]
  handshakeRttSec?: number
  packets: number
  bytes: number
  seenAt: string[]
  /** Points that were capturing at the time and should have seen it (they own one of its
   * addresses, or carried other traffic between them) but saw none of it. */
  missingAt?: string[]
  icmp?: FlowIcmp
  rst?: RstFacts
  /** Zeek-style history: S h A D a d F f R r, upper case from the initiator. */
  history?: string
  /** True when the capture began or ended inside the conversation. */
  partial?: boolean
  data?: DataHealth
  keyPackets?: KeyPacket[]
  nat?: NatSeen
  /** Echo requests and replies (ICMP echo flows). */
  requests?: number
  replies?: number
}

/** A failed flow's cause; findings come with the firewall work. */
export interface Finding {
  flows: string[]
  outcome: Outcome
  cause: {
    kind: string
    system?: string
    file?: string
    line?: number
    table?: string
    chain?: string
    rule?: string
    verdict?: string
  }
  confidence: number
  evidence: { kind: string; [k: string]: unknown }[]
  explanation: string
  fix?: string
}

/** The whole incident. */
export interface Incident {
  schema: typeof INCIDENT_SCHEMA
  inputs: InputInfo[]
  flows: Flow[]
  findings: Finding[]
}
