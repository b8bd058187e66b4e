/**
 * A whole incident made by real kernels: client — router — server in network namespaces, real
 * iptables/ip6tables rules, real traffic, captures at every host, the kernel's own LOG lines, and
 * each host's snapshots (iptables-save, ip addr, ip route, ss, sysctl, conntrack), laid out as a
 * user's incident folder: one subfolder per host.
 *
 * Every failure below has one known cause, named in CASES with the rule that makes it; the test
 * checks that `verdict analyze` finds that cause and that rule, exactly as the snapshot writes it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { capturing, type CaptureOptions } from './lab-capture'
import { sleep, type Host, type Lab } from './lab-host'
import {
  pingCount,
  scriptedClient,
  services,
  udpExchange,
  type ScriptedClient
} from './lab-traffic'
import { withNetnsLogging } from './netns-logging'

/** Addresses of the incident's three hosts, in the networks 10.N.1.0/24 and 10.N.2.0/24. */
export function netFor(n: number) {
  return {
    client: `10.${n}.1.2`,
    routerIn: `10.${n}.1.1`,
    routerOut: `10.${n}.2.1`,
    server: `10.${n}.2.2`,
    /** A second server address that only the router's DNAT sends to. */
    server2: `10.${n}.2.3`,
    client6: `fd${n}:1::2`,
    routerIn6: `fd${n}:1::1`,
    routerOut6: `fd${n}:2::1`,
    server6: `fd${n}:2::2`,
    /** The router's small link towards the server (the PMTUD black hole). */
    mtu: 1300,
    dnatFront: 8888
  } as const
}

/** The incident's addresses. */
export type Net = ReturnType<typeof netFor>

/** The server's ports, by what happens to connections to them. */
export const PORT = {
  ok: 80,
  noListener: 81,
  logged: 8080,
  dropped: 8081,
  policy: 9090,
  reset: 7000,
  prohibited: 7001,
  limited: 5201,
  returnPath: 8443,
  pmtu: 9000,
  /** Full-size segments dropped by the router's length rule (its MSS clamp keeps them under the MTU). */
  sized: 9001,
  /** Dropped by the client's own output chain: never on the wire, only in its log. */
  egress: 9444,
  udpNoListener: 5353
} as const

/** The MSS the router clamps the sized port's SYN-ACKs to: segments of 1240 bytes, under the MTU. */
const SIZED_MSS = 1200
/** The router drops packets to the sized port from this IP length up. */
const SIZED_FROM = 1000

/** One failure the incident holds, and the cause the analysis must give it. */
export interface Case {
  name: string
  proto: 'tcp' | 'udp'
  v6?: boolean
  dport: number
  /** The client's port (each case has its own, so its flow is known). */
  sport: number
  outcome: string
  cause: string
  /** The host whose snapshot holds the cause. */
  host?: string
  /** A text the cause's rule must contain (the rule itself is checked against the snapshot). */
  ruleHas?: string
  /** The strongest evidence expected: a log line proves. */
  logged?: boolean
}

/** The incident as written to disk. */
export interface IncidentFolder {
  dir: string
  tag: string
  cases: Case[]
  /** Realtime minus the kernel's monotonic clock, measured while the traffic ran (seconds). */
  bootOffsetSec: number
  firewall: Firewall
  net: Net
  /** Files of each host, by name. */
  files: Record<string, Record<string, string>>
}

/** Client port of a case: 41000 + the server port's offset in a fixed list, + 500 for IPv6. */
function portOf(dport: number, v6 = false, n = 0): number {
  return (
    41000 +
    (dport % 1000) * 0 +
    Object.values(PORT).indexOf(dport as never) * 10 +
    n +
    (v6 ? 500 : 0)
  )
}

/** The NFLOG group the server's second drop logs to (captured with tcpdump -i nflog:N). */
const NFLOG_GROUP = 7

/** The firewall the router and the server run. */
export type Firewall = 'iptables' | 'nft'

/** The server ports the router's stateless return rule lets back (8443 is missing). */
const RETURN_PORTS = [80, 81, 7000, 7001, 8080, 8081, 9000, 9001, 9090, 5201]

