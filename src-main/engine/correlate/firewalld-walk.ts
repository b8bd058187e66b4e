/**
 * Walks a flow's packets through the firewalld configurations of the hosts on
 * its way, and turns what firewalld decided into evidence, a cause and a fix
 * in firewall-cmd's own words.
 */

import type { Cause, CauseKind, Evidence } from '../../shared/incident'
import type { PacketSpec } from '../evaluate/packet-spec'
import { evaluateFirewalld, type FirewalldPath } from '../firewalld/evaluate-firewalld'
import { firewalldFix, type FixIntent } from '../firewalld/firewalld-fix'
import type { FirewalldConfig, FirewalldVerdict } from '../firewalld/model'
import { selectZone } from '../firewalld/select-zone'
import type { FromFile } from './evidence'
import { FIREWALLD_TABLE, firewalldTrace } from './firewalld-trace'
import { hostFirewalld, writtenSetting } from './host-firewalld'
import { baseName } from './names'
import type { Hop, SimPacket } from './simulate'

/** One packet walked through one host's firewalld configuration. */
export interface FirewalldWalk {
  hop: Hop
  sim: SimPacket
  config: FromFile<FirewalldConfig>
  verdict: FirewalldVerdict
  /** The file of the deciding setting (the configuration's folder for firewalld's built-in rules). */
  file: string
}

/**
 * Returns the walk of a packet through the hop's firewalld configuration, or
 * undefined when the host has none. When the zone depends on an interface
 * Verdict does not know, the verdict is marked uncertain.
 */
export function firewalldWalk(hop: Hop, sim: SimPacket): FirewalldWalk | undefined {
  const config = hostFirewalld(hop.host)
  const where = firewalldPath(hop, sim)
  if (!config || !where) return undefined
  const verdict = evaluateFirewalld(config.value, sim.packet, where)
  markAssumedZone(config.value, sim.packet, where, verdict)
  return { hop, sim, config, verdict, file: verdict.decidedBy.file ?? config.file }
}

/**
 * Walks packets hop by hop through each host's firewalld configuration;
 * returns the first walk firewalld does not accept, or undefined when every
 * hop with firewalld accepts (or none has it).
 */
export function firewalldBlock(
  hops: Hop[],
  packetAt: (hop: Hop) => SimPacket | undefined
): FirewalldWalk | undefined {
  for (const hop of hops) {
    const sim = packetAt(hop)
    if (!sim) continue
    const w = firewalldWalk(hop, sim)
    if (w && w.verdict.verdict !== 'accept') return w
  }
  return undefined
}

/** Returns the evidence item of a firewalld walk: the chains visited as trace steps. */
export function firewalldEvidence(
  w: FirewalldWalk,
  weight: Evidence['weight'] = 'predicts'
): Evidence {
  const v = w.verdict
  const host = w.hop.host.name
  const zone = v.zone ? `, zone ${v.zone}${v.egressZone ? ` to ${v.egressZone}` : ''}` : ''
  return {
    kind: 'simulation',
    weight: v.uncertain ? 'suggests' : weight,
    text: `${w.sim.what} walked through ${host ? `${host}'s` : 'the'} firewalld configuration (${w.hop.path}, ct ${w.sim.ct}${zone}): ${v.verdict}${v.rejectWith ? ` with ${v.rejectWith}` : ''} by ${firewalldDecisionText(w)}${v.uncertain ? ` — uncertain: ${v.notes.join('; ')}` : ''}`,
    file: w.file,
    host: host || undefined,
    packet: w.sim.spec,
    path: w.hop.path,
    ct: w.sim.ct,
    verdict: v.verdict,
    trace: firewalldTrace(v),
    uncertain: v.uncertain,
    uncertainWhy: v.uncertain && v.notes.length ? [...v.notes] : undefined
  }
}

/** Returns the deciding setting of a firewalld walk, in words. */
export function firewalldDecisionText(w: FirewalldWalk): string {
  const d = w.verdict.decidedBy
  const owner = d.policy ? `policy ${d.policy}` : d.zone ? `zone ${d.zone}` : 'firewalld'
  const at = d.file !== undefined ? ` (${baseName(d.file)} line ${d.line ?? '?'})` : ''
  if (d.kind === 'target' || d.kind === 'policy-target') return `the ${owner} ${d.text}${at}`
  if (d.kind === 'builtin') return `firewalld's own rule \`${d.text}\` in ${w.verdict.chain}`
  return `the ${owner} ${d.kind} ${d.text}${at}`
}

