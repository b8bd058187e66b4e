/**
 * quickVerdict walks a snapshot until walking it has cost about what compiling it would, then
 * decides with the compiled form: the answer must be the walk's either way.
 */
import { describe, expect, it } from 'vitest'
import { iptablesRuleset, packetStream } from '../../../../bench/evaluate-rulesets'
import { quickVerdict } from '../../../../src-main/engine/correlate/quick-verdict'
import { walkNetfilter } from '../../../../src-main/engine/evaluate/walk-netfilter'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'

describe('quickVerdict', () => {
  it("gives the traced walk's verdict, reject type and DNAT target before and after compiling", () => {
    const ruleset = readIptablesSave('bench.rules', iptablesRuleset(5, 1200))
    const next = packetStream(5)
    const kinds = new Set<string>()
    // Past the walks made before compiling (2,000), so both ways are compared.
    for (let i = 0; i < 3000; i++) {
      const { packet, options } = next()
      const quick = quickVerdict(ruleset, packet, options)
      const walk = walkNetfilter(ruleset, packet, options)
      expect([quick.verdict, quick.rejectWith, quick.dnatTo]).toEqual([
        walk.verdict,
        walk.rejectWith,
        walk.dnatTo
      ])
      kinds.add(walk.verdict)
    }
    // The packets meet every kind of answer.
    expect([...kinds].sort()).toEqual(['accept', 'drop', 'reject'])
  })
})
