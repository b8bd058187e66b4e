import { tcpFlagLetters } from '../capture/decode-tcp'
import { formatTimestamp } from '../capture/packet-record'
import type { DataHealth, Flow, KeyPacket, Outcome, RstFacts } from '../../shared/incident'
import type { PointFlow, Sighting, Stamp } from './point-flow'
import { silentPoints, type PointPresence } from './point-presence'
import { isEstablished, pointOutcome, stuckSegment } from './point-outcome'
import { sameEndpoint } from './track-point'

const ESTABLISHED_FAMILY = new Set<Outcome>(['established', 'stalled', 'reset-midstream'])
/** When points disagree and none completed the handshake, the most telling answer wins. */
const FAILURE_ORDER: Outcome[] = [
  'one-way',
  'refused-rst',
  'icmp-unreachable',
  'syn-timeout',
  'incomplete'
]

/** Returns the Flow for one conversation seen at one or more points (ordered opener first). */
export function toFlow(
  id: string,
  group: PointFlow[],
  files: (point: string, file: number) => string,
  presence: PointPresence[] = []
): Flow {
  const primary = group[0]
  if (primary.proto !== 'tcp') orient(group)
  const outcomes = group.map(pointOutcome)
  const ports = primary.proto === 'tcp' || primary.proto === 'udp'
  const first = minBy(group, (f) => f.firstUs)
  const last = maxBy(group, (f) => f.lastUs)
  // Every key a flow may have, in the order the report writes them, made at once: one shape
  // and one allocation for every flow. A key without a value holds undefined, which JSON leaves
  // out; the facts below fill their keys in place.
  const flow: Flow = {
    id,
    proto: primary.proto,
    src: primary.a.ip,
    sport: ports ? primary.a.port : undefined,
    dst: primary.b.ip,
    dport: ports ? primary.b.port : undefined,
    first: formatTimestamp(first.firstSec, first.firstNsec, first.firstDigits),
    last: formatTimestamp(last.lastSec, last.lastNsec, last.lastDigits),
    outcome: combine(group, outcomes, presence),
    packets: maxOf(group, (f) => f.packets),
    bytes: maxOf(group, (f) => f.bytes),
    seenAt: pointsOf(group),
    missingAt: undefined,
    history: undefined,
    synRetransmits: undefined,
    synRetransmitOffsets: undefined,
    handshakeRttSec: undefined,
    synAckRetransmits: undefined,
    synAckRetransmitOffsets: undefined,
    rst: undefined,
    partial: undefined,
    data: undefined,
    requests: undefined,
    replies: undefined,
    neighbourDiscovery: undefined,
    icmp: undefined,
    keyPackets: undefined,
    nat: undefined,
    finding: undefined
  }
  const silent = silentPoints(group, presence)
  if (silent.length > 0) flow.missingAt = silent
  if (primary.history) flow.history = primary.history
  if (primary.proto === 'tcp') addTcpFacts(flow, group)
  else if (primary.echoId !== undefined || primary.neighbour) {
    flow.requests = maxOf(group, (f) => f.fromA)
    flow.replies = maxOf(group, (f) => f.fromB)
    if (primary.neighbour) flow.neighbourDiscovery = true
  }
  const withIcmp = group.find((f) => f.icmp)
  if (withIcmp?.icmp) {
    const { type, code, mtu, from, sender, quoted } = withIcmp.icmp
    const icmp = { type, code, ...(mtu !== undefined ? { mtu } : {}), from, sender, quoted }
    const sighting = withIcmp.sightings.find((s) => s.what === 'icmp')
    flow.icmp = { ...icmp, time: sighting ? stamp(sighting) : flow.first }
  }
  const keyPackets = buildKeyPackets(group, files, silent)
  if (keyPackets.length > 0) flow.keyPackets = keyPackets
  const nat = translation(group)
  if (nat) flow.nat = nat
  return flow
}

/**
 * Turns the datagram conversations of a group the first point's way round: a point that saw
 * only the answers (the other way of an asymmetric route) took their sender for the opener.
 */
