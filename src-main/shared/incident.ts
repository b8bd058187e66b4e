/**
 * The Incident: the command line's JSON output and the app's state, one
 * versioned, serialisable object. Fields are added, never renamed.
 */

export const INCIDENT_SCHEMA = 'verdict.incident/1'

/** `host`: a host's own facts (`ip addr`, `ip route`, `ss -tlnpu`). */
export type InputKind = 'capture' | 'log' | 'ruleset' | 'conntrack' | 'sysctl' | 'host' | 'unknown'

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
  /**
   * What the error quoted: the SYN, a data segment, a datagram, an echo request, or the answer
   * (a datagram or echo reply from the far side, refused where it was sent).
   */
  quoted: 'syn' | 'data' | 'datagram' | 'echo' | 'reply' | 'other'
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
  /**
   * IP length of the other side's latest data segment before the RST (what a firewall that
   * resets a connection mid-stream most likely answered), when one was seen.
   */
  segmentLen?: number
  /** Handshake RTT of the same flow, for comparison, when known. */
  handshakeRttSec?: number
  answeredSyn: boolean
}

/** A packet of interest (SYN, SYN-ACK, RST, ICMP error) and the capture points that saw it. */
export interface KeyPacket {
  /**
   * TCP: the first SYN, SYN-ACK, RST, FIN, ICMP error, retransmitted data segment. UDP and ICMP
   * echo: the opener's first datagram or echo request (request) and the first answer (reply).
   */
  what: 'syn' | 'syn-ack' | 'rst' | 'fin' | 'icmp' | 'data-retransmit' | 'request' | 'reply'
  time: string
  /** IP length (headers and payload) of the packet, as first seen. */
  len?: number
  /**
   * A SYN's or SYN-ACK's TCP flags in tcpdump's letters, when it carries more than its kind says
   * ("SEW": a SYN asking for ECN): what a rule matching on flags sees.
   */
  tcpFlags?: string
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
  /** That segment's IP length (payload and headers), as rules matching on length see it. */
  stuckPacketLen?: number
  stuckDf?: boolean
  /** Which side sent that segment. */
  stuckFrom?: 'initiator' | 'responder'
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
  /**
   * Hosts whose kernel log recorded the conversation's refused packets, for a conversation only
   * a log saw (its seenAt is empty): a drop no capture shows.
   */
  loggedAt?: string[]
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
  /** Echo requests and replies (ICMP echo flows); solicitations and advertisements (neighbour discovery). */
  requests?: number
  replies?: number
  /**
   * An IPv6 neighbour discovery nobody answered: src solicited dst's link-layer address
   * (RFC 4861) and no advertisement came back, so nothing src sent to dst left it.
   */
  neighbourDiscovery?: boolean
  /** The id of the finding that explains this flow's failure. */
  finding?: string
}

/** How much an evidence item weighs: a log line proves, a simulation predicts, silence only suggests. */
export type EvidenceWeight = 'proves' | 'predicts' | 'suggests'

/** One rule or policy a simulated packet met (the evaluator's trace, as shown). */
export interface TraceStepView {
  hook: string
  table: string
  chain: string
  kind: 'rule' | 'policy' | 'return'
  line?: number
  rule?: string
  matched: boolean
  note?: string
  action?: string
}

