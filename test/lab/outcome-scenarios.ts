/**
 * The flow-outcome scenarios: many conversations with known endings, made at once in two shared
 * topologies and captured at every host, for `verdict analyze` to classify.
 *
 * - two hosts, client — server (IPv4 and IPv6): the server's own firewall or sockets decide.
 * - three hosts, client — router — server (IPv4 and IPv6, a 1300-byte link between router and
 *   server): the router's FORWARD chain, its NAT and its ICMP errors decide.
 *
 * Every conversation has its own destination port and client port, so one capture per host holds
 * them all and each flow is found again by its ports.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { capturing, type CaptureOptions } from './lab-capture'
import type { Host, Lab } from './lab-host'
import {
  pingCount,
  scriptedClient,
  services,
  udpExchange,
  type ScriptedClient,
  type ScriptedResult,
  type Service
} from './lab-traffic'

// ---------------------------------------------------------------------------------------------
// Shared set-up

/**
 * A client that gives up after two SYN retransmissions, sent 1 s and 3 s after the first SYN:
 * `tcp_syn_retries` and `tcp_syn_linear_timeouts` are per network namespace. Kernels without
 * linear SYN timeouts (before 6.x) double the back-off from the start anyway.
 */
async function patientClient(c: Host): Promise<void> {
  await c.sysctl('net.ipv4.tcp_syn_retries', SYN.retries)
  await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 0, true)
}

/** SYN timing of the clients: two retransmissions, 1 s and 3 s after the first SYN. */
export const SYN = {
  retries: 2,
  offsets: [1, 3],
  /** The client stops between the last retransmission and the kernel's own give-up (7 s). */
  giveUpMs: 4_000
} as const

function mkdirs(lab: Lab, files: string[]): void {
  for (const f of files) mkdirSync(dirname(lab.file(f)), { recursive: true })
}

/** Appends rules, each written as on the command line (no argument holds a space). */
async function iptables(h: Host, ...rules: string[]): Promise<void> {
  for (const r of rules) await h.must('iptables', r.split(/\s+/))
}

async function ip6tables(h: Host, ...rules: string[]): Promise<void> {
  for (const r of rules) await h.must('ip6tables', r.split(/\s+/))
}

/** Runs every client at once; resolves with their results by name. */
async function allClients<K extends string>(
  host: Host,
  clients: Record<K, ScriptedClient>
): Promise<Record<K, ScriptedResult>> {
  const keys = Object.keys(clients) as K[]
  const results = await Promise.all(keys.map((k) => scriptedClient(host, clients[k])))
  return Object.fromEntries(keys.map((k, i) => [k, results[i]])) as Record<K, ScriptedResult>
}

/**
 * Pings until one echo is answered, so every neighbour on the way is resolved (a router forwarding
 * IPv6 drops the packet that made it resolve its next hop).
 */
async function warmUp(h: Host, dst: string, src?: string): Promise<void> {
  const args = ['-n', '-c', '1', '-W', '1', ...(src ? ['-I', src] : []), dst]
  for (let attempt = 0; attempt < 5; attempt++) {
    if ((await h.exec('ping', args)).code === 0) return
  }
  throw new Error(`${h.ns}: ping ${src ?? ''} > ${dst} was never answered`)
}

// ---------------------------------------------------------------------------------------------
// Two hosts

/** Addresses and ports of the two-host topology. */
export const TWO = {
  client: '10.77.10.1',
  server: '10.77.10.2',
  /** A second server address whose echo requests the server drops. */
  silent: '10.77.10.3',
  client6: 'fd77:10::1',
  server6: 'fd77:10::2',
  /** Destination ports (the client's port is 41000 + the last three digits, 42000+ for IPv6). */
  port: {
    drop: 7401,
    rejectRst: 7402,
    closed: 7403,
    portUnreachable: 7404,
    hostProhibited: 7405,
    adminProhibited: 7406,
    oneWay: 7407,
    resetMidstream: 7408,
    ok: 7409,
    udpClosed: 7411,
    udpDropped: 7412,
    udpEcho: 7413
  },
  /** Bytes of the completed exchange and of the request before the server's reset. */
  request: 100,
  reply: 1000,
  pings: 3,
  datagrams: 2
} as const

/** The client port of a conversation to `port` (IPv6: 42xxx). */
export function clientPort(port: number, v6 = false): number {
  return (v6 ? 42_000 : 41_000) + (port % 1000)
}

