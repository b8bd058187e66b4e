import { describe, expect, it } from 'vitest'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { evaluateFirewalld } from '../../../../src-main/engine/firewalld/evaluate-firewalld'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { rejectType } from '../../../../src-main/engine/firewalld/walk-settings'

const pkt = (spec: string): PacketSpec => parsePacketSpec(spec) as PacketSpec
const V4 = pkt('tcp 10.0.0.2:4000 > 10.0.0.1:80')
const V6 = pkt('tcp [fd00::2]:4000 > [fd00::1]:80')

describe('rejectType', () => {
  it("reads firewalld's reject types and their short aliases as its nftables backend does", () => {
    expect(rejectType('icmp6-addr-unreachable', V6)).toBe('icmpv6 addr-unreachable')
    expect(rejectType('addr-unreach', V6)).toBe('icmpv6 addr-unreachable')
    expect(rejectType('adm-prohibited', V6)).toBe('icmpv6 admin-prohibited')
    expect(rejectType('no-route', V6)).toBe('icmpv6 no-route')
    // The one alias firewalld turns into a family-neutral reject.
    expect(rejectType('port-unreach', V6)).toBe('icmpx port-unreachable')
    expect(rejectType('port-unreach', V4)).toBe('icmpx port-unreachable')
    expect(rejectType('icmp-proto-unreachable', V4)).toBe('icmp prot-unreachable')
    expect(rejectType('host-prohib', V4)).toBe('icmp host-prohibited')
    expect(rejectType('net-unreach', V4)).toBe('icmp net-unreachable')
    expect(rejectType('tcp-rst', V4)).toBe('tcp reset')
    expect(rejectType(undefined, V6)).toBe('icmpv6 port-unreachable')
    expect(rejectType(undefined, V4)).toBe('icmp port-unreachable')
  })
})

describe('rich rule logs', () => {
  const config = readFirewalld([
    {
      path: 'etc/firewalld/zones/lab.xml',
      text: `<?xml version="1.0" encoding="utf-8"?>
<zone>
  <source address="fd00::/64"/>
  <rule family="ipv6">
    <source address="fd00::2:0/112"/>
    <port port="8443" protocol="tcp"/>
    <log prefix="seen: "/>
    <accept/>
  </rule>
  <rule family="ipv6">
    <source address="fd00::2:200"/>
    <port port="8443" protocol="tcp"/>
    <reject/>
  </rule>
  <rule priority="-5" family="ipv6">
    <source address="fd00::1:0/112"/>
    <log prefix="early: "/>
    <drop/>
  </rule>
  <rule family="ipv6">
    <source address="fd00::3:0/112"/>
    <log prefix="masq: "/>
    <masquerade/>
  </rule>
</zone>
`
    }
  ])
  const input = (spec: string) => evaluateFirewalld(config, pkt(spec), { path: 'input' })

  it('a priority-0 rule logs in _log, even when a deny rule decides before its accept', () => {
    expect(config.problems).toEqual([])
    const denied = input('tcp [fd00::2:200]:4000 > [fd00::1]:8443')
    expect(denied).toMatchObject({
      verdict: 'reject',
      rejectWith: 'icmpv6 port-unreachable',
      chain: 'filter_IN_lab_deny'
    })
    expect(denied.logs).toEqual([{ prefix: 'seen: ', chain: 'filter_IN_lab_log' }])
    const allowed = input('tcp [fd00::2:201]:4000 > [fd00::1]:8443')
    expect(allowed).toMatchObject({ verdict: 'accept', chain: 'filter_IN_lab_allow' })
    expect(allowed.logs).toEqual([{ prefix: 'seen: ', chain: 'filter_IN_lab_log' }])
  })

  it('a rule of another priority logs just before its action, in the same chain', () => {
    const early = input('udp [fd00::1:20]:4000 > [fd00::1]:9999')
    expect(early).toMatchObject({ verdict: 'drop', chain: 'filter_IN_lab_pre' })
    expect(early.logs).toEqual([{ prefix: 'early: ', chain: 'filter_IN_lab_pre' }])
  })

  it('a masquerade rule matches no packet in the filter chains, so it never logs there', () => {
    expect(input('tcp [fd00::3:1]:4000 > [fd00::1]:22').logs).toEqual([])
  })
})
