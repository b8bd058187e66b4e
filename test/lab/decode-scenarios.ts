/**
 * The decoding scenarios: conversations made in the kernel lab whose captures are read packet by
 * packet (`verdict packets`) and checked against tshark. Each builds its own hosts, so all of them
 * can run at once, and removes them again.
 */
import { capturing } from './lab-capture'
import type { Host, Lab } from './lab-host'
import { ping, tcpClient, tcpServer, udpSend, type ClientResult } from './lab-traffic'

/** Addresses of the two-host scenarios: client 10.77.0.1 (c0) — server 10.77.0.2 (s0). */
export const PAIR = { client: '10.77.0.1', server: '10.77.0.2' } as const

async function pair(lab: Lab, tag: string): Promise<{ c: Host; s: Host }> {
  const c = await lab.host(`${tag}-c`)
  const s = await lab.host(`${tag}-s`)
  await lab.link(
    { host: c, dev: 'c0', v4: `${PAIR.client}/24` },
    { host: s, dev: 's0', v4: `${PAIR.server}/24` }
  )
  return { c, s }
}

/** The handshake scenario's captures: the same conversation written four ways. */
export interface HandshakeCaptures {
  /** tcpdump -i s0 on the server: Ethernet, microseconds. */
  ether: string
  /** tcpdump -i any on the server: Linux cooked capture. */
  any: string
  /** tcpdump -i c0 --time-stamp-precision=nano on the client. */
  nano: string
  /** dumpcap -i c0 on the client: pcapng. */
  pcapng: string
  /** s0's ifindex inside the server's namespace. */
  serverIfindex: number
  client: ClientResult
}

/** The handshake scenario's constants. */
export const HANDSHAKE = { port: 7000, clientPort: 40000, request: 100, reply: 1000 } as const

/** (a) A completed TCP handshake, 100 bytes up, 1000 bytes down, FIN from both sides. */
export async function handshakeScenario(lab: Lab): Promise<HandshakeCaptures> {
  const { c, s } = await pair(lab, 'hs')
  try {
    const serverIfindex = await s.ifindex('s0')
    await tcpServer(s, {
      host: PAIR.server,
      port: HANDSHAKE.port,
      expect: HANDSHAKE.request,
      reply: HANDSHAKE.reply
    })
    const { files, result } = await capturing(
      lab,
      [
        [s, { file: 'handshake-ether.pcap', ifaces: ['s0'] }],
        [s, { file: 'handshake-any.pcap', ifaces: ['any'] }],
        [c, { file: 'handshake-nano.pcap', ifaces: ['c0'], nano: true }],
        [c, { file: 'handshake.pcapng', ifaces: ['c0'], tool: 'dumpcap' }]
      ],
      () =>
        tcpClient(c, {
          host: PAIR.server,
          port: HANDSHAKE.port,
          localPort: HANDSHAKE.clientPort,
          send: HANDSHAKE.request,
          timeoutMs: 5_000
        })
    )
    const [ether, any, nano, pcapng] = files
    return { ether, any, nano, pcapng, serverIfindex, client: result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The drop scenario's constants. */
export const DROP = {
  port: 7001,
  clientPort: 40001,
  group: 5,
  dropPrefix: 'vdt-drop: ',
  rawPrefix: 'vdt-raw: ',
  /** SYNs the client sends before it gives up: the first and two retransmissions. */
  syns: 3
} as const

/** The drop scenario's captures. */
export interface DropCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** tcpdump -i nflog:5 on the server. */
  nflog: string
  result: ClientResult
}

/**
 * (b) A SYN into an nft DROP rule that logs to NFLOG group 5, with an iptables NFLOG rule in
 * raw PREROUTING before it; the client gives up half a second after its second retransmission.
 */
export async function dropScenario(lab: Lab): Promise<DropCaptures> {
  const { c, s } = await pair(lab, 'drop')
  try {
    // SYNs leave at 0, 1, 2, 3 s where SYN timeouts start linear (Linux 6.x,
    // tcp_syn_linear_timeouts) and at 0, 1, 3, 7 s where they double from the start. The kernel's
    // own give-up time does not follow the count of retransmissions there, so the client stops
    // by itself between the third and the fourth SYN.
    const linear = await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 4, true)
    const giveUpMs = linear ? 2_500 : 3_500
    await s.nft(`table inet vdt {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${DROP.port} log group ${DROP.group} prefix "${DROP.dropPrefix}" drop
  }
}
`)
    await s.must('iptables', [
      '-t',
      'raw',
      '-A',
      'PREROUTING',
      '-p',
      'tcp',
      '--dport',
      String(DROP.port),
      '-j',
      'NFLOG',
      '--nflog-group',
      String(DROP.group),
      '--nflog-prefix',
      DROP.rawPrefix
    ])
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'drop-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'drop-nflog.pcap', ifaces: [`nflog:${DROP.group}`] }]
      ],
      () =>
        tcpClient(c, {
          host: PAIR.server,
          port: DROP.port,
          localPort: DROP.clientPort,
          send: 0,
          timeoutMs: giveUpMs
        })
    )
    return { client: files[0], nflog: files[1], result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The reset scenario's constants. */
export const RESET = {
  rejectPort: 7002,
  rejectClientPort: 40002,
  closedPort: 7003,
  closedClientPort: 40003
} as const

/** The reset scenario's captures and what the clients saw. */
export interface ResetCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** tcpdump -i any on the server. */
  any: string
  rejected: ClientResult
  closed: ClientResult
}

/** (c) A SYN into `REJECT --reject-with tcp-reset`, and a SYN to a closed port (the kernel's RST). */
export async function resetScenario(lab: Lab): Promise<ResetCaptures> {
  const { c, s } = await pair(lab, 'rst')
  try {
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      String(RESET.rejectPort),
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset'
    ])
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'reset-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'reset-any.pcap', ifaces: ['any'] }]
      ],
      async () => {
        const rejected = await tcpClient(c, {
          host: PAIR.server,
          port: RESET.rejectPort,
          localPort: RESET.rejectClientPort,
          send: 0,
          timeoutMs: 5_000
        })
        const closed = await tcpClient(c, {
          host: PAIR.server,
          port: RESET.closedPort,
          localPort: RESET.closedClientPort,
          send: 0,
          timeoutMs: 5_000
        })
        return { rejected, closed }
      }
    )
    return { client: files[0], any: files[1], ...result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The unreachable scenario's constants: each probe's destination and source port. */
export const UNREACH = {
  udpReject: { port: 7004, clientPort: 40004 },
  udpClosed: { port: 7005, clientPort: 40005 },
  tcpAdmin: { port: 7006, clientPort: 40006 },
  tcpReject: { port: 7007, clientPort: 40007 }
} as const

/** The unreachable scenario's captures. */
export interface UnreachCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** dumpcap -i s0 on the server: pcapng. */
  server: string
  admin: ClientResult
  rejected: ClientResult
}

