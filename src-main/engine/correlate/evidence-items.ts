/**
 * Evidence items, each a sentence and a pointer to its source: the flow's
 * own packets (and where they were missing), the evaluator's walks, log
 * lines, host facts.
 */

import type { Cause, CauseKind, Evidence, Flow, TraceStepView } from '../../shared/incident'
import { walkNetfilter } from '../evaluate/walk-netfilter'
import { normalizeAddress } from '../hostfacts/address'
import { baseName } from './names'
import type { FlowLog } from './log-match'
import { endpointText, hopOptions, type Walk } from './simulate'

/** Returns the packet and ICMP evidence a flow's own captures give. */
export function packetEvidence(flow: Flow): Evidence[] {
  const out: Evidence[] = []
  // A conversation only a log recorded has no captured packets to show: its log lines speak.
  if (flow.seenAt.length === 0) return out
  const to = endpointText(flow.dst, flow.dport)
  const key = (what: string) => flow.keyPackets?.find((k) => k.what === what)
  const syn = key('syn')
  if (flow.proto === 'tcp' && syn) {
    const n = (flow.synRetransmits ?? 0) + 1
    const offsets = flow.synRetransmitOffsets?.map((s) => `${round(s)} s`).join(', ')
    const answered = flow.outcome === 'syn-timeout' ? ', never answered' : ''
    out.push({
      kind: 'packet',
      weight: 'suggests',
      text: `${n === 1 ? 'SYN' : `${n} SYNs`} from ${flow.src} to ${to}${offsets ? ` (retransmitted after ${offsets})` : ''}${answered}`,
      time: syn.time,
      frames: syn.frames
    })
    if (syn.missingAt?.length)
      out.push({
        kind: 'packet',
        weight: 'suggests',
        absent: true,
        text: `the SYN was seen at ${syn.seenAt.join(', ')} and never at ${syn.missingAt.join(', ')}: it was lost between them`,
        time: syn.time
      })
  }
  const synAck = key('syn-ack')
  if (synAck && flow.outcome === 'one-way')
    out.push({
      kind: 'packet',
      weight: 'suggests',
      absent: synAck.missingAt !== undefined,
      text: `the SYN-ACK was sent${flow.synAckRetransmits ? ` ${flow.synAckRetransmits + 1} times` : ''} (seen at ${synAck.seenAt.join(', ')})${synAck.missingAt?.length ? ` and never reached ${synAck.missingAt.join(', ')}` : ' and never answered'}`,
      time: synAck.time,
      frames: synAck.frames
    })
  if (flow.rst) {
    const r = flow.rst
    const rst = key('rst')
    out.push({
      kind: 'packet',
      weight: 'suggests',
      text: `RST in the ${r.by === 'responder' ? "destination's" : "opener's"} name with TTL ${r.ttl}${r.usualTtl !== undefined ? ` (its other packets: ${r.usualTtl})` : ''}${r.afterSec !== undefined ? `, ${round(r.afterSec * 1000)} ms after the ${r.answeredSyn ? 'SYN' : 'segment'}` : ''}`,
      time: r.time,
      frames: rst?.frames
    })
  }
  if (flow.icmp) {
    const i = flow.icmp
    const icmp = key('icmp')
    out.push({
      kind: 'icmp',
      weight: 'suggests',
      text:
        i.quoted === 'reply'
          ? `ICMP${flow.src.includes(':') ? 'v6' : ''} type ${i.type} code ${i.code} from ${i.from}, quoting the answer from ${flow.dst}: ${
              normalizeAddress(i.from) === normalizeAddress(flow.dst) ||
              (flow.nat?.views.at(-1)?.dst !== undefined &&
                normalizeAddress(i.from) === normalizeAddress(flow.nat.views.at(-1)!.dst))
                ? `${i.from}'s own kernel could not send its answer${(flow.src.includes(':') ? i.code === 3 : i.code === 1) ? ' (no link-layer answer from its next hop: ARP or neighbour discovery failed)' : ''}`
                : `${i.from} refused the answer sent back to it`
            }`
          : `ICMP${flow.src.includes(':') ? 'v6' : ''} type ${i.type} code ${i.code}${i.mtu !== undefined ? ` (MTU ${i.mtu})` : ''} from ${i.from} (${i.sender === 'destination' ? 'the destination itself' : 'a router on the way'}), quoting the ${i.quoted}`,
      time: i.time,
      frames: icmp?.frames
    })
  }
  if (flow.data?.stuckPayload !== undefined) {
    const d = flow.data
    const from = d.stuckFrom === 'initiator' ? 'opener' : 'responder'
    const v6 = flow.src.includes(':')
    // A segment no larger than ones that got through is not lost for its size: no PMTUD words.
    const bySize = (d.stuckPayload ?? 0) > d.maxAckedPayload
    out.push({
      kind: 'packet',
      weight: 'suggests',
      text: bySize
        ? `a ${d.stuckPayload}-byte segment${d.stuckDf && !v6 ? ' with DF' : ''} from the ${from} was retransmitted ${d.stuckRetransmits ?? 0} times and never acknowledged, while ${d.maxAckedPayload > 0 ? `segments up to ${d.maxAckedPayload} bytes got through` : 'no segment with data got through'}${d.mssInitiator !== undefined ? `; MSS ${d.mssInitiator}/${d.mssResponder ?? '?'}` : ''}${d.pathMtu !== undefined ? `; path MTU ${d.pathMtu} learnt from ICMP${v6 ? 'v6' : ''}` : `; no ${v6 ? 'packet-too-big' : 'frag-needed'} seen`}`
        : `a ${d.stuckPayload}-byte segment from the ${from} was retransmitted ${d.stuckRetransmits ?? 0} times and never acknowledged, though segments as large (up to ${d.maxAckedPayload} bytes) got through before it: lost for another reason than its size`
    })
  }
  const seenAt = flow.seenAt.length ? ` (seen at ${flow.seenAt.join(', ')})` : ''
  if (flow.neighbourDiscovery)
    out.push({
      kind: 'packet',
      weight: 'suggests',
      text: flow.replies
        ? `${flow.dst} advertised its link-layer address ${flow.replies} time(s)${seenAt}, yet ${flow.src} kept soliciting it (${flow.requests ?? 0} solicitations): the advertisements never reached ${flow.src}, so nothing it had for ${flow.dst} was sent`
        : `${flow.requests ?? 0} neighbour solicitation(s) from ${flow.src} for ${flow.dst} got no advertisement${seenAt}: ${flow.src} never learnt ${flow.dst}'s link-layer address, so nothing it had for ${flow.dst} was sent`,
      time: flow.first
    })
  else if (flow.proto !== 'tcp' && flow.outcome === 'unanswered') {
    const first = key('request')
    const what = flow.proto === 'udp' ? 'datagram' : 'echo request'
    out.push({
      kind: 'packet',
      weight: 'suggests',
      text: `${what}s from ${flow.src} to ${to} got no answer${seenAt}`,
      time: first?.time ?? flow.first,
      frames: first?.frames
    })
    if (first?.missingAt?.length)
      out.push({
        kind: 'packet',
        weight: 'suggests',
        absent: true,
        text: `the first ${what} was seen at ${first.seenAt.join(', ')} and never at ${first.missingAt.join(', ')}: it was lost between them`,
        time: first.time
      })
  }
  return out
}

