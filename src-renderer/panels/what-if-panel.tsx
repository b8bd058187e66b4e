import { useState } from 'react'
import type { Finding, Flow, Incident, WhatIf } from '@shared/incident'
import { outcomeLabel } from '../model/outcomes'
import { flowLine, typedChangeProblem } from '../model/what-if'
import { tryChanges } from '../store/actions'
import { appStore, useApp } from '../store/app-store'

/**
 * What a change would do, simulated on copies of the loaded snapshots: per change, the failures
 * it would resolve and the other flows whose verdict it would change; and a box to type one.
 */
export function WhatIfPanel({ under }: { under?: Finding }) {
  const run = useApp((s) => s.whatIf)
  const incident = useApp((s) => s.incident)
  if (!incident) return null
  const tried = incident.findings.find((f) => f.id === run?.finding)
  const what = !run?.finding
    ? 'Your change'
    : tried && tried === under
      ? 'The fix above'
      : `The fix of “${tried?.title ?? run.finding}”`
  return (
    <section className="what-if" aria-label="What if">
      <div className="what-if-head">
        <h3>What if</h3>
        {run && !run.running && (
          <button onClick={() => appStore.getState().setWhatIf(null)}>Clear</button>
        )}
      </div>
      {run && (
        <p className="muted">
          {what}, {run.running ? 'being tried' : 'tried'} on copies of the loaded snapshots: no host
          is changed.
        </p>
      )}
      {run?.running && (
        <ul className="what-if-list">
          {run.changes.map((c, i) => (
            <li key={i} className="what-if-change">
              <code>{c}</code>
              <div className="muted">trying…</div>
            </li>
          ))}
        </ul>
      )}
      {run?.error && (
        <p className="error" role="alert">
          {run.error}
        </p>
      )}
      {run?.results && (
        <ul className="what-if-list">
          {run.results.map((w, i) => (
            <ChangeResult key={i} w={w} incident={incident} />
          ))}
        </ul>
      )}
      {run && run.skipped.length > 0 && (
        <div className="muted">
          Not tried (Verdict simulates iptables, ip6tables, nft and sysctl commands only):
          {run.skipped.map((l, i) => (
            <code key={i} className="skipped">
              {l}
            </code>
          ))}
        </div>
      )}
      <TypedChange incident={incident} host={under?.cause.host} />
    </section>
  )
}

function ChangeResult({ w, incident }: { w: WhatIf; incident: Incident }) {
  const n = w.resolves.length
  const m = w.changes.length
  const problems = w.problems ?? []
  // A change that could not be applied at all says only why.
  const applied = problems.length === 0 || n > 0 || m > 0
  return (
    <li className="what-if-change">
      <code>{w.change}</code>
      {problems.map((p, i) => (
        <div key={i} className="warning">
          {p}
        </div>
      ))}
      {applied && (
        <>
          <div className={n > 0 ? 'resolves' : 'muted'}>
            {n > 0
              ? `would resolve ${n} failure${n === 1 ? '' : 's'}:`
              : 'would resolve none of the failures'}
          </div>
          {n > 0 && (
            <ul className="flow-refs">
              {w.resolves.map((id) => (
                <FlowRef key={id} id={id} incident={incident} />
              ))}
            </ul>
          )}
          <div className={m > 0 ? 'also' : 'muted'}>
            {m > 0
              ? `would also change ${m} other flow${m === 1 ? '' : 's'}:`
              : 'would change no other flow’s verdict'}
          </div>
          {m > 0 && (
            <ul className="flow-refs">
              {w.changes.map((c) => (
                <FlowRef key={c.flow} id={c.flow} incident={incident}>
                  <div className="before-after">
                    {c.before} <span aria-label="becomes">→</span> {c.after}
                  </div>
                </FlowRef>
              ))}
            </ul>
          )}
        </>
      )}
    </li>
  )
}

function FlowRef({
  id,
  incident,
  children
}: {
  id: string
  incident: Incident
  children?: React.ReactNode
}) {
  const selected = useApp((s) => s.selectedFlow === id)
  const flow: Flow | undefined = incident.flows.find((f) => f.id === id)
  return (
    <li>
      <button
        className={`flow-ref${selected ? ' selected' : ''}`}
        onClick={() => appStore.getState().selectFlow(id)}
      >
        {flow ? flowLine(flow) : id}
        {flow && <span className="muted"> · {outcomeLabel(flow.outcome)}</span>}
      </button>
      {children}
    </li>
  )
}

/** A box to type one change; its example names the host of the finding shown, else a ruleset's. */
function TypedChange({ incident, host: shown }: { incident: Incident; host?: string }) {
  const busy = useApp((s) => s.busy)
  const [text, setText] = useState('')
  const [problem, setProblem] = useState<string | undefined>()
  const host = shown ?? incident.inputs.find((i) => i.kind === 'ruleset' && i.host)?.host
  return (
    <form
      className="what-if-form"
      onSubmit={(e) => {
        e.preventDefault()
        const why = typedChangeProblem(text)
        setProblem(why)
        if (!why) void tryChanges([text.trim()])
      }}
    >
      <input
        aria-label="Change to try"
        placeholder={`${host ? `${host}: ` : ''}iptables -I INPUT 1 -p tcp --dport 22 -j ACCEPT`}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit" disabled={busy}>
        Try
      </button>
      {problem && <div className="warning">{problem}</div>}
    </form>
  )
}
