import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { evaluateFirewalld } from '../../../../src-main/engine/firewalld/evaluate-firewalld'
import { firewalldFix } from '../../../../src-main/engine/firewalld/firewalld-fix'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { filesUnder, FIXTURES } from './load'

const config = readFirewalld(filesUnder(resolve(FIXTURES, 'etc')))
const pkt = (spec: string): PacketSpec => parsePacketSpec(spec) as PacketSpec
const input = (spec: string, iif?: string) =>
  evaluateFirewalld(config, pkt(spec), { path: 'input', iif })

describe('evaluateFirewalld: zone selection', () => {
  it('chooses by source before interface', () => {
    const v = input('tcp 10.1.2.3:40000 > 10.0.0.1:445', 'eth0')
    expect(v.zone).toBe('internal')
    expect(v).toMatchObject({ verdict: 'accept', chain: 'filter_IN_internal_allow' })
    expect(v.decidedBy).toMatchObject({
      kind: 'service',
      zone: 'internal',
      text: 'samba',
      file: 'zones/internal.xml',
      line: 7
    })
  })
  it('chooses by interface, with + wildcards, else the default zone', () => {
    expect(input('tcp 172.16.0.9:40000 > 10.0.0.1:22', 'eth1').zone).toBe('internal')
    expect(input('tcp 172.16.0.9:40000 > 10.0.0.1:22', 'guest7').zone).toBe('block')
    const v = input('tcp 172.16.0.9:40000 > 10.0.0.1:22', 'eth5')
    expect(v.zone).toBe('public')
    expect(v.decidedBy).toMatchObject({ kind: 'service', text: 'ssh' })
  })
})

