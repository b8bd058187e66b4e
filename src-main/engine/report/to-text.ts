import type { Flow, Incident, Outcome } from '../../shared/incident'

const FAILED_ORDER: Outcome[] = [
  'syn-timeout',
  'refused-rst',
  'icmp-unreachable',
  'one-way',
  'stalled',
  'reset-midstream',
  'unanswered',
  'incomplete'
]
const GOOD = new Set<Outcome>(['established', 'answered'])

/** Returns a readable summary: the inputs, then one line per failed conversation, grouped by outcome. */
export function toText(incident: Incident): string {
  const lines: string[] = []
  for (const i of incident.inputs) {
    const where = i.host
      ? ` [${i.host}${i.point && i.point !== i.host ? '/' + i.point : ''}]`
      : i.point
        ? ` [${i.point}]`
        : ''
    lines.push(`${i.path}: ${i.kind} ${i.format}${where}, ${i.records} record(s)`)
    for (const w of i.warnings) lines.push(`  warning: ${w}`)
    for (const e of i.errors) lines.push(`  error: ${e}`)
  }
  const byOutcome = new Map<Outcome, Flow[]>()
  for (const f of incident.flows) {
    const list = byOutcome.get(f.outcome)
    if (list) list.push(f)
    else byOutcome.set(f.outcome, [f])
  }
  const ok = incident.flows.filter((f) => GOOD.has(f.outcome)).length
  lines.push(
    '',
    `${incident.flows.length} conversation(s): ${ok} succeeded, ${incident.flows.length - ok} did not`
  )
  for (const outcome of [...FAILED_ORDER, ...byOutcome.keys()]) {
    if (GOOD.has(outcome)) continue
    const list = byOutcome.get(outcome)
    if (!list) continue
    byOutcome.delete(outcome)
    lines.push('', `${outcome} (${list.length})`)
    for (const f of list) lines.push('  ' + describe(f))
  }
  return lines.join('\n') + '\n'
}

function describe(f: Flow): string {
  const at = (ip: string, port?: number) =>
    port === undefined ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
  const ends = `${at(f.src, f.sport)} > ${at(f.dst, f.dport)}`
  const facts: string[] = []
  if (f.synRetransmits)
    facts.push(
      `${f.synRetransmits} SYN retransmission(s) at +${f.synRetransmitOffsets?.join('s, +')}s`
    )
  if (f.synAckRetransmits) facts.push(`${f.synAckRetransmits} SYN-ACK retransmission(s)`)
  if (f.icmp) {
    facts.push(
      `ICMP${f.proto === 'icmpv6' || f.src.includes(':') ? 'v6' : ''} type ${f.icmp.type} code ${f.icmp.code}${f.icmp.mtu !== undefined ? ` mtu ${f.icmp.mtu}` : ''} from ${f.icmp.from} (${f.icmp.sender})`
    )
  }
  if (f.rst)
    facts.push(
      `RST by the ${f.rst.by}, TTL ${f.rst.ttl}${f.rst.usualTtl !== undefined ? ` (its other packets: ${f.rst.usualTtl})` : ''}`
    )
  if (f.data?.stuckPayload !== undefined) {
    facts.push(
      `${f.data.stuckPayload}-byte segment${f.data.stuckDf ? ' with DF' : ''} retransmitted ${f.data.stuckRetransmits} time(s), never acknowledged; largest acknowledged ${f.data.maxAckedPayload}`
    )
  }
  const lost = f.keyPackets?.find((k) => k.missingAt && (k.what === 'syn' || k.what === 'syn-ack'))
  if (lost)
    facts.push(
      `${lost.what} seen at ${lost.seenAt.join(', ')}, missing at ${lost.missingAt!.join(', ')}`
    )
  if (f.nat) facts.push(`translated: ${f.nat.from} became ${f.nat.to}`)
  return `${f.id} ${f.proto} ${ends} at ${f.first}${facts.length ? ': ' + facts.join('; ') : ''}`
}