/** Builds the incident folder in `lab.dir/incident`, the router and server firewalled by `firewall`. */
export async function buildIncident(
  lab: Lab,
  firewall: Firewall = 'iptables',
  /** The second octet of the networks; random unless given, so no address is special. */
  octet = 20 + Math.floor(Math.random() * 80)
): Promise<IncidentFolder> {
  const NET = netFor(octet)
  const rule = RULE_HAS[firewall]
  const tag = `V${randomBytes(2).toString('hex')} `
  const c = await lab.host('inc-c', { ipv6: true })
  const r = await lab.host('inc-r', { ipv6: true, router: true })
  const s = await lab.host('inc-s', { ipv6: true })
  await lab.link(
    { host: c, dev: 'c0', v4: `${NET.client}/24`, v6: `${NET.client6}/64` },
    { host: r, dev: 'r0', v4: `${NET.routerIn}/24`, v6: `${NET.routerIn6}/64` }
  )
  await lab.link(
    { host: r, dev: 'r1', mtu: NET.mtu, v4: `${NET.routerOut}/24`, v6: `${NET.routerOut6}/64` },
    { host: s, dev: 's0', v4: `${NET.server}/24`, v6: `${NET.server6}/64` }
  )
  await s.ip('addr', 'add', `${NET.server2}/24`, 'dev', 's0')
  await c.ip('-4', 'route', 'add', 'default', 'via', NET.routerIn)
  await c.ip('-6', 'route', 'add', 'default', 'via', NET.routerIn6)
  await s.ip('-4', 'route', 'add', 'default', 'via', NET.routerOut)
  await s.ip('-6', 'route', 'add', 'default', 'via', NET.routerOut6)
  // Two SYN retransmissions, 1 s and 3 s after the first.
  await c.sysctl('net.ipv4.tcp_syn_retries', 2)
  await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 0, true)

  await loadFirewalls(c, r, s, tag, firewall, NET)
  const keep = (port: number) => ({
    proto: 'tcp' as const,
    host: '::',
    port,
    answers: [{ after: 1, send: 1 }],
    close: 'end' as const
  })
  await services(s, [
    keep(PORT.ok),
    keep(PORT.returnPath),
    keep(PORT.limited),
    keep(PORT.logged),
    keep(PORT.policy),
    ...[PORT.pmtu, PORT.sized].map((port) => ({
      proto: 'tcp' as const,
      host: '::',
      port,
      answers: [
        { after: 100, send: 2 },
        { after: 100 + 6000, send: 2 }
      ],
      close: 'end' as const
    }))
  ])
  for (const [h, dst, src] of [
    [c, NET.server, NET.client],
    [c, NET.server6, NET.client6],
    [c, NET.routerIn, NET.client]
  ] as const)
    await warm(h, dst, src)

  const dir = lab.file('incident')
  const hostDir = (name: string): string => {
    const d = join(dir, name)
    mkdirSync(d, { recursive: true })
    return d
  }
  const specs: Array<[Host, CaptureOptions]> = [
    [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
    [r, { file: 'incident/router/r0.pcap', ifaces: ['r0'] }],
    [r, { file: 'incident/router/r1.pcap', ifaces: ['r1'] }],
    [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }],
    [s, { file: 'incident/server/nflog.pcap', ifaces: [`nflog:${NFLOG_GROUP}`] }]
  ]
  for (const h of ['client', 'router', 'server']) hostDir(h)

  const cases: Case[] = [
    {
      name: 'logged drop',
      proto: 'tcp',
      dport: PORT.logged,
      sport: portOf(PORT.logged),
      outcome: 'syn-timeout',
      cause: 'rule',
      host: 'server',
      ruleHas: rule.logged,
      logged: true
    },
    {
      name: 'logged drop (IPv6)',
      proto: 'tcp',
      v6: true,
      dport: PORT.logged,
      sport: portOf(PORT.logged, true),
      outcome: 'syn-timeout',
      cause: 'rule',
      host: 'server',
      ruleHas: rule.logged,
      logged: true
    },
    {
      name: 'NFLOG drop',
      proto: 'tcp',
      dport: PORT.dropped,
      sport: portOf(PORT.dropped),
      outcome: 'syn-timeout',
      cause: 'rule',
      host: 'server',
      ruleHas: rule.dropped,
      logged: true
    },
    {
      name: 'policy',
      proto: 'tcp',
      dport: PORT.policy,
      sport: portOf(PORT.policy),
      outcome: 'syn-timeout',
      cause: 'policy',
      host: 'server',
      ruleHas: rule.policy
    },
    {
      name: 'policy (IPv6)',
      proto: 'tcp',
      v6: true,
      dport: PORT.policy,
      sport: portOf(PORT.policy, true),
      outcome: 'syn-timeout',
      cause: 'policy',
      host: 'server',
      ruleHas: rule.policy
    },
    {
      name: 'reject with reset',
      proto: 'tcp',
      dport: PORT.reset,
      sport: portOf(PORT.reset),
      outcome: 'refused-rst',
      cause: 'rule',
      host: 'server',
      ruleHas: rule.reset
    },
    {
      name: 'reject admin-prohibited',
      proto: 'tcp',
      dport: PORT.prohibited,
      sport: portOf(PORT.prohibited),
      outcome: 'icmp-unreachable',
      cause: 'rule',
      host: 'server',
      ruleHas: rule.prohibited
    },
    {
      name: 'no listener',
      proto: 'tcp',
      dport: PORT.noListener,
      sport: portOf(PORT.noListener),
      outcome: 'refused-rst',
      cause: 'no-listener',
      host: 'server'
    },
    {
      name: 'no listener (IPv6)',
      proto: 'tcp',
      v6: true,
      dport: PORT.noListener,
      sport: portOf(PORT.noListener, true),
      outcome: 'refused-rst',
      cause: 'no-listener',
      host: 'server'
    },
    {
      name: 'no UDP listener',
      proto: 'udp',
      dport: PORT.udpNoListener,
      sport: portOf(PORT.udpNoListener),
      outcome: 'icmp-unreachable',
      cause: 'no-listener',
      host: 'server'
    },
    {
      name: 'return path',
      proto: 'tcp',
      dport: PORT.returnPath,
      sport: portOf(PORT.returnPath),
      outcome: 'one-way',
      cause: 'return-path',
      host: 'router',
      ruleHas: rule.forwardPolicy,
      logged: true
    },
    {
      name: 'DNAT without a FORWARD accept',
      proto: 'tcp',
      dport: NET.dnatFront,
      sport: 41900,
      outcome: 'syn-timeout',
      cause: 'nat',
      host: 'router',
      ruleHas: rule.forwardPolicy,
      logged: true
    },
    {
      name: 'PMTUD black hole',
      proto: 'tcp',
      dport: PORT.pmtu,
      sport: portOf(PORT.pmtu),
      outcome: 'stalled',
      cause: 'pmtud-blackhole',
      host: 'router',
      ruleHas: rule.fragNeeded
    },
    {
      name: 'PMTUD black hole (IPv6)',
      proto: 'tcp',
      v6: true,
      dport: PORT.pmtu,
      sport: portOf(PORT.pmtu, true),
      outcome: 'stalled',
      cause: 'pmtud-blackhole',
      host: 'router',
      ruleHas: rule.tooBig
    },
    {
      name: 'length rule',
      proto: 'tcp',
      dport: PORT.sized,
      sport: portOf(PORT.sized),
      outcome: 'stalled',
      cause: 'rule',
      host: 'router',
      ruleHas: rule.sized
    },
    {
      name: 'egress',
      proto: 'tcp',
      dport: PORT.egress,
      sport: portOf(PORT.egress),
      outcome: 'syn-timeout',
      cause: 'egress',
      host: 'client',
      ruleHas: rule.egress,
      logged: true
    },
    {
      name: 'rate limit',
      proto: 'tcp',
      dport: PORT.limited,
      sport: portOf(PORT.limited, false, 3),
      outcome: 'syn-timeout',
      cause: 'rate-limit',
      host: 'server',
      ruleHas: rule.limit
    }
  ]

  const client = (
    dst: string,
    dport: number,
    sport: number,
    steps: ScriptedClient['steps'],
    timeoutMs: number
  ): ScriptedClient => ({
    host: dst,
    port: dport,
    localPort: sport,
    steps,
    timeoutMs
  })
  // The kernel's own relation between its log clock and wall time: lines written to /dev/kmsg at
  // known wall times get the kernel's timestamp.
  const marks: number[] = []
  for (let i = 0; i < 5; i++) {
    const before = performance.timeOrigin + performance.now()
    writeFileSync('/dev/kmsg', `${tag}CLOCK ${i}\n`)
    const after = performance.timeOrigin + performance.now()
    marks.push((before + after) / 2000)
  }
  await withNetnsLogging(async () => {
    await capturing(lab, specs, async () => {
      const tcp = (
        dst: string,
        dport: number,
        sport: number,
        ms = 4_000,
        steps = [{ send: 1, await: 1 }]
      ) => scriptedClient(c, client(dst, dport, sport, steps, ms))
      await tcp(NET.server, PORT.ok, portOf(PORT.ok))
      // The limit lets the first two connections through, then drops.
      for (let n = 0; n < 4; n++)
        await tcp(NET.server, PORT.limited, portOf(PORT.limited, false, n), n < 2 ? 2_000 : 4_000)
      await Promise.all([
        tcp(NET.server, PORT.logged, portOf(PORT.logged)),
        tcp(NET.server6, PORT.logged, portOf(PORT.logged, true)),
        tcp(NET.server, PORT.dropped, portOf(PORT.dropped)),
        tcp(NET.server, PORT.policy, portOf(PORT.policy)),
        tcp(NET.server6, PORT.policy, portOf(PORT.policy, true)),
        tcp(NET.server, PORT.reset, portOf(PORT.reset), 2_000),
        tcp(NET.server, PORT.prohibited, portOf(PORT.prohibited), 2_000),
        tcp(NET.server, PORT.noListener, portOf(PORT.noListener), 2_000),
        tcp(NET.server6, PORT.noListener, portOf(PORT.noListener, true), 2_000),
        tcp(NET.server, PORT.returnPath, portOf(PORT.returnPath)),
        tcp(NET.routerIn, NET.dnatFront, 41900),
        tcp(NET.server, PORT.pmtu, portOf(PORT.pmtu), 6_000, [
          { send: 100, await: 2 },
          { send: 6000, await: 4 }
        ]),
        tcp(NET.server6, PORT.pmtu, portOf(PORT.pmtu, true), 6_000, [
          { send: 100, await: 2 },
          { send: 6000, await: 4 }
        ]),
        tcp(NET.server, PORT.egress, portOf(PORT.egress)),
        tcp(NET.server, PORT.sized, portOf(PORT.sized), 6_000, [
          { send: 100, await: 2 },
          { send: 6000, await: 4 }
        ]),
        udpExchange(c, {
          host: NET.server,
          port: PORT.udpNoListener,
          localPort: portOf(PORT.udpNoListener),
          payload: 'q',
          count: 2,
          waitMs: 500
        })
      ])
      await sleep(300)
    })
  })

  // Snapshots, as a user would collect them after the incident.
  const files: Record<string, Record<string, string>> = { client: {}, router: {}, server: {} }
  const save = async (
    host: Host,
    name: string,
    file: string,
    cmd: string,
    args: string[]
  ): Promise<void> => {
    const out = await host.must(cmd, args)
    const path = join(dir, name, file)
    writeFileSync(path, out)
    files[name][file] = path
  }
  for (const [h, name] of [
    [c, 'client'],
    [r, 'router'],
    [s, 'server']
  ] as const) {
    if (firewall === 'nft') await save(h, name, 'nft-ruleset.txt', 'nft', ['-a', 'list', 'ruleset'])
    else {
      await save(h, name, 'iptables-save.txt', 'iptables-save', ['-c'])
      await save(h, name, 'ip6tables-save.txt', 'ip6tables-save', ['-c'])
    }
    await save(h, name, 'ip-addr.txt', 'ip', ['addr'])
    await save(h, name, 'ip-route.txt', 'ip', ['route'])
    await save(h, name, 'sysctl.txt', 'sysctl', [
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
      'net.netfilter.nf_conntrack_max',
      'net.netfilter.nf_conntrack_count'
    ])
  }
  await save(s, 'server', 'ss.txt', 'ss', ['-tlnpu'])
  await save(s, 'server', 'conntrack.txt', 'conntrack', ['-L'])
  // The kernel's log lines of this run: the server's as raw dmesg (seconds since boot), the
  // router's as the same lines dmesg prints in ISO wall time.
  const raw = (await r.must('dmesg', [])).split('\n')
  const iso = (await r.must('dmesg', ['--time-format', 'iso'])).split('\n')
  const offsets = marks.map((wall, i) => {
    const line = raw.find((l) => l.includes(`${tag}CLOCK ${i}`))
    const m = line ? /^\[\s*(\d+\.\d+)\]/.exec(line) : null
    if (!m) throw new Error(`the kernel log lost the clock mark ${i}`)
    return wall - Number(m[1])
  })
  const bootOffsetSec = offsets.reduce((a, b) => a + b, 0) / offsets.length
  const mine = (lines: string[], prefix: string): string =>
    lines.filter((l) => l.includes(`${tag}${prefix}`)).join('\n') + '\n'
  writeFileSync(join(dir, 'server', 'kern.log'), mine(raw, 'IN'))
  writeFileSync(join(dir, 'router', 'kern.log'), mine(iso, 'FWD'))
  writeFileSync(join(dir, 'client', 'kern.log'), mine(iso, 'OUT'))
  files.server['kern.log'] = join(dir, 'server', 'kern.log')
  files.router['kern.log'] = join(dir, 'router', 'kern.log')
  files.client['kern.log'] = join(dir, 'client', 'kern.log')
  for (const h of ['client', 'router', 'server'])
    files[h][`${h[0]}0.pcap`] = join(dir, h, `${h[0]}0.pcap`)
  files.router['r1.pcap'] = join(dir, 'router', 'r1.pcap')
  return { dir, tag, cases, bootOffsetSec, files, firewall, net: NET }
}

