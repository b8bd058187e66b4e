import type { FlowIcmp, Proto } from '../../shared/incident'
import type { SegmentRing } from './segment-ring'

/**
 * The same packet captured twice at one point (by `-i any` and `-i eth0`, or on the way in by
 * one interface and out by another) is captured within this of itself.
 */
export const SAME_PACKET_US = 10_000

/** An address and port; port is 0 for ICMP. */
export interface Endpoint {
  ip: string
  port: number
}

/** A time as the capture gave it: whole seconds, nanoseconds, and the digits the file carries. */
export interface Stamp {
  sec: number
  nsec: number
  digits: number
}

/** Where a packet came from: the file (index in the point's list) and its frame number. */
export interface FrameRef {
  file: number
  frame: number
}

/**
 * A packet of interest kept per flow (bounded), so points can be compared packet by packet.
 * Flat: its time as the capture gave it (sec, nsec, digits) and its frame (file, frame).
 */
export interface Sighting {
  what: 'syn' | 'syn-ack' | 'rst' | 'fin' | 'icmp' | 'data-retransmit' | 'request' | 'reply'
  timeUs: number
  sec: number
  nsec: number
  digits: number
  /** The file (index in the point's list) and its frame number. */
  file: number
  frame: number
  ttl: number
  /** IP length (headers and payload): what rules matching on length see. */
  len: number
  /** Identity across points: seq for TCP, IP ID, payload length. */
  ipId: number | undefined
  seq: number | undefined
  /** TCP flags of a segment (undefined for other packets). */
  flags: number | undefined
  /**
   * The same packet in the point's other capture files (a router captured on each interface):
   * file and frame, in pairs. Undefined when no other file had it.
   */
  also: number[] | undefined
}

/** One direction's data-phase state, in sequence space relative to that side's ISN. */
export interface DirectionData {
  /** Highest sequence end sent (relative). */
  nextSeq: number
  /** Highest acknowledgement the peer sent for this direction (relative). */
  acked: number
  retransmits: number
  maxAckedPayload: number
  /** Segments sent and not yet acknowledged (bounded), oldest first. */
  outstanding: SegmentRing
  /** IP length of the latest segment with data, sent or resent. */
  lastLen?: number
  mss?: number
  isn?: number
}

/** The conversation as one capture point saw it. Internal; turned into a Flow at the end. */
export interface PointFlow {
  proto: Proto
  /** The opener, as far as this point can tell. */
  a: Endpoint
  b: Endpoint
  /** True when the opener is known (a SYN, a request) rather than guessed. */
  openerKnown: boolean
  point: string
  firstUs: number
  lastUs: number
  /** The first and last packets' times as the capture gave them (see Stamp). */
  firstSec: number
  firstNsec: number
  firstDigits: number
  lastSec: number
  lastNsec: number
  lastDigits: number
  packets: number
  bytes: number
  history: string
  /** The TCP history letters present, as bits (see track-tcp.ts). */
  marks: number
  sightings: Sighting[]
  icmp?: FlowIcmp & { timeUs: number }
  /** Smallest MTU learnt from frag-needed / packet-too-big errors about this flow. */
  pathMtu?: number
  // TCP
  isn?: number
  synUs: number[]
  synAckUs: number[]
  synAckSeq?: number
  establishedUs?: number
  rst?: {
    timeUs: number
    stamp: Stamp
    byOpener: boolean
    ttl: number
    ipId?: number
    win: number
    ack: number
    answeredSyn: boolean
    /** IP length of the other side's latest data segment before it, if any. */
    segmentLen: number | undefined
  }
  finA?: boolean
  finB?: boolean
  ttlA?: number
  ttlB?: number
  dataA?: DirectionData
  dataB?: DirectionData
  // UDP and ICMP echo
  fromA: number
  fromB: number
  echoId?: number
  /**
   * An IPv6 neighbour discovery for b's address from a: solicitations from a (fromA), the
   * target's advertisements back (fromB).
   */
  neighbour?: boolean
  /**
   * Neighbour discovery: solicitations sent after an advertisement came back. Asking on means
   * the advertisement never reached the asker (its input chain dropped it).
   */
  askedAgain: number
  /** First packet's identity, for matching across NAT. */
  firstIpId?: number
  firstLen?: number
}
