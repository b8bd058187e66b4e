/**
 * A firewalld verdict as trace steps: the generated nft chains a packet
 * visited, the log rules it met and the setting that decided it.
 */

import type { TraceStepView } from '../../shared/incident'
import type { FirewalldVerdict } from '../firewalld/model'

/** The nft table firewalld generates its chains in. */
export const FIREWALLD_TABLE = 'inet firewalld'

const HOOKS: Record<string, string> = {
  IN: 'input',
  INPUT: 'input',
  FWD: 'forward',
  FORWARD: 'forward',
  OUT: 'output',
  OUTPUT: 'output',
  PRE: 'prerouting',
  PREROUTING: 'prerouting',
  POST: 'postrouting',
  POSTROUTING: 'postrouting'
}

/**
 * Returns a firewalld verdict's chains visited as trace steps: each chain a
 * step that did not decide, its log rules, and the deciding setting with its
 * line and text in the generated chain that holds it.
 */
export function firewalldTrace(v: FirewalldVerdict): TraceStepView[] {
  const step = (chain: string): TraceStepView => {
    const m = /^(filter|nat|mangle|raw)_([A-Z]+)/.exec(chain)
    return {
      hook: HOOKS[m?.[2] ?? ''] ?? '',
      table: FIREWALLD_TABLE,
      chain,
      kind: 'rule',
      matched: false,
      note: 'nothing here decides'
    }
  }
  const steps = v.trace.map(step)
  const logStep = (l: FirewalldVerdict['logs'][number]): TraceStepView => ({
    ...step(l.chain),
    rule: `log prefix "${l.prefix}"`,
    matched: true,
    action: 'log',
    note: undefined
  })
  for (const l of v.logs) {
    if (l.chain === v.chain) continue
    const at = steps.map((s) => s.chain).lastIndexOf(l.chain)
    steps.splice(at >= 0 ? at + 1 : steps.length, 0, logStep(l))
  }
  const d = v.decidedBy
  const target = d.kind === 'target' || d.kind === 'policy-target'
  const decided: TraceStepView = {
    ...step(v.chain),
    kind: target ? 'policy' : 'rule',
    rule: d.text,
    matched: true,
    action: v.rejectWith ? `reject with ${v.rejectWith}` : v.verdict,
    note: v.notes.length ? v.notes.join('; ') : undefined
  }
  if (d.line !== undefined) decided.line = d.line
  const last = [...v.logs.filter((l) => l.chain === v.chain).map(logStep), decided]
  // A target ends its chain: it comes after the zone's or policy's chains the dispatch jumped to.
  const at = target ? -1 : steps.map((s) => s.chain).lastIndexOf(v.chain)
  if (at >= 0) steps.splice(at, 1, ...last)
  else steps.push(...last)
  for (const s of steps) if (s.note === undefined) delete s.note
  return steps
}
