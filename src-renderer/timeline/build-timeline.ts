import type { Flow, Incident } from '../../src-main/shared/incident'
import { outcomeRank } from '../model/outcomes'
import { Mark, type Band, type Lane, type TimelineData } from './timeline-data'

/** How lanes are made: one per conversation, or one per pair of hosts. */
export type LaneMode = 'conversation' | 'host-pair'

/** Returns an ISO-8601 time (µs or ns digits) as epoch microseconds. */
export function isoToUs(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso)
  if (!m) return Date.parse(iso) * 1000
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6)
  return Date.parse(m[1] + 'Z') * 1000 + Number(frac)
}

/** Returns the incident as timeline lanes (grouped by outcome, then by time) and their marks. */
export function buildTimeline(incident: Incident, mode: LaneMode): TimelineData {
  const lanes = makeLanes(incident.flows, mode)
  const points: string[] = []
  const pointIndex = (p: string | undefined): number => {
    if (p === undefined) return 0
    let i = points.indexOf(p)
    if (i < 0) i = points.push(p) - 1
    return i
  }
  const logTimes = logDropTimes(incident)
  const rows: { t: number; mark: Mark; point: number; flow: number; frame?: string }[][] = []
  for (const lane of lanes) {
    const row: (typeof rows)[number] = []
    for (const fi of lane.flows) {
      const f = incident.flows[fi]
      const firstUs = isoToUs(f.first)
      for (const k of f.keyPackets ?? []) {
        const mark = keyMark(k.what, f)
        const t = isoToUs(k.time)
        const seen = k.seenAt.length > 0 ? k.seenAt : [undefined]
        seen.forEach((p, j) => {
          const frame =
            k.frames?.find((r) => p !== undefined && r.startsWith(p + ':')) ?? k.frames?.[j]
          row.push({ t, mark, point: pointIndex(p), flow: fi, frame })
        })
      }
      for (const off of f.synRetransmitOffsets ?? [])
        row.push({
          t: firstUs + off * 1e6,
          mark: Mark.SynRetransmit,
          point: pointIndex(f.seenAt[0]),
          flow: fi
        })
      for (const t of logTimes.get(f.id) ?? [])
        row.push({ t, mark: Mark.LoggedDrop, point: 0, flow: fi })
    }
    row.sort((a, b) => a.t - b.t)
    rows.push(row)
  }
  const total = rows.reduce((n, r) => n + r.length, 0)
  const data: TimelineData = {
    lanes,
    laneStart: new Int32Array(lanes.length + 1),
    timeUs: new Float64Array(total),
    mark: new Uint8Array(total),
    point: new Uint8Array(total),
    flow: new Int32Array(total),
    frames: new Map(),
    points,
    bands: conntrackBands(incident),
    startUs: Infinity,
    endUs: -Infinity
  }
  let i = 0
  rows.forEach((row, li) => {
    data.laneStart[li] = i
    for (const e of row) {
      data.timeUs[i] = e.t
      data.mark[i] = e.mark
      data.point[i] = Math.min(e.point, 255)
      data.flow[i] = e.flow
      if (e.frame) data.frames.set(i, e.frame)
      i++
    }
  })
  data.laneStart[lanes.length] = i
  for (const l of lanes) {
    data.startUs = Math.min(data.startUs, l.firstUs)
    data.endUs = Math.max(data.endUs, l.lastUs)
  }
  if (!Number.isFinite(data.startUs)) data.startUs = data.endUs = 0
  return data
}

function makeLanes(flows: Flow[], mode: LaneMode): Lane[] {
  const byKey = new Map<string, Lane>()
  flows.forEach((f, i) => {
    const key = mode === 'conversation' ? f.id : pairKey(f)
    const firstUs = isoToUs(f.first)
    const lastUs = isoToUs(f.last)
    const lane = byKey.get(key)
    if (!lane) {
      const label =
        mode === 'conversation'
          ? `${f.src}${f.sport !== undefined ? ':' + f.sport : ''} → ${f.dst}${f.dport !== undefined ? ':' + f.dport : ''}`
          : `${key} (${f.proto})`
      byKey.set(key, { key, label, outcome: f.outcome, flows: [i], firstUs, lastUs })
      return
    }
    lane.flows.push(i)
    if (outcomeRank(f.outcome) < outcomeRank(lane.outcome)) lane.outcome = f.outcome
    lane.firstUs = Math.min(lane.firstUs, firstUs)
    lane.lastUs = Math.max(lane.lastUs, lastUs)
    lane.label = `${key} (${lane.flows.length} conversations)`
  })
  return [...byKey.values()].sort(
    (a, b) => outcomeRank(a.outcome) - outcomeRank(b.outcome) || a.firstUs - b.firstUs
  )
}

function pairKey(f: Flow): string {
  return f.src < f.dst ? `${f.src} ↔ ${f.dst}` : `${f.dst} ↔ ${f.src}`
}

function keyMark(what: string, f: Flow): Mark {
  switch (what) {
    case 'syn':
      return Mark.Syn
    case 'syn-ack':
      return Mark.SynAck
    case 'rst':
      return Mark.Rst
    case 'fin':
      return Mark.Fin
    case 'icmp':
      return f.icmp && f.icmp.type === 3 && f.icmp.code === 4 ? Mark.FragNeeded : Mark.IcmpError
    case 'request':
      return Mark.Request
    case 'reply':
      return Mark.Reply
    default:
      return Mark.DataRetransmit
  }
}

/** Times of the logged drops that findings tie to each flow. */
function logDropTimes(incident: Incident): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const finding of incident.findings) {
    const times = finding.evidence.flatMap((e) =>
      e.kind === 'log' && e.time ? [isoToUs(e.time)] : []
    )
    if (finding.cause.kind === 'conntrack-full') continue
    for (const id of finding.flows) out.set(id, [...(out.get(id) ?? []), ...times])
  }
  return out
}

/** Windows in which conntrack was full: from the first to the last log line a finding cites. */
function conntrackBands(incident: Incident): Band[] {
  const bands: Band[] = []
  for (const f of incident.findings) {
    if (f.cause.kind !== 'conntrack-full') continue
    const times = f.evidence.flatMap((e) => (e.kind === 'log' && e.time ? [isoToUs(e.time)] : []))
    if (times.length === 0) continue
    bands.push({
      startUs: Math.min(...times),
      endUs: Math.max(...times) + 1e5,
      label: `conntrack table full (${f.evidence.filter((e) => e.kind === 'log').length} log lines)`
    })
  }
  return bands
}