/**
 * (d) ICMP errors: UDP into iptables REJECT (port unreachable), UDP to a closed port (the
 * kernel's port unreachable), TCP into nft `reject with icmpx type admin-prohibited` (type 3
 * code 13) and TCP into a default iptables REJECT (port unreachable quoting a TCP header).
 */
export async function unreachableScenario(lab: Lab): Promise<UnreachCaptures> {
  const { c, s } = await pair(lab, 'unr')
  try {
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'udp',
      '--dport',
      String(UNREACH.udpReject.port),
      '-j',
      'REJECT'
    ])
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      String(UNREACH.tcpReject.port),
      '-j',
      'REJECT'
    ])
    await s.nft(`table inet vdt {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${UNREACH.tcpAdmin.port} reject with icmpx type admin-prohibited
  }
}
`)
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'unreach-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'unreach-server.pcapng', ifaces: ['s0'], tool: 'dumpcap' }]
      ],
      async () => {
        for (const u of [UNREACH.udpReject, UNREACH.udpClosed]) {
          await udpSend(c, {
            host: PAIR.server,
            port: u.port,
            localPort: u.clientPort,
            payload: 'verdict',
            waitMs: 200
          })
        }
        const admin = await tcpClient(c, {
          host: PAIR.server,
          port: UNREACH.tcpAdmin.port,
          localPort: UNREACH.tcpAdmin.clientPort,
          send: 0,
          timeoutMs: 5_000
        })
        const rejected = await tcpClient(c, {
          host: PAIR.server,
          port: UNREACH.tcpReject.port,
          localPort: UNREACH.tcpReject.clientPort,
          send: 0,
          timeoutMs: 5_000
        })
        return { admin, rejected }
      }
    )
    return { client: files[0], server: files[1], ...result }
  } finally {
    await lab.remove(c, s)
  }
}

