import { useState } from 'react'
import type { Finding, Flow } from '@shared/incident'
import { outcomeLabel } from '../model/outcomes'
import { fixChanges } from '../model/what-if'
import { openPacket, openText, tryChanges } from '../store/actions'
import { useApp } from '../store/app-store'
import { EvidenceList } from './evidence-list'
import { WhatIfPanel } from './what-if-panel'

/** The selection in full: the finding's cause, explanation, fix and evidence, and the flow's packets. */
export function DetailPane() {
  const incident = useApp((s) => s.incident)
  const flowId = useApp((s) => s.selectedFlow)
  const findingId = useApp((s) => s.selectedFinding)
  const finding = incident?.findings.find((f) => f.id === findingId)
  const flow = incident?.flows.find((f) => f.id === flowId)
  if (!finding && !flow)
    return (
      <aside className="detail empty" aria-label="Detail">
        <p className="muted">
          Select a finding, a lane on the timeline or a row of the flows table. Keys: ↑ ↓ findings,
          / filter, + − zoom, Esc clear.
        </p>
        <WhatIfPanel />
      </aside>
    )
  return (
    <aside className="detail" aria-label="Detail">
      {finding ? <FindingDetail finding={finding} /> : <WhatIfPanel />}
      {flow && <FlowDetail flow={flow} />}
    </aside>
  )
}

function FindingDetail({ finding }: { finding: Finding }) {
  const c = finding.cause
  return (
    <section className="finding-detail">
      <h2>{finding.title}</h2>
      <div className="meta">
        {outcomeLabel(finding.outcome)} · cause <strong>{c.kind}</strong>
        {c.system ? ` · ${c.system}` : ''}
        {c.host ? ` · host ${c.host}` : ''} · confidence {Math.round(finding.confidence * 100)}%
      </div>
      {c.rule !== undefined && (
        <button className="cause-rule" onClick={() => c.file && void openText(c.file, c.line)}>
          <span className="where">
            {c.table ? `${c.table} ` : ''}
            {c.chain ?? ''}
            {c.line !== undefined ? ` · line ${c.line}` : ''}
          </span>
          <code>{c.rule}</code>
        </button>
      )}
      <p className="explanation">{finding.explanation}</p>
      {finding.fix && <Fix finding={finding} text={finding.fix} />}
      <WhatIfPanel under={finding} />
      {finding.missing && finding.missing.length > 0 && (
        <div className="missing">
          To decide, Verdict needs:{' '}
          <ul>
            {finding.missing.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </div>
      )}
      {finding.alignment && <div className="muted">clock: {finding.alignment}</div>}
      <h3>Evidence</h3>
      <EvidenceList evidence={finding.evidence} />
    </section>
  )
}

/** The fix as text to copy, and, where its lines are commands Verdict can simulate, a way to try them. */
function Fix({ finding, text }: { finding: Finding; text: string }) {
  const [copied, setCopied] = useState(false)
  const busy = useApp((s) => s.busy)
  const trying = useApp((s) => s.whatIf?.running === true && s.whatIf.finding === finding.id)
  const { changes, skipped } = fixChanges(text, finding.cause.host)
  return (
    <div className="fix">
      <div className="fix-head">
        <h3>Fix</h3>
        {changes.length > 0 && (
          <button
            className="try-fix"
            disabled={busy}
            title="Analyse the loaded files again with this fix applied to copies of the snapshots"
            onClick={() => void tryChanges(changes, { finding: finding.id, skipped })}
          >
            {trying ? 'Trying…' : 'Try this fix'}
          </button>
        )}
        <button
          onClick={() =>
            void navigator.clipboard.writeText(text).then(
              () => setCopied(true),
              () => setCopied(false)
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <pre>{text}</pre>
    </div>
  )
}

function FlowDetail({ flow }: { flow: Flow }) {
  return (
    <section className="flow-detail">
      <h3>
        {flow.id} · {flow.proto} {flow.src}
        {flow.sport !== undefined ? `:${flow.sport}` : ''} → {flow.dst}
        {flow.dport !== undefined ? `:${flow.dport}` : ''}
      </h3>
      <div className="meta">
        {outcomeLabel(flow.outcome)} · {flow.packets} packets · {flow.bytes} bytes
        {flow.synRetransmits ? ` · ${flow.synRetransmits} SYN retransmissions` : ''}
        {flow.history ? ` · history ${flow.history}` : ''}
      </div>
      <div className="meta">
        {flow.seenAt.length > 0 || !flow.loggedAt
          ? `seen at ${flow.seenAt.join(', ') || '—'}`
          : `logged at ${flow.loggedAt.join(', ')}, seen by no capture`}
        {flow.missingAt?.length ? ` · missing at ${flow.missingAt.join(', ')}` : ''}
      </div>
      {flow.icmp && (
        <div className="meta">
          ICMP type {flow.icmp.type} code {flow.icmp.code}
          {flow.icmp.mtu !== undefined ? ` mtu ${flow.icmp.mtu}` : ''} from {flow.icmp.from} (
          {flow.icmp.sender})
        </div>
      )}
      <ul className="key-packets">
        {(flow.keyPackets ?? []).map((k, i) => (
          <li key={i}>
            <span className="what">{k.what}</span> {k.time.slice(11)}{' '}
            {k.frames?.map((ref) => (
              <button key={ref} className="open" onClick={() => void openPacket(ref)}>
                {ref.split(':').pop()}
              </button>
            ))}
            {k.missingAt?.length ? (
              <span className="warning"> missing at {k.missingAt.join(', ')}</span>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  )
}
