/**
 * -m physdev read from iptables-save and decided as xt_physdev.c does, for the cases the kernel
 * lab's bridge does not make (a packet to the bridge host itself, one not bridged at all).
 */
import { describe, expect, it } from 'vitest'
import { decide } from '../../../../src-main/engine/evaluate/compile-ruleset'
import { parsePacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { walkNetfilter } from '../../../../src-main/engine/evaluate/walk-netfilter'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'

const save = (rule: string) =>
  readIptablesSave(
    'iptables-save.txt',
    `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rule}\nCOMMIT\n`
  )

/** The verdict of a rule's chain for a packet with these facts (walk and fast path agreeing). */
function verdict(rule: string, facts: string, path: 'input' | 'forward' = 'forward'): string {
  const ruleset = save(rule)
  const p = parsePacketSpec(`tcp 10.0.0.1:40000 > 10.0.0.2:80 syn ${facts}`.trim())
  if (typeof p === 'string') throw new Error(p)
  const options = { path, iif: 'br0', oif: path === 'forward' ? 'br0' : undefined }
  const walk = walkNetfilter(ruleset, p, options)
  const fast = decide(ruleset, p, options)
  expect([fast.verdict, fast.uncertain]).toEqual([walk.verdict, walk.uncertain])
  return walk.uncertain ? 'uncertain' : walk.verdict
}

describe('-m physdev', () => {
  it('reads every option of one -m physdev into one condition, each with its own !', () => {
    const r = save(
      '-A FORWARD -m physdev --physdev-in eth+ ! --physdev-out vnet0 ! --physdev-is-bridged -j DROP'
    )
    const rule = r.tables[0].chains.find((c) => c.name === 'FORWARD')!.rules[0]
    expect(rule.matches).toEqual([
      {
        kind: 'physdev',
        negate: false,
        physIn: { name: 'eth+', negate: false },
        physOut: { name: 'vnet0', negate: true },
        isBridged: { negate: true }
      }
    ])
  })

  it('a bridged packet: names with + wildcards, and each test negated', () => {
    const bridged = 'physin=eth1 physout=vnet3'
    expect(verdict('-A FORWARD -m physdev --physdev-in eth+ -j DROP', bridged)).toBe('drop')
    expect(verdict('-A FORWARD -m physdev --physdev-in vnet+ -j DROP', bridged)).toBe('accept')
    expect(verdict('-A FORWARD -m physdev ! --physdev-out vnet3 -j DROP', bridged)).toBe('accept')
    expect(verdict('-A FORWARD -m physdev --physdev-is-out -j DROP', bridged)).toBe('drop')
  })

  it('a packet to the bridge host itself has an input port and no output port', () => {
    const toHost = 'physin=eth1'
    expect(verdict('-A INPUT -m physdev --physdev-is-in -j DROP', toHost, 'input')).toBe('drop')
    // Bridged means it leaves by a bridge port: this one does not.
    expect(verdict('-A INPUT -m physdev --physdev-is-bridged -j DROP', toHost, 'input')).toBe(
      'accept'
    )
    // The kernel tests --physdev-out only against an output port, and fails without one.
    expect(verdict('-A INPUT -m physdev ! --physdev-out vnet3 -j DROP', toHost, 'input')).toBe(
      'accept'
    )
  })

  it('a packet not bridged fails every test not negated and passes when all are negated', () => {
    const routed = 'physin=none physout=none'
    expect(verdict('-A FORWARD -m physdev --physdev-in eth1 -j DROP', routed)).toBe('accept')
    expect(verdict('-A FORWARD -m physdev ! --physdev-in eth1 -j DROP', routed)).toBe('drop')
    expect(
      verdict('-A FORWARD -m physdev ! --physdev-is-bridged --physdev-in eth1 -j DROP', routed)
    ).toBe('accept')
  })

  it('a bridge port name missing: a warning naming the line, the rule kept undecided', () => {
    const r = save('-A FORWARD -m physdev --physdev-in\n-A FORWARD -p tcp --dport 22 -j ACCEPT')
    expect(r.problems.map((p) => `${p.at}: ${p.message}`)).toEqual([
      expect.stringMatching(/^line 5, column 1: --physdev-in needs a bridge port name$/)
    ])
    const rules = r.tables[0].chains.find((c) => c.name === 'FORWARD')!.rules
    expect(rules).toHaveLength(2)
    expect(rules[0].matches).toEqual([expect.objectContaining({ kind: 'unmodelled' })])
  })

  it('a packet whose bridge ports are not given leaves the rule undecided', () => {
    expect(verdict('-A FORWARD -m physdev --physdev-in eth1 -j DROP', '')).toBe('uncertain')
    expect(parsePacketSpec('tcp 10.0.0.1:1 > 10.0.0.2:2 syn physin=a/b')).toMatch(/bridge port/)
  })
})