export type TwoClient =
  | 'drop'
  | 'rejectRst'
  | 'closed'
  | 'portUnreachable'
  | 'hostProhibited'
  | 'adminProhibited'
  | 'oneWay'
  | 'resetMidstream'
  | 'ok'
  | 'closed6'
  | 'portUnreachable6'
  | 'adminProhibited6'

/** The two-host captures: an incident folder (client/, server/) and a second server capture. */
export interface TwoHostCaptures {
  /** The incident folder: client/c0.pcap (tcpdump -i c0), server/s0.pcap (tcpdump -i s0). */
  dir: string
  client: string
  server: string
  /** tcpdump -i any on the server, outside the folder. */
  serverAny: string
  tcp: Record<TwoClient, ScriptedResult>
  udp: { closed: number; dropped: number; echo: number; closed6: number }
  pings: { answered: number; dropped: number; answered6: number }
}

/**
 * Every single-hop ending at once: a SYN into the server's INPUT DROP; REJECT with tcp-reset and
 * a closed port; REJECT with port-unreachable, host-prohibited and nft's icmpx admin-prohibited;
 * SYN-ACKs dropped on the client's INPUT; a server that aborts mid-stream; a completed exchange;
 * UDP to a closed port, into a DROP and to an echo server; pings answered and dropped; and IPv6
 * closed port, port-unreachable, admin-prohibited, UDP closed port and ping.
 */
export async function twoHostScenario(lab: Lab): Promise<TwoHostCaptures> {
  const P = TWO.port
  const c = await lab.host('two-c', { ipv6: true })
  const s = await lab.host('two-s', { ipv6: true })
  try {
    await lab.link(
      { host: c, dev: 'c0', v4: `${TWO.client}/24`, v6: `${TWO.client6}/64` },
      { host: s, dev: 's0', v4: `${TWO.server}/24`, v6: `${TWO.server6}/64` }
    )
    await s.ip('addr', 'add', `${TWO.silent}/24`, 'dev', 's0')
    await patientClient(c)
    const tcpIn = (port: number): string => `-A INPUT -p tcp --dport ${port} -j`
    await iptables(
      s,
      `${tcpIn(P.drop)} DROP`,
      `${tcpIn(P.rejectRst)} REJECT --reject-with tcp-reset`,
      `${tcpIn(P.portUnreachable)} REJECT --reject-with icmp-port-unreachable`,
      `${tcpIn(P.hostProhibited)} REJECT --reject-with icmp-host-prohibited`,
      `-A INPUT -p udp --dport ${P.udpDropped} -j DROP`,
      `-A INPUT -d ${TWO.silent} -p icmp --icmp-type echo-request -j DROP`
    )
    await ip6tables(s, `${tcpIn(P.portUnreachable)} REJECT --reject-with icmp6-port-unreachable`)
    await s.nft(`table inet vdt {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${P.adminProhibited} reject with icmpx type admin-prohibited
  }
}
`)
    // The client's own INPUT drops the SYN-ACKs of one conversation (after tcpdump saw them).
    await iptables(c, `-A INPUT -p tcp --sport ${P.oneWay} --tcp-flags SYN,ACK SYN,ACK -j DROP`)
    const tcpServices: Service[] = [
      {
        proto: 'tcp',
        host: '::',
        port: P.ok,
        answers: [{ after: TWO.request, send: TWO.reply }],
        close: 'end'
      },
      { proto: 'tcp', host: '::', port: P.oneWay, answers: [], close: 'end' },
      {
        proto: 'tcp',
        host: '::',
        port: P.resetMidstream,
        answers: [{ after: TWO.request, send: 0 }],
        close: 'reset'
      },
      { proto: 'udp', host: TWO.server, port: P.udpEcho }
    ]
    await services(s, tcpServices)
    // Neighbours are resolved before the captures start, so no conversation waits for ARP/NDP.
    await warmUp(c, TWO.server)
    await warmUp(c, TWO.server6)
    await c.exec('ping', ['-n', '-c', '1', '-W', '1', TWO.silent])

    const files = ['two/client/c0.pcap', 'two/server/s0.pcap', 'two-server-any.pcap']
    mkdirs(lab, files)
    const specs: Array<[Host, CaptureOptions]> = [
      [c, { file: files[0], ifaces: ['c0'] }],
      [s, { file: files[1], ifaces: ['s0'] }],
      [s, { file: files[2], ifaces: ['any'] }]
    ]
    const to = (
      port: number,
      v6: boolean,
      steps: ScriptedClient['steps'] = [],
      timeoutMs = 2_000
    ): ScriptedClient => ({
      host: v6 ? TWO.server6 : TWO.server,
      port,
      localPort: clientPort(port, v6),
      steps,
      timeoutMs
    })
    const { files: done, result } = await capturing(lab, specs, async () => {
      const [tcp, udp, pings] = await Promise.all([
        allClients(c, {
          drop: to(P.drop, false, [], SYN.giveUpMs),
          rejectRst: to(P.rejectRst, false),
          closed: to(P.closed, false),
          portUnreachable: to(P.portUnreachable, false),
          hostProhibited: to(P.hostProhibited, false),
          adminProhibited: to(P.adminProhibited, false),
          oneWay: to(P.oneWay, false, [], SYN.giveUpMs),
          resetMidstream: to(P.resetMidstream, false, [{ send: TWO.request, await: 0 }]),
          ok: to(P.ok, false, [{ send: TWO.request, await: TWO.reply }]),
          closed6: to(P.closed, true),
          portUnreachable6: to(P.portUnreachable, true),
          adminProhibited6: to(P.adminProhibited, true)
        }),
        (async () => {
          const udp = (port: number, v6 = false): Promise<{ replies: number }> =>
            udpExchange(c, {
              host: v6 ? TWO.server6 : TWO.server,
              port,
              localPort: clientPort(port, v6),
              payload: 'verdict',
              count: TWO.datagrams,
              waitMs: 300
            })
          const [closed, dropped, echo, closed6] = await Promise.all([
            udp(P.udpClosed),
            udp(P.udpDropped),
            udp(P.udpEcho),
            udp(P.udpClosed, true)
          ])
          return {
            closed: closed.replies,
            dropped: dropped.replies,
            echo: echo.replies,
            closed6: closed6.replies
          }
        })(),
        (async () => {
          const [answered, dropped, answered6] = await Promise.all([
            pingCount(c, TWO.server, TWO.pings),
            pingCount(c, TWO.silent, TWO.pings),
            pingCount(c, TWO.server6, TWO.pings)
          ])
          return { answered, dropped, answered6 }
        })()
      ])
      return { tcp, udp, pings }
    })
    return {
      dir: lab.file('two'),
      client: done[0],
      server: done[1],
      serverAny: done[2],
      ...result
    }
  } finally {
    await lab.remove(c, s)
  }
}