function orient(group: PointFlow[]): void {
  const p = group[0]
  for (const f of group) {
    if (f === p || !sameEndpoint(f.a, p.b) || !sameEndpoint(f.b, p.a)) continue
    ;[f.a, f.b] = [f.b, f.a]
    ;[f.fromA, f.fromB] = [f.fromB, f.fromA]
    f.openerKnown = false
    for (const s of f.sightings)
      if (s.what === 'request' || s.what === 'reply')
        s.what = s.what === 'request' ? 'reply' : 'request'
  }
}

function combine(group: PointFlow[], outcomes: Outcome[], presence: PointPresence[]): Outcome {
  if (group[0].proto !== 'tcp') {
    // Answers seen on the way that never reached the opener's own point were lost in between:
    // what the opener got is what counts.
    const p = group[0]
    const atOpener = presence.find((x) => x.point === p.point)?.owned.has(p.a.ip)
    if (atOpener && p.fromA > 0 && p.fromB === 0 && outcomes[0] !== 'icmp-unreachable')
      return 'unanswered'
    if (outcomes.includes('answered')) return 'answered'
    if (outcomes.includes('icmp-unreachable')) return 'icmp-unreachable'
    return 'unanswered'
  }
  const live = outcomes.findIndex((o) => ESTABLISHED_FAMILY.has(o))
  if (live >= 0) {
    // The opener's side says whether the data got through; a stall anywhere is a stall.
    if (outcomes.includes('stalled')) return 'stalled'
    return outcomes[live]
  }
  // The answer was seen on the way but not where the opener is: it was lost in between.
  const answered = group.some((f) => f.synAckUs.length > 0)
  if (answered && group[0].synUs.length > 0 && group[0].synAckUs.length === 0) return 'one-way'
  for (const o of FAILURE_ORDER) if (outcomes.includes(o)) return o
  return outcomes[0]
}

function addTcpFacts(flow: Flow, group: PointFlow[]): void {
  const withSyn = group.find((f) => f.synUs.length > 0)
  if (withSyn) {
    flow.synRetransmits = withSyn.synUs.length - 1
    if (withSyn.synUs.length > 1) {
      flow.synRetransmitOffsets = withSyn.synUs
        .slice(1)
        .map((t) => round3((t - withSyn.synUs[0]) / 1e6))
    }
    const answer = withSyn.synAckUs[0]
    if (answer !== undefined) {
      const lastSyn = withSyn.synUs.filter((t) => t <= answer).at(-1)
      if (lastSyn !== undefined) flow.handshakeRttSec = round6((answer - lastSyn) / 1e6)
    }
  }
  const synAcks = maxOf(group, (f) => f.synAckUs.length)
  if (synAcks > 0) {
    flow.synAckRetransmits = synAcks - 1
    const server = group.find((f) => f.synAckUs.length === synAcks)!
    if (synAcks > 1) {
      flow.synAckRetransmitOffsets = server.synAckUs
        .slice(1)
        .map((t) => round3((t - server.synAckUs[0]) / 1e6))
    }
  }
  const withRst = group.find((f) => f.rst)
  if (withRst?.rst) flow.rst = rstFacts(withRst, flow.handshakeRttSec)
  const partial = group.some(
    (f) => !f.openerKnown || (isEstablished(f) && !f.rst && !(f.finA && f.finB))
  )
  if (partial) flow.partial = true
  const data = dataHealth(group)
  if (data) flow.data = data
}

function rstFacts(f: PointFlow, handshakeRttSec: number | undefined): RstFacts {
  const r = f.rst!
  const facts: RstFacts = {
    time: stamp(r.stamp),
    by: r.byOpener ? 'initiator' : 'responder',
    ttl: r.ttl,
    win: r.win,
    answeredSyn: r.answeredSyn
  }
  const usual = r.byOpener ? f.ttlA : f.ttlB
  if (usual !== undefined) facts.usualTtl = usual
  if (r.ipId !== undefined) facts.ipId = r.ipId
  if (r.segmentLen !== undefined) facts.segmentLen = r.segmentLen
  if (r.answeredSyn) {
    const lastSyn = f.synUs.filter((t) => t <= r.timeUs).at(-1)
    if (lastSyn !== undefined) facts.afterSec = round6((r.timeUs - lastSyn) / 1e6)
  }
  if (handshakeRttSec !== undefined) facts.handshakeRttSec = handshakeRttSec
  return facts
}