/** The client's, the router's and the server's rules as iptables-restore input. */
async function loadIptables(c: Host, r: Host, s: Host, tag: string, NET: Net): Promise<void> {
  const returnPorts = RETURN_PORTS.join(',')
  await restore(
    c,
    'iptables-restore',
    `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p tcp -m tcp --dport ${PORT.egress} -j LOG --log-prefix "${tag}OUT-DROP: "
-A OUTPUT -p tcp -m tcp --dport ${PORT.egress} -j DROP
COMMIT
`
  )
  await restore(
    r,
    'iptables-restore',
    `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i r0 -d ${NET.routerIn}/32 -p tcp -m tcp --dport ${NET.dnatFront} -j DNAT --to-destination ${NET.server2}:80
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --sport ${PORT.sized} --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${SIZED_MSS}
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i r0 -o r1 -p tcp -m tcp --dport ${PORT.sized} -m length --length ${SIZED_FROM}:65535 -j DROP
-A FORWARD -i r0 -o r1 -d ${NET.server}/32 -j ACCEPT
-A FORWARD -i r1 -o r0 -p tcp -m multiport --sports ${returnPorts} -j ACCEPT
-A FORWARD -i r1 -o r0 -p udp -j ACCEPT
-A FORWARD -i r1 -o r0 -p icmp -j ACCEPT
-A FORWARD -j LOG --log-prefix "${tag}FWD-DROP: "
-A OUTPUT -p icmp -m icmp --icmp-type 3/4 -j DROP
COMMIT
`
  )
  await restore(
    s,
    'iptables-restore',
    `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport ${PORT.logged} -j LOG --log-prefix "${tag}IN-DROP: "
-A INPUT -p tcp -m tcp --dport ${PORT.logged} -j DROP
-A INPUT -p tcp -m tcp --dport ${PORT.dropped} -j NFLOG --nflog-prefix "${tag}NF-DROP: " --nflog-group ${NFLOG_GROUP}
-A INPUT -p tcp -m tcp --dport ${PORT.dropped} -j DROP
-A INPUT -p tcp -m tcp --dport ${PORT.reset} -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m tcp --dport ${PORT.prohibited} -j REJECT --reject-with icmp-admin-prohibited
-A INPUT -p tcp -m tcp --dport ${PORT.limited} --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 1/min --limit-burst 2 -j ACCEPT
-A INPUT -p tcp -m tcp --dport ${PORT.limited} --tcp-flags FIN,SYN,RST,ACK SYN -j DROP
-A INPUT -p tcp -m multiport --dports ${PORT.ok},${PORT.noListener},${PORT.returnPath},${PORT.pmtu},${PORT.sized} -j ACCEPT
-A INPUT -p udp -m udp --dport ${PORT.udpNoListener} -j ACCEPT
-A INPUT -p icmp -j ACCEPT
COMMIT
`
  )
  await restore(
    s,
    'ip6tables-restore',
    `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport ${PORT.logged} -j LOG --log-prefix "${tag}IN6-DROP: "
-A INPUT -p tcp -m tcp --dport ${PORT.logged} -j DROP
-A INPUT -p tcp -m multiport --dports ${PORT.ok},${PORT.noListener},${PORT.pmtu} -j ACCEPT
COMMIT
`
  )
  await restore(
    r,
    'ip6tables-restore',
    `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j DROP
COMMIT
`
  )
}

