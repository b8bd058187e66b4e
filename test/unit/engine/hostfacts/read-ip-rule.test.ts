import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readIpRule } from '../../../../src-main/engine/hostfacts/read-ip-rule'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'

/** `ip rule` then `ip -6 rule`, as iproute2 6.x prints them (tabs after the priority). */
const BOTH = [
  '0:\tfrom all lookup local',
  '100:\tfrom all fwmark 0x1 lookup 100',
  '150:\tnot from all fwmark 0xca6c/0xffff lookup 51820',
  '151:\tfrom all lookup main suppress_prefixlength 0',
  '200:\tfrom 10.1.0.0/24 to 192.0.2.0/24 iif eth1 [detached] prohibit',
  '210:\tfrom all iif eth2 goto 32766',
  '220:\tfrom all to 198.51.100.7 blackhole',
  '230:\tfrom all uidrange 1000-1000 lookup 300',
  '32766:\tfrom all lookup main',
  '32767:\tfrom all lookup default',
  '0:\tfrom all lookup local',
  '32000:\tfrom 2001:db8:1::/64 lookup 600',
  '32766:\tfrom all lookup main',
  ''
].join('\n')

describe('ip rule reader', () => {
  it('reads selectors, actions and each list’s family', () => {
    const s = readIpRule('ip-rule.txt', BOTH)
    expect(s.problems).toEqual([])
    expect(s.rules).toHaveLength(13)
    const v4 = s.rules.filter((r) => r.family === 4)
    const v6 = s.rules.filter((r) => r.family === 6)
    expect(v4.map((r) => r.priority)).toEqual([0, 100, 150, 151, 200, 210, 220, 230, 32766, 32767])
    expect(v6.map((r) => r.priority)).toEqual([0, 32000, 32766])
    const at = (p: number) => v4.find((r) => r.priority === p)!
    expect(at(100)).toMatchObject({
      fwmark: { value: 1, mask: 0xffffffff },
      action: { kind: 'lookup', table: '100' },
      line: 2,
      text: '100: from all fwmark 0x1 lookup 100'
    })
    expect(at(150)).toMatchObject({ not: true, fwmark: { value: 0xca6c, mask: 0xffff } })
    expect(at(151)).toMatchObject({ suppressPrefixLength: 0, action: { table: 'main' } })
    expect(at(200)).toMatchObject({
      from: { addr: '10.1.0.0', bits: 24 },
      to: { addr: '192.0.2.0', bits: 24 },
      iif: 'eth1',
      action: { kind: 'prohibit' }
    })
    expect(at(210).action).toEqual({ kind: 'goto', priority: 32766 })
    expect(at(220)).toMatchObject({
      to: { addr: '198.51.100.7', bits: 32 },
      action: { kind: 'blackhole' }
    })
    expect(at(230).other).toEqual(['uidrange 1000-1000'])
    expect(v6[1]).toMatchObject({ from: { addr: '2001:db8:1::', bits: 64 }, line: 12 })
  })

  it('reads ip -j rule to the same rules', () => {
    const json = JSON.stringify([
      { priority: 0, src: 'all', table: 'local' },
      { priority: 100, src: 'all', fwmark: '0x1', table: '100' },
      {
        priority: 200,
        src: '10.1.0.0',
        srclen: 24,
        dst: '192.0.2.0',
        dstlen: 24,
        iifname: 'eth1',
        action: 'prohibit'
      },
      { priority: 210, src: 'all', iifname: 'eth2', goto: 32766 },
      { priority: 32766, src: 'all', table: 'main' }
    ])
    const j = readIpRule('rule.json', json)
    const t = readIpRule('rule.txt', BOTH)
    expect(j.problems).toEqual([])
    const pick = (r: (typeof j.rules)[number]) => [
      r.priority,
      r.not,
      r.from,
      r.to,
      r.fwmark,
      r.iif,
      r.action
    ]
    expect(j.rules.map(pick)).toEqual(
      t.rules
        .filter((r) => r.family === 4 && [0, 100, 200, 210, 32766].includes(r.priority))
        .map(pick)
    )
  })

  it('names the line of a rule it cannot read and keeps the others', () => {
    const s = readIpRule(
      'r.txt',
      '0:\tfrom all lookup local\n5:\tfrom 10.0.0.0/99 lookup 7\n6:\tfrom all frobnicate 3 lookup 8\n32766:\tfrom all lookup main\n'
    )
    expect(s.rules.map((r) => r.priority)).toEqual([0, 32766])
    expect(s.problems.map((p) => p.at)).toEqual(['line 2', 'line 3'])
    expect(s.problems[0].message).toMatch(/not an address: 10\.0\.0\.0\/99/)
    expect(s.problems[1].message).toMatch(/unexpected "frobnicate"/)
  })

  it('is told apart from ip route by content', () => {
    expect(detectTextKind(BOTH)).toEqual({ kind: 'host', format: 'ip-rule' })
    expect(detectTextKind('[{"priority":0,"src":"all","table":"local"}]')).toEqual({
      kind: 'host',
      format: 'ip-rule'
    })
    expect(detectTextKind('default via 10.0.0.1 dev eth0\n')).toEqual({
      kind: 'host',
      format: 'ip-route'
    })
  })

  it('never throws on a cut or mangled snapshot, and keeps the rules before the damage', () => {
    fc.assert(
      fc.property(
        fc.nat(BOTH.length),
        fc.string({ maxLength: 40 }),
        fc.nat(BOTH.length),
        (cut, junk, at) => {
          const mangled = BOTH.slice(0, at) + junk + BOTH.slice(at, cut)
          const s = readIpRule('rule.txt', mangled)
          for (const p of s.problems) expect(p.at).toMatch(/^line \d+$/)
          // A rule wholly before the damage is kept as it was.
          const intact = BOTH.slice(0, Math.min(at, cut)).split('\n').slice(0, -1)
          const kept = intact.filter((l) => /^\d+:/.test(l)).length
          expect(s.rules.length).toBeGreaterThanOrEqual(kept)
        }
      ),
      { numRuns: 300 }
    )
    // Garbage that is not JSON but starts like it: one problem, no rules, no throw.
    const bad = readIpRule('rule.json', '[{"priority": 0, "src": ')
    expect(bad.rules).toEqual([])
    expect(bad.problems[0].message).toMatch(/^not JSON/)
  })
})
