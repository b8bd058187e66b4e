/**
 * The causes the kernel lab cannot make safely or at all (conntrack's table full needs the global
 * table filled; TCP wrappers and SELinux need their daemons), decided from real log lines and host
 * facts around flows shaped as the flow stage writes them.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { correlate } from '../../../../src-main/engine/correlate/correlate'
import {
  attachIpsets,
  createEvidence,
  hostOf,
  type EvidenceSet
} from '../../../../src-main/engine/correlate/evidence'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { readTextInput } from '../../../../src-main/engine/inputs/read-text-input'
import {
  INCIDENT_SCHEMA,
  type Finding,
  type Flow,
  type Incident,
  type InputInfo
} from '../../../../src-main/shared/incident'

const corpus = resolve(import.meta.dirname, '../../../../../shared/corpus')

/** Reads each text into the host's evidence as analyse does, by content. */
function load(ev: EvidenceSet, host: string, files: Record<string, string>): InputInfo[] {
  return Object.entries(files).map(([name, text]) => {
    const d = detectTextKind(text)
    const info: InputInfo = {
      path: `${host}/${name}`,
      kind: d.kind,
      format: d.format,
      host,
      records: 0,
      warnings: [],
      errors: []
    }
    readTextInput(info, text, hostOf(ev, host))
    return info
  })
}

function ipAddr(dev: string, ...cidrs: string[]): string {
  return (
    [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
      '    inet 127.0.0.1/8 scope host lo',
      `2: ${dev}@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000`,
      ...cidrs.map((c) => `    inet ${c} scope global ${dev}`)
    ].join('\n') + '\n'
  )
}

function routerAddr(): string {
  return (
    [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
      '    inet 127.0.0.1/8 scope host lo',
      '2: r0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
      '    inet 10.88.1.1/24 scope global r0',
      '3: r1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
      '    inet 203.0.113.1/24 scope global r1'
    ].join('\n') + '\n'
  )
}

/** Client, router and server as the lab lays them out, each host's files beside its ip addr. */
function routed(router: Record<string, string>, server: Record<string, string> = {}): EvidenceSet {
  const ev = createEvidence()
  load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
  load(ev, 'router', { 'ip-addr.txt': routerAddr(), ...router })
  load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), ...server })
  return ev
}

/** The server (203.0.113.5) with its ip addr and an iptables filter table: INPUT `rules`. */
function serverWithInput(...rules: string[]): EvidenceSet {
  const ev = createEvidence()
  load(ev, 'server', {
    'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
    'iptables.txt': ['*filter', ':INPUT ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n')
  })
  return ev
}

const T0 = '2026-11-22T03:00:00.000000Z'
function flow(o: Partial<Flow> & Pick<Flow, 'id' | 'outcome' | 'dport'>): Flow {
  return {
    proto: 'tcp',
    src: '10.88.1.2',
    sport: 40000,
    dst: '203.0.113.5',
    first: T0,
    last: '2026-11-22T03:00:03.000000Z',
    packets: 3,
    bytes: 180,
    seenAt: ['client'],
    synRetransmits: 2,
    ...o
  }
}

function run(ev: EvidenceSet, flows: Flow[], clock?: Parameters<typeof correlate>[2]): Incident {
  const inc: Incident = { schema: INCIDENT_SCHEMA, inputs: [], flows, findings: [] }
  correlate(inc, ev, clock)
  return inc
}

const findingFor = (inc: Incident, id: string): Finding | undefined =>
  inc.findings.find((f) => f.flows.includes(id))

describe('conntrack table full', () => {
  // The kernel 6.x form and the old one, as dmesg writes them, 100 s after boot.
  const kern = [
    '[  100.500000] nf_conntrack: nf_conntrack: table full in netns 4026531840, dropping packet',
    '[  101.500000] nf_conntrack: table full, dropping packet'
  ].join('\n')
  const setup = (): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'kern.log': kern,
      'sysctl.txt':
        'net.netfilter.nf_conntrack_max = 65536\nnet.netfilter.nf_conntrack_count = 65536\n'
    })
    return ev
  }

  it('explains SYN timeouts inside a window the kernel logged table full, with the boot time given', () => {
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const inc = run(setup(), [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })], {
      clock: { bootTime: boot }
    })
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({ kind: 'conntrack-full', host: 'server' })
    expect(f.evidence.find((e) => e.kind === 'log')).toMatchObject({ weight: 'proves', line: 1 })
    expect(f.evidence.find((e) => e.kind === 'conntrack')?.text).toContain('65536')
    expect(f.fix).toBe('sysctl -w net.netfilter.nf_conntrack_max=131072')
    expect(f.alignment).toContain('boot time given')
    expect(inc.alignments?.[0]).toMatchObject({ method: 'given' })
  })

  it('does not blame a table full logged an hour away', () => {
    const boot = new Date(Date.parse(T0) + 3_600_000).toISOString()
    const inc = run(setup(), [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })], {
      clock: { bootTime: boot }
    })
    expect(findingFor(inc, 'F1')!.cause.kind).toBe('unknown')
  })

  it('without a boot time, only suggests it and says the clock could not be aligned', () => {
    const inc = run(setup(), [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })])
    const f = findingFor(inc, 'F1')!
    expect(f.cause.kind).toBe('conntrack-full')
    expect(f.confidence).toBeLessThan(0.6)
    expect(inc.alignments?.[0].method).toBe('none')
  })

  it('reads the corpus lines of a real table full', () => {
    const ev = createEvidence()
    const infos = load(ev, 'server', {
      'kern.log': readFileSync(`${corpus}/logs/snippets_nf_conntrack_table_full.log`, 'utf8')
    })
    expect(infos[0].kind).toBe('log')
    expect(
      hostOf(ev, 'server').logs.filter((e) => e.kind === 'conntrack-full').length
    ).toBeGreaterThan(5)
  })
})

describe('TCP wrappers', () => {
  const setup = (): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'auth.log': 'Nov 22 03:00:00 server sshd[5174]: refused connect from 10.88.1.2 (10.88.1.2)\n'
    })
    return ev
  }

  it('explains an SSH connection closed right after its handshake', () => {
    const inc = run(setup(), [
      flow({ id: 'F1', outcome: 'established', dport: 22, synRetransmits: 0 })
    ])
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({ kind: 'tcp-wrappers', host: 'server', line: 1 })
    expect(f.fix).toBe("echo 'sshd: 10.88.1.2' >> /etc/hosts.allow")
  })

  it('leaves alone a connection from the same client to another service', () => {
    const inc = run(setup(), [
      flow({ id: 'F1', outcome: 'established', dport: 80, synRetransmits: 0 })
    ])
    expect(findingFor(inc, 'F1')).toBeUndefined()
  })
})

describe('SELinux', () => {
  it('names the denied name_bind as why nothing listens, with the semanage fix', () => {
    const ev = createEvidence()
    const avc = readFileSync(
      `${corpus}/logs/snippets_selinux_avc_name_connect_name_bind.log`,
      'utf8'
    )
      .split('\n')
      .find((l) => l.includes('name_bind') && l.includes('src=11988'))!
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), 'audit.log': `${avc}\n` })
    const inc = run(ev, [
      flow({ id: 'F1', outcome: 'refused-rst', dport: 11988, synRetransmits: 0 })
    ])
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({ kind: 'selinux', host: 'server' })
    expect(f.explanation).toContain('nginx')
    expect(f.fix).toBe('semanage port -a -t http_port_t -p tcp 11988')
  })
})

describe('NAT and forwarding', () => {
  it('finds forwarding off on the router between the two ends', () => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'router', { 'ip-addr.txt': routerAddr(), 'sysctl.txt': 'net.ipv4.ip_forward = 0\n' })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'nat', host: 'router' })
    expect(f.fix).toBe('sysctl -w net.ipv4.ip_forward=1')
  })

  it('finds a missing MASQUERADE: the server has no route back to the private source', () => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'router', { 'ip-addr.txt': routerAddr(), 'sysctl.txt': 'net.ipv4.ip_forward = 1\n' })
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'ip-route.txt': '203.0.113.0/24 dev s0 proto kernel scope link src 203.0.113.5\n'
    })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'nat', host: 'router' })
    // No snapshot of the router's firewall was read: no system is claimed for it.
    expect(f.cause.system).toBeUndefined()
    expect(f.evidence[0]).toMatchObject({ file: 'server/ip-route.txt' })
    expect(f.fix).toBe('iptables -t nat -A POSTROUTING -s 10.88.1.0/24 -o r1 -j MASQUERADE')
  })

  it('claims no missing MASQUERADE where the router has one the SYN meets, or the server never saw it', () => {
    const setup = (router: Record<string, string>) => {
      const ev = createEvidence()
      load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
      load(ev, 'router', { 'ip-addr.txt': routerAddr(), ...router })
      load(ev, 'server', {
        'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
        'ip-route.txt': '203.0.113.0/24 dev s0 proto kernel scope link src 203.0.113.5\n'
      })
      return ev
    }
    const syn = flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })
    const masq = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r1 -j MASQUERADE\nCOMMIT\n'
    expect(findingFor(run(setup({ 'iptables.txt': masq }), [syn]), 'F1')!.cause.kind).not.toBe(
      'nat'
    )
    // The server captured, and the SYN is not in its capture: it was lost, not left untranslated.
    const ev = setup({})
    hostOf(ev, 'server').points.push('server')
    const lost = {
      ...syn,
      keyPackets: [{ what: 'syn' as const, time: T0, seenAt: ['client'], missingAt: ['server'] }]
    }
    expect(findingFor(run(ev, [lost]), 'F1')!.cause.kind).not.toBe('nat')
  })

  it("gives the fix in nft's dialect, into the router's own nat chain", () => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'router', {
      'ip-addr.txt': routerAddr(),
      'ruleset.nft': [
        'table ip natting {',
        '\tchain post {',
        '\t\ttype nat hook postrouting priority srcnat; policy accept;',
        '\t}',
        '}'
      ].join('\n')
    })
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'ip-route.txt': '203.0.113.0/24 dev s0 proto kernel scope link src 203.0.113.5\n'
    })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'nat', host: 'router', system: 'nftables' })
    expect(f.fix).toBe('nft add rule ip natting post ip saddr 10.88.1.0/24 oifname "r1" masquerade')
  })

  it('does not claim a missing route back from the addresses alone, nor when the server answered', () => {
    const setup = (serverFiles: Record<string, string>): EvidenceSet => {
      const ev = createEvidence()
      load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
      load(ev, 'router', { 'ip-addr.txt': routerAddr() })
      load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), ...serverFiles })
      return ev
    }
    // The addresses show no default route, but no routing table was read to say there is none.
    const noRoutes = findingFor(
      run(setup({}), [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]),
      'F1'
    )!
    expect(noRoutes.cause.kind).toBe('unknown')
    // A server whose SYN-ACK was seen had a route back, whatever its snapshot says.
    const route = { 'ip-route.txt': '203.0.113.0/24 dev s0 proto kernel scope link\n' }
    const answered = findingFor(
      run(setup(route), [
        flow({
          id: 'F1',
          outcome: 'one-way',
          dport: 443,
          keyPackets: [
            { what: 'syn-ack', time: T0, len: 60, seenAt: ['server'], frames: ['server:s.pcap#2'] }
          ]
        })
      ]),
      'F1'
    )!
    expect(answered.cause.kind).not.toBe('nat')
  })
})

