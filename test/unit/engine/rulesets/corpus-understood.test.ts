import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectKind } from '../../../../src-main/engine/inputs/detect-kind'
import { untracks, type Ruleset } from '../../../../src-main/engine/rulesets/model'
import { readRuleset } from '../../../../src-main/engine/rulesets/read-ruleset'
import { CORPUS } from '../../../support/run'

/** Rules whose every condition and action Verdict models, out of all rules read. */
function understood(rulesets: Ruleset[]): {
  rules: number
  full: number
  notModelled: Map<string, number>
} {
  let rules = 0
  let full = 0
  const notModelled = new Map<string, number>()
  for (const r of rulesets)
    for (const t of r.tables)
      for (const c of t.chains)
        for (const rule of c.rules) {
          rules++
          const gaps = rule.matches.filter((m) => m.kind === 'unmodelled' || m.kind === 'stateful')
          // A mark set to a value Verdict cannot compute leaves later mark matches undecided.
          const marks = [...(rule.marks ?? []), rule.action].filter(
            (a) => a.kind === 'set-mark' && a.clear === undefined
          )
          const otherAction = [
            // notrack (NOTRACK, CT --notrack, nft notrack) is modelled: the packet untracked.
            ...(rule.action.kind === 'other' && !untracks(rule) ? [rule.action.name] : []),
            ...marks.map(() => 'mark set (not computed)')
          ]
          for (const g of gaps) notModelled.set(g.name, (notModelled.get(g.name) ?? 0) + 1)
          for (const a of otherAction)
            notModelled.set(`target ${a}`, (notModelled.get(`target ${a}`) ?? 0) + 1)
          if (gaps.length === 0 && otherAction.length === 0) full++
        }
  return { rules, full, notModelled }
}

describe.each(['iptables', 'nft'])('the %s corpus', (folder) => {
  it('reads every ruleset without a crash and reports the share of rules fully understood', () => {
    const dir = resolve(CORPUS, folder)
    const parsed: Ruleset[] = []
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(resolve(dir, f))
      if (detectKind(bytes).kind !== 'ruleset') continue
      const r = readRuleset(f, bytes.toString('utf8'))
      if (typeof r === 'string') continue
      parsed.push(r)
    }
    expect(parsed.length).toBeGreaterThan(20)
    const u = understood(parsed)
    const top = [...u.notModelled].sort((a, b) => b[1] - a[1]).slice(0, 8)
    console.log(
      `${folder}: ${parsed.length} rulesets, ${u.rules} rules, ${((100 * u.full) / u.rules).toFixed(1)}% fully understood; ` +
        `not modelled: ${top.map(([k, n]) => `${k} ×${n}`).join(', ')}`
    )
    expect(u.rules).toBeGreaterThan(500)
    expect(u.full / u.rules).toBeGreaterThan(0.5)
  })
})
