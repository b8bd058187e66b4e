import type { InputInfo } from '../../shared/incident'
import { readConntrack } from '../hostfacts/read-conntrack'
import { readSysctl } from '../hostfacts/read-sysctl'
import { readIpsetSave } from '../rulesets/read-ipset'
import { readRuleset } from '../rulesets/read-ruleset'

/** Text inputs larger than this are not snapshots or logs Verdict can hold whole. */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024

/**
 * Reads a ruleset, ipset, conntrack or sysctl snapshot and records on its input
 * what was read (records) and what was not (warnings with lines). Other
 * kinds are only listed until their readers exist.
 */
export function readTextInput(info: InputInfo, text: string): void {
  const warn = (at: string, message: string): void => {
    info.warnings.push(`${at}: ${message}`)
  }
  if (info.kind === 'ruleset' && info.format === 'ipset') {
    const { sets, problems } = readIpsetSave(info.path, text)
    info.records = [...sets.values()].reduce((n, s) => n + s.members.length, 0)
    for (const p of problems) warn(p.at, p.message)
    return
  }
  if (info.kind === 'ruleset') {
    const r = readRuleset(info.path, text)
    if (typeof r === 'string') {
      info.warnings.push(r)
      return
    }
    info.records = r.tables.reduce(
      (n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0),
      0
    )
    for (const p of r.problems) warn(p.at, p.message)
    return
  }
  if (info.kind === 'conntrack') {
    const t = readConntrack(info.path, text)
    info.records = t.entries.length
    for (const p of t.problems) warn(p.at, p.message)
    return
  }
  if (info.kind === 'sysctl') {
    const s = readSysctl(info.path, text)
    info.records = s.values.size
    for (const p of s.problems) warn(p.at, p.message)
    return
  }
  info.warnings.push(`${info.format} files are recognised but not analysed yet`)
}