describe('a router without a rule for established connections', () => {
  // Forwarding in both directions through one stateless chain: accepting the SYN alone leaves
  // the SYN-ACK to the policy.
  const setup = (): EvidenceSet =>
    routed({
      'iptables.txt': [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT',
        'COMMIT',
        ''
      ].join('\n')
    })
  const failed = (): Flow => flow({ id: 'F1', outcome: 'syn-timeout', dport: 8000 })

  it('gives a fix that also accepts the replies, and says why', () => {
    const f = findingFor(run(setup(), [failed()]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'policy', host: 'router', chain: 'FORWARD' })
    expect(f.fix).toBe(
      'iptables -A FORWARD -p tcp -d 203.0.113.5 --dport 8000 -j ACCEPT\n' +
        'iptables -I FORWARD 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'
    )
    expect(f.explanation).toContain('Its replies would be dropped too')
  })

  it('what-if applies a fix of several commands in order; the first alone resolves nothing', () => {
    const fix = findingFor(run(setup(), [failed()]), 'F1')!.fix!
    const [accept] = fix.split('\n')
    // As the fix gives them (one per line), as typed on one line, and the first alone.
    const whatIf = [`router: ${fix}`, `router: ${fix.replace('\n', '; ')}`, `router: ${accept}`]
    const inc = run(setup(), [failed()], { whatIf })
    expect(inc.whatIf?.map((w) => [w.resolves, w.problems])).toEqual([
      [['F1'], undefined],
      [['F1'], undefined],
      [[], undefined]
    ])
    expect(inc.whatIf?.[2].changes[0].after).toMatch(/^the SYN-ACK: drop at router/)
  })
})

describe('answers dropped by the client itself', () => {
  const client = (rules: string[]): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', {
      'ip-addr.txt': ipAddr('c0', '10.88.1.2/24'),
      'iptables.txt': ['*filter', ':INPUT DROP [0:0]', ...rules, 'COMMIT', ''].join('\n')
    })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    return ev
  }
  const dns = (): Flow =>
    flow({ id: 'F1', proto: 'udp', outcome: 'answered', dport: 53, synRetransmits: undefined })

  it("an answered exchange whose answers the client's input chain drops is a finding", () => {
    const ev = client(['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'])
    // The client's capture point (as analyse names it from the client's capture).
    hostOf(ev, 'client').points.push('client')
    const f = findingFor(run(ev, [dns()]), 'F1')!
    expect(f.evidence[0]).toMatchObject({ kind: 'simulation', verdict: 'drop', path: 'input' })
    expect(f.outcome).toBe('answered')
    expect(f.cause).toMatchObject({ kind: 'return-path', host: 'client', chain: 'INPUT' })
    expect(f.evidence[1].text).toMatch(/^the answers were captured at client: they reached/)
    expect(f.explanation).toMatch(/^The exchange looks answered on the wire/)
    expect(f.fix).toBe('iptables -I INPUT 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT')
  })

  it('says when the client drops the ICMP error that answered it, beside the cause', () => {
    const ev = client([])
    const unreachable = flow({
      id: 'F1',
      proto: 'udp',
      outcome: 'icmp-unreachable',
      dport: 9999,
      synRetransmits: undefined,
      icmp: {
        type: 3,
        code: 3,
        from: '203.0.113.5',
        sender: 'destination',
        time: T0,
        quoted: 'datagram'
      }
    })
    const f = findingFor(run(ev, [unreachable]), 'F1')!
    expect(f.cause.kind).toBe('no-listener')
    expect(f.explanation).toContain(
      'On client, the input chain then drops the ICMP error (the INPUT policy (filter, line 2)): the application never learns of it'
    )
    expect(f.evidence.at(-1)).toMatchObject({ kind: 'simulation', ct: 'related', verdict: 'drop' })
  })

  it('is no finding when the client accepts established connections, or its rules are unknown', () => {
    const stateful = client(['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'])
    expect(run(stateful, [dns()]).findings).toEqual([])
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    expect(run(ev, [dns()]).findings).toEqual([])
  })
})

describe('a rule that drops by source', () => {
  const server = (files: Record<string, string>): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), ...files })
    attachIpsets(ev)
    return ev
  }
  const ssh = (src = '10.88.1.2'): Flow =>
    flow({ id: 'F1', outcome: 'syn-timeout', dport: 22, src })
  const nft = [
    'table inet fw {',
    '\tset blocklist {',
    '\t\ttype ipv4_addr',
    '\t\tflags interval',
    '\t\telements = { 10.88.1.2, 198.51.100.0/24 }',
    '\t}',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\tip saddr @blocklist drop',
    '\t}',
    '}',
    ''
  ].join('\n')

  it('takes the source out of the nft set instead of opening the port to the whole set', () => {
    const f = findingFor(run(server({ 'ruleset.nft': nft }), [ssh()]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'server', chain: 'input' })
    expect(f.fix).toBe('nft delete element inet fw blocklist { 10.88.1.2 }')
    expect(f.explanation).toContain('10.88.1.2 is in @blocklist, the set the rule matches')
    // A source inside a prefix element: the element that holds it.
    const g = findingFor(run(server({ 'ruleset.nft': nft }), [ssh('198.51.100.7')]), 'F1')!
    expect(g.fix).toBe('nft delete element inet fw blocklist { 198.51.100.0/24 }')
    expect(g.explanation).toContain('198.51.100.7 is in @blocklist (as 198.51.100.0/24)')
  })

  it('takes it out of the ipset; a plain source prefix gets an accept for that source alone', () => {
    const ipt = (rule: string): string =>
      ['*filter', ':INPUT ACCEPT [0:0]', rule, 'COMMIT', ''].join('\n')
    const withSet = server({
      'ipset.txt':
        'create bad hash:net family inet hashsize 1024 maxelem 65536\nadd bad 10.88.0.0/16\n',
      'iptables.txt': ipt('-A INPUT -m set --match-set bad src -j DROP')
    })
    // A network of a hash:net set: a nomatch hole for the one source, not the /16 taken out.
    const inSet = findingFor(run(withSet, [ssh()]), 'F1')!
    expect(inSet.fix).toBe('ipset add bad 10.88.1.2 nomatch')
    expect(inSet.explanation).toContain('a hole in the set for 10.88.1.2 alone (a nomatch entry)')
    const prefix = server({ 'iptables.txt': ipt('-A INPUT -s 10.88.0.0/16 -j DROP') })
    expect(findingFor(run(prefix, [ssh()]), 'F1')!.fix).toBe(
      'iptables -I INPUT 1 -p tcp -s 10.88.1.2 --dport 22 -j ACCEPT'
    )
  })
})

describe('limits written for traffic over them', () => {
  // Some connections to the service got through, the rest did not: the limit's drop (or reject)
  // holds over it, and not under it.
  const server = (rule: string): EvidenceSet =>
    serverWithInput('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', rule)
  const flows = (failed: Partial<Flow>): Flow[] => [
    flow({ id: 'F1', outcome: 'established', dport: 7000, sport: 40001 }),
    flow({ id: 'F2', outcome: 'syn-timeout', dport: 7000, sport: 40002, ...failed })
  ]

  it('a hashlimit above its rate drops the SYNs over it; the fix doubles it', () => {
    const rule =
      '-A INPUT -p tcp -m tcp --dport 7000 -m hashlimit --hashlimit-above 1/sec --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name h -j DROP'
    const f = findingFor(run(server(rule), flows({})), 'F2')!
    expect(f.cause).toMatchObject({ kind: 'rate-limit', line: 4, chain: 'INPUT' })
    expect(f.explanation).toContain('drops the SYN to 203.0.113.5:7000 once traffic is over')
    expect(f.fix).toBe(
      'iptables -R INPUT 2 -p tcp -m tcp --dport 7000 -m hashlimit --hashlimit-above 2/sec --hashlimit-burst 4 --hashlimit-mode srcip --hashlimit-name hx2 -j DROP'
    )
  })

  it('a limit’s burst is raised to the connections that began within one second', () => {
    const rule =
      '-A INPUT -p tcp -m tcp --dport 7000 --syn -m limit --limit 1/min --limit-burst 2 -j ACCEPT'
    const burst = [0, 1, 2, 3, 4, 5].map((k) =>
      flow({
        id: `F${k + 1}`,
        outcome: k < 2 ? 'established' : 'syn-timeout',
        dport: 7000,
        sport: 41000 + k,
        first: `2026-11-22T03:00:00.0${k}0000Z`
      })
    )
    const drop = '-A INPUT -p tcp -m tcp --dport 7000 -j DROP'
    const f = findingFor(run(serverWithInput(rule, drop), burst), 'F3')!
    expect(f.cause).toMatchObject({ kind: 'rate-limit' })
    expect(f.fix).toBe(
      'iptables -R INPUT 1 -p tcp -m tcp --dport 7000 --syn -m limit --limit 2/min --limit-burst 6 -j ACCEPT'
    )
    expect(f.explanation).toContain(
      'with a burst of at least the 6 connections that began within one second'
    )
  })

  it('a connlimit above its count refuses the connections over it', () => {
    const rule =
      '-A INPUT -p tcp -m tcp --dport 7000 -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset'
    const refused = {
      outcome: 'refused-rst' as const,
      synRetransmits: 0,
      rst: { time: T0, by: 'responder' as const, ttl: 64, win: 0, answeredSyn: true }
    }
    const f = findingFor(run(server(rule), flows(refused)), 'F2')!
    expect(f.cause).toMatchObject({ kind: 'rate-limit', line: 4, verdict: 'reject with tcp-reset' })
    expect(f.fix).toContain('--connlimit-above 4 ')
  })
})

describe('an accept for a logged drop', () => {
  it('goes before the LOG that records the drop, so accepted packets are not logged as dropped', () => {
    const ev = serverWithInput(
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 5432 -j LOG --log-prefix "PG-DENY: "',
      '-A INPUT -p tcp -m tcp --dport 5432 -j DROP'
    )
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 5432 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', line: 5 })
    expect(f.fix).toBe('iptables -I INPUT 2 -p tcp --dport 5432 -j ACCEPT')
  })

  it('lets in the one source a service ACL leaves out, and says the ACL does', () => {
    const ev = serverWithInput(
      '-A INPUT -s 198.51.100.99/32 -p tcp -m tcp --dport 5432 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 5432 -j DROP'
    )
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 5432 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', line: 4 })
    expect(f.explanation).toContain(
      'Line 3 accepts the port only from one source (`-A INPUT -s 198.51.100.99/32 -p tcp -m tcp --dport 5432 -j ACCEPT`); the SYN comes from 10.88.1.2, which is not among them.'
    )
    expect(f.fix).toBe('iptables -I INPUT 2 -p tcp -s 10.88.1.2 --dport 5432 -j ACCEPT')
  })
})

describe('asymmetric routing', () => {
  // Requests go client → rtra → server, replies server → rtrb → client: rtrb, which captured
  // the replies and never the SYN, marks the SYN-ACK invalid and drops it (as the kernel logged).
  const setup = (): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '10.88.2.10/24') })
    load(ev, 'rtrb', {
      'ip-addr.txt': [
        '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
        '    inet 127.0.0.1/8 scope host lo',
        '2: lan1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
        '    inet 10.88.1.3/24 scope global lan1',
        '3: lan2@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
        '    inet 10.88.2.3/24 scope global lan2',
        ''
      ].join('\n'),
      'iptables.txt': [
        '*filter',
        ':FORWARD DROP [0:0]',
        '-A FORWARD -m conntrack --ctstate INVALID -j LOG --log-prefix "FWD-INVALID "',
        '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -i lan1 -j ACCEPT',
        'COMMIT',
        ''
      ].join('\n'),
      'dmesg.txt':
        '[  100.004000] FWD-INVALID IN=lan2 OUT=lan1 SRC=10.88.2.10 DST=10.88.1.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=8080 DPT=40000 WINDOW=65160 RES=0x00 ACK SYN URGP=0\n'
    })
    for (const h of ['client', 'server', 'rtrb']) hostOf(ev, h).points.push(h)
    return ev
  }
  const oneWay = flow({
    id: 'F1',
    outcome: 'one-way',
    dst: '10.88.2.10',
    dport: 8080,
    seenAt: ['client', 'server', 'rtrb'],
    synAckRetransmits: 2,
    keyPackets: [
      {
        what: 'syn',
        time: T0,
        len: 60,
        seenAt: ['client', 'server'],
        missingAt: ['rtrb'],
        frames: []
      },
      {
        what: 'syn-ack',
        time: T0,
        len: 60,
        seenAt: ['server', 'rtrb'],
        missingAt: ['client'],
        frames: []
      }
    ]
  })

  it('accepts the replies by address before the INVALID rule: no conntrack setting helps', () => {
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const f = findingFor(run(setup(), [oneWay], { clock: { bootTime: boot } }), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'ct-invalid', host: 'rtrb', line: 4 })
    expect(f.explanation).toMatch(
      /^rtrb never saw the SYN \(it went another way: seen at client, server\)/
    )
    expect(f.fix).toBe(
      'iptables -I FORWARD 1 -p tcp -s 10.88.2.10 -d 10.88.1.2 --sport 8080 -j ACCEPT'
    )
  })
})