/** Something a finding rests on, each pointing to its source. Every item has a one-line `text`. */
export type Evidence =
  /** Packets seen (or, with `absent`, not seen) at capture points. */
  | {
      kind: 'packet'
      weight: EvidenceWeight
      text: string
      time?: string
      /** "point:file#frame" for each sighting. */
      frames?: string[]
      point?: string
      absent?: boolean
    }
  /** A log line: drop, conntrack table full, TCP wrappers, SELinux, fail2ban. */
  | {
      kind: 'log'
      weight: EvidenceWeight
      text: string
      file: string
      line: number
      /** The line as written. */
      raw: string
      /** The line's time in capture time (after alignment). */
      time?: string
      /** Which alignment turned the line's clock into capture time. */
      alignment?: string
    }
  /** The evaluator's walk of one of the flow's packets through a snapshot. */
  | {
      kind: 'simulation'
      weight: EvidenceWeight
      text: string
      file: string
      host?: string
      /** The packet walked, as a trace SPEC ("tcp 10.0.0.1:40000 > 10.0.0.5:8080 syn"). */
      packet: string
      path: 'input' | 'forward' | 'output' | 'bridge'
      ct: string
      verdict: 'accept' | 'drop' | 'reject'
      trace: TraceStepView[]
      uncertain: boolean
      uncertainWhy?: string[]
    }
  /** An ICMP error seen, and who sent it. */
  | { kind: 'icmp'; weight: EvidenceWeight; text: string; time?: string; frames?: string[] }
  /** A conntrack or sysctl snapshot fact (count near max, ip_forward=0, a listening socket). */
  | {
      kind: 'conntrack'
      weight: EvidenceWeight
      text: string
      file?: string
      line?: number
    }
  /** A host fact: what listens (`ss`), its addresses (`ip addr`), its routes. */
  | { kind: 'host'; weight: EvidenceWeight; text: string; file?: string; line?: number }
  /** A rule's packet counter in the snapshot. */
  | {
      kind: 'counter'
      weight: EvidenceWeight
      text: string
      file: string
      line: number
      packets: number
      bytes: number
    }

/** Why a finding's flows failed. */
export interface Cause {
  kind: CauseKind
  system?: string
  /** The host whose snapshot or log holds the cause. */
  host?: string
  file?: string
  line?: number
  table?: string
  chain?: string
  /** The rule text exactly as written in the snapshot (for a policy: the line setting it). */
  rule?: string
  verdict?: string
}

export type CauseKind =
  | 'rule'
  | 'policy'
  | 'no-listener'
  | 'conntrack-full'
  | 'ct-invalid'
  | 'return-path'
  | 'egress'
  | 'nat'
  | 'pmtud-blackhole'
  | 'rate-limit'
  | 'tcp-wrappers'
  | 'selinux'
  | 'unknown'

/** The effect of a what-if change on the observed flows. */
export interface WhatIf {
  /** The change as given. */
  change: string
  /** Failed flows the change would let through. */
  resolves: string[]
  /** Other flows whose verdict the change alters (the blast radius), with before and after. */
  changes: { flow: string; before: string; after: string }[]
  problems?: string[]
}

/** A failed flow's (or a group of failed flows') cause, evidence, confidence and fix. */
export interface Finding {
  id: string
  flows: string[]
  outcome: Outcome
  /** One line: "14 SYN timeouts to 10.0.0.5:8080: INPUT rule 5 `-A INPUT -j DROP`". */
  title: string
  cause: Cause
  /** 0..1; the reasons are the evidence items' weights. */
  confidence: number
  evidence: Evidence[]
  /** One or two plain sentences. */
  explanation: string
  /** The fix in the system's own dialect (a command). */
  fix?: string
  /** For `unknown`: the evidence that would decide it. */
  missing?: string[]
  /** The clock alignment the finding's log evidence used. */
  alignment?: string
}

/** The whole incident. */
export interface Incident {
  schema: typeof INCIDENT_SCHEMA
  inputs: InputInfo[]
  flows: Flow[]
  findings: Finding[]
  /** How each log's clock was turned into capture time. */
  alignments?: ClockAlignment[]
  /** What-if results, when `--what-if` changes were given. */
  whatIf?: WhatIf[]
}

/** How one log file's times were aligned to capture time. */
export interface ClockAlignment {
  file: string
  /**
   * 'learnt' from packets both logged and captured, 'given' by options, 'assumed' (a wall clock
   * taken as UTC), 'absolute' (the log's own UTC times), or 'none' (boot seconds with no boot time:
   * the log's lines are matched to flows by addresses and ports only).
   */
  method: 'learnt' | 'given' | 'assumed' | 'absolute' | 'none'
  /** Seconds added to the log's clock to reach capture time (for dmesg: the boot time). */
  offsetSec?: number
  /** Packets that matched between the log and captures, and the spread of their offsets. */
  matches?: number
  spreadSec?: number
  text: string
}
