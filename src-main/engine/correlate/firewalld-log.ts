/**
 * Logged drops located in a host's firewalld configuration: a LogDenied
 * prefix names a zone's or policy's target, a rich rule's `log prefix` names
 * the rule; with the logged packet, the packet is walked as well.
 */

import type { Cause } from '../../shared/incident'
import { firewalldLogPrefix } from '../firewalld/chain-names'
import type { FirewalldConfig } from '../firewalld/model'
import type { LoggedPacket } from '../logs/log-event'
import type { FromFile } from './evidence'
import { firewalldCause, firewalldWalk, loadedChain, type FirewalldWalk } from './firewalld-walk'
import { FIREWALLD_TABLE } from './firewalld-trace'
import { firewalldLine, hostFirewalld } from './host-firewalld'
import { loggedHop, loggedSim } from './logged-walk'
import type { Hop } from './simulate'

/** A logged drop located in the host's firewalld configuration. */
export interface FirewalldLogged {
  cause: Cause
  /** The zone or policy the prefix names. */
  zone?: string
  policy?: string
  /** The walk of the logged packet, when it could be rebuilt from the line. */
  walk?: FirewalldWalk
  /** Whether that walk produces the line's prefix (the configuration explains the line). */
  passedLog: boolean
}

/**
 * Returns where a firewalld log prefix (`filter_IN_public_REJECT: `, a rich
 * rule's `log prefix`) sits in the host's firewalld configuration: the zone's
 * or policy's target line, or the rich rule that logs it. With the logged
 * packet, the packet is walked too and the walk's decision is the cause.
 */
export function firewalldLogCause(
  host: Hop['host'],
  prefix: string,
  packet?: LoggedPacket
): FirewalldLogged | undefined {
  const config = hostFirewalld(host)
  if (!config) return undefined
  const located = locatePrefix(host, config, prefix)
  const walk = packet ? walkLoggedPacket(host, packet) : undefined
  const want = prefix.trim()
  const passedLog = walk !== undefined && walk.verdict.logs.some((l) => l.prefix.trim() === want)
  if (walk && walk.verdict.verdict !== 'accept' && (passedLog || !located))
    return {
      cause: firewalldCause(walk),
      zone: walk.verdict.decidedBy.zone,
      policy: walk.verdict.decidedBy.policy,
      walk,
      passedLog
    }
  return located ? { ...located, walk, passedLog } : undefined
}

function walkLoggedPacket(host: Hop['host'], p: LoggedPacket): FirewalldWalk | undefined {
  const sim = loggedSim(p)
  if (!sim) return undefined
  return firewalldWalk(loggedHop(host, p), sim)
}

function locatePrefix(
  host: Hop['host'],
  config: FromFile<FirewalldConfig>,
  prefix: string
): Omit<FirewalldLogged, 'walk' | 'passedLog'> | undefined {
  const want = prefix.trim()
  if (want === '') return undefined
  const base = { system: 'firewalld', host: host.name || undefined, table: FIREWALLD_TABLE }
  const parsed = firewalldLogPrefix(want)
  if (parsed?.kind === 'zone-target' || parsed?.kind === 'policy-target') {
    const zone = parsed.zone !== undefined ? config.value.zones.get(parsed.zone) : undefined
    const policy =
      parsed.policy !== undefined ? config.value.policies.get(parsed.policy) : undefined
    const owner = zone ?? policy
    if (!owner) return undefined
    const w = owner.targetWhere
    const line = firewalldLine(host.firewalldFiles, w.file, w.line)
    return {
      cause: {
        ...base,
        kind: 'policy',
        file: w.file,
        line: w.line,
        chain: loadedChain(host, parsed.chain),
        rule: line && /target/.test(line) ? line : `target: ${owner.target}`,
        verdict: parsed.action.toLowerCase()
      },
      ...(zone ? { zone: zone.name } : { policy: owner.name })
    }
  }
  if (parsed?.kind === 'icmp-block') {
    const zone = parsed.zone !== undefined ? config.value.zones.get(parsed.zone) : undefined
    const owner = zone ?? config.value.policies.get(parsed.policy ?? '')
    if (!owner) return undefined
    const file = owner.icmpBlocks[0]?.where.file ?? owner.where.file
    return {
      cause: { ...base, kind: 'rule', file, chain: parsed.chain, verdict: 'reject' },
      ...(zone ? { zone: zone.name } : { policy: owner.name })
    }
  }
  if (parsed)
    return {
      cause: {
        ...base,
        kind: parsed.kind === 'state-invalid' ? 'ct-invalid' : 'policy',
        file: config.file,
        chain: parsed.chain,
        verdict: parsed.action.toLowerCase()
      }
    }
  // A rich rule's own log prefix.
  for (const owner of [...config.value.zones.values(), ...config.value.policies.values()])
    for (const r of owner.rules) {
      if ((r.log?.prefix ?? '').trim() !== want) continue
      const isZone = config.value.zones.get(owner.name) === owner
      return {
        cause: {
          ...base,
          kind: 'rule',
          file: r.where.file,
          line: r.where.line,
          chain: `filter_IN_${isZone ? owner.name : `policy_${owner.name}`}_${r.priority < 0 ? 'pre' : r.priority > 0 ? 'post' : 'log'}`,
          rule: r.text,
          verdict: r.action?.kind ?? 'log'
        },
        ...(isZone ? { zone: owner.name } : { policy: owner.name })
      }
    }
  return undefined
}