describe('conversations only a log saw', () => {
  it('takes the same line written twice for one packet, not a retransmission', () => {
    const line =
      '[  100.000000] DROP-IN: IN=s0 OUT= SRC=10.88.1.2 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=TCP SPT=39999 DPT=5432 WINDOW=64240 RES=0x00 SYN URGP=0'
    const retried = line.replace('[  100.000000]', '[  101.010000]').replace('ID=4242', 'ID=4243')
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'kern.log': [line, line, retried, ''].join('\n')
    })
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const inc = run(ev, [], { clock: { bootTime: boot } })
    expect(inc.flows).toHaveLength(1)
    expect(inc.flows[0]).toMatchObject({ sport: 39999, dport: 5432, outcome: 'syn-timeout' })
    expect(inc.flows[0].synRetransmits).toBe(1)
  })
})

describe("a reset a router sends in the destination's name", () => {
  it("says the RST crossed no router, beside the router's REJECT rule", () => {
    const ev = routed({
      'iptables.txt': [
        '*filter',
        ':FORWARD ACCEPT [0:0]',
        '-A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset',
        'COMMIT',
        ''
      ].join('\n')
    })
    const refused = (ttl: number): Flow =>
      flow({
        id: 'F1',
        outcome: 'refused-rst',
        dport: 25,
        synRetransmits: 0,
        rst: { time: T0, by: 'responder', ttl, win: 0, answeredSyn: true }
      })
    const f = findingFor(run(ev, [refused(64)]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'FORWARD' })
    expect(f.evidence.map((e) => e.text)).toContain(
      "the RST arrived with TTL 64, a sender's initial value: it crossed no router, so it came from router on the way, not from 203.0.113.5 behind it"
    )
    // One hop lower, it could have come from the destination: nothing is said.
    const g = findingFor(run(ev, [refused(63)]), 'F1')!
    expect(g.evidence.some((e) => e.text.includes('crossed no router'))).toBe(false)
  })
})

describe('unknown', () => {
  it('says what is missing to decide', () => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]), 'F1')!
    expect(f.cause.kind).toBe('unknown')
    expect(f.confidence).toBe(0)
    expect(f.missing?.join('\n')).toContain("server's ruleset")
    expect(f.alignment).toMatch(/^none needed/)
  })
})

describe('what is not a failure to explain', () => {
  it('leaves multicast, broadcast and DHCP datagrams without an answer alone', () => {
    const ev = createEvidence()
    const flows = [
      flow({ id: 'F1', proto: 'udp', outcome: 'unanswered', dst: '224.0.0.251', dport: 5353 }),
      flow({ id: 'F2', proto: 'udp', outcome: 'unanswered', dst: '255.255.255.255', dport: 67 }),
      flow({
        id: 'F3',
        proto: 'udp',
        outcome: 'unanswered',
        dst: 'ff02::fb',
        src: 'fe80::1',
        dport: 5353
      }),
      flow({ id: 'F4', proto: 'udp', outcome: 'unanswered', dst: '203.0.113.5', dport: 53 })
    ]
    const inc = run(ev, flows)
    expect(inc.findings.flatMap((f) => f.flows)).toEqual(['F4'])
  })
})

describe('no listener', () => {
  const rst = (o: Partial<Flow> = {}): Flow =>
    flow({
      id: 'F1',
      outcome: 'refused-rst',
      dport: 81,
      synRetransmits: 0,
      rst: { time: T0, by: 'responder', ttl: 64, win: 0, answeredSyn: true },
      ...o
    })

  it('is sure when the host accepts the SYN and its socket list shows nothing on the port', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'iptables-save.txt': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
      'ss.txt':
        'State  Recv-Q Send-Q Local Address:Port Peer Address:Port\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n'
    })
    const f = findingFor(run(ev, [rst()]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'no-listener', host: 'server' })
    expect(f.confidence).toBe(0.9)
    expect(f.missing).toBeUndefined()
  })

  it('names the address a running service is bound to instead of telling to start it', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'iptables-save.txt': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
      'ss.txt': [
        'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
        'tcp   LISTEN 0      50         127.0.0.1:81        0.0.0.0:*    users:(("python3",pid=15791,fd=3))',
        'tcp   LISTEN 0      50             [::1]:81           [::]:*    users:(("python3",pid=15791,fd=4))',
        ''
      ].join('\n')
    })
    const f = findingFor(run(ev, [rst()]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'no-listener', host: 'server' })
    expect(f.evidence[0].text).toBe(
      "server's socket list shows nothing listening on tcp 203.0.113.5:81; python3 listens on 127.0.0.1:81 and [::1]:81 only (line 2)"
    )
    expect(f.explanation).toContain(
      'The service runs, but python3 listens on 127.0.0.1:81 and [::1]:81 only: bind it to 203.0.113.5'
    )
    expect(f.explanation).not.toContain('Start the service')
  })

  it('without the host ruleset, cannot rule out a REJECT and says so', () => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    const f = findingFor(run(ev, [rst()]), 'F1')!
    expect(f.cause.kind).toBe('no-listener')
    expect(f.confidence).toBeLessThan(0.5)
    expect(f.missing?.[0]).toContain('REJECT')
  })

  it('a listener in the socket list makes the refusal unexplained, not no-listener', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'iptables-save.txt': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
      'ss.txt':
        'State  Recv-Q Send-Q Local Address:Port Peer Address:Port\nLISTEN 0 128 0.0.0.0:81 0.0.0.0:*\n'
    })
    expect(findingFor(run(ev, [rst()]), 'F1')!.cause.kind).toBe('unknown')
  })
})

describe('a router that captured each interface: the packet went in and never out', () => {
  const T = Date.parse(T0) * 1000
  /** The router with a third interface, r2, on 10.88.3.0/24, its files given. */
  const setup = (files: Record<string, string>): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'router', {
      'ip-addr.txt':
        routerAddr() +
        '4: r2@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n' +
        '    inet 10.88.3.1/24 scope global r2\n',
      ...files
    })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    for (const h of ['client', 'router', 'server']) hostOf(ev, h).points.push(h)
    hostOf(ev, 'router').captures.push(
      { point: 'router', file: 'r2.pcap', firstUs: T - 1e6, lastUs: T + 9e6 },
      { point: 'router', file: 'router-r1.pcap', firstUs: T - 1e6, lastUs: T + 9e6 }
    )
    return ev
  }
  /** A SYN timeout whose SYN the router captured on `frames`' files. */
  const lost = (frames: string[]) =>
    flow({
      id: 'F1',
      outcome: 'syn-timeout',
      dport: 80,
      seenAt: ['client', 'router'],
      keyPackets: [
        {
          what: 'syn',
          time: T0,
          len: 60,
          seenAt: ['client', 'router'],
          missingAt: ['server'],
          frames: ['client:c0.pcap#1', ...frames]
        }
      ]
    })
  const POLICY = '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n'
  const ACCEPTING = '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'

  it('is evidence beside the rule that dropped it', () => {
    const f = findingFor(
      run(setup({ 'iptables.txt': POLICY }), [lost(['router:r2.pcap#1'])]),
      'F1'
    )!
    expect(f.cause).toMatchObject({ kind: 'policy', host: 'router', chain: 'FORWARD' })
    expect(f.evidence[1]).toMatchObject({
      kind: 'packet',
      weight: 'proves',
      text: 'router captured the SYN arriving on r2 (r2.pcap) and never leaving on r1 (router-r1.pcap, which was capturing at the time): router itself did not forward it'
    })
  })

  it('says nothing when the packet left by a third interface (policy routing)', () => {
    const ev = setup({ 'iptables.txt': POLICY })
    hostOf(ev, 'router').captures.push({
      point: 'router',
      file: 'r0.pcap',
      firstUs: T - 1e6,
      lastUs: T + 9e6
    })
    const third = run(ev, [lost(['router:r2.pcap#1', 'router:r0.pcap#1'])])
    expect(findingFor(third, 'F1')!.evidence.some((e) => /never leaving/.test(e.text))).toBe(false)
  })

  it('says nothing when the way out saw it too, or was not capturing then', () => {
    const both = run(setup({ 'iptables.txt': POLICY }), [
      lost(['router:r2.pcap#1', 'router:router-r1.pcap#1'])
    ])
    expect(findingFor(both, 'F1')!.evidence.some((e) => /never leaving/.test(e.text))).toBe(false)
    const ev = setup({ 'iptables.txt': POLICY })
    hostOf(ev, 'router').captures[1].firstUs = T + 1e6
    const late = run(ev, [lost(['router:r2.pcap#1'])])
    expect(findingFor(late, 'F1')!.evidence.some((e) => /never leaving/.test(e.text))).toBe(false)
  })

  it('names the router when its ruleset accepts the packet, and its strict reverse-path filter when the route back differs', () => {
    const plain = findingFor(
      run(setup({ 'iptables.txt': ACCEPTING }), [lost(['router:r2.pcap#1'])]),
      'F1'
    )!
    expect(plain.cause).toMatchObject({ kind: 'unknown', host: 'router' })
    expect(plain.explanation).toMatch(
      /^router took the SYN in on r2 and never sent it on by r1: it was dropped inside router/
    )
    expect(plain.fix).toBeUndefined()

    const sysctl = 'net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.r2.rp_filter = 0\n'
    const rp = findingFor(
      run(setup({ 'iptables.txt': ACCEPTING, 'sysctl.txt': sysctl }), [lost(['router:r2.pcap#1'])]),
      'F1'
    )!
    expect(rp.cause).toMatchObject({
      kind: 'unknown',
      host: 'router',
      file: 'router/sysctl.txt',
      line: 1,
      rule: 'net.ipv4.conf.all.rp_filter = 1'
    })
    expect(rp.confidence).toBe(0.8)
    expect(rp.explanation).toMatch(/route back to 10\.88\.1\.2 leaves by r0, not by r2/)
    // Loose on r2 is enough: the larger of `all` (1) and the interface's value counts.
    expect(rp.fix).toBe('sysctl -w net.ipv4.conf.r2.rp_filter=2')
    expect(rp.missing).toBeUndefined()
    // Tried as a what-if, the fix lets the SYN through.
    const tried = run(
      setup({ 'iptables.txt': ACCEPTING, 'sysctl.txt': sysctl }),
      [lost(['router:r2.pcap#1'])],
      { whatIf: [`router: ${rp.fix}`] }
    )
    expect(tried.whatIf?.[0]).toMatchObject({ resolves: ['F1'], changes: [] })
  })

  it('in loose mode, drops a source with no route back at all: the fix turns the filter off', () => {
    const ev = setup({
      'iptables.txt': ACCEPTING,
      'sysctl.txt': 'net.ipv4.conf.all.rp_filter = 2\n'
    })
    const f = findingFor(run(ev, [{ ...lost(['router:r2.pcap#1']), src: '192.0.2.7' }]), 'F1')!
    expect(f.cause.rule).toBe('net.ipv4.conf.all.rp_filter = 2')
    expect(f.explanation).toMatch(/it has no route back to 192\.0\.2\.7/)
    expect(f.fix).toBe(
      'sysctl -w net.ipv4.conf.r2.rp_filter=0\nsysctl -w net.ipv4.conf.all.rp_filter=0'
    )
  })

  it('leaves the filter out when the packet arrived where the route back leaves', () => {
    const ev = setup({
      'iptables.txt': ACCEPTING,
      'sysctl.txt': 'net.ipv4.conf.all.rp_filter = 1\n'
    })
    // The SYN came in on r0, the way back to its source.
    hostOf(ev, 'router').captures[0].file = 'r0.pcap'
    const f = findingFor(run(ev, [lost(['router:r0.pcap#1'])]), 'F1')!
    expect(f.cause.rule).toBeUndefined()
    expect(f.explanation).toMatch(/dropped inside router/)
  })
})

