import type { Outcome } from '../../src-main/shared/incident'

/** What a mark on the timeline stands for. */
export const enum Mark {
  Syn = 0,
  SynRetransmit = 1,
  SynAck = 2,
  Rst = 3,
  Fin = 4,
  IcmpError = 5,
  FragNeeded = 6,
  LoggedDrop = 7,
  DataRetransmit = 8,
  Request = 9,
  Reply = 10
}

/** The marks' names, indexed by Mark. */
export const MARK_NAMES = [
  'SYN',
  'SYN retransmission',
  'SYN-ACK',
  'RST',
  'FIN',
  'ICMP error',
  'ICMP frag-needed',
  'logged drop',
  'data retransmission',
  'datagram or echo request',
  'reply'
] as const

/** One row of the timeline: a conversation, or every conversation between two hosts. */
export interface Lane {
  key: string
  label: string
  /** The lane's outcome (for a host pair: its most telling one). */
  outcome: Outcome
  /** Indexes into the incident's flows. */
  flows: number[]
  /** When the lane's conversations began and ended, epoch µs. */
  firstUs: number
  lastUs: number
}

/** A time window shaded across every lane (conntrack table full). */
export interface Band {
  startUs: number
  endUs: number
  label: string
}

/**
 * Every mark of the timeline in columns, sorted by lane and then time so a
 * lane's marks in a time window are found by binary search.
 */
export interface TimelineData {
  lanes: Lane[]
  /** Offsets into the columns: lane i's marks are [laneStart[i], laneStart[i + 1]). */
  laneStart: Int32Array
  timeUs: Float64Array
  mark: Uint8Array
  /** Index into `points`: the capture point the packet was seen at. */
  point: Uint8Array
  /** Index into the incident's flows. */
  flow: Int32Array
  /** "point:file#frame" of the packet, where known (sparse: by mark index). */
  frames: Map<number, string>
  points: string[]
  bands: Band[]
  startUs: number
  endUs: number
}
