import type { TraceStepView } from '../shared/incident'
import { firewalldTrace, FIREWALLD_TABLE } from '../engine/correlate/firewalld-trace'
import { markAssumedZone } from '../engine/correlate/firewalld-walk'
import { writtenSetting } from '../engine/correlate/host-firewalld'
import type { PacketSpec } from '../engine/evaluate/packet-spec'
import { evaluateFirewalld, type FirewalldPath } from '../engine/firewalld/evaluate-firewalld'
import { firewalldFix } from '../engine/firewalld/firewalld-fix'
import type { FirewalldVerdict } from '../engine/firewalld/model'
import { readFirewalld, type FirewalldFile } from '../engine/firewalld/read-firewalld'

/** What `verdict trace` prints for a firewalld configuration. */
export interface FirewalldTraceResult {
  verdict: FirewalldVerdict['verdict']
  rejectWith?: string
  decidedBy: {
    kind: 'rule' | 'policy'
    /** firewalld's own word for the setting: target, service, port, rich-rule, builtin... */
    setting: FirewalldVerdict['decidedBy']['kind']
    table: string
    chain: string
    file?: string
    line?: number
    /** The setting as the files write it. */
    rule: string
    zone?: string
    policy?: string
  }
  zone?: string
  egressZone?: string
  ct: string
  trace: TraceStepView[]
  logs: { prefix: string; chain: string }[]
  uncertain: boolean
  uncertainWhy: string[]
  notes: string[]
  /** The firewall-cmd commands that would let the packet through. */
  fix: string[]
}

/**
 * Evaluates a packet against the firewalld configuration the files describe;
 * returns the result and the problems met reading the files (file: line: message).
 */
export function traceFirewalld(
  files: FirewalldFile[],
  packet: PacketSpec,
  opts: FirewalldPath
): { result: FirewalldTraceResult; problems: string[] } {
  const config = readFirewalld(files)
  const v = evaluateFirewalld(config, packet, opts)
  markAssumedZone(config, packet, opts, v)
  const d = v.decidedBy
  const target = d.kind === 'target' || d.kind === 'policy-target'
  const result: FirewalldTraceResult = {
    verdict: v.verdict,
    decidedBy: {
      kind: target ? 'policy' : 'rule',
      setting: d.kind,
      table: FIREWALLD_TABLE,
      chain: v.chain,
      ...(d.file !== undefined ? { file: d.file } : {}),
      ...(d.line !== undefined ? { line: d.line } : {}),
      rule: writtenSetting(files, d),
      ...(d.zone !== undefined ? { zone: d.zone } : {}),
      ...(d.policy !== undefined ? { policy: d.policy } : {})
    },
    ct: opts.ct ?? packet.impliedCt,
    trace: firewalldTrace(v),
    logs: v.logs,
    uncertain: v.uncertain,
    uncertainWhy: v.uncertain ? v.notes : [],
    notes: v.notes,
    fix: firewalldFix(config, packet, v)
  }
  if (v.rejectWith) result.rejectWith = v.rejectWith
  if (v.zone) result.zone = v.zone
  if (v.egressZone) result.egressZone = v.egressZone
  return {
    result,
    problems: config.problems.map((p) => `${p.source}: ${p.at}: ${p.message}`)
  }
}

/** Returns the firewalld trace as text: the verdict and deciding setting, then each chain. */
export function firewalldTraceText(r: FirewalldTraceResult): string {
  const d = r.decidedBy
  const at = d.file !== undefined ? ` at ${d.file} line ${d.line ?? '?'}` : ''
  const zones = r.zone
    ? `zone: ${r.zone}${r.egressZone ? ` → ${r.egressZone}` : ''}`
    : r.egressZone
      ? `egress zone: ${r.egressZone}`
      : undefined
  const head = [
    `${r.verdict.toUpperCase()}${r.rejectWith ? ` with ${r.rejectWith}` : ''} by ${d.kind}${at} (${d.table}/${d.chain}): ${d.rule}`,
    `conntrack state: ${r.ct}`,
    ...(zones ? [zones] : []),
    ...(r.uncertain ? [`UNCERTAIN: ${r.uncertainWhy.join('; ')}`] : [])
  ]
  const steps = r.trace.map((s) => {
    const where = `${s.hook} ${s.table}/${s.chain}`
    if (!s.matched) return `  ${where}: no (${s.note ?? 'nothing here decides'})`
    const line = s.line !== undefined ? ` line ${s.line}` : ''
    return `  ${where}${line}: ${s.kind === 'policy' ? 'target' : 'matched'} → ${s.action}  ${s.rule ?? ''}`
  })
  const notes = r.uncertain ? [] : r.notes.map((n) => `note: ${n}`)
  const fix = r.fix.length ? ['fix:', ...r.fix.map((c) => `  ${c}`)] : []
  return [...head, ...steps, ...notes, ...fix].join('\n') + '\n'
}
