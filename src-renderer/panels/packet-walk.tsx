import type { Evidence, TraceStepView } from '@shared/incident'
import { openText } from '../store/actions'

type Simulation = Extract<Evidence, { kind: 'simulation' }>

/** Returns the index of the step that decided the verdict: the last matched rule that ended the walk, or the policy. */
export function decidingStep(trace: TraceStepView[]): number {
  for (let i = trace.length - 1; i >= 0; i--) {
    const s = trace[i]
    if (s.kind === 'policy' || (s.matched && s.kind === 'rule' && s.action !== undefined)) return i
  }
  return trace.length - 1
}

/** The packet's walk through hooks, chains and rules, the deciding step highlighted; each rule opens in the ruleset view. */
export function PacketWalk({ sim }: { sim: Simulation }) {
  const decided = decidingStep(sim.trace)
  return (
    <div className="packet-walk">
      <div className="walk-head">
        <code>{sim.packet}</code> · path {sim.path} · ct {sim.ct} →{' '}
        <strong className={`verdict ${sim.verdict}`}>{sim.verdict}</strong>
        {sim.uncertain && <span className="uncertain"> uncertain</span>}
      </div>
      {sim.uncertainWhy?.map((w, i) => (
        <div key={i} className="uncertain-why">
          {w}
        </div>
      ))}
      <ol>
        {sim.trace.map((s, i) => (
          <li
            key={i}
            className={`step ${s.matched ? 'matched' : ''} ${i === decided ? 'deciding' : ''}`}
            onClick={() => s.line !== undefined && void openText(sim.file, s.line)}
          >
            <span className="where">
              {s.hook} · {s.table} · {s.chain}
              {s.line !== undefined ? ` · line ${s.line}` : ''}
            </span>
            <code className="rule">{s.rule ?? s.kind}</code>
            {s.action && <span className="action">{s.action}</span>}
            {s.note && <span className="note">{s.note}</span>}
          </li>
        ))}
      </ol>
    </div>
  )
}