/** Returns the cause kind a firewalld decision is: a zone or policy target is a policy. */
export function firewalldCauseKind(v: FirewalldVerdict): CauseKind {
  const k = v.decidedBy.kind
  if (k === 'target' || k === 'policy-target') return 'policy'
  if (k === 'builtin') return /invalid/.test(v.decidedBy.text) ? 'ct-invalid' : 'policy'
  return 'rule'
}

/** Returns the cause a blocking firewalld walk names; `kind` overrides the usual rule/policy. */
export function firewalldCause(w: FirewalldWalk, kind?: CauseKind): Cause {
  const v = w.verdict
  const d = v.decidedBy
  const cause: Cause = {
    kind: kind ?? firewalldCauseKind(v),
    system: 'firewalld',
    host: w.hop.host.name || undefined,
    file: w.file,
    table: FIREWALLD_TABLE,
    chain: loadedChain(w.hop.host, v.chain),
    rule: writtenSetting(w.hop.host.firewalldFiles, d),
    verdict: v.rejectWith ? `reject with ${v.rejectWith}` : v.verdict
  }
  if (d.line !== undefined) cause.line = d.line
  return cause
}

/**
 * Returns the firewall-cmd commands that would let the walked packet through,
 * one a line, or undefined when there is nothing to change.
 */
export function firewalldFixText(w: FirewalldWalk, intent?: FixIntent): string | undefined {
  const cmds = firewalldFix(w.config.value, w.sim.packet, w.verdict, intent)
  // A rich rule taken out leaves the zone's own ports and services to decide: where none
  // admits the packet, its target refuses it too, and the fix must allow it as well.
  const d = w.verdict.decidedBy
  const where = firewalldPath(w.hop, w.sim)
  if (d.kind === 'rich-rule' && cmds.length && where) {
    const config = withoutRichRule(w.config.value, d.text)
    const after = evaluateFirewalld(config, w.sim.packet, where)
    if (after.verdict !== 'accept') {
      const more = firewalldFix(config, w.sim.packet, after, intent).filter(
        (c) => !cmds.includes(c)
      )
      cmds.splice(cmds.length - 1, 0, ...more)
    }
  }
  return cmds.length ? cmds.join('\n') : undefined
}

/**
 * A hop's packet as firewalld sees it: its path, interfaces and conntrack state. A bridged packet
 * is none of firewalld's (its tables are of the ip families): undefined.
 */
function firewalldPath(hop: Hop, sim: SimPacket): FirewalldPath | undefined {
  if (hop.path === 'bridge') return undefined
  return { path: hop.path, iif: hop.iif, oif: hop.oif, ct: sim.ct }
}

/** A copy of the configuration without the rich rule of this text, in any zone or policy. */
function withoutRichRule(config: FirewalldConfig, text: string): FirewalldConfig {
  const strip = <T extends { rules: { text: string }[] }>(m: Map<string, T>): Map<string, T> =>
    new Map([...m].map(([k, v]) => [k, { ...v, rules: v.rules.filter((r) => r.text !== text) }]))
  return { ...config, zones: strip(config.zones), policies: strip(config.policies) }
}

/**
 * Marks a verdict uncertain when its zone is the default only because the
 * interface the packet came in (or goes out) by is not known while zones bind
 * interfaces.
 */
export function markAssumedZone(
  config: FirewalldConfig,
  packet: PacketSpec,
  where: FirewalldPath,
  v: FirewalldVerdict
): void {
  if (![...config.zones.values()].some((z) => z.interfaces.length > 0)) return
  const check = (dir: 'ingress' | 'egress', iface: string | undefined): void => {
    if (iface !== undefined) return
    const choice = selectZone(config, packet, dir, undefined)
    if (choice?.by !== 'default') return
    v.uncertain = true
    v.notes.push(
      `the ${dir === 'ingress' ? 'input' : 'output'} interface is not known: zone ${choice.zone} (the default) is assumed`
    )
  }
  if (where.path !== 'output') check('ingress', where.iif)
  if (where.path !== 'input') check('egress', where.oif)
}

/**
 * A firewalld chain as the host's own nft snapshot calls it, when one is loaded: firewalld 2
 * puts a zone's input verdict in `filter_IN_<zone>_to_HOST`, firewalld 1 in `filter_IN_<zone>`.
 */
export function loadedChain(host: Hop['host'], chain: string): string {
  const names = new Set(
    host.rulesets.flatMap((r) =>
      r.value.system === 'nftables'
        ? r.value.tables.flatMap((t) => t.chains.map((c) => c.name))
        : []
    )
  )
  if (names.size === 0 || names.has(chain)) return chain
  const older = chain.replace(/_to_HOST$/, '')
  return names.has(older) ? older : chain
}