describe('evaluateFirewalld: inside a zone', () => {
  it('accepts a port and names the line', () => {
    const v = input('tcp 172.16.0.9:40000 > 10.0.0.1:8443', 'eth0')
    expect(v.decidedBy).toMatchObject({ kind: 'port', text: '8443/tcp', line: 7 })
    expect(v.chain).toBe('filter_IN_public_allow')
  })
  it('rejects what nothing allows with the zone target, logged with LogDenied', () => {
    const v = input('tcp 172.16.0.9:40000 > 10.0.0.1:8080', 'eth0')
    expect(v).toMatchObject({
      verdict: 'reject',
      rejectWith: 'icmpx admin-prohibited',
      chain: 'filter_IN_public_to_HOST'
    })
    expect(v.decidedBy).toMatchObject({ kind: 'target', zone: 'public', text: 'target: default' })
    expect(v.logs).toEqual([
      { prefix: 'filter_IN_public_REJECT: ', chain: 'filter_IN_public_to_HOST' }
    ])
    expect(firewalldFix(config, pkt('tcp 172.16.0.9:40000 > 10.0.0.1:8080'), v)).toEqual([
      'firewall-cmd --zone=public --add-service=webapp --permanent',
      'firewall-cmd --reload'
    ])
    expect(
      firewalldFix(
        config,
        pkt('tcp 172.16.0.9:40000 > 10.0.0.1:8081'),
        input('tcp 172.16.0.9:40000 > 10.0.0.1:8081', 'eth0'),
        { onlyFromSource: true }
      )
    ).toEqual([
      `firewall-cmd --zone=public --add-rich-rule='rule family="ipv4" source address="172.16.0.9" port port="8081" protocol="tcp" accept' --permanent`,
      'firewall-cmd --reload'
    ])
  })
  it('orders rich rules: priority < 0 before services, 0 by action class, > 0 after', () => {
    const early = input('tcp 203.0.113.5:40000 > 10.0.0.1:22', 'eth0')
    expect(early).toMatchObject({ verdict: 'drop', chain: 'filter_IN_public_pre' })
    expect(early.decidedBy).toMatchObject({ kind: 'rich-rule', line: 9 })
    const zero = input('tcp 198.51.100.7:40000 > 10.0.0.1:5432', 'eth0')
    expect(zero).toMatchObject({ verdict: 'accept', chain: 'filter_IN_public_allow' })
    const svcFirst = input('tcp 198.51.100.8:40000 > 10.0.0.1:22', 'eth0')
    expect(svcFirst.decidedBy.kind).toBe('service')
    const late = input('tcp 198.51.100.8:40000 > 10.0.0.1:5432', 'eth0')
    expect(late).toMatchObject({
      verdict: 'reject',
      rejectWith: 'icmp admin-prohibited',
      chain: 'filter_IN_public_post'
    })
    expect(late.logs[0]).toEqual({ prefix: 'late: ', chain: 'filter_IN_public_post' })
  })
  it('applies icmp-blocks, and accepts other ICMP when not inverted', () => {
    const ping = input('icmp 172.16.0.9 > 10.0.0.1 echo-request', 'eth0')
    expect(ping).toMatchObject({ verdict: 'reject', chain: 'filter_IN_public_deny' })
    expect(ping.logs[0].prefix).toBe('filter_zone_public_HOST_ICMP_BLOCK: ')
    expect(firewalldFix(config, pkt('icmp 172.16.0.9 > 10.0.0.1 echo-request'), ping)[0]).toBe(
      'firewall-cmd --zone=public --remove-icmp-block=echo-request --permanent'
    )
    const ts = input('icmp 172.16.0.9 > 10.0.0.1 13', 'eth0')
    expect(ts).toMatchObject({ verdict: 'accept', chain: 'filter_IN_public' })
    expect(ts.decidedBy.kind).toBe('icmp-block-inversion')
  })
  it('inverts icmp-blocks: listed types accepted, others rejected', () => {
    const ping = input('icmp 172.16.0.9 > 10.0.0.1 echo-request', 'wan0')
    expect(ping).toMatchObject({ verdict: 'accept', chain: 'filter_IN_external_allow' })
    const other = input('icmp 172.16.0.9 > 10.0.0.1 13', 'wan0')
    expect(other).toMatchObject({ verdict: 'reject', chain: 'filter_IN_external' })
    expect(firewalldFix(config, pkt('icmp 172.16.0.9 > 10.0.0.1 13'), other)[0]).toBe(
      'firewall-cmd --zone=external --add-icmp-block=timestamp-request --permanent'
    )
  })
  it('applies each target', () => {
    expect(input('tcp 172.16.0.9:4 > 10.0.0.1:9', 'dmz0')).toMatchObject({
      verdict: 'drop',
      logs: [{ prefix: 'filter_IN_dmz_DROP: ' }]
    })
    expect(input('tcp 192.0.2.10:4 > 10.0.0.1:9', 'eth0')).toMatchObject({
      verdict: 'accept',
      zone: 'trusted'
    })
    expect(input('tcp 172.16.0.9:4 > 10.0.0.1:9', 'guest1')).toMatchObject({
      verdict: 'reject',
      decidedBy: { text: 'target: %%REJECT%%' }
    })
    // A DROP zone has no ICMP catch rule: non-listed ICMP falls to the target.
    expect(input('icmp 172.16.0.9 > 10.0.0.1 13', 'dmz0').verdict).toBe('drop')
  })
  it('keeps built-in accepts and drops first', () => {
    expect(
      evaluateFirewalld(config, pkt('tcp 172.16.0.9:4 > 10.0.0.1:9 ack'), {
        path: 'input',
        iif: 'eth0'
      }).decidedBy.text
    ).toContain('established')
    expect(input('tcp 127.0.0.1:4 > 127.0.0.1:9', 'lo').verdict).toBe('accept')
    const inv = evaluateFirewalld(config, pkt('tcp 172.16.0.9:4 > 10.0.0.1:9'), {
      path: 'input',
      iif: 'eth0',
      ct: 'invalid'
    })
    expect(inv).toMatchObject({ verdict: 'drop', logs: [{ prefix: 'STATE_INVALID_DROP: ' }] })
  })
  it('accepts a forward-port as DNAT', () => {
    expect(input('tcp 172.16.0.9:4 > 10.0.0.1:2222', 'wan0')).toMatchObject({
      verdict: 'accept',
      chain: 'nat_PRE_external_allow',
      decidedBy: { kind: 'forward-port' }
    })
  })
})