function dataHealth(group: PointFlow[]): DataHealth | undefined {
  let stuck: ReturnType<typeof stuckSegment>
  const f = group.find((g) => (stuck = stuckSegment(g)) !== undefined) ?? group[0]
  const a = f.dataA
  const b = f.dataB
  if (!a && !b) return undefined
  const retransmits = (a?.retransmits ?? 0) + (b?.retransmits ?? 0)
  // Most conversations are healthy: nothing to say, nothing to make.
  if (retransmits === 0 && !stuck && !group.some((g) => g.pathMtu !== undefined)) return undefined
  const health: DataHealth = {
    retransmits,
    maxAckedPayload: Math.max(a?.maxAckedPayload ?? 0, b?.maxAckedPayload ?? 0)
  }
  if (stuck) {
    health.stuckPayload = stuck.len
    health.stuckPacketLen = stuck.len + stuck.hdr
    health.stuckDf = stuck.df
    health.stuckFrom = stuck.fromOpener ? 'initiator' : 'responder'
    health.stuckRetransmits = stuck.sends - 1
  }
  if (a?.mss !== undefined) health.mssInitiator = a.mss
  if (b?.mss !== undefined) health.mssResponder = b.mss
  let pathMtu: number | undefined
  for (const g of group)
    if (g.pathMtu !== undefined)
      pathMtu = pathMtu === undefined ? g.pathMtu : Math.min(pathMtu, g.pathMtu)
  if (pathMtu !== undefined) health.pathMtu = pathMtu
  return health
}

const KINDS: Sighting['what'][] = [
  'syn',
  'syn-ack',
  'request',
  'reply',
  'rst',
  'icmp',
  'fin',
  'data-retransmit'
]

/** For each kind of packet of interest: which points saw it and which saw the flow but not it. */
function buildKeyPackets(
  group: PointFlow[],
  files: (point: string, file: number) => string,
  silent: string[]
): KeyPacket[] {
  const out: KeyPacket[] = []
  if (group.length === 1) {
    // One point saw the conversation: each kind's first sighting is there, and only silent points miss it.
    const f = group[0]
    for (const what of KINDS) {
      const s = firstSighting(f, what)
      if (!s) continue
      out.push({
        what,
        time: stamp(s),
        len: s.len,
        tcpFlags: extraFlags(what, s.flags),
        seenAt: [f.point],
        frames: framesOf(f.point, s, files),
        missingAt: silent.length > 0 ? [...silent] : undefined
      })
    }
    return out
  }
  const points = pointsOf(group)
  for (const what of KINDS) {
    let holders: PointFlow[] | undefined
    let firsts: Sighting[] | undefined
    for (const f of group) {
      const s = firstSighting(f, what)
      if (!s) continue
      if (!holders || !firsts) {
        holders = [f]
        firsts = [s]
      } else {
        holders.push(f)
        firsts.push(s)
      }
    }
    if (!holders || !firsts) continue
    const found = firsts
    const earliest = found.reduce((x, y) => (y.timeUs < x.timeUs ? y : x))
    const seenAt = pointsOf(holders)
    const kp: KeyPacket = {
      what,
      time: stamp(earliest),
      len: earliest.len,
      tcpFlags: extraFlags(what, earliest.flags),
      seenAt,
      frames: holders.flatMap((f, i) => framesOf(f.point, found[i], files)),
      missingAt: undefined
    }
    const missing = points.filter((p) => !seenAt.includes(p))
    missing.push(...silent)
    if (missing.length > 0) kp.missingAt = missing
    out.push(kp)
  }
  return out
}

/** The flags each kind of handshake segment carries by definition: SYN, SYN and ACK. */
const PLAIN_FLAGS: Partial<Record<KeyPacket['what'], number>> = { syn: 0x02, 'syn-ack': 0x12 }

/**
 * A SYN's or SYN-ACK's flags in tcpdump's letters when it carries more than its kind (ECN's ECE
 * and CWR, URG, PSH, FIN); undefined otherwise, and for other packets.
 */
function extraFlags(what: KeyPacket['what'], flags: number | undefined): string | undefined {
  const plain = PLAIN_FLAGS[what]
  if (plain === undefined || flags === undefined || flags === plain) return undefined
  return tcpFlagLetters(flags)
}