// ---------------------------------------------------------------------------------------------
// Three hosts

/** Addresses and ports of the routed topology: client — router — server, 1300-byte r1 link. */
export const THREE = {
  client: '10.77.20.1',
  /** The client's second address: the source of the conversation whose frag-needed is dropped. */
  client2: '10.77.20.2',
  routerIn: '10.77.20.254',
  routerOut: '10.77.21.254',
  server: '10.77.21.1',
  /** The server's second address: the stalled transfer's destination (its own PMTU cache entry). */
  server2: '10.77.21.2',
  client6: 'fd77:20::1',
  client6b: 'fd77:20::2',
  routerIn6: 'fd77:20::fe',
  routerOut6: 'fd77:21::fe',
  server6: 'fd77:21::1',
  server6b: 'fd77:21::2',
  mtu: 1300,
  port: {
    forwardDrop: 7501,
    forwardReject: 7502,
    synAckDrop: 7503,
    pmtuOk: 7504,
    pmtuBlackhole: 7505,
    masquerade: 7506,
    udpMasquerade: 7507,
    dnat: 7508,
    forgedReset: 7509,
    dnatClosed: 7510
  },
  /** Ports on the router's address that DNAT sends on to `dnat` and `dnatClosed`. */
  dnatFront: 8508,
  dnatClosedFront: 8510,
  /** MASQUERADE rewrites the client's port into this range. */
  masqPorts: [50600, 50610],
  /** The PMTU transfers: a small request and answer first, then a large upload. */
  hello: 200,
  upload: 40_000,
  request: 100,
  reply: 1000,
  /** The forged reset: its second write is the one the router answers with a RST. */
  trigger: 500,
  stallMs: 3_000
} as const

export type ThreeClient =
  | 'forwardDrop'
  | 'forwardReject'
  | 'forwardReject6'
  | 'synAckDrop'
  | 'pmtuOk'
  | 'pmtuBlackhole'
  | 'pmtuOk6'
  | 'pmtuBlackhole6'
  | 'masquerade'
  | 'dnat'
  | 'dnatClosed'
  | 'forgedReset'