describe('a blocklist that traffic fills', () => {
  const NFT = [
    'table inet filter {',
    '\tset blocklist {',
    '\t\ttype ipv4_addr',
    '\t\tflags dynamic,timeout',
    '\t\ttimeout 10m',
    '\t\telements = { 10.88.1.2 expires 9m39s52ms }',
    '\t}',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state established,related accept',
    '\t\tip saddr @blocklist counter packets 18 bytes 1080 drop',
    '\t\ttcp dport 2323 ct state new add @blocklist { ip saddr } counter packets 1 bytes 60 drop',
    '\t\ttcp dport { 22, 80 } accept',
    '\t}',
    '}',
    ''
  ].join('\n')
  const setup = (): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), 'nft.txt': NFT })
    return ev
  }

  it('a listed source is dropped by the set for certain; the trap that listed it gets no fix', () => {
    const inc = run(setup(), [
      flow({ id: 'F1', outcome: 'syn-timeout', dport: 2323 }),
      flow({ id: 'F2', outcome: 'syn-timeout', dport: 80, sport: 40001 })
    ])
    const trap = findingFor(inc, 'F1')!
    expect(trap.cause).toMatchObject({ kind: 'rule', line: 12 })
    expect(trap.explanation).toMatch(
      /adds 10\.88\.1\.2 to @blocklist: a trap doing what it was written to do/
    )
    expect(trap.fix).toBeUndefined()
    const blocked = findingFor(inc, 'F2')!
    expect(blocked.cause).toMatchObject({ kind: 'rule', line: 11 })
    expect(blocked.confidence).toBe(0.8)
    expect(blocked.fix).toBe('nft delete element inet filter blocklist { 10.88.1.2 }')
    expect(blocked.explanation).toMatch(/Line 12 \(`tcp dport 2323 .*`\) puts sources in it/)
  })

  it('a source the snapshot does not list may or may not have been in the set: likely, by its counter', () => {
    const inc = run(setup(), [
      flow({ id: 'F1', src: '10.88.1.9', outcome: 'syn-timeout', dport: 80 })
    ])
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', line: 11 })
    expect(f.confidence).toBe(0.5)
    expect(f.missing?.join(' ')).toMatch(/@blocklist \(depends on the rate or state at the time\)/)
  })
})

describe("a router's own routes of type unreachable, prohibit or blackhole", () => {
  const setup = (): EvidenceSet =>
    routed({
      'ip-route.txt': [
        'unreachable 10.96.5.0/24',
        'prohibit 10.96.6.0/24 metric 10',
        'blackhole 10.96.7.0/24',
        '10.88.1.0/24 dev r0 proto kernel scope link src 10.88.1.1',
        '203.0.113.0/24 dev r1 proto kernel scope link src 203.0.113.1',
        ''
      ].join('\n')
    })
  const icmp = (id: string, dst: string, code: number): Flow =>
    flow({
      id,
      dst,
      outcome: 'icmp-unreachable',
      dport: 80,
      seenAt: ['client', 'router'],
      icmp: { type: 3, code, from: '10.88.1.1', sender: 'router', quoted: 'syn', time: T0 }
    })

  it('are the cause, with the answer each gives, and no firewall is blamed', () => {
    const ev = setup()
    for (const h of ['client', 'router']) hostOf(ev, h).points.push(h)
    const inc = run(ev, [
      icmp('F1', '10.96.5.10', 1),
      icmp('F2', '10.96.6.10', 13),
      flow({
        id: 'F3',
        dst: '10.96.7.10',
        outcome: 'syn-timeout',
        dport: 80,
        seenAt: ['client', 'router']
      })
    ])
    const expect1 = (id: string, rule: string, line: number) => {
      const f = findingFor(inc, id)!
      expect(f.cause).toMatchObject({ kind: 'unknown', host: 'router', rule, line })
      expect(f.cause.file).toMatch(/ip-route\.txt$/)
      expect(f.fix).toBe(`ip route del ${rule}`)
      return f
    }
    expect1('F1', 'unreachable 10.96.5.0/24', 1)
    expect1('F2', 'prohibit 10.96.6.0/24', 2)
    expect(expect1('F3', 'blackhole 10.96.7.0/24', 3).explanation).toMatch(
      /discarded without any answer/
    )
  })

  it('are not the cause of an answer they would not give', () => {
    const ev = setup()
    for (const h of ['client', 'router']) hostOf(ev, h).points.push(h)
    // Administratively prohibited, but toward the unreachable route: something else answered.
    const inc = run(ev, [icmp('F1', '10.96.5.10', 13)])
    expect(findingFor(inc, 'F1')!.cause.rule).toBeUndefined()
  })
})

describe('one log prefix written by several rules', () => {
  // The same prefix before a DROP rule and before the policy, in iptables and in ip6tables.
  const rules = (v6: boolean) =>
    [
      '*filter',
      ':INPUT DROP [0:0]',
      `-A INPUT -p tcp -m tcp --dport 3389 -j LOG --log-prefix "DROP-IN: "`,
      '-A INPUT -p tcp -m tcp --dport 3389 -j DROP',
      `-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT`,
      `-A INPUT -j LOG --log-prefix "DROP-IN: "`,
      'COMMIT',
      ''
    ].join('\n') + (v6 ? '# ip6tables\n' : '')
  const line = (dport: number) =>
    `[  100.000000] DROP-IN: IN=s0 OUT= SRC=10.88.1.2 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=TCP SPT=40000 DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0`

  it('names the log rule of the packet’s family the walk met, and the rule or policy after it', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'ip6tables-save.txt': rules(true).replace(
        '*filter',
        '# Generated by ip6tables-save\n*filter'
      ),
      'iptables-save.txt': rules(false),
      'kern.log': [line(3389), line(5900), ''].join('\n')
    })
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const inc = run(
      ev,
      [
        flow({ id: 'F1', outcome: 'syn-timeout', dport: 3389, seenAt: [] }),
        flow({ id: 'F2', outcome: 'syn-timeout', dport: 5900, seenAt: [] })
      ],
      { clock: { bootTime: boot } }
    )
    const rule = findingFor(inc, 'F1')!
    expect(rule.cause).toMatchObject({ kind: 'rule', line: 4, file: 'server/iptables-save.txt' })
    expect(rule.evidence[0].text).toMatch(/the log rule at iptables-save\.txt line 3$/)
    const policy = findingFor(inc, 'F2')!
    expect(policy.cause).toMatchObject({ kind: 'policy', file: 'server/iptables-save.txt' })
    expect(policy.evidence[0].text).toMatch(/the log rule at iptables-save\.txt line 6$/)
  })
})

describe('an ICMP error from the destination itself, no snapshot loaded', () => {
  const answered = (id: string, proto: Flow['proto'], code: number): Flow =>
    flow({
      id,
      proto,
      outcome: 'icmp-unreachable',
      dport: 80,
      synRetransmits: 0,
      icmp: { type: 3, code, from: '203.0.113.5', sender: 'destination', quoted: 'syn', time: T0 }
    })

  it('is a closed port only for a datagram answered port unreachable; otherwise a REJECT', () => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24') })
    const inc = run(ev, [
      answered('F1', 'udp', 3),
      answered('F2', 'tcp', 3),
      answered('F3', 'tcp', 13),
      answered('F4', 'udp', 10)
    ])
    expect(findingFor(inc, 'F1')!.cause.kind).toBe('no-listener')
    for (const id of ['F2', 'F3', 'F4']) {
      const f = findingFor(inc, id)!
      expect(f.cause).toMatchObject({ kind: 'unknown', host: 'server' })
      expect(f.explanation).toMatch(/a REJECT rule answered/)
      expect(f.missing?.[0]).toMatch(/^server's ruleset/)
    }
    expect(findingFor(inc, 'F2')!.explanation).toMatch(/never with an ICMP error/)
  })
})

describe('a shared kernel log', () => {
  it("leaves out the lines of interfaces the host does not have, and says so on the log's input", () => {
    const line = (iface: string, id: number) =>
      `[  100.000000] DROP-IN: IN=${iface} OUT= SRC=10.88.1.2 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=${id} DF PROTO=TCP SPT=39999 DPT=5432 WINDOW=64240 RES=0x00 SYN URGP=0`
    const ev = createEvidence()
    const inputs = load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'kern.log': [line('veth9', 1), line('veth9', 2), ''].join('\n')
    })
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const inc: Incident = { schema: INCIDENT_SCHEMA, inputs, flows: [], findings: [] }
    correlate(inc, ev, { clock: { bootTime: boot } })
    expect(inc.flows).toEqual([])
    expect(inc.inputs[1].warnings).toEqual([
      "server/kern.log:1: 2 lines name interface veth9, which server's ip addr does not list: another host's or network namespace's lines in a shared kernel log, not used"
    ])
    // The host's own interface: the same line is a conversation the log saw.
    const own = createEvidence()
    load(own, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'kern.log': line('s0', 1) + '\n'
    })
    expect(run(own, [], { clock: { bootTime: boot } }).flows).toHaveLength(1)
  })
})

describe('a chain of its own that accepts by source (a verdict map jumps to it for one port)', () => {
  const NFT = [
    'table inet filter {',
    '\tmap svc {',
    '\t\ttype inet_service : verdict',
    '\t\telements = { 22 : jump ssh_chain, 443 : accept }',
    '\t}',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state established,related accept',
    '\t\ttcp dport vmap @svc',
    '\t}',
    '\tchain ssh_chain {',
    '\t\tip6 saddr fd79::/64 accept',
    '\t\tip saddr 10.79.0.0/16 accept',
    '\t\tmeta l4proto tcp reject with tcp reset',
    '\t}',
    '}',
    ''
  ].join('\n')

  it('is an ACL: the fix lets the one source in, and the explanation shows the rule of its family', () => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), 'nft.txt': NFT })
    const refused = flow({
      id: 'F1',
      outcome: 'refused-rst',
      dport: 22,
      synRetransmits: 0,
      rst: { by: 'responder', ttl: 64, win: 0, answeredSyn: true, time: T0 }
    })
    const f = findingFor(run(ev, [refused]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', chain: 'ssh_chain', line: 14 })
    expect(f.explanation).toMatch(
      /Line 13 accepts the port only from one source \(`ip saddr 10\.79\.0\.0\/16 accept`\)/
    )
    expect(f.fix).toBe(
      'nft insert rule inet filter ssh_chain index 2 ip saddr 10.88.1.2 tcp dport 22 accept'
    )
  })
})

describe('rule counters', () => {
  const RULES = [
    '*filter',
    ':INPUT DROP [9:540]',
    '[3:180] -A INPUT -p tcp -m tcp --dport 9000 -m recent --set --name burst --rsource',
    '[3:180] -A INPUT -p tcp -m tcp --dport 9000 -m recent --rcheck --seconds 60 --name burst --rsource -j DROP',
    '[0:0] -A INPUT -p tcp -m tcp --dport 7000 -j DROP',
    '[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    'COMMIT',
    ''
  ].join('\n')
  const setup = (rules = RULES): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), 'iptables.txt': rules })
    return ev
  }

  it('are evidence for the rule or policy named, counted or not', () => {
    const inc = run(setup(), [
      flow({ id: 'F1', outcome: 'syn-timeout', dport: 7000 }),
      flow({ id: 'F2', outcome: 'syn-timeout', dport: 8080, sport: 40001 })
    ])
    expect(findingFor(inc, 'F1')!.evidence[1]).toMatchObject({
      kind: 'counter',
      line: 5,
      packets: 0,
      text: "the rule's counter in iptables.txt is 0: it had matched nothing when the snapshot was taken (taken before the incident, or the counters were reset)"
    })
    expect(findingFor(inc, 'F2')!.evidence[1]).toMatchObject({
      kind: 'counter',
      line: 2,
      packets: 9,
      bytes: 540,
      text: "the INPUT policy's counter in iptables.txt: 9 packets (540 bytes) before the snapshot was taken"
    })
  })

  it('name the undecided rule that drops and counted packets, with no fix', () => {
    // Nothing else drops the packet: the policy accepts.
    const accepting = RULES.replace(':INPUT DROP [9:540]', ':INPUT ACCEPT [9:540]')
    const f = findingFor(
      run(setup(accepting), [flow({ id: 'F1', outcome: 'syn-timeout', dport: 9000 })]),
      'F1'
    )!
    expect(f.cause).toMatchObject({ kind: 'rule', line: 4, verdict: 'drop' })
    expect(f.confidence).toBe(0.5)
    expect(f.explanation).toMatch(
      /its counter shows 3 packets \(the captures show 3 SYNs of this connection\): it most likely dropped the SYN/
    )
    expect(f.fix).toBeUndefined()
  })
})

