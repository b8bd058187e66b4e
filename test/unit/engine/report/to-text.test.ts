import { describe, expect, it } from 'vitest'
import { toText } from '../../../../src-main/engine/report/to-text'
import { DROP_RULE, sampleIncident } from './sample-incident'

describe('the terminal summary', () => {
  const text = toText(sampleIncident())
  const lines = text.split('\n')

  it('gives the counts by outcome and by cause', () => {
    expect(lines).toContain('8 conversation(s): 2 succeeded, 6 did not')
    expect(lines).toContain('  established 1, answered 1, syn-timeout 4, refused-rst 1, stalled 1')
    expect(lines).toContain(
      '4 finding(s) explain 5 of 6 failed: rule 1, conntrack-full 1, no-listener 1, unknown 1'
    )
  })

  it("gives each finding's title, cause, rule as written and fix", () => {
    const at = lines.indexOf(
      'X1 2 SYN timeouts to 10.0.0.5:8080: filter INPUT rule at rules.v4 line 7 drops them'
    )
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1]).toBe(
      '  cause: rule (iptables on server, table filter, chain INPUT, incident/server/rules.v4 line 7, verdict DROP), confidence 97%, flows F1 F2'
    )
    expect(lines[at + 2]).toBe(`  rule:  ${DROP_RULE}`)
    expect(lines[at + 3]).toMatch(/^ {2}why: {3}\S/)
    // The strongest evidence, with where it comes from; the rest counted.
    expect(lines.slice(at + 4, at + 9)).toEqual([
      '  proves   kernel logged the SYN dropped (prefix, addresses, ports and IP ID match) [incident/server/kern.log:77]',
      '  proves   kernel logged the retransmitted SYN dropped [incident/server/kern.log:78]',
      '  suggests the SYN reached the server point and was never answered [client:eth0.pcap#12, server:eth0.pcap#40]',
      '  predicts the SYN walked through the snapshot is dropped by rule 7 [incident/server/rules.v4 (server)]',
      '  … 1 more evidence item(s) in the JSON'
    ])
    expect(lines[at + 9]).toBe(
      '  fix:   iptables -I INPUT 7 -p tcp -s 10.0.0.1 --dport 8080 -j ACCEPT'
    )
    // A fix of two commands keeps both, aligned.
    expect(text).toContain(
      '  fix:   sysctl -w net.netfilter.nf_conntrack_max=262144\n         echo 65536 > /sys/module/nf_conntrack/parameters/hashsize\n'
    )
    expect(lines).toContain("  missing: 10.0.0.7's ruleset (iptables-save or nft list ruleset)")
  })

  it('lists every failed conversation under its outcome, with its finding', () => {
    const at = lines.indexOf('syn-timeout (4)')
    expect(lines.slice(at + 1, at + 5).map((l) => l.split(' ')[2])).toEqual([
      'F1',
      'F2',
      'F4',
      'F5'
    ])
    expect(lines[at + 1]).toBe(
      '  F1 tcp 10.0.0.1:40000 > 10.0.0.5:8080 at 2011-03-07T03:00:05.000100Z: 3 SYN retransmission(s) at +1s, +3s, +7s [X1]'
    )
    expect(lines).toContain('stalled (1)')
    expect(text).not.toContain('F6 tcp')
    expect(text).not.toContain('F8 udp')
  })

  it('says how the log clock was aligned and what a what-if would do', () => {
    expect(lines).toContain(
      'clock: incident/server/kern.log: learnt from 2 packets both logged and captured (IP ID, ports, length); spread 20 µs'
    )
    expect(lines).toContain(
      'what if iptables -I INPUT 7 -p tcp --dport 8080 -j ACCEPT: resolves 2, changes 1 other(s)'
    )
  })

  it('says why a what-if change was not tried, rather than that it resolves nothing', () => {
    const incident = sampleIncident()
    incident.whatIf = [
      {
        change: 'firewall-cmd --add-port=8080/tcp',
        resolves: [],
        changes: [],
        problems: [
          "what-if changes are iptables, ip6tables, nft or sysctl commands: 'firewall-cmd'"
        ]
      }
    ]
    const out = toText(incident).split('\n')
    const at = out.indexOf('what if firewall-cmd --add-port=8080/tcp: not tried')
    expect(at).toBeGreaterThan(0)
    expect(out[at + 1]).toBe(
      "  what-if changes are iptables, ip6tables, nft or sysctl commands: 'firewall-cmd'"
    )
  })
})