/** The same firewalls written for nftables (one inet table each, and the router's NAT). */
async function loadNft(c: Host, r: Host, s: Host, tag: string, NET: Net): Promise<void> {
  const returnPorts = RETURN_PORTS.join(', ')
  await c.nft(`table inet filter {
  chain output {
    type filter hook output priority filter; policy accept;
    tcp dport ${PORT.egress} log prefix "${tag}OUT-DROP: " drop
  }
}
`)
  await r.nft(`table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "r0" ip daddr ${NET.routerIn} tcp dport ${NET.dnatFront} dnat to ${NET.server2}:80
  }
}
table inet filter {
  chain clamp {
    type filter hook forward priority mangle; policy accept;
    tcp sport ${PORT.sized} tcp flags syn tcp option maxseg size set ${SIZED_MSS}
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "r0" oifname "r1" tcp dport ${PORT.sized} meta length ${SIZED_FROM}-65535 drop
    iifname "r0" oifname "r1" ip daddr ${NET.server} accept
    iifname "r0" oifname "r1" ip6 daddr ${NET.server6} accept
    iifname "r1" oifname "r0" tcp sport { ${returnPorts} } accept
    iifname "r1" oifname "r0" meta l4proto { udp, icmp, ipv6-icmp } accept
    log prefix "${tag}FWD-DROP: "
  }
  chain output {
    type filter hook output priority filter; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
`)
  await s.nft(`table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
    tcp dport ${PORT.logged} log prefix "${tag}IN-DROP: " drop
    tcp dport ${PORT.dropped} log prefix "${tag}NF-DROP: " group ${NFLOG_GROUP} drop
    tcp dport ${PORT.reset} reject with tcp reset
    tcp dport ${PORT.prohibited} reject with icmpx admin-prohibited
    tcp dport ${PORT.limited} ct state new limit rate 1/minute burst 2 packets accept
    tcp dport ${PORT.limited} ct state new drop
    tcp dport { ${PORT.ok}, ${PORT.noListener}, ${PORT.returnPath}, ${PORT.pmtu}, ${PORT.sized} } accept
    udp dport ${PORT.udpNoListener} accept
    meta l4proto { icmp, ipv6-icmp } accept
  }
}
`)
}

