import { describe, expect, it } from 'vitest'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { walkNetfilter } from '../../../../src-main/engine/evaluate/walk-netfilter'
import { readIpsetSave } from '../../../../src-main/engine/rulesets/read-ipset'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'

const SETS = `create blocked hash:net family inet hashsize 1024 maxelem 65536
add blocked 203.0.113.0/24
add blocked 198.51.100.7
create web hash:ip,port family inet hashsize 1024 maxelem 65536
add web 10.0.0.2,tcp:443
add web 10.0.0.2,udp:53
create range hash:ip family inet hashsize 1024 maxelem 65536
add range 192.0.2.10-192.0.2.13
create both list:set size 8
add both blocked
add both range
`
const RULES = `*filter
:INPUT DROP [0:0]
-A INPUT -m set --match-set both src -j DROP
-A INPUT -m set --match-set web dst,dst -j ACCEPT
COMMIT
`

describe('ipset save and -m set', () => {
  const { sets, problems } = readIpsetSave('ipsets', SETS)

  it('reads sets, their dimensions and members, ranges as prefixes', () => {
    expect(problems).toEqual([])
    expect([...sets.keys()]).toEqual(['blocked', 'web', 'range', 'both'])
    expect(sets.get('web')).toMatchObject({ method: 'hash', dims: ['ip', 'port'], family: 4 })
    expect(sets.get('web')?.members[0].ports).toEqual([{ proto: 6, port: [443, 443] }])
    // 192.0.2.10-13 is exactly 192.0.2.10/31 and 192.0.2.12/31.
    expect(sets.get('range')?.members.map((m) => m.cidrs.map((c) => c.bits))).toEqual([[31], [31]])
  })

  it('names the line of a member it cannot read', () => {
    const bad = readIpsetSave(
      'bad',
      'create s hash:ip family inet\nadd s 10.0.0.1,80\nadd t 10.0.0.1\n'
    )
    expect(bad.problems.map((p) => [p.at, p.message])).toEqual([
      ['line 2', "member '10.0.0.1,80' has 2 part(s); hash:ip needs 1"],
      ['line 3', 'member added to set t, which was not created']
    ])
  })

  const ruleset = readIptablesSave('rules.v4', RULES)
  const walk = (spec: string, withSets: boolean) => {
    const r = { ...ruleset, ipsets: withSets ? sets : undefined }
    return walkNetfilter(r, parsePacketSpec(spec) as PacketSpec, { path: 'input' })
  }

  it('matches members through a list:set, by source', () => {
    expect(walk('tcp 192.0.2.12:5000 > 10.0.0.2:443 syn', true)).toMatchObject({
      verdict: 'drop',
      decidedBy: { line: 3 },
      uncertain: false
    })
    expect(walk('tcp 203.0.113.9:5000 > 10.0.0.2:443 syn', true)).toMatchObject({
      verdict: 'drop',
      decidedBy: { line: 3 }
    })
  })

  it('matches address and port, protocol included, by destination', () => {
    expect(walk('tcp 192.0.2.99:5000 > 10.0.0.2:443 syn', true)).toMatchObject({
      verdict: 'accept',
      decidedBy: { line: 4 }
    })
    expect(walk('udp 192.0.2.99:5000 > 10.0.0.2:443', true)).toMatchObject({
      verdict: 'drop',
      decidedBy: { kind: 'policy' }
    })
  })

  it('without the snapshot the verdict is uncertain, and says what to add', () => {
    const r = walk('tcp 192.0.2.99:5000 > 10.0.0.2:443 syn', false)
    expect(r.uncertain).toBe(true)
    expect(r.uncertainWhy[0]).toBe(
      'line 3: ipset both is in no snapshot loaded (add its `ipset save` output)'
    )
  })
})
