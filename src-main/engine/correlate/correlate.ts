/**
 * Correlation, the product's answer: every log's clock aligned to capture
 * time, every logged packet tied to its flow, every failed flow given its
 * cause, evidence, confidence and fix, and flows that share a cause grouped
 * into one finding. What-if changes are applied to copies of the snapshots
 * and every observed flow is walked again.
 */

import { oneModelPerTable } from './host-rulesets'
import { learnBridgePorts } from './bridge'
import type { ClockAlignment, Flow, Incident } from '../../shared/incident'
import { alignClock, type ClockHints } from '../align/align-clock'
import { loggedKey } from '../align/packet-keys'
import type { LogEvent } from '../logs/log-event'
import { decide, type DecideContext, type Draft } from './decide'
import type { EvidenceSet, HostEvidence } from './evidence'
import { groupDrafts } from './group'
import { flowRoles } from './host-roles'
import type { FlowEnds } from './host-roles'
import { LOOSE_SLACK_SEC, matchLogsToFlows, type PlacedEvent } from './log-match'
import { loggedFlows } from './logged-flows'
import { runWhatIf } from './what-if'

/** What correlation may use besides the incident and the evidence. */
export interface CorrelateOptions {
  whatIf?: string[]
  clock?: ClockHints
  /** Capture times (epoch seconds) of captured packets whose key a log also holds. */
  sightings?: Map<string, number[]>
}

/** Fills the incident's findings, alignments and what-if results. */
export function correlate(
  incident: Incident,
  ev: EvidenceSet,
  options: CorrelateOptions = {}
): void {
  adoptNamedHosts(ev)
  oneModelPerTable(ev, incident.inputs)
  learnBridgePorts(ev.hosts.values(), incident.flows)
  for (const host of ev.hosts.values()) dropForeignLines(host, incident)
  const { placed, alignments } = placeEvents(incident, ev, options)
  if (alignments.length) incident.alignments = alignments
  const packets = placed.filter((p) => p.event.kind === 'packet')
  const endsOf = (f: Flow): FlowEnds => flowRoles(f, ev).ends
  const logs = matchLogsToFlows(incident.flows, packets, endsOf)
  // A packet logged a little after its conversation's capture ended (a SYN-ACK the server kept
  // resending) still belongs to it: a second, looser pass.
  const untaken = (): PlacedEvent[] => {
    const taken = new Set([...logs.values()].flat().map((l) => l.placed))
    return packets.filter((p) => !taken.has(p))
  }
  const late = matchLogsToFlows(incident.flows, untaken(), endsOf, LOOSE_SLACK_SEC)
  for (const [id, list] of late) logs.set(id, [...(logs.get(id) ?? []), ...list])
  // Refused packets no captured flow took are conversations only a log saw.
  const onlyLogged = loggedFlows(untaken(), incident.flows.length + 1)
  for (const f of onlyLogged.flows) incident.flows.push(f)
  for (const [id, list] of onlyLogged.logs) logs.set(id, list)
  const ctx: DecideContext = {
    ev,
    logs,
    conntrackFull: placed.filter((p) => p.event.kind === 'conntrack-full'),
    wrappers: placed.filter((p) => p.event.kind === 'tcp-wrappers'),
    selinux: placed.filter((p) => p.event.kind === 'selinux'),
    flows: incident.flows
  }
  const drafts: Draft[] = []
  for (const flow of incident.flows) {
    const d = decide(flow, ctx)
    if (d) drafts.push(d)
  }
  incident.findings = groupDrafts(drafts)
  const byId = new Map(incident.flows.map((f) => [f.id, f]))
  for (const f of incident.findings) for (const id of f.flows) byId.get(id)!.finding = f.id
  if (options.whatIf?.length)
    incident.whatIf = options.whatIf.map((c) => runWhatIf(c, incident, ev, ctx))
}

/** Log lines of files outside any host folder that name a known host (syslog's HOSTNAME) go to that host. */
function adoptNamedHosts(ev: EvidenceSet): void {
  const loose = ev.hosts.get('')
  if (!loose || loose.logs.length === 0) return
  const keep: LogEvent[] = []
  for (const e of loose.logs) {
    const h = e.host !== undefined ? ev.hosts.get(e.host) : undefined
    if (h && h !== loose) h.logs.push(e)
    else keep.push(e)
  }
  loose.logs = keep
}

/**
 * Takes out of a host's log the lines about packets on interfaces it does not have (its `ip addr`
 * lists its own): another host's or network namespace's, as a shared kernel log holds them
 * (nf_log_all_netns). They are counted and reported on their input, and not used.
 */
function dropForeignLines(host: HostEvidence, incident: Incident): void {
  const names = new Set(host.ipAddr?.value.interfaces.map((i) => i.name) ?? [])
  if (names.size === 0) return
  const skipped = new Map<string, { count: number; first: number; iface: string }>()
  host.logs = host.logs.filter((e) => {
    const p = e.packet
    const iface = p && [p.in, p.out].find((x) => x !== '' && x !== undefined && !names.has(x))
    if (!iface) return true
    const s = skipped.get(e.file)
    if (s) s.count++
    else skipped.set(e.file, { count: 1, first: e.line, iface })
    return false
  })
  for (const [file, s] of skipped) {
    const one = s.count === 1
    incident.inputs
      .find((i) => i.path === file)
      ?.warnings.push(
        `${file}:${s.first}: ${s.count} line${one ? '' : 's'} name${one ? 's' : ''} interface ${s.iface}, which ${host.name || 'the host'}'s ip addr does not list: another host's or network namespace's lines in a shared kernel log, not used`
      )
  }
}

/** Aligns each log file's clock and returns its events in capture time. */
function placeEvents(
  incident: Incident,
  ev: EvidenceSet,
  options: CorrelateOptions
): { placed: PlacedEvent[]; alignments: ClockAlignment[] } {
  const placed: PlacedEvent[] = []
  const alignments: ClockAlignment[] = []
  const first = incident.flows[0]?.first
  const captureTime = first ? Date.parse(first) / 1000 : undefined
  const sightings = options.sightings ?? new Map<string, number[]>()
  // One log file's events may sit on several hosts (syslog lines naming another host).
  const byFile = new Map<string, { host: HostEvidence; event: LogEvent }[]>()
  for (const host of ev.hosts.values())
    for (const event of host.logs) {
      const entry = byFile.get(event.file)
      if (entry) entry.push({ host, event })
      else byFile.set(event.file, [{ host, event }])
    }
  for (const [file, entries] of byFile) {
    const aligned = alignClock(
      file,
      entries.map((x) => x.event),
      (e) => {
        const k = e.packet ? loggedKey(e.packet) : undefined
        return k ? (sightings.get(k) ?? []) : []
      },
      options.clock ?? {},
      captureTime
    )
    alignments.push(aligned.alignment)
    for (const { host, event } of entries)
      placed.push({
        event,
        host,
        time: aligned.timeOf(event.time),
        alignment: aligned.alignment.text
      })
  }
  return { placed, alignments }
}