/**
 * Returns the evidence item of one walk. Its trace is left to be made when the item is kept
 * (withTraces): a flow's draft keeps its walks' evidence, but a finding shows only its first
 * flow's, and a 10,000-rule snapshot gives traces of thousands of steps. Copying each for every
 * flow of a large log made most of correlation's time and memory.
 */
export function walkEvidence(w: Walk, weight: Evidence['weight'] = 'predicts'): Evidence {
  const r = w.result
  const e: Evidence = {
    kind: 'simulation',
    weight: r.uncertain ? 'suggests' : weight,
    text: `${w.sim.what} walked through ${w.hop.host.name || 'the'} ${baseName(w.ruleset.file)} (${w.hop.path}, ct ${r.ct}): ${r.verdict}${r.rejectWith ? ` with ${r.rejectWith}` : ''}${r.decidedBy ? ` by ${decision(w)}` : ''}${r.uncertain ? ` — uncertain: ${r.uncertainWhy.join('; ')}` : ''}`,
    file: w.ruleset.file,
    host: w.hop.host.name || undefined,
    packet: w.sim.spec,
    path: w.hop.path,
    ct: r.ct,
    verdict: r.verdict,
    trace: NOT_TRACED,
    uncertain: r.uncertain,
    uncertainWhy: r.uncertainWhy.length ? r.uncertainWhy : undefined
  }
  // What it takes to walk the packet again, and no more: holding the walk would hold its trace.
  const ruleset = w.ruleset.value
  const packet = w.sim.packet
  const options = hopOptions(w.hop, w.sim, w.stateful)
  untraced.set(e, () => walkNetfilter(ruleset, packet, options).trace)
  return e
}

/** The trace of simulation evidence whose trace is not made yet (shared, so frozen). */
const NOT_TRACED = Object.freeze([]) as unknown as TraceStepView[]
/** How to walk again the packet of each simulation item whose trace is not made yet. */
const untraced = new WeakMap<Evidence, () => TraceStepView[]>()

/** Returns the evidence with the traces of its simulation items made (the walks are pure). */
export function withTraces(evidence: Evidence[]): Evidence[] {
  for (const e of evidence) {
    const walk = untraced.get(e)
    if (walk === undefined || e.kind !== 'simulation') continue
    e.trace = walk().map((s) => ({ ...s }))
    untraced.delete(e)
  }
  return evidence
}

/** Returns the deciding rule or policy of a walk, in words. */
export function decision(w: Walk): string {
  const d = w.result.decidedBy
  if (!d) return 'no rule'
  if (d.kind === 'policy')
    return `the ${d.chain} policy (${d.table}${d.line !== undefined ? `, line ${d.line}` : ''})`
  return `${d.table} ${d.chain} line ${d.line ?? '?'}`
}

/** Returns the cause a blocking walk names. */
export function walkCause(w: Walk, kind: CauseKind): Cause {
  const d = w.result.decidedBy
  const cause: Cause = {
    kind,
    system: w.ruleset.value.system,
    host: w.hop.host.name || undefined,
    file: w.ruleset.file,
    verdict: w.result.rejectWith ? `reject with ${w.result.rejectWith}` : w.result.verdict
  }
  if (d) {
    cause.table = d.table
    cause.chain = d.chain
    if (d.line !== undefined) cause.line = d.line
    if (d.rule !== undefined) cause.rule = d.rule
  }
  return cause
}

/** Returns the evidence item of a log line tied to the flow. */
export function logEvidence(l: FlowLog, weight: Evidence['weight'], what: string): Evidence {
  const e = l.placed.event
  return {
    kind: 'log',
    weight,
    text: what,
    file: e.file,
    line: e.line,
    raw: e.text,
    time: l.placed.time !== undefined ? new Date(l.placed.time * 1000).toISOString() : undefined,
    alignment: l.placed.alignment
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}
