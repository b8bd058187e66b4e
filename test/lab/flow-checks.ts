/** What the flow-outcome tests share: running `verdict analyze`, finding flows, tshark's counts. */
import type { Flow, Incident, KeyPacket } from '../../src-main/shared/incident'
import { run, verdict } from '../support/run'

/** Runs `verdict analyze ARGS --format json` and returns the Incident; throws on a failed run. */
export async function analyze(args: string[]): Promise<Incident> {
  const ran = await verdict(['analyze', ...args, '--format', 'json'])
  if (ran.code !== 0 || ran.stderr !== '')
    throw new Error(`verdict analyze ${args.join(' ')} (${ran.code}): ${ran.stderr.trim()}`)
  return JSON.parse(ran.stdout) as Incident
}

/** What picks a flow out: its protocol and any of its opener-first addresses and ports. */
export interface FlowSelector {
  proto: Flow['proto']
  src?: string
  sport?: number
  dst?: string
  dport?: number
}

/** Every flow matching `sel`. */
export function flowsWhere(incident: Incident, sel: FlowSelector): Flow[] {
  return incident.flows.filter(
    (f) =>
      f.proto === sel.proto &&
      (sel.src === undefined || f.src === sel.src) &&
      (sel.sport === undefined || f.sport === sel.sport) &&
      (sel.dst === undefined || f.dst === sel.dst) &&
      (sel.dport === undefined || f.dport === sel.dport)
  )
}

/** The one flow matching `sel`; throws, listing every flow, when there is not exactly one. */
export function flowOf(incident: Incident, sel: FlowSelector): Flow {
  const found = flowsWhere(incident, sel)
  if (found.length === 1) return found[0]
  const list = incident.flows
    .map(
      (f) => `${f.id} ${f.proto} ${f.src}:${f.sport ?? ''} > ${f.dst}:${f.dport ?? ''} ${f.outcome}`
    )
    .join('\n  ')
  throw new Error(`${found.length} flows match ${JSON.stringify(sel)}; the flows are:\n  ${list}`)
}

/** The flow's key packet of a kind, or undefined. */
export function keyPacket(flow: Flow, what: KeyPacket['what']): KeyPacket | undefined {
  return flow.keyPackets?.find((k) => k.what === what)
}

/** Where the flow's key packet of a kind was seen and missed (missingAt [] when absent). */
export function sightings(
  flow: Flow,
  what: KeyPacket['what']
): { seenAt: string[]; missingAt: string[] } | undefined {
  const k = keyPacket(flow, what)
  return k && { seenAt: k.seenAt, missingAt: k.missingAt ?? [] }
}

/** The facts of a flow that must not depend on how many files a capture point was split into. */
export function countsOf(f: Flow): Record<string, unknown> {
  return {
    tuple: `${f.proto} ${f.src}:${f.sport ?? ''} > ${f.dst}:${f.dport ?? ''}`,
    outcome: f.outcome,
    packets: f.packets,
    seenAt: f.seenAt,
    synRetransmits: f.synRetransmits,
    synAckRetransmits: f.synAckRetransmits,
    requests: f.requests,
    replies: f.replies,
    retransmits: f.data?.retransmits,
    stuckRetransmits: f.data?.stuckRetransmits
  }
}

/** One frame as tshark reads it: the facts the flow tests count. */
export interface Frame {
  /** Frame number, from 1. */
  n: number
  time: number
  /** An ICMP or ICMPv6 packet (an error quoting a TCP or UDP header has `tcp`/`udp` too). */
  icmp: boolean
  icmpType?: number
  /** Outer IPv4 TTL or IPv6 hop limit. */
  ttl: number
  tcp?: {
    sport: number
    dport: number
    syn: boolean
    ack: boolean
    rst: boolean
    len: number
    /** Raw sequence number. */
    seq: number
  }
  udp?: { sport: number; dport: number }
}

const FRAME_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'frame.protocols',
  'icmp.type',
  'icmpv6.type',
  'ip.ttl',
  'ipv6.hlim',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags.syn',
  'tcp.flags.ack',
  'tcp.flags.reset',
  'tcp.len',
  'tcp.seq_raw',
  'udp.srcport',
  'udp.dstport'
]

/** Every frame of `file` as tshark reads it (each field's first occurrence: the outer header). */
export async function tsharkFrames(file: string): Promise<Frame[]> {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f']
  for (const f of FRAME_FIELDS) args.push('-e', f)
  const ran = await run('tshark', args)
  if (ran.code !== 0) throw new Error(`tshark ${file}: ${ran.stderr.trim()}`)
  const flag = (v: string): boolean => v === '1' || v === 'True'
  return ran.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [n, time, protocols, icmpType, icmp6Type, ttl, hlim, ...rest] = l.split('\t')
      const [tsport, tdport, syn, ack, rst, len, seq, usport, udport] = rest
      const icmp = /:icmp(v6)?(:|$)/.test(protocols)
      const frame: Frame = { n: Number(n), time: Number(time), icmp, ttl: Number(ttl || hlim) }
      if (icmp && (icmpType || icmp6Type)) frame.icmpType = Number(icmpType || icmp6Type)
      if (tsport) {
        frame.tcp = {
          sport: Number(tsport),
          dport: Number(tdport),
          syn: flag(syn),
          ack: flag(ack),
          rst: flag(rst),
          len: Number(len || 0),
          seq: Number(seq)
        }
      }
      if (usport) frame.udp = { sport: Number(usport), dport: Number(udport) }
      return frame
    })
}

/** Frame selectors for one TCP conversation, by the client's port as the capture point saw it. */
export const segments = {
  /** Bare SYNs from the client port (not the ICMP errors quoting them). */
  syn: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => !f.icmp && f.tcp?.sport === clientPort && f.tcp.syn && !f.tcp.ack),
  /** SYN-ACKs to the client port. */
  synAck: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => !f.icmp && f.tcp?.dport === clientPort && f.tcp.syn && f.tcp.ack),
  /** RSTs to the client port. */
  rst: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => !f.icmp && f.tcp?.dport === clientPort && f.tcp.rst),
  /** Segments with data from the client port. */
  data: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => !f.icmp && f.tcp?.sport === clientPort && f.tcp.len > 0),
  /** Segments from the server to the client port. */
  toClient: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => !f.icmp && f.tcp?.dport === clientPort),
  /** Every segment of the conversation, and the ICMP errors quoting it. */
  all: (frames: Frame[], clientPort: number): Frame[] =>
    frames.filter((f) => f.tcp?.sport === clientPort || f.tcp?.dport === clientPort)
} as const

/** Every datagram of a UDP conversation, and the ICMP errors quoting it. */
export function datagrams(frames: Frame[], clientPort: number): Frame[] {
  return frames.filter((f) => f.udp?.sport === clientPort || f.udp?.dport === clientPort)
}