describe('evaluateFirewalld: policies and forwarding', () => {
  const fwd = (spec: string, iif: string, oif: string) =>
    evaluateFirewalld(config, pkt(spec), { path: 'forward', iif, oif })
  it('a policy between zones allows; otherwise the ingress zone target rejects', () => {
    const v = fwd('tcp 10.1.0.5:4 > 93.184.216.34:443', 'eth1', 'wan0')
    expect(v).toMatchObject({
      verdict: 'accept',
      chain: 'filter_FWD_policy_internal-to-external_allow'
    })
    expect(v.decidedBy).toMatchObject({
      kind: 'service',
      policy: 'internal-to-external',
      text: 'https'
    })
    expect(v.notes).toEqual([])
    const no = fwd('tcp 10.1.0.5:4 > 93.184.216.34:25', 'eth1', 'wan0')
    expect(no).toMatchObject({
      verdict: 'reject',
      chain: 'filter_FWD_internal_to_external',
      logs: [{ prefix: 'filter_FWD_internal_REJECT: ' }]
    })
    expect(firewalldFix(config, pkt('tcp 10.1.0.5:4 > 93.184.216.34:25'), no)).toEqual([
      'firewall-cmd --new-policy=internal-to-external --permanent',
      'firewall-cmd --policy=internal-to-external --add-ingress-zone=internal --permanent',
      'firewall-cmd --policy=internal-to-external --add-egress-zone=external --permanent',
      'firewall-cmd --policy=internal-to-external --add-service=smtp --permanent',
      'firewall-cmd --reload'
    ])
  })
  it('intra-zone forwarding accepts traffic between the zone interfaces', () => {
    const v = fwd('tcp 10.1.0.5:4 > 10.1.9.9:80', 'eth1', 'eth2')
    expect(v).toMatchObject({
      verdict: 'accept',
      chain: 'filter_FWD_internal_allow',
      decidedBy: { kind: 'forward' }
    })
  })
  it('output: a HOST policy target decides, or filter_OUTPUT accepts', () => {
    const out = (spec: string) =>
      evaluateFirewalld(config, pkt(spec), { path: 'output', oif: 'wan0' })
    expect(out('udp 10.0.0.1:5000 > 9.9.9.9:53')).toMatchObject({
      verdict: 'accept',
      decidedBy: { kind: 'service', text: 'dns' }
    })
    expect(out('tcp 10.0.0.1:5000 > 9.9.9.9:25')).toMatchObject({
      verdict: 'reject',
      chain: 'filter_OUT_policy_host-out',
      decidedBy: { kind: 'policy-target', policy: 'host-out' }
    })
    expect(
      evaluateFirewalld(config, pkt('tcp 10.0.0.1:5000 > 9.9.9.9:25'), {
        path: 'output',
        oif: 'eth0'
      }).verdict
    ).toBe('accept')
  })
  it('masquerade fix names the egress zone', () => {
    const v = fwd('tcp 10.1.0.5:4 > 172.16.5.5:80', 'eth1', 'eth0')
    expect(
      firewalldFix(config, pkt('tcp 10.1.0.5:4 > 172.16.5.5:80'), v, { want: 'masquerade' })
    ).toEqual(['firewall-cmd --zone=public --add-masquerade --permanent', 'firewall-cmd --reload'])
  })
})

describe('evaluateFirewalld: RFC3964_IPv4', () => {
  const conf = (text: string) =>
    readFirewalld([
      { path: 'etc/firewalld/firewalld.conf', text },
      { path: 'etc/firewalld/zones/public.xml', text: '<zone><service name="http"/></zone>' }
    ])
  const on = conf('DefaultZone=public\nLogDenied=all\n')
  const fwd = (c: typeof on, spec: string) =>
    evaluateFirewalld(c, pkt(spec), { path: 'forward', iif: 'eth0', oif: 'eth1' })

  it('rejects forwarded and outgoing IPv6 to 6to4 forms of private IPv4, before any zone', () => {
    for (const dst of ['2002:a00::1', '2002:c0a8:101::1', '::ffff:10.0.0.1', '2002:e000::1']) {
      const v = fwd(on, `tcp [fd00::2]:4000 > [${dst}]:80`)
      expect(v, dst).toMatchObject({
        verdict: 'reject',
        rejectWith: 'icmpv6 addr-unreachable',
        chain: 'filter_FORWARD',
        decidedBy: { kind: 'builtin' },
        logs: [{ prefix: 'RFC3964_IPv4_REJECT: ', chain: 'filter_FORWARD' }]
      })
    }
    const out = evaluateFirewalld(on, pkt('tcp [fd00::1]:4000 > [2002:ac10::1]:80'), {
      path: 'output',
      oif: 'eth1'
    })
    expect(out).toMatchObject({ verdict: 'reject', chain: 'filter_OUTPUT' })
  })
  it('leaves public 6to4, input, and RFC3964_IPv4=no alone', () => {
    expect(fwd(on, 'tcp [fd00::2]:4000 > [2002:5db8:d822::1]:80').decidedBy.kind).not.toBe(
      'builtin'
    )
    const input = evaluateFirewalld(on, pkt('tcp [fd00::2]:4000 > [2002:a00::1]:80'), {
      path: 'input',
      iif: 'eth0'
    })
    expect(input).toMatchObject({ verdict: 'accept', decidedBy: { kind: 'service' } })
    const off = conf('DefaultZone=public\nRFC3964_IPv4=No\n')
    expect(off.conf.rfc3964Ipv4).toBe(false)
    expect(fwd(off, 'tcp [fd00::2]:4000 > [2002:a00::1]:80').decidedBy.kind).not.toBe('builtin')
    // Logged only for LogDenied=unicast or all.
    const bcast = conf('DefaultZone=public\nLogDenied=broadcast\n')
    expect(fwd(bcast, 'tcp [fd00::2]:4000 > [2002:a00::1]:80')).toMatchObject({
      verdict: 'reject',
      logs: []
    })
  })
})