describe('a hairpin NAT without source NAT', () => {
  it('names the router, ties the SYN-ACK that went round it to the connection, and masquerades', () => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.20/24') })
    load(ev, 'router', {
      'ip-addr.txt': routerAddr(),
      'iptables.txt': [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.88.1.10:80',
        '-A POSTROUTING -o r1 -j MASQUERADE',
        'COMMIT',
        ''
      ].join('\n')
    })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '10.88.1.10/24') })
    for (const h of ['client', 'router', 'server']) hostOf(ev, h).points.push(h)
    const view = (point: string, dst: string) => ({
      point,
      src: '10.88.1.20',
      sport: 45080,
      dst,
      dport: 80
    })
    const translated = flow({
      id: 'F1',
      src: '10.88.1.20',
      sport: 45080,
      dst: '203.0.113.1',
      outcome: 'one-way',
      dport: 80,
      seenAt: ['client', 'router', 'server'],
      nat: {
        from: '10.88.1.20:45080 > 203.0.113.1:80',
        to: '10.88.1.20:45080 > 10.88.1.10:80',
        points: {
          client: { src: '10.88.1.20', sport: 45080, dst: '203.0.113.1', dport: 80 },
          server: { src: '10.88.1.20', sport: 45080, dst: '10.88.1.10', dport: 80 }
        },
        views: [
          view('client', '203.0.113.1'),
          view('router', '203.0.113.1'),
          view('router', '10.88.1.10'),
          view('server', '10.88.1.10')
        ],
        translatedAt: ['router']
      }
    })
    const roundabout = flow({
      id: 'F2',
      src: '10.88.1.20',
      sport: 45080,
      dst: '10.88.1.10',
      outcome: 'one-way',
      dport: 80,
      seenAt: ['client'],
      synRetransmits: 0,
      rst: { by: 'initiator', ttl: 64, win: 0, answeredSyn: false, time: T0 }
    })
    const inc = run(ev, [translated, roundabout])
    for (const id of ['F1', 'F2']) {
      const f = findingFor(inc, id)!
      expect(f.cause).toMatchObject({
        kind: 'nat',
        host: 'router',
        verdict: 'no hairpin source NAT'
      })
      expect(f.evidence[0].text).toBe(
        '10.88.1.20 received the SYN-ACK straight from 10.88.1.10:80 (F2), not from 203.0.113.1:80 which it called, and reset it'
      )
      expect(f.fix).toBe(
        'iptables -t nat -I POSTROUTING 1 -s 10.88.1.0/24 -d 10.88.1.10 -p tcp --dport 80 -o r0 -j MASQUERADE'
      )
    }
  })
})

describe('a container calling its own published port', () => {
  it('takes the bridge port out of hairpin mode as the cause, not a missing source NAT', () => {
    const ev = createEvidence()
    load(ev, 'host', {
      'ip-addr.txt': [
        '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
        '    inet 127.0.0.1/8 scope host lo',
        '2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
        '    inet 192.168.60.1/24 scope global eth0',
        '3: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default',
        '    inet 172.17.0.1/16 scope global docker0',
        '4: veth1@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP group default',
        '5: veth2@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP group default',
        ''
      ].join('\n'),
      'iptables.txt': [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A PREROUTING -d 192.168.60.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
        '[0:0] -A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
        'COMMIT',
        ''
      ].join('\n')
    })
    load(ev, 'ct1', { 'ip-addr.txt': ipAddr('eth0', '172.17.0.2/16') })
    for (const h of ['host', 'ct1']) hostOf(ev, h).points.push(h)
    const self = flow({
      id: 'F1',
      src: '172.17.0.2',
      sport: 40035,
      dst: '192.168.60.1',
      dport: 8080,
      outcome: 'syn-timeout',
      seenAt: ['ct1', 'host'],
      nat: {
        from: '172.17.0.2:40035 > 192.168.60.1:8080',
        to: '172.17.0.2:40035 > 172.17.0.2:80',
        points: {},
        views: [
          { point: 'ct1', src: '172.17.0.2', sport: 40035, dst: '192.168.60.1', dport: 8080 },
          { point: 'ct1', src: '172.17.0.2', sport: 40035, dst: '172.17.0.2', dport: 80 }
        ],
        translatedAt: ['host']
      }
    })
    const f = findingFor(run(ev, [self]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'nat', host: 'host', verdict: 'no bridge hairpin' })
    expect(f.explanation).toMatch(/^172\.17\.0\.2 called its own published address/)
    expect(f.explanation).toMatch(/hairpin mode/)
    expect(f.fix).toBeUndefined()
    expect(f.confidence).toBe(0.75)
    // `bridge -d link` in the host's folder: hairpin off on every port, as evidence.
    load(ev, 'host', {
      'bridge-link.txt':
        '4: veth1@docker0: <UP> mtu 1500 master docker0 state forwarding priority 32 cost 2\n    hairpin off guard off\n5: veth2@docker0: <UP> mtu 1500 master docker0 state forwarding priority 32 cost 2\n    hairpin off guard off\n'
    })
    const g = findingFor(run(ev, [self]), 'F1')!
    expect(g.confidence).toBe(0.85)
    expect(g.evidence[0]).toMatchObject({
      kind: 'host',
      text: "host's bridge ports (`bridge -d link`) show hairpin off on every port of docker0"
    })
  })
})

describe('a rule the walk cannot decide that logs and drops in one', () => {
  it('is proved by the kernel line with its prefix; a reverse-path check gets no accept as a fix', () => {
    const ev = routed({
      'nft.txt': [
        'table inet raw {',
        '\tchain pre {',
        '\t\ttype filter hook prerouting priority raw; policy accept;',
        '\t\tfib saddr . iif oif missing counter packets 10 bytes 628 log prefix "ANTISPOOF " drop',
        '\t}',
        '}',
        ''
      ].join('\n'),
      'kern.log':
        '[  100.000000] ANTISPOOF IN=r0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 SRC=10.88.1.2 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0\n'
    })
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const inc = run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 80 })], {
      clock: { bootTime: boot }
    })
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'pre', line: 4 })
    expect(f.confidence).toBe(0.97)
    expect(f.explanation).toMatch(/It is a reverse-path check: 10\.88\.1\.2 has no route back/)
    expect(f.fix).toBeUndefined()
  })
})

describe('firewalld icmp-block-inversion', () => {
  it('says the icmp-block list then lists what is let in, as the fix uses it', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'public.xml':
        '<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <interface name="s0"/>\n  <icmp-block-inversion/>\n</zone>\n',
      'firewalld.conf': 'DefaultZone=public\nFirewallBackend=nftables\n'
    })
    const ping = flow({
      id: 'F1',
      proto: 'icmp',
      sport: undefined,
      dport: undefined,
      synRetransmits: undefined,
      outcome: 'unanswered'
    })
    const f = findingFor(run(ev, [ping]), 'F1')!
    expect(f.cause).toMatchObject({ system: 'firewalld' })
    expect(f.cause.rule).toMatch(/^icmp-block-inversion/)
    expect(f.explanation).toMatch(/the zone’s icmp-block list is the ICMP types it lets in/)
    expect(f.fix).toContain('--add-icmp-block=echo-request')
  })
})

describe('a bridge between client and server', () => {
  const T = Date.parse(T0) * 1000
  const SERVER = '10.88.1.10'
  /** `ip addr` of a bridge host: ports bp0 and bp1 of br0, which has an address on the network. */
  const BRIDGE_ADDR = [
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
    '    inet 127.0.0.1/8 scope host lo',
    '2: bp0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP group default qlen 1000',
    '3: bp1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP group default qlen 1000',
    '4: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
    '    inet 10.88.1.254/24 scope global br0',
    ''
  ].join('\n')
  /** `bridge link`, which reads as ip addr of the ports alone. */
  const BRIDGE_LINK = [
    '2: bp0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br0 state forwarding priority 32 cost 2',
    '3: bp1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br0 state forwarding priority 32 cost 2',
    ''
  ].join('\n')
  const NFT = [
    'table bridge filter {',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy accept;',
    `\t\tip daddr ${SERVER} tcp dport 5432 counter packets 3 bytes 180 drop`,
    '\t}',
    '}',
    ''
  ].join('\n')
  const PHYSDEV = [
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    `-A FORWARD -d ${SERVER}/32 -p tcp -m physdev --physdev-in bp0 -m tcp --dport 3306 -j DROP`,
    'COMMIT',
    ''
  ].join('\n')
  const setup = (files: Record<string, string>, addr = BRIDGE_ADDR): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    // `bridge link` first: the interfaces' addresses must survive it.
    load(ev, 'bridge', { 'bridge-link.txt': BRIDGE_LINK, 'ip-addr.txt': addr, ...files })
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', `${SERVER}/24`) })
    for (const h of ['client', 'bridge', 'server']) hostOf(ev, h).points.push(h)
    hostOf(ev, 'bridge').captures.push(
      { point: 'bridge', file: 'bp0.pcap', firstUs: T - 1e6, lastUs: T + 9e6 },
      { point: 'bridge', file: 'bp1.pcap', firstUs: T - 1e6, lastUs: T + 9e6 }
    )
    return ev
  }
  /** A SYN timeout to `dport` whose SYN the bridge captured on `frames`' files. */
  const lost = (dport: number, frames: string[]) =>
    flow({
      id: 'F1',
      outcome: 'syn-timeout',
      dst: SERVER,
      dport,
      seenAt: ['client', 'bridge'],
      keyPackets: [
        {
          what: 'syn',
          time: T0,
          len: 60,
          seenAt: ['client', 'bridge'],
          missingAt: ['server'],
          frames: ['client:c0.pcap#1', ...frames]
        }
      ]
    })

  it('walks the bridge family for the packet the bridge took in on one port and never sent on', () => {
    const ev = setup({ 'nft.txt': NFT })
    expect(hostOf(ev, 'bridge').ipAddr?.value.interfaces.map((i) => [i.name, i.master])).toEqual([
      ['lo', undefined],
      ['bp0', 'br0'],
      ['bp1', 'br0'],
      ['br0', undefined]
    ])
    const f = findingFor(run(ev, [lost(5432, ['bridge:bp0.pcap#1'])]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'bridge', table: 'filter', line: 4 })
    expect(f.evidence.find((e) => e.kind === 'simulation')).toMatchObject({
      path: 'bridge',
      verdict: 'drop',
      uncertain: false
    })
    expect(f.evidence.map((e) => e.text)).toContain(
      'bridge captured the SYN arriving on bp0 (bp0.pcap) and never leaving on bp1 (bp1.pcap, which was capturing at the time): bridge itself did not forward it'
    )
    expect(f.fix).toBe(
      `nft insert rule bridge filter forward index 0 ip daddr ${SERVER} tcp dport 5432 accept`
    )
  })

  it('walks iptables too when br_netfilter hands bridged packets to it, with the ports the captures show', () => {
    const on = 'net.bridge.bridge-nf-call-iptables = 1\n'
    const f = findingFor(
      run(setup({ 'iptables.txt': PHYSDEV, 'sysctl.txt': on }), [
        lost(3306, ['bridge:bp0.pcap#1'])
      ]),
      'F1'
    )!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'bridge', chain: 'FORWARD', line: 3 })
    expect(f.evidence.find((e) => e.kind === 'simulation')).toMatchObject({ uncertain: false })
    // Came in by bp1: the rule is for bp0 only.
    const other = findingFor(
      run(setup({ 'iptables.txt': PHYSDEV, 'sysctl.txt': on }), [
        lost(3306, ['bridge:bp1.pcap#1'])
      ]),
      'F1'
    )!
    expect(other.cause.kind).toBe('unknown')
    // br_netfilter off: iptables never sees the bridged packet.
    const off = 'net.bridge.bridge-nf-call-iptables = 0\n'
    const none = findingFor(
      run(setup({ 'iptables.txt': PHYSDEV, 'sysctl.txt': off }), [
        lost(3306, ['bridge:bp0.pcap#1'])
      ]),
      'F1'
    )!
    expect(none.cause.kind).toBe('unknown')
  })

  it('learns which port an address is behind from the other conversations', () => {
    // A third port: the lost SYN's way out is not "the other one", but another conversation
    // to the same server was seen leaving by bp2.
    const addr = BRIDGE_ADDR.replace(
      '4: br0:',
      '5: bp2@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP group default qlen 1000\n4: br0:'
    )
    const out2 = [
      '*filter',
      ':FORWARD ACCEPT [0:0]',
      `-A FORWARD -d ${SERVER}/32 -p tcp -m physdev --physdev-out bp2 -m tcp --dport 3306 -j DROP`,
      'COMMIT',
      ''
    ].join('\n')
    const ev = setup(
      { 'iptables.txt': out2, 'sysctl.txt': 'net.bridge.bridge-nf-call-iptables = 1\n' },
      addr
    )
    hostOf(ev, 'bridge').captures.push({
      point: 'bridge',
      file: 'bp2.pcap',
      firstUs: T - 1e6,
      lastUs: T + 9e6
    })
    const other = flow({
      id: 'F2',
      outcome: 'established',
      dst: SERVER,
      dport: 22,
      sport: 40002,
      keyPackets: [
        {
          what: 'syn',
          time: T0,
          seenAt: ['client', 'bridge', 'server'],
          frames: ['client:c0.pcap#2', 'bridge:bp0.pcap#2', 'bridge:bp2.pcap#1']
        }
      ]
    })
    const f = findingFor(run(ev, [lost(3306, ['bridge:bp0.pcap#1']), other]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'bridge', line: 3 })
    expect(f.evidence.find((e) => e.kind === 'simulation')).toMatchObject({ uncertain: false })
  })

  it('routes, not bridges, a flow between interfaces that are no bridge', () => {
    // The same host with the ends on two plain interfaces: the FORWARD walk, physdev decided.
    const addr = routerAddr()
    const ev = setup({ 'iptables.txt': PHYSDEV.replace(SERVER, '203.0.113.5') }, addr)
    const f = findingFor(
      run(ev, [{ ...lost(3306, ['bridge:bp0.pcap#1']), dst: '203.0.113.5' }]),
      'F1'
    )
    const walk = f?.evidence.find((e) => e.kind === 'simulation')
    expect(walk).toMatchObject({ path: 'forward', verdict: 'accept', uncertain: false })
  })
})