/** (g) Three pings answered; tcpdump -i c0 on the client. */
export async function pingScenario(lab: Lab): Promise<{ client: string }> {
  const { c, s } = await pair(lab, 'ping')
  try {
    const { files } = await capturing(
      lab,
      [[c, { file: 'ping-client.pcap', ifaces: ['c0'] }]],
      () => ping(c, PAIR.server, 3)
    )
    return { client: files[0] }
  } finally {
    await lab.remove(c, s)
  }
}

/** Addresses and sizes of the routed scenarios: client — router — server, small router→server link. */
export const ROUTED = {
  v4: {
    client: '10.77.1.1',
    routerIn: '10.77.1.254',
    routerOut: '10.77.2.254',
    server: '10.77.2.1',
    mtu: 1300,
    port: 7200,
    clientPort: 40200
  },
  v6: {
    client: 'fd77:1::1',
    routerIn: 'fd77:1::fe',
    routerOut: 'fd77:2::fe',
    server: 'fd77:2::1',
    mtu: 1280,
    port: 7300,
    clientPort: 40300
  },
  /** Bytes the client sends: more than one full-sized segment. */
  send: 4000,
  reply: 2
} as const

/** A routed scenario's captures. */
export interface RoutedCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** dumpcap -i r0 -i r1 on the router: pcapng with two interfaces (0 = r0, 1 = r1). */
  router: string
  /** tcpdump -i any on the router. */
  routerAny: string
  /** r0's and r1's ifindex inside the router's namespace. */
  ifindex: { r0: number; r1: number }
  result: ClientResult
}

async function routed(lab: Lab, family: 'v4' | 'v6'): Promise<RoutedCaptures> {
  const a = ROUTED[family]
  const v6 = family === 'v6'
  const tag = v6 ? 'ptb' : 'fn'
  const c = await lab.host(`${tag}-c`, { ipv6: v6 })
  const r = await lab.host(`${tag}-r`, { ipv6: v6, router: true })
  const s = await lab.host(`${tag}-s`, { ipv6: v6 })
  try {
    const addr = (ip: string, len: number): { v4?: string; v6?: string } =>
      v6 ? { v6: `${ip}/${len}` } : { v4: `${ip}/${len}` }
    await lab.link(
      { host: c, dev: 'c0', ...addr(a.client, v6 ? 64 : 24) },
      { host: r, dev: 'r0', ...addr(a.routerIn, v6 ? 64 : 24) }
    )
    // Only the router's side of the second link is small: the server advertises a full MSS, so
    // the client's full-sized segments reach the router and cannot go on.
    await lab.link(
      { host: r, dev: 'r1', mtu: a.mtu, ...addr(a.routerOut, v6 ? 64 : 24) },
      { host: s, dev: 's0', ...addr(a.server, v6 ? 64 : 24) }
    )
    const fam = v6 ? '-6' : '-4'
    await c.ip(fam, 'route', 'add', 'default', 'via', a.routerIn)
    await s.ip(fam, 'route', 'add', 'default', 'via', a.routerOut)
    const ifindex = { r0: await r.ifindex('r0'), r1: await r.ifindex('r1') }
    await tcpServer(s, { host: a.server, port: a.port, expect: ROUTED.send, reply: ROUTED.reply })
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: `${tag}-client.pcap`, ifaces: ['c0'] }],
        [r, { file: `${tag}-router.pcapng`, ifaces: ['r0', 'r1'], tool: 'dumpcap' }],
        [r, { file: `${tag}-router-any.pcap`, ifaces: ['any'] }]
      ],
      async () => {
        const res = await tcpClient(c, {
          host: a.server,
          port: a.port,
          localPort: a.clientPort,
          send: ROUTED.send,
          timeoutMs: 8_000
        })
        if (v6) await ping(c, a.server, 2)
        return res
      }
    )
    return { client: files[0], router: files[1], routerAny: files[2], ifindex, result }
  } finally {
    await lab.remove(c, r, s)
  }
}

/** (e) IPv4 frag-needed: the router's 1300-byte link answers the client's DF segments with ICMP 3/4. */
export function fragNeededScenario(lab: Lab): Promise<RoutedCaptures> {
  return routed(lab, 'v4')
}

/** (f) IPv6 packet too big from the router's 1280-byte link (ICMPv6 type 2), and two pings across. */
export function packetTooBigScenario(lab: Lab): Promise<RoutedCaptures> {
  return routed(lab, 'v6')
}
