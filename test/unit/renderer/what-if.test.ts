import { describe, expect, it } from 'vitest'
import { fixChanges, flowLine, typedChangeProblem } from '../../../src-renderer/model/what-if'
import { WHAT_IF_MAX_CHANGES } from '../../../src-main/shared/api'

describe('fixChanges', () => {
  it('turns each command line the engine can try into a change on the cause host', () => {
    const fix = [
      'firewall-cmd --zone=public --add-port=8081/tcp --permanent',
      'sudo iptables -I INPUT 6 -p tcp --dport 8081 -j ACCEPT',
      '# a comment',
      '',
      'nft insert rule inet filter input handle 7 tcp dport 8081 accept',
      'firewall-cmd --reload'
    ].join('\n')
    expect(fixChanges(fix, 'server')).toEqual({
      changes: [
        'server: iptables -I INPUT 6 -p tcp --dport 8081 -j ACCEPT',
        'server: nft insert rule inet filter input handle 7 tcp dport 8081 accept'
      ],
      skipped: [
        'firewall-cmd --zone=public --add-port=8081/tcp --permanent',
        'firewall-cmd --reload'
      ]
    })
  })

  it('leaves the host out when the cause names none, and stops at the change limit', () => {
    const many = Array.from({ length: WHAT_IF_MAX_CHANGES + 2 }, (_, i) => `sysctl -w k${i}=1`)
    const r = fixChanges(many.join('\n'))
    expect(r.changes).toHaveLength(WHAT_IF_MAX_CHANGES)
    expect(r.changes[0]).toBe('sysctl -w k0=1')
    expect(r.skipped).toEqual(many.slice(WHAT_IF_MAX_CHANGES))
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