describe('a connection reset mid-stream', () => {
  /** An established connection to port `dport` that a RST in the server's name ended. */
  const reset = (dport: number, o: Partial<Flow> = {}): Flow =>
    flow({
      id: 'F1',
      outcome: 'reset-midstream',
      dport,
      synRetransmits: 0,
      seenAt: ['client', 'router', 'server'],
      rst: {
        time: '2026-11-22T03:00:01.000000Z',
        by: 'responder',
        ttl: 64,
        usualTtl: 63,
        win: 0,
        answeredSyn: false,
        segmentLen: 60
      },
      keyPackets: [
        { what: 'syn', time: T0, len: 60, seenAt: ['client', 'router', 'server'] },
        {
          what: 'rst',
          time: '2026-11-22T03:00:01.000000Z',
          seenAt: ['client'],
          missingAt: ['router', 'server']
        }
      ],
      ...o
    })
  const FORWARD = (...rules: string[]) =>
    ['*filter', ':FORWARD ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n')

  it('names the rule that rejects the data segment with a reset', () => {
    const nft = [
      'table inet hostfw {',
      '\tchain input {',
      '\t\ttype filter hook input priority filter; policy accept;',
      '\t\ttcp dport 8081 tcp flags & psh == psh counter packets 1 bytes 58 reject with tcp reset',
      '\t}',
      '}',
      ''
    ].join('\n')
    const ev = routed({ 'iptables.txt': FORWARD() }, { 'nft.txt': nft })
    const f = findingFor(run(ev, [reset(8081)]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'server', chain: 'input', line: 4 })
    expect(f.confidence).toBe(0.85)
    expect(f.explanation).toMatch(/rejects the opener's data segment with a TCP reset/)
    expect(f.evidence[0]).toMatchObject({ kind: 'simulation', ct: 'established' })
  })

  it('names an undecided rule that answers with a reset, without a fix', () => {
    const string =
      '[1:60] -A FORWARD -p tcp -m tcp --dport 8080 -m string --string "BADWORD" --algo bm -j REJECT --reject-with tcp-reset'
    const ev = routed({
      'iptables.txt': FORWARD(
        string,
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'
      )
    })
    const f = findingFor(run(ev, [reset(8080)]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', line: 3 })
    expect(f.confidence).toBe(0.6)
    expect(f.fix).toBeUndefined()
    expect(f.explanation).toMatch(
      /it answers with the reset the flow got, and its counter shows 1 packet/
    )
    // A rule that rejects with an ICMP error did not send this reset.
    const icmp = routed({
      'iptables.txt': FORWARD(string.replace('tcp-reset', 'icmp-port-unreachable'))
    })
    expect(findingFor(run(icmp, [reset(8080)]), 'F1')?.cause.line).toBeUndefined()
  })

  it('says the far host reset it itself when its capture saw the RST leave with its usual TTL', () => {
    const ev = routed(
      { 'iptables.txt': FORWARD() },
      { 'iptables.txt': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' }
    )
    for (const h of ['client', 'router', 'server']) hostOf(ev, h).points.push(h)
    const own = reset(8082, {
      rst: { time: T0, by: 'responder', ttl: 63, usualTtl: 63, win: 0, answeredSyn: false },
      keyPackets: [{ what: 'rst', time: T0, seenAt: ['client', 'router', 'server'] }]
    })
    const f = findingFor(run(ev, [own]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'unknown', host: 'server' })
    expect(f.explanation).toMatch(/^server itself reset the connection/)
    expect(f.missing).toBeUndefined()
    // Seen only at the client: nothing says the server sent it.
    const unseen = reset(8082, { rst: { ...own.rst!, ttl: 63 } })
    expect(findingFor(run(ev, [unseen]), 'F1')!.explanation).not.toMatch(/itself reset/)
  })
})

describe("a host's own addresses in its walks", () => {
  // Docker's published port: DNAT only for packets to one of the host's own addresses.
  const DOCKER = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.5:80',
    'COMMIT',
    '*filter',
    ':FORWARD DROP [0:0]',
    ':DOCKER-USER - [0:0]',
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -d 203.0.113.5/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    '-A DOCKER-USER -s 10.88.1.2/32 -j DROP',
    '-A DOCKER-USER -j RETURN',
    'COMMIT',
    ''
  ].join('\n')

  it('decide addrtype LOCAL, so a published port is translated and its block found', () => {
    const ev = routed({ 'iptables.txt': DOCKER })
    const published = flow({ id: 'F1', outcome: 'syn-timeout', dst: '10.88.1.1', dport: 8080 })
    const f = findingFor(run(ev, [published]), 'F1')!
    // The block picks the source out: a rule, not a NAT mistake.
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'DOCKER-USER', line: 12 })
    expect(f.evidence[0]).toMatchObject({ kind: 'simulation', path: 'forward', uncertain: false })
  })
})

describe('a connection idle past the conntrack timeout', () => {
  const RULES = [
    '*filter',
    ':FORWARD DROP [0:0]',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -p tcp -m conntrack --ctstate NEW -m tcp --dport 8080 --syn -j ACCEPT',
    '-A FORWARD -j LOG --log-prefix "FWD-DROP "',
    '-A FORWARD -j DROP',
    'COMMIT',
    ''
  ].join('\n')
  // The segment sent after 9 s of silence, 110 s after the router booted.
  const LOG =
    '[  110.000000] FWD-DROP IN=r0 OUT=r1 MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 SRC=10.88.1.2 DST=203.0.113.5 LEN=57 TOS=0x00 PREC=0x00 TTL=63 ID=4242 DF PROTO=TCP SPT=40000 DPT=8080 WINDOW=502 RES=0x00 ACK PSH URGP=0\n'
  const stalledFlow = flow({
    id: 'F1',
    outcome: 'stalled',
    dport: 8080,
    synRetransmits: 0,
    seenAt: ['client'],
    last: '2026-11-22T03:00:16.000000Z'
  })
  const boot = new Date(Date.parse(T0) - 100_000).toISOString()
  const analyseWith = (sysctl: string) =>
    findingFor(
      run(routed({ 'iptables.txt': RULES, 'kern.log': LOG, 'sysctl.txt': sysctl }), [stalledFlow], {
        clock: { bootTime: boot }
      }),
      'F1'
    )!

  it('names the timeout, sees the segment INVALID with tcp_loose off, and raises the timeout', () => {
    const f = analyseWith(
      'net.netfilter.nf_conntrack_tcp_timeout_established = 5\nnet.netfilter.nf_conntrack_tcp_loose = 0\n'
    )
    expect(f.cause).toMatchObject({ kind: 'ct-invalid', host: 'router', line: 6 })
    expect(f.explanation).toMatch(/only a packet in conntrack state INVALID reaches/)
    expect(f.explanation).toMatch(
      /nf_conntrack_tcp_timeout_established is 5 s, and the connection ran 16 s/
    )
    expect(f.fix).toBe('sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000')
    expect(f.evidence[0].text).toMatch(
      /^the kernel on router logged a segment of the opener's with prefix "FWD-DROP"/
    )
  })

  it('with tcp_loose on, the segment was NEW; with the usual timeout, nothing is said of it', () => {
    const f = analyseWith('net.netfilter.nf_conntrack_tcp_loose = 1\n')
    expect(f.explanation).toMatch(/conntrack state NEW reaches/)
    expect(f.explanation).not.toMatch(/timeout_established/)
    expect(f.fix).not.toMatch(/timeout_established/)
  })
})

describe('neighbour discovery dropped by the server', () => {
  it('accepts both solicitations and advertisements in the fix', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0').replace(/\n$/, '\n    inet6 fd88::5/64 scope global\n'),
      'ip6tables.txt':
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n'
    })
    const nd = flow({
      id: 'F1',
      proto: 'icmpv6',
      src: 'fd88::2',
      dst: 'fd88::5',
      sport: undefined,
      dport: undefined,
      outcome: 'unanswered',
      neighbourDiscovery: true,
      requests: 3,
      replies: 0
    } as Flow)
    const f = findingFor(run(ev, [nd]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'policy', host: 'server', chain: 'INPUT' })
    expect(f.fix).toBe(
      [
        'ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT',
        'ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT'
      ].join('\n')
    )
  })
})

describe('a log rule reached only past a condition on state', () => {
  it('takes the kernel line as proof of the condition and names the drop after it', () => {
    const rules = [
      '*nat',
      ':POSTROUTING ACCEPT [0:0]',
      '[20:1200] -A POSTROUTING -o r1 -j MASQUERADE',
      'COMMIT',
      '*filter',
      ':FORWARD DROP [0:0]',
      ':CTFULL - [0:0]',
      '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A FORWARD -p tcp -m tcp --syn -m connlimit --connlimit-above 20 --connlimit-mask 0 -j CTFULL',
      '-A FORWARD -i r0 -o r1 -j ACCEPT',
      '-A CTFULL -j LOG --log-prefix "CTFULL "',
      '[36:2160] -A CTFULL -j DROP',
      'COMMIT',
      ''
    ].join('\n')
    const log =
      '[  100.000000] CTFULL IN=r0 OUT=r1 MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 SRC=10.88.1.2 DST=203.0.113.5 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=40000 DPT=8080 WINDOW=64240 RES=0x00 SYN URGP=0\n'
    const boot = new Date(Date.parse(T0) - 100_000).toISOString()
    const ev = routed({ 'iptables.txt': rules, 'kern.log': log })
    const syn = flow({ id: 'F1', outcome: 'syn-timeout', dport: 8080 })
    const f = findingFor(run(ev, [syn], { clock: { bootTime: boot } }), 'F1')!
    // Not a missing MASQUERADE: the rule is there; the connlimit jump led to the drop.
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'CTFULL', line: 12 })
    expect(f.explanation).toMatch(/The line proves that connlimit at line 9 .* matched at the time/)
    expect(f.evidence[0]).toMatchObject({ kind: 'log', weight: 'proves' })
  })
})

