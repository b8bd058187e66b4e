import { describe, expect, it } from 'vitest'
import { fixChanges, flowLine, typedChangeProblem } from '../../../src-renderer/model/what-if'
import { WHAT_IF_MAX_CHARS, analyseOptionsProblem } from '../../../src-main/shared/api'
import { splitCommands } from '../../../src-main/engine/correlate/what-if'

describe('fixChanges', () => {
  it('tries the command lines the engine can simulate together, as one change on the cause host', () => {
    const fix = [
      'firewall-cmd --zone=public --add-port=8081/tcp --permanent',
      'sudo iptables -I INPUT 6 -p tcp --dport 8081 -j ACCEPT',
      '# a comment',
      '',
      'iptables -I INPUT 6 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'firewall-cmd --reload'
    ].join('\n')
    expect(fixChanges(fix, 'server')).toEqual({
      changes: [
        'server: iptables -I INPUT 6 -p tcp --dport 8081 -j ACCEPT\n' +
          'iptables -I INPUT 6 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'
      ],
      skipped: [
        'firewall-cmd --zone=public --add-port=8081/tcp --permanent',
        'firewall-cmd --reload'
      ]
    })
    // The engine reads that change back as its two commands, both on the host.
    expect(splitCommands(fixChanges(fix, 'server').changes[0])).toEqual([
      'server: iptables -I INPUT 6 -p tcp --dport 8081 -j ACCEPT',
      'iptables -I INPUT 6 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'
    ])
  })

  it('leaves the host out when the cause names none, and keeps the change under the length limit', () => {
    expect(fixChanges('sysctl -w net.ipv4.ip_forward=1')).toEqual({
      changes: ['sysctl -w net.ipv4.ip_forward=1'],
      skipped: []
    })
    const line = (i: number) => `iptables -A INPUT -s 10.0.${i}.0/24 -j ACCEPT`
    const many = Array.from({ length: 200 }, (_, i) => line(i))
    const r = fixChanges(many.join('\n'), 'h')
    expect(r.changes).toHaveLength(1)
    expect(r.changes[0].length).toBeLessThan(WHAT_IF_MAX_CHARS)
    const kept = r.changes[0].split('\n')
    expect(kept[0]).toBe(`h: ${line(0)}`)
    expect(kept.length + r.skipped.length).toBe(200)
    expect(r.skipped[0]).toBe(line(kept.length))
    expect(analyseOptionsProblem({ whatIf: r.changes })).toBeUndefined()
  })

  it('offers nothing to try when no line is a command the engine simulates', () => {
    expect(fixChanges('firewall-cmd --reload', 'h')).toEqual({
      changes: [],
      skipped: ['firewall-cmd --reload']
    })
  })
})

describe('typedChangeProblem and flowLine', () => {
  it('refuses an empty change and accepts a command', () => {
    expect(typedChangeProblem('  ')).toMatch(/type a change/)
    expect(typedChangeProblem('iptables -P INPUT ACCEPT')).toBeUndefined()
  })
  it('writes IPv6 endpoints in brackets', () => {
    const line = flowLine({
      id: 'F1',
      proto: 'tcp',
      src: 'fd88:1::2',
      sport: 41000,
      dst: 'fd88:2::2',
      dport: 80,
      first: '',
      last: '',
      outcome: 'established',
      packets: 1,
      bytes: 1,
      seenAt: []
    })
    expect(line).toBe('F1 tcp [fd88:1::2]:41000 → [fd88:2::2]:80')
  })
})