async function loadFirewalls(
  c: Host,
  r: Host,
  s: Host,
  tag: string,
  firewall: Firewall,
  NET: Net
): Promise<void> {
  if (firewall === 'nft') await loadNft(c, r, s, tag, NET)
  else await loadIptables(c, r, s, tag, NET)
}

/** What each case's rule must contain, in each dialect. */
const RULE_HAS: Record<Firewall, Record<string, string>> = {
  iptables: {
    logged: `--dport ${PORT.logged} -j DROP`,
    dropped: `--dport ${PORT.dropped} -j DROP`,
    policy: ':INPUT DROP',
    reset: '--reject-with tcp-reset',
    prohibited: '--reject-with icmp-admin-prohibited',
    forwardPolicy: ':FORWARD DROP',
    fragNeeded: '--icmp-type 3/4 -j DROP',
    tooBig: '--icmpv6-type 2 -j DROP',
    sized: `-m length --length ${SIZED_FROM}:65535 -j DROP`,
    egress: `--dport ${PORT.egress} -j DROP`,
    limit: '-m limit'
  },
  nft: {
    logged: `tcp dport ${PORT.logged} log prefix`,
    dropped: `tcp dport ${PORT.dropped} log prefix`,
    policy: 'policy drop;',
    reset: 'reject with tcp reset',
    prohibited: 'reject with icmpx admin-prohibited',
    forwardPolicy: 'policy drop;',
    fragNeeded: 'icmp code frag-needed drop',
    tooBig: 'icmpv6 type packet-too-big drop',
    sized: `meta length ${SIZED_FROM}-65535 drop`,
    egress: `tcp dport ${PORT.egress} log prefix`,
    limit: 'limit rate 1/minute'
  }
}

async function restore(h: Host, tool: string, text: string): Promise<void> {
  const file = h.lab.file(`${h.ns}-${tool}-${randomBytes(3).toString('hex')}.rules`)
  writeFileSync(file, text)
  await h.must(tool, [file])
}

async function warm(h: Host, dst: string, src: string): Promise<void> {
  for (let i = 0; i < 5; i++) if ((await pingCount(h, dst, 1)) === 1) return
  throw new Error(`${h.ns}: ${src} > ${dst} never answered`)
}