describe('a failure nothing explains', () => {
  it('says what the walks say without contradicting them', () => {
    const undecided = serverWithInput(
      '[0:0] -A INPUT -p tcp -m tcp --dport 443 -m string --string "x" --algo bm -j DROP'
    )
    const f = findingFor(
      run(undecided, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]),
      'F1'
    )!
    expect(f.cause.kind).toBe('unknown')
    expect(f.explanation).toMatch(/accept it as far as their walks can decide/)
    expect(f.missing?.some((m) => /string/.test(m))).toBe(true)
    // A walk that drops, where the flow was refused with a reset: not the cause, and not hidden.
    const drops = serverWithInput('-A INPUT -p tcp -m tcp --dport 443 -j DROP')
    const refused = flow({ id: 'F1', outcome: 'refused-rst', dport: 443, synRetransmits: 0 })
    const g = findingFor(run(drops, [refused]), 'F1')!
    expect(g.explanation).not.toMatch(/every snapshot on the way accepts it/)
  })
})

describe('an answer refused where it was sent back', () => {
  it('names the NAT router whose UDP conntrack timeout ran out before the answer came', () => {
    const ev = routed({
      'sysctl.txt': 'net.netfilter.nf_conntrack_udp_timeout = 2\n'
    })
    const dns = flow({
      id: 'F1',
      proto: 'udp',
      outcome: 'unanswered',
      dport: 53,
      synRetransmits: undefined,
      icmp: {
        type: 3,
        code: 3,
        from: '203.0.113.1',
        sender: 'destination',
        quoted: 'reply',
        time: '2026-11-22T03:00:04.000100Z'
      },
      keyPackets: [
        { what: 'request', time: T0, seenAt: ['client'] },
        { what: 'reply', time: '2026-11-22T03:00:04.000000Z', seenAt: ['server'] }
      ]
    })
    const f = findingFor(run(ev, [dns]), 'F1')!
    expect(f.cause).toMatchObject({
      kind: 'nat',
      host: 'router',
      rule: 'net.netfilter.nf_conntrack_udp_timeout = 2'
    })
    expect(f.explanation).toMatch(/^203\.0\.113\.5 answered 4 s after the question, but router/)
    expect(f.fix).toBe('sysctl -w net.netfilter.nf_conntrack_udp_timeout=30')
  })
})

describe('a failure that is a neighbour discovery’s', () => {
  it('gives a SYN timeout the cause of the server’s failed discovery of its gateway', () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0').replace(/\n$/, '\n    inet6 fd88:2::10/64 scope global\n'),
      'ip-route.txt':
        'fd88:2::/64 dev s0 proto kernel metric 256 pref medium\ndefault via fd88:2::1 dev s0 metric 1024 pref medium\n',
      'ip6tables.txt':
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT\nCOMMIT\n'
    })
    const nd = flow({
      id: 'F1',
      proto: 'icmpv6',
      src: 'fd88:2::10',
      dst: 'fd88:2::1',
      sport: undefined,
      dport: undefined,
      outcome: 'unanswered',
      neighbourDiscovery: true,
      requests: 6,
      replies: 6
    } as Flow)
    const syn = flow({
      id: 'F2',
      outcome: 'syn-timeout',
      src: 'fd88:1::2',
      dst: 'fd88:2::10',
      dport: 8080
    })
    const inc = run(ev, [nd, syn])
    const f = findingFor(inc, 'F2')!
    expect(f.cause).toMatchObject({ kind: 'policy', host: 'server', chain: 'INPUT' })
    expect(f.explanation).toMatch(
      /^server never learnt the link-layer address of fd88:2::1, its next hop toward fd88:1::2, so it sent nothing on \(the neighbour discovery F1 failed\)\. No rule of server's INPUT chain accepts the neighbour advertisement from fd88:2::1/
    )
    expect(f.fix).toMatch(/neighbour-advertisement -j ACCEPT$/)
    expect(findingFor(inc, 'F1')!.cause).toMatchObject({ kind: 'policy', chain: 'INPUT' })
  })
})

describe('an nft policy drop', () => {
  it("cites the chain's trailing counter rule, which counts what reaches the policy", () => {
    const ev = createEvidence()
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'),
      'ruleset.nft': [
        'table inet filter {',
        '\tchain input {',
        '\t\ttype filter hook input priority filter; policy drop;',
        '\t\ttcp dport 22 accept',
        '\t\tcounter packets 6 bytes 528',
        '\t}',
        '}',
        ''
      ].join('\n')
    })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 80 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'policy', chain: 'input' })
    expect(f.evidence.find((e) => e.kind === 'counter')).toMatchObject({
      packets: 6,
      text: "the input chain's last rule in ruleset.nft (`counter packets 6 bytes 528`, line 5) counts what falls through to its policy: 6 packets (528 bytes) before the snapshot was taken"
    })
  })
})

