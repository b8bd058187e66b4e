import type { Finding, Flow, KeyPacket } from '../../shared/incident'
import { extent, isoToUs, usToIso } from './time'

/** What a glyph on the timeline stands for. */
export type GlyphKind =
  | 'syn'
  | 'syn-retransmit'
  | 'syn-ack'
  | 'syn-ack-retransmit'
  | 'rst'
  | 'fin'
  | 'icmp'
  | 'frag-needed'
  | 'data-retransmit'
  | 'request'
  | 'reply'
  | 'drop'

/** One thing to mark on a flow's lane, at a time, before layout. */
export interface Mark {
  kind: GlyphKind
  /** A flow's key packet, a retransmission from its offsets, or a finding's log line. */
  origin: 'key-packet' | 'retransmit' | 'log'
  flow: string
  time: string
  us: number
  note: string
}

/** A stretch of time the conntrack table was full, before layout. */
export interface BandTimes {
  fromUs: number
  toUs: number
  label: string
}

/** Returns the marks of the shown flows: key packets, SYN and SYN-ACK retransmissions, and the logged drops of findings (conntrack-full excepted). */
export function collectMarks(flows: Flow[], findings: Finding[]): Mark[] {
  const marks: Mark[] = []
  for (const f of flows) {
    for (const k of f.keyPackets ?? []) {
      marks.push(mark(f, keyKind(f, k), 'key-packet', k.time, keyNote(f, k)))
    }
    addRetransmits(marks, f, 'syn', f.synRetransmitOffsets)
    addRetransmits(marks, f, 'syn-ack', f.synAckRetransmitOffsets)
  }
  const byId = new Map(flows.map((f) => [f.id, f]))
  for (const finding of findings) {
    if (finding.cause.kind === 'conntrack-full') continue
    const candidates = finding.flows.map((id) => byId.get(id)).filter((f) => f !== undefined)
    if (candidates.length === 0) continue
    for (const e of finding.evidence) {
      if (e.kind !== 'log' || e.time === undefined) continue
      const us = isoToUs(e.time)
      if (!Number.isFinite(us)) continue
      const f = nearest(candidates, us)
      marks.push(mark(f, 'drop', 'log', e.time, `${finding.id}: ${e.file}:${e.line} ${e.text}`))
    }
  }
  return marks.filter((m) => Number.isFinite(m.us))
}

function mark(f: Flow, kind: GlyphKind, origin: Mark['origin'], time: string, note: string): Mark {
  return { kind, origin, flow: f.id, time, us: isoToUs(time), note: `${f.id} ${note} at ${time}` }
}

function keyKind(f: Flow, k: KeyPacket): GlyphKind {
  if (k.what !== 'icmp') return k.what
  const v6 = f.proto === 'icmpv6' || f.src.includes(':')
  const i = f.icmp
  if (i && (v6 ? i.type === 2 : i.type === 3 && i.code === 4)) return 'frag-needed'
  return 'icmp'
}

function keyNote(f: Flow, k: KeyPacket): string {
  const seen = k.seenAt.length ? ` seen at ${k.seenAt.join(', ')}` : ''
  const missing = k.missingAt?.length ? `, missing at ${k.missingAt.join(', ')}` : ''
  const icmp =
    k.what === 'icmp' && f.icmp
      ? ` type ${f.icmp.type} code ${f.icmp.code}${f.icmp.mtu !== undefined ? ` mtu ${f.icmp.mtu}` : ''} from ${f.icmp.from}`
      : ''
  return `${k.what}${icmp}${seen}${missing}`
}

/** Adds a glyph per retransmission, at its offset from the first packet of that kind. */
function addRetransmits(
  marks: Mark[],
  f: Flow,
  what: 'syn' | 'syn-ack',
  offsetsSec: number[] | undefined
): void {
  if (!offsetsSec?.length) return
  const base = f.keyPackets?.find((k) => k.what === what)?.time ?? f.first
  const baseUs = isoToUs(base)
  const kind: GlyphKind = what === 'syn' ? 'syn-retransmit' : 'syn-ack-retransmit'
  offsetsSec.forEach((s, i) => {
    const time = usToIso(baseUs + Math.round(s * 1e6))
    marks.push(mark(f, kind, 'retransmit', time, `${what} retransmission ${i + 1} (+${s}s)`))
  })
}

function nearest(flows: Flow[], us: number): Flow {
  let best = flows[0]
  let bestGap = Infinity
  for (const f of flows) {
    const a = isoToUs(f.first)
    const b = isoToUs(f.last)
    const gap = us < a ? a - us : us > b ? us - b : 0
    if (gap < bestGap) {
      best = f
      bestGap = gap
    }
  }
  return best
}

/** Returns a band per conntrack-full finding: its log lines' times, else its flows' span. */
export function conntrackBands(findings: Finding[], flows: Flow[]): BandTimes[] {
  const byId = new Map(flows.map((f) => [f.id, f]))
  const bands: BandTimes[] = []
  for (const finding of findings) {
    if (finding.cause.kind !== 'conntrack-full') continue
    let times = finding.evidence
      .map((e) => (e.kind === 'log' && e.time !== undefined ? isoToUs(e.time) : NaN))
      .filter((t) => Number.isFinite(t))
    if (times.length === 0) {
      times = finding.flows
        .map((id) => byId.get(id))
        .flatMap((f) => (f ? [isoToUs(f.first), isoToUs(f.last)] : []))
        .filter((t) => Number.isFinite(t))
    }
    if (times.length === 0) continue
    const [fromUs, toUs] = extent(times)
    bands.push({
      fromUs,
      toUs,
      label: `${finding.id}: ${finding.title}`
    })
  }
  return bands
}
