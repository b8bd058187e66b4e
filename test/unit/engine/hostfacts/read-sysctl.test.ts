import { describe, expect, it } from 'vitest'
import { readSysctl } from '../../../../src-main/engine/hostfacts/read-sysctl'
import { fixture } from './fixture'

describe('readSysctl', () => {
  it('reads sysctl -a output (host B: forwarding on, accounting on)', () => {
    const s = readSysctl('sysctl.txt', fixture('sysctl.txt'))
    expect(s.problems).toEqual([])
    expect(s.facts).toEqual({
      conntrackMax: 262144,
      conntrackCount: 5,
      ipv4Forwarding: true,
      ipv6Forwarding: false,
      tcpSynRetries: 6,
      localPortRange: { low: 32768, high: 60999 }
    })
    expect(s.values.get('net.netfilter.nf_conntrack_acct')).toBe('1')
    expect(s.values.get('net.netfilter.nf_log.2')).toBe('nf_log_ipv4')
    expect(s.values.get('net.ipv4.ip_local_port_range')).toBe('32768 60999')
    expect(s.lines.get('net.ipv4.ip_forward')).toBe(13)
  })

  it('reads /proc/sys path style and nf_log_all_netns', () => {
    const s = readSysctl('proc-sys.txt', fixture('proc-sys.txt'))
    expect(s.problems).toEqual([])
    expect(s.facts).toEqual({
      conntrackMax: 262144,
      conntrackCount: 5,
      ipv4Forwarding: true,
      localPortRange: { low: 32768, high: 60999 }
    })
    const init = readSysctl('i', fixture('sysctl-init-netns.txt'))
    expect(init.facts).toEqual({ nfLogAllNetns: false })
    const vlan = readSysctl('v', '/proc/sys/net/ipv4/conf/eth0.100/forwarding:1\n')
    expect([...vlan.values.keys()]).toEqual(['net.ipv4.conf.eth0/100.forwarding'])
  })

  it('keeps the other lines and reports a garbled one with its line number', () => {
    const text = 'net.ipv4.ip_forward = 0\n%%% garbage\nnet.ipv4.tcp_syn_retries = lots\n'
    const s = readSysctl('x', text)
    expect(s.facts).toEqual({ ipv4Forwarding: false })
    expect(s.problems.map((p) => p.at)).toEqual(['line 2', 'line 3'])
  })
})