describe('policy routing on the way (ip rule)', () => {
  /** The router with a third link (r2, toward a second upstream) and its routing policy. */
  const setup = (rules: string, iptables?: string): EvidenceSet => {
    const ev = routed({
      'ip-addr.txt':
        routerAddr() +
        '4: r2@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n' +
        '    inet 10.77.0.1/24 scope global r2\n',
      'ip-route.txt': [
        'default via 10.77.0.2 dev r2 table 100',
        '10.88.1.0/24 dev r0 proto kernel scope link src 10.88.1.1',
        '203.0.113.0/24 dev r1 proto kernel scope link src 203.0.113.1',
        '10.77.0.0/24 dev r2 proto kernel scope link src 10.77.0.1',
        ''
      ].join('\n'),
      'ip-rule.txt': `0:\tfrom all lookup local\n${rules}32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n`,
      ...(iptables ? { 'iptables-save.txt': iptables } : {})
    })
    for (const h of ['client', 'router']) hostOf(ev, h).points.push(h)
    return ev
  }
  const marking = [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    '-A PREROUTING -i r0 -p tcp -m tcp --dport 8443 -j MARK --set-xmark 0x1/0xffffffff',
    'COMMIT',
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    '-A FORWARD -o r2 -j DROP',
    'COMMIT',
    ''
  ].join('\n')

  it('walks a marked packet out the interface its fwmark rule picks, and names the rule', () => {
    const ev = setup('100:\tfrom all fwmark 0x1 lookup 100\n', marking)
    const lost = flow({
      id: 'F1',
      outcome: 'syn-timeout',
      dport: 8443,
      seenAt: ['client', 'router']
    })
    const f = findingFor(run(ev, [lost]), 'F1')!
    // Out r2 (table 100), where FORWARD drops it; the main table would have sent it out r1.
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'FORWARD' })
    expect(f.cause.rule).toMatch(/-o r2 -j DROP/)
    const policy = f.evidence.find((e) => /by policy/.test(e.text))!
    expect(policy).toMatchObject({ file: 'router/ip-rule.txt', line: 2 })
    expect(policy.text).toMatch(
      /rule `100: from all fwmark 0x1 lookup 100` \(the mark 0x1 its rules give the packet\) picks table 100's `default via 10.77.0.2 dev r2`, where the main table would send it out r1/
    )
    expect(f.explanation).toMatch(/steers the opening packet onto this path by policy routing/)
  })

  it('leaves an unmarked packet to the main table', () => {
    const ev = setup('100:\tfrom all fwmark 0x1 lookup 100\n', marking)
    const lost = flow({
      id: 'F1',
      outcome: 'syn-timeout',
      dport: 443,
      seenAt: ['client', 'router']
    })
    const f = findingFor(run(ev, [lost]), 'F1')!
    expect(f.cause.rule ?? '').not.toMatch(/-o r2/)
    expect(f.evidence.some((e) => /by policy/.test(e.text))).toBe(false)
  })

  it('takes a source rule for the replies too', () => {
    // The server's replies to the client's network leave by r2: the client never hears them.
    const ev = setup('120:\tfrom 203.0.113.0/24 lookup 100\n')
    const f = findingFor(
      run(ev, [
        flow({ id: 'F1', outcome: 'syn-timeout', dport: 80, seenAt: ['client', 'router'] })
      ]),
      'F1'
    )!
    const replies = f.evidence.find((e) => /routes the replies/.test(e.text))!
    expect(replies.text).toMatch(
      /rule `120: from 203.0.113.0\/24 lookup 100`.*dev r2`, where the main table would send them out r0/
    )
  })

  it('is the cause when a rule’s own action ends the packet', () => {
    const ev = setup('200:\tfrom 10.88.1.0/24 to 203.0.113.0/24 prohibit\n')
    const inc = run(ev, [
      flow({
        id: 'F1',
        outcome: 'icmp-unreachable',
        dport: 80,
        seenAt: ['client', 'router'],
        icmp: { type: 3, code: 13, from: '10.88.1.1', sender: 'router', quoted: 'syn', time: T0 }
      })
    ])
    const f = findingFor(inc, 'F1')!
    expect(f.cause).toMatchObject({
      kind: 'unknown',
      host: 'router',
      file: 'router/ip-rule.txt',
      line: 2,
      rule: '200: from 10.88.1.0/24 to 203.0.113.0/24 prohibit'
    })
    expect(f.fix).toBe('ip rule del priority 200')
  })
})

describe("a host's own connection to its DNAT address", () => {
  const refused = (): Flow =>
    flow({
      id: 'F1',
      src: '10.88.1.1',
      dst: '10.88.1.1',
      dport: 8080,
      outcome: 'refused-rst',
      seenAt: ['router'],
      synRetransmits: 0,
      rst: { time: T0, by: 'responder', ttl: 64, answeredSyn: true, win: 0 }
    })
  const nft = (output: string) =>
    [
      'table ip nat {',
      '\tchain prerouting {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      '\t\tip daddr 10.88.1.1 tcp dport 8080 dnat to 203.0.113.5:80',
      '\t}',
      output,
      '}',
      ''
    ].join('\n')

  it('is the DNAT rule prerouting holds, with an nft fix for the output hook', () => {
    const ev = routed({ 'nft.txt': nft('') })
    hostOf(ev, 'router').points.push('router')
    const f = findingFor(run(ev, [refused()]), 'F1')!
    expect(f.cause).toMatchObject({
      kind: 'nat',
      host: 'router',
      system: 'nftables',
      chain: 'prerouting',
      line: 4
    })
    expect(f.fix).toBe(
      [
        "nft add chain ip nat output '{ type nat hook output priority -100; }'",
        'nft add rule ip nat output ip daddr 10.88.1.1 tcp dport 8080 dnat to 203.0.113.5:80'
      ].join('\n')
    )
    expect(f.explanation).toMatch(/the host's own packets meet the nat output hook instead/)
  })

  it('is not blamed when nat output translates the connection too', () => {
    const output = [
      '\tchain output {',
      '\t\ttype nat hook output priority -100; policy accept;',
      '\t\tip daddr 10.88.1.1 tcp dport 8080 dnat to 203.0.113.5:80',
      '\t}'
    ].join('\n')
    const ev = routed({ 'nft.txt': nft(output) })
    hostOf(ev, 'router').points.push('router')
    const f = findingFor(run(ev, [refused()]), 'F1')
    expect(f?.cause.kind).not.toBe('nat')
  })
})

describe('an nft -j snapshot, every rule on one line', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: 'inet', name: 'guard', handle: 1 } },
      {
        chain: {
          family: 'inet',
          table: 'guard',
          name: 'input',
          handle: 1,
          type: 'filter',
          hook: 'input',
          prio: 0,
          policy: 'accept'
        }
      },
      {
        rule: {
          family: 'inet',
          table: 'guard',
          chain: 'input',
          handle: 5,
          expr: [
            {
              match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] }
            },
            { accept: null }
          ]
        }
      },
      {
        rule: {
          family: 'inet',
          table: 'guard',
          chain: 'input',
          handle: 8,
          expr: [
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'tcp', field: 'dport' } },
                right: 8080
              }
            },
            { counter: { packets: 3, bytes: 180 } },
            { drop: null }
          ]
        }
      }
    ]
  })

  it('places the fix by the deciding rule itself, not by the line every rule shares', () => {
    const ev = createEvidence()
    load(ev, 'server', { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24'), 'nft.json': json })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 8080 })]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', chain: 'input', line: 1 })
    expect(f.cause.rule).toMatch(/tcp dport 8080/)
    expect(f.fix).toBe('nft insert rule inet guard input handle 8 tcp dport 8080 accept')
    // A line that holds every rule names none of their counters.
    expect(f.evidence.some((e) => e.kind === 'counter')).toBe(false)
  })
})

describe("an IPv6 router's own prohibit and unreachable routes", () => {
  const addr = (dev: string, ...cidrs: string[]) =>
    `2: ${dev}@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n` +
    cidrs
      .map((c) => `    inet6 ${c} scope global \n       valid_lft forever preferred_lft forever\n`)
      .join('')
  const setup = (): EvidenceSet => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': addr('c0', 'fd00:1::2/64') })
    load(ev, 'router', {
      'ip-addr.txt':
        addr('r0', 'fd00:1::1/64') + addr('r1', 'fd00:2::1/64').replace('2: r1', '3: r1'),
      'ip-route.txt': [
        'fd00:1::/64 dev r0 proto kernel metric 256 pref medium',
        'fd00:2::/64 dev r1 proto kernel metric 256 pref medium',
        'prohibit fd00:97::/64 dev lo metric 1024 pref medium',
        'unreachable fd00:98::/64 dev lo metric 1024 pref medium',
        ''
      ].join('\n')
    })
    for (const h of ['client', 'router']) hostOf(ev, h).points.push(h)
    return ev
  }
  const answered = (id: string, dst: string, type: number, code: number): Flow =>
    flow({
      id,
      src: 'fd00:1::2',
      dst,
      outcome: 'icmp-unreachable',
      dport: 80,
      seenAt: ['client', 'router'],
      icmp: { type, code, from: 'fd00:1::1', sender: 'router', quoted: 'syn', time: T0 }
    })

  it('are the cause of the ICMPv6 codes they give, and not of a time exceeded', () => {
    const inc = run(setup(), [
      answered('F1', 'fd00:97::10', 1, 1),
      answered('F2', 'fd00:98::10', 1, 0),
      answered('F3', 'fd00:97::11', 3, 0)
    ])
    expect(findingFor(inc, 'F1')!.cause).toMatchObject({ rule: 'prohibit fd00:97::/64', line: 3 })
    expect(findingFor(inc, 'F1')!.fix).toBe('ip route del prohibit fd00:97::/64')
    expect(findingFor(inc, 'F2')!.cause).toMatchObject({
      rule: 'unreachable fd00:98::/64',
      line: 4
    })
    expect(findingFor(inc, 'F3')!.cause.rule).toBeUndefined()
  })
})

describe('martian sources in the kernel log', () => {
  const sysctl = 'net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.r1.rp_filter = 1\n'

  it('name the reverse-path filter that dropped the opening packet, with no capture inside', () => {
    const ev = routed({
      'sysctl.txt': sysctl,
      'kern.log': '[  100.000000] IPv4: martian source 203.0.113.5 from 10.88.1.2, on dev r0\n'
    })
    const f = findingFor(run(ev, [flow({ id: 'F1', outcome: 'syn-timeout', dport: 443 })]), 'F1')!
    expect(f.cause).toMatchObject({
      host: 'router',
      file: 'router/sysctl.txt',
      rule: 'net.ipv4.conf.all.rp_filter = 1'
    })
    expect(f.evidence[0]).toMatchObject({ kind: 'log', weight: 'proves', file: 'router/kern.log' })
    // The filter in force is the larger of `all` and the interface's: loose on r0 is enough.
    expect(f.fix).toBe('sysctl -w net.ipv4.conf.r0.rp_filter=2')
  })

  it('name the filter that dropped the responder’s ARP for its way back (one-way)', () => {
    const ev = routed({
      'sysctl.txt': sysctl,
      'kern.log': [
        '[  100.000000] IPv4: martian source 203.0.113.1 from 203.0.113.5, on dev r1',
        '[  100.000010] ll header: 00000000: ff ff ff ff ff ff ca 13 fb a8 99 92 08 06',
        ''
      ].join('\n')
    })
    const oneWay = flow({
      id: 'F1',
      outcome: 'one-way',
      dport: 443,
      seenAt: ['client', 'server'],
      icmp: {
        type: 3,
        code: 1,
        from: '203.0.113.5',
        sender: 'destination',
        quoted: 'reply',
        time: T0
      }
    })
    const f = findingFor(run(ev, [oneWay]), 'F1')!
    expect(f.cause).toMatchObject({ host: 'router', rule: 'net.ipv4.conf.r1.rp_filter = 1' })
    expect(f.explanation).toMatch(/the ARP requests 203\.0\.113\.5 sent to find 203\.0\.113\.1/)
    expect(f.explanation).toMatch(/its answer never left it/)
    const icmp = f.evidence.find((e) => e.kind === 'icmp')!
    expect(icmp.text).toMatch(
      /203\.0\.113\.5's own kernel could not send its answer \(no link-layer answer/
    )
    expect(f.fix).toBe('sysctl -w net.ipv4.conf.r1.rp_filter=2')
  })
})

describe('an answer only a rule with an undecidable condition gives', () => {
  it('names the rule: the reset the connection got says its condition held', () => {
    const ev = serverWithInput(
      '-A INPUT -p tcp -m tcp --dport 25 -m time --timestart 09:00 --timestop 17:00 -j REJECT --reject-with tcp-reset'
    )
    const refused = flow({
      id: 'F1',
      outcome: 'refused-rst',
      dport: 25,
      synRetransmits: 0,
      rst: { time: T0, by: 'responder', ttl: 64, answeredSyn: true, win: 0 }
    })
    const f = findingFor(run(ev, [refused]), 'F1')!
    expect(f.cause).toMatchObject({ kind: 'rule', line: 3, verdict: 'reject with tcp-reset' })
    expect(f.confidence).toBe(0.7)
    expect(f.explanation).toMatch(/line 3: time: .*so the condition held at the time/)
  })
})

describe('a port forward whose backend answers around the DNAT host', () => {
  const dnat = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A PREROUTING -d 10.88.1.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.5:80',
    'COMMIT',
    ''
  ].join('\n')
  const setup = (serverRoute: string): EvidenceSet =>
    routed(
      { 'iptables-save.txt': dnat },
      {
        'ip-route.txt': `${serverRoute}\n203.0.113.0/24 dev s0 proto kernel scope link src 203.0.113.5\n`
      }
    )
  const view = (point: string, dst: string, dport: number) => ({
    point,
    src: '10.88.1.2',
    sport: 40000,
    dst,
    dport
  })
  const translated = flow({
    id: 'F1',
    dst: '10.88.1.1',
    dport: 8080,
    outcome: 'one-way',
    seenAt: ['client', 'router', 'server'],
    nat: {
      from: '10.88.1.2:40000 > 10.88.1.1:8080',
      to: '10.88.1.2:40000 > 203.0.113.5:80',
      points: {},
      views: [view('client', '10.88.1.1', 8080), view('server', '203.0.113.5', 80)],
      translatedAt: ['router']
    },
    keyPackets: [
      { what: 'syn', time: T0, seenAt: ['client', 'router', 'server'] },
      { what: 'syn-ack', time: T0, seenAt: ['server'], missingAt: ['client', 'router'] }
    ]
  })
  const answers = flow({
    id: 'F2',
    dst: '203.0.113.5',
    dport: 80,
    outcome: 'one-way',
    seenAt: ['client'],
    keyPackets: [{ what: 'syn-ack', time: T0, seenAt: ['client'] }]
  })

  it('names the DNAT rule for the connection and for its untranslated answers, with a masquerade', () => {
    const inc = run(setup('default via 203.0.113.254 dev s0'), [translated, answers])
    const f = findingFor(inc, 'F1')!
    expect(findingFor(inc, 'F2')).toBe(f)
    expect(f.cause).toMatchObject({ kind: 'nat', host: 'router', chain: 'PREROUTING', line: 4 })
    expect(f.evidence[0]).toMatchObject({
      kind: 'host',
      weight: 'proves',
      file: 'server/ip-route.txt',
      line: 1
    })
    expect(f.fix).toBe(
      'iptables -t nat -A POSTROUTING -d 203.0.113.5 -p tcp --dport 80 -j MASQUERADE'
    )
  })

  it('is not claimed where the backend’s way back is the DNAT host', () => {
    const inc = run(setup('default via 203.0.113.1 dev s0'), [translated])
    expect(findingFor(inc, 'F1')?.fix ?? '').not.toMatch(/MASQUERADE/)
  })
})

describe('a private server with no route back to a private client', () => {
  it('is a route to add on the server, not a translation on the router', () => {
    const ev = createEvidence()
    load(ev, 'client', { 'ip-addr.txt': ipAddr('c0', '10.88.1.2/24') })
    load(ev, 'router', {
      'ip-addr.txt': routerAddr().replace('203.0.113.1/24', '10.50.3.1/24'),
      'sysctl.txt': 'net.ipv4.ip_forward = 1\n'
    })
    load(ev, 'server', {
      'ip-addr.txt': ipAddr('s0', '10.50.3.5/24'),
      'ip-route.txt': '10.50.3.0/24 dev s0 proto kernel scope link src 10.50.3.5\n'
    })
    const f = findingFor(
      run(ev, [flow({ id: 'F1', dst: '10.50.3.5', outcome: 'syn-timeout', dport: 443 })]),
      'F1'
    )!
    expect(f.cause).toMatchObject({ kind: 'unknown', host: 'server', file: 'server/ip-route.txt' })
    expect(f.fix).toBe('ip route add 10.88.1.0/24 via 10.50.3.1')
    expect(f.explanation).toMatch(/not a translation/)
  })
})

describe("a router's route that ends packets for a network a known host holds", () => {
  it('is replaced by a route to that host, not only removed', () => {
    const ev = routed(
      {
        'ip-route.txt': [
          'prohibit 10.96.6.0/24',
          '10.88.1.0/24 dev r0 proto kernel scope link src 10.88.1.1',
          '203.0.113.0/24 dev r1 proto kernel scope link src 203.0.113.1',
          ''
        ].join('\n')
      },
      { 'ip-addr.txt': ipAddr('s0', '203.0.113.5/24', '10.96.6.10/32') }
    )
    for (const h of ['client', 'router']) hostOf(ev, h).points.push(h)
    const f = findingFor(
      run(ev, [
        flow({
          id: 'F1',
          dst: '10.96.6.10',
          outcome: 'icmp-unreachable',
          dport: 80,
          seenAt: ['client', 'router'],
          icmp: { type: 3, code: 13, from: '10.88.1.1', sender: 'router', quoted: 'syn', time: T0 }
        })
      ]),
      'F1'
    )!
    expect(f.cause).toMatchObject({ rule: 'prohibit 10.96.6.0/24', line: 1 })
    expect(f.fix).toBe('ip route replace 10.96.6.0/24 via 203.0.113.5')
  })
})

describe('traceroute probes', () => {
  it('answered by time exceeded or port unreachable, or not at all, are no failures', () => {
    const probe = (id: string, dport: number, icmp?: Flow['icmp']): Flow =>
      flow({
        id,
        proto: 'udp',
        dport,
        outcome: icmp ? 'icmp-unreachable' : 'unanswered',
        synRetransmits: undefined,
        icmp
      })
    const exceeded = {
      type: 11,
      code: 0,
      from: '10.88.1.1',
      sender: 'router' as const,
      quoted: 'datagram' as const,
      time: T0
    }
    const inc = run(serverWithInput('-A INPUT -p udp -j DROP'), [
      probe('F1', 33434, exceeded),
      probe('F2', 33435),
      probe('F3', 5353)
    ])
    expect(inc.findings.flatMap((f) => f.flows)).toEqual(['F3'])
  })
})