/** A sighting's frame references: its own, then the same packet's in the point's other files. */
function framesOf(
  point: string,
  s: Sighting,
  files: (point: string, file: number) => string
): string[] {
  const out = [frameRef(point, files(point, s.file), s.frame)]
  const also = s.also
  if (also)
    for (let k = 0; k < also.length; k += 2)
      out.push(frameRef(point, files(point, also[k]), also[k + 1]))
  return out
}

/** The text before the frame number of a frame reference, per point and file: made once. */
const framePrefixes = new Map<string, Map<string, string>>()

/** Returns `POINT:FILE#FRAME`, the reference to one frame of one capture. */
function frameRef(point: string, file: string, frame: number): string {
  let byFile = framePrefixes.get(point)
  if (!byFile) {
    if (framePrefixes.size > 256) framePrefixes.clear()
    framePrefixes.set(point, (byFile = new Map()))
  }
  let prefix = byFile.get(file)
  if (prefix === undefined) {
    if (byFile.size > 256) byFile.clear()
    byFile.set(file, (prefix = `${point}:${file}#`))
  }
  // Joined into one flat text, which the Incident's JSON writes without copying it flat first.
  return [prefix, frame].join('')
}

/** Returns the flow's first sighting of a kind. */
function firstSighting(f: PointFlow, what: Sighting['what']): Sighting | undefined {
  const list = f.sightings
  for (let i = 0; i < list.length; i++) if (list[i].what === what) return list[i]
  return undefined
}

/** Returns the points of the flows, each once, in order of first appearance. */
function pointsOf(flows: PointFlow[]): string[] {
  if (flows.length === 1) return [flows[0].point]
  const out: string[] = []
  for (const f of flows) if (!out.includes(f.point)) out.push(f.point)
  return out
}

/** Math.max of a number of each flow, without an array per call. */
function maxOf(flows: PointFlow[], key: (f: PointFlow) => number): number {
  let max = -Infinity
  for (const f of flows) {
    const v = key(f)
    if (v > max) max = v
  }
  return max
}

function translation(group: PointFlow[]): Flow['nat'] {
  // A conversation seen once cannot differ from itself.
  if (group.length === 1) return undefined
  const p = group[0]
  const differs = group.filter(
    (f) => f.a.ip !== p.a.ip || f.b.ip !== p.b.ip || f.a.port !== p.a.port || f.b.port !== p.b.port
  )
  if (differs.length === 0) return undefined
  const show = (f: PointFlow) =>
    `${f.a.ip}${f.a.port ? ':' + f.a.port : ''} > ${f.b.ip}${f.b.port ? ':' + f.b.port : ''}`
  const view = (f: PointFlow) =>
    f.proto === 'tcp' || f.proto === 'udp'
      ? { src: f.a.ip, sport: f.a.port, dst: f.b.ip, dport: f.b.port }
      : { src: f.a.ip, dst: f.b.ip }
  // Each point's first view; a point that saw both forms (the translator) is in `views` twice.
  const points: NonNullable<Flow['nat']>['points'] = {}
  for (const f of group) points[f.point] ??= view(f)
  const views = group.map((f) => ({ point: f.point, ...view(f) }))
  const translatedAt = [
    ...new Set(
      group.filter((f) => group.some((g) => g !== f && g.point === f.point)).map((f) => f.point)
    )
  ]
  const nat: NonNullable<Flow['nat']> = { from: show(p), to: show(differs.at(-1)!), points, views }
  if (translatedAt.length > 0) nat.translatedAt = translatedAt
  return nat
}

/** Returns a time as the capture gave it (a Stamp, or a Sighting's own) as ISO text. */
function stamp(s: Stamp): string {
  return formatTimestamp(s.sec, s.nsec, s.digits)
}

function minBy<T>(xs: T[], key: (x: T) => number): T {
  return xs.reduce((a, b) => (key(b) < key(a) ? b : a))
}

function maxBy<T>(xs: T[], key: (x: T) => number): T {
  return xs.reduce((a, b) => (key(b) > key(a) ? b : a))
}

function round3(x: number): number {
  return Math.round(x * 1e3) / 1e3
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6
}