/** The routed captures: an incident folder (client/, router/, server/) and a router -i any. */
export interface ThreeHostCaptures {
  /** client/c0.pcap, router/r0.pcap, router/r1.pcap, server/s0.pcap. */
  dir: string
  client: string
  routerIn: string
  routerOut: string
  server: string
  /** tcpdump -i any on the router, outside the folder. */
  routerAny: string
  tcp: Record<ThreeClient, ScriptedResult>
  udpMasquerade: number
}

/**
 * Every routed ending at once: a SYN into the router's FORWARD DROP; a FORWARD REJECT (IPv4 port
 * unreachable, IPv6 admin-prohibited); SYN-ACKs dropped in FORWARD; large uploads over the small
 * link with frag-needed / packet-too-big delivered and, from the client's second address,
 * dropped on the router's OUTPUT; MASQUERADE (TCP and UDP); DNAT to a listener and to a closed
 * port; and a RST the router forges in the middle of a conversation.
 */
export async function threeHostScenario(lab: Lab): Promise<ThreeHostCaptures> {
  const T = THREE
  const P = T.port
  const c = await lab.host('three-c', { ipv6: true })
  const r = await lab.host('three-r', { ipv6: true, router: true })
  const s = await lab.host('three-s', { ipv6: true })
  try {
    await lab.link(
      { host: c, dev: 'c0', v4: `${T.client}/24`, v6: `${T.client6}/64` },
      { host: r, dev: 'r0', v4: `${T.routerIn}/24`, v6: `${T.routerIn6}/64` }
    )
    // Only the router's side of the second link is small, so the client's full-sized segments
    // reach the router and cannot go on.
    await lab.link(
      { host: r, dev: 'r1', mtu: T.mtu, v4: `${T.routerOut}/24`, v6: `${T.routerOut6}/64` },
      { host: s, dev: 's0', v4: `${T.server}/24`, v6: `${T.server6}/64` }
    )
    await c.ip('addr', 'add', `${T.client2}/24`, 'dev', 'c0')
    await c.ip('-6', 'addr', 'add', `${T.client6b}/64`, 'dev', 'c0', 'nodad')
    await s.ip('addr', 'add', `${T.server2}/24`, 'dev', 's0')
    await s.ip('-6', 'addr', 'add', `${T.server6b}/64`, 'dev', 's0', 'nodad')
    await c.ip('-4', 'route', 'add', 'default', 'via', T.routerIn)
    await c.ip('-6', 'route', 'add', 'default', 'via', T.routerIn6)
    await s.ip('-4', 'route', 'add', 'default', 'via', T.routerOut)
    await s.ip('-6', 'route', 'add', 'default', 'via', T.routerOut6)
    await patientClient(c)

    const fwd = (port: number): string => `-A FORWARD -p tcp --dport ${port}`
    const masq = (proto: string, port: number): string =>
      `-t nat -A POSTROUTING -o r1 -p ${proto} --dport ${port} ` +
      `-j MASQUERADE --to-ports ${T.masqPorts.join('-')}`
    const dnat = (front: number, port: number): string =>
      `-t nat -A PREROUTING -i r0 -d ${T.routerIn} -p tcp --dport ${front} ` +
      `-j DNAT --to-destination ${T.server}:${port}`
    await iptables(
      r,
      `${fwd(P.forwardDrop)} -j DROP`,
      `${fwd(P.forwardReject)} -j REJECT --reject-with icmp-port-unreachable`,
      `-A FORWARD -p tcp --sport ${P.synAckDrop} --tcp-flags SYN,ACK SYN,ACK -j DROP`,
      // Only the data segment after the first exchange is long enough.
      `${fwd(P.forgedReset)} -m length --length 300:2000 -j REJECT --reject-with tcp-reset`,
      `-A OUTPUT -d ${T.client2} -p icmp --icmp-type fragmentation-needed -j DROP`,
      masq('tcp', P.masquerade),
      masq('udp', P.udpMasquerade),
      dnat(T.dnatFront, P.dnat),
      dnat(T.dnatClosedFront, P.dnatClosed)
    )
    await ip6tables(
      r,
      `${fwd(P.forwardReject)} -j REJECT --reject-with icmp6-adm-prohibited`,
      `-A OUTPUT -d ${T.client6b} -p icmpv6 --icmpv6-type packet-too-big -j DROP`
    )
    const answerThenClose = (port: number, after: number, send: number): Service => ({
      proto: 'tcp',
      host: '::',
      port,
      answers: [{ after, send }],
      close: 'end'
    })
    await services(s, [
      answerThenClose(P.forwardReject, 1, 1),
      answerThenClose(P.synAckDrop, 1, 1),
      {
        proto: 'tcp',
        host: '::',
        port: P.pmtuOk,
        answers: [
          { after: T.hello, send: 2 },
          { after: T.hello + T.upload, send: 2 }
        ],
        close: 'end'
      },
      {
        proto: 'tcp',
        host: '::',
        port: P.pmtuBlackhole,
        answers: [
          { after: T.hello, send: 2 },
          { after: T.hello + T.upload, send: 2 }
        ],
        close: 'end'
      },
      answerThenClose(P.masquerade, T.request, T.reply),
      answerThenClose(P.dnat, T.request, T.reply),
      { proto: 'udp', host: T.server, port: P.udpMasquerade },
      {
        proto: 'tcp',
        host: '::',
        port: P.forgedReset,
        answers: [{ after: T.request, send: 2 }],
        close: 'keep'
      }
    ])
    // Resolve every neighbour on the way before capturing (the small pings fit the small link).
    await warmUp(c, T.server, T.client)
    await warmUp(c, T.server2, T.client2)
    await warmUp(c, T.server6, T.client6)
    await warmUp(c, T.server6b, T.client6b)

    const files = [
      'three/client/c0.pcap',
      'three/router/r0.pcap',
      'three/router/r1.pcap',
      'three/server/s0.pcap',
      'three-router-any.pcap'
    ]
    mkdirs(lab, files)
    const specs: Array<[Host, CaptureOptions]> = [
      [c, { file: files[0], ifaces: ['c0'] }],
      [r, { file: files[1], ifaces: ['r0'] }],
      [r, { file: files[2], ifaces: ['r1'] }],
      [s, { file: files[3], ifaces: ['s0'] }],
      [r, { file: files[4], ifaces: ['any'] }]
    ]
    const to = (
      host: string,
      port: number,
      steps: ScriptedClient['steps'],
      opts: { v6?: boolean; from?: string; timeoutMs?: number; portOf?: number } = {}
    ): ScriptedClient => ({
      host,
      port,
      localPort: clientPort(opts.portOf ?? port, opts.v6),
      // Chosen, not left to source address selection: the client has two of each family.
      localAddress: opts.from ?? (opts.v6 ? T.client6 : T.client),
      steps,
      timeoutMs: opts.timeoutMs ?? 2_000
    })
    const upload = [
      { send: T.hello, await: 2 },
      { send: T.upload, await: 4 }
    ]
    const { files: done, result } = await capturing(lab, specs, async () => {
      const [tcp, udp] = await Promise.all([
        allClients(c, {
          forwardDrop: to(T.server, P.forwardDrop, [], { timeoutMs: SYN.giveUpMs }),
          forwardReject: to(T.server, P.forwardReject, [{ send: 1, await: 1 }]),
          forwardReject6: to(T.server6, P.forwardReject, [{ send: 1, await: 1 }], { v6: true }),
          synAckDrop: to(T.server, P.synAckDrop, [{ send: 1, await: 1 }], {
            timeoutMs: SYN.giveUpMs
          }),
          pmtuOk: to(T.server, P.pmtuOk, upload),
          pmtuBlackhole: to(T.server2, P.pmtuBlackhole, upload, {
            from: T.client2,
            timeoutMs: T.stallMs
          }),
          pmtuOk6: to(T.server6, P.pmtuOk, upload, { v6: true }),
          pmtuBlackhole6: to(T.server6b, P.pmtuBlackhole, upload, {
            v6: true,
            from: T.client6b,
            timeoutMs: T.stallMs
          }),
          masquerade: to(T.server, P.masquerade, [{ send: T.request, await: T.reply }]),
          dnat: to(T.routerIn, T.dnatFront, [{ send: T.request, await: T.reply }], {
            portOf: P.dnat
          }),
          dnatClosed: to(T.routerIn, T.dnatClosedFront, [], { portOf: P.dnatClosed }),
          forgedReset: to(T.server, P.forgedReset, [
            { send: T.request, await: 2 },
            { send: T.trigger, await: 3 }
          ])
        }),
        udpExchange(c, {
          host: T.server,
          port: P.udpMasquerade,
          localPort: clientPort(P.udpMasquerade),
          payload: 'verdict',
          count: 2,
          waitMs: 300
        })
      ])
      return { tcp, udpMasquerade: udp.replies }
    })
    return {
      dir: lab.file('three'),
      client: done[0],
      routerIn: done[1],
      routerOut: done[2],
      server: done[3],
      routerAny: done[4],
      ...result
    }
  } finally {
    await lab.remove(c, r, s)
  }
}
