/**
 * Flow outcomes from real kernels, two hosts: every single-hop ending (SYN into DROP, RST from a
 * REJECT and from a closed port, ICMP errors of several kinds, SYN-ACKs dropped, a reset
 * mid-stream, UDP and ping answered or not, IPv4 and IPv6), captured at both ends and analysed
 * with `verdict analyze` as an incident folder. Counts are checked against tshark's reading of
 * the same captures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Flow, Incident } from '../../src-main/shared/incident'
import {
  analyze,
  countsOf,
  datagrams,
  flowOf,
  segments,
  sightings,
  tsharkFrames,
  type Frame
} from './flow-checks'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab } from './lab-host'
import { SYN, TWO, clientPort, twoHostScenario, type TwoHostCaptures } from './outcome-scenarios'

const reason = labSkipReason('flow outcomes, two hosts')
const P = TWO.port

describe.skipIf(reason !== undefined)('kernel lab: flow outcomes between two hosts', () => {
  let lab: Lab
  let caps: TwoHostCaptures
  /** `verdict analyze DIR`: client/c0.pcap and server/s0.pcap. */
  let inc: Incident
  /** The server point from tcpdump -i any instead of -i s0. */
  let anyOnly: Incident
  /** The server point from both files at once. */
  let both: Incident
  /** tshark's reading of the client's and the server's capture. */
  let client: Frame[]
  let server: Frame[]

  const tcp = (port: number, v6 = false): Flow =>
    flowOf(inc, {
      proto: 'tcp',
      src: v6 ? TWO.client6 : TWO.client,
      sport: clientPort(port, v6),
      dst: v6 ? TWO.server6 : TWO.server,
      dport: port
    })
  const udp = (port: number, v6 = false): Flow =>
    flowOf(inc, {
      proto: 'udp',
      src: v6 ? TWO.client6 : TWO.client,
      sport: clientPort(port, v6),
      dport: port
    })
  /** Retransmitted SYNs of a conversation, by tshark, at the client and at the server. */
  const synRetransmits = (port: number, v6 = false): [number, number] => [
    segments.syn(client, clientPort(port, v6)).length - 1,
    segments.syn(server, clientPort(port, v6)).length - 1
  ]

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    caps = await twoHostScenario(lab)
    ;[inc, anyOnly, both, client, server] = await Promise.all([
      analyze([caps.dir]),
      analyze([`client=${caps.client}`, `server=${caps.serverAny}`]),
      analyze([`client=${caps.client}`, `server=${caps.server}`, `server=${caps.serverAny}`]),
      tsharkFrames(caps.client),
      tsharkFrames(caps.server)
    ])
  })

  afterAll(async () => {
    await lab?.close()
  })

  describe('the incident', () => {
    it('has one capture point per host folder, named after the host', () => {
      expect(
        inc.inputs.map((i) => ({ ...i, path: i.path.slice(caps.dir.length + 1), records: 0 }))
      ).toEqual([
        {
          path: 'client/c0.pcap',
          kind: 'capture',
          format: 'pcap',
          host: 'client',
          point: 'client',
          records: 0,
          warnings: [],
          errors: []
        },
        {
          path: 'server/s0.pcap',
          kind: 'capture',
          format: 'pcap',
          host: 'server',
          point: 'server',
          records: 0,
          warnings: [],
          errors: []
        }
      ])
    })

    it('the kernel did what each conversation was set up for', () => {
      const t = caps.tcp
      expect(t.drop).toMatchObject({ connected: false, error: 'timeout' })
      expect(t.oneWay).toMatchObject({ connected: false, error: 'timeout' })
      for (const k of ['rejectRst', 'closed', 'portUnreachable', 'closed6', 'portUnreachable6'])
        expect(t[k as keyof typeof t], k).toMatchObject({ connected: false, error: 'ECONNREFUSED' })
      expect(t.hostProhibited).toMatchObject({ connected: false, error: 'EHOSTUNREACH' })
      expect(t.adminProhibited).toMatchObject({ connected: false, error: 'EHOSTUNREACH' })
      expect(t.adminProhibited6).toMatchObject({ connected: false, error: 'EACCES' })
      expect(t.resetMidstream).toMatchObject({ connected: true, error: 'ECONNRESET' })
      expect(t.ok).toMatchObject({ connected: true, received: TWO.reply, error: null })
      expect(caps.udp).toEqual({ closed: 0, dropped: 0, echo: TWO.datagrams, closed6: 0 })
      expect(caps.pings).toEqual({ answered: TWO.pings, dropped: 0, answered6: TWO.pings })
    })

    it('holds exactly the conversations made, each seen at both points', () => {
      const tuples = inc.flows.map(
        (f) => `${f.proto} ${f.src} ${f.sport ?? ''} > ${f.dst} ${f.dport ?? ''}`
      )
      const v4Ports: number[] = [P.drop, P.rejectRst, P.closed, P.portUnreachable]
      v4Ports.push(P.hostProhibited, P.adminProhibited, P.oneWay, P.resetMidstream, P.ok)
      const tcp4 = v4Ports.map((p) => `tcp ${TWO.client} ${clientPort(p)} > ${TWO.server} ${p}`)
      const tcp6 = [P.closed, P.portUnreachable, P.adminProhibited].map(
        (p) => `tcp ${TWO.client6} ${clientPort(p, true)} > ${TWO.server6} ${p}`
      )
      const udp = [P.udpClosed, P.udpDropped, P.udpEcho]
        .map((p) => `udp ${TWO.client} ${clientPort(p)} > ${TWO.server} ${p}`)
        .concat([
          `udp ${TWO.client6} ${clientPort(P.udpClosed, true)} > ${TWO.server6} ${P.udpClosed}`
        ])
      const echo = [
        `icmp ${TWO.client}  > ${TWO.server} `,
        `icmp ${TWO.client}  > ${TWO.silent} `,
        `icmpv6 ${TWO.client6}  > ${TWO.server6} `
      ]
      expect(tuples.sort()).toEqual([...tcp4, ...tcp6, ...udp, ...echo].sort())
      for (const f of inc.flows) expect(f.seenAt, f.id).toEqual(['client', 'server'])
    })
  })

  describe('syn-timeout: SYNs into DROP on the server INPUT', () => {
    it('counts the retransmitted SYNs the capture holds', () => {
      const f = tcp(P.drop)
      expect(f.outcome).toBe('syn-timeout')
      // tcpdump on the server sees each SYN before netfilter drops it.
      expect(synRetransmits(P.drop)).toEqual([SYN.retries, SYN.retries])
      expect(f.synRetransmits).toBe(SYN.retries)
      expect(f.packets).toBe(SYN.retries + 1)
      expect(f.synAckRetransmits).toBeUndefined()
      expect(f.rst).toBeUndefined()
      expect(f.icmp).toBeUndefined()
    })

    it('times the retransmissions as the capture does, on the kernel back-off (1 s, 3 s)', () => {
      const f = tcp(P.drop)
      const times = segments.syn(client, clientPort(P.drop)).map((s) => s.time)
      const measured = times.slice(1).map((t) => t - times[0])
      expect(f.synRetransmitOffsets).toHaveLength(measured.length)
      f.synRetransmitOffsets!.forEach((o, i) => {
        expect(o).toBeCloseTo(measured[i], 2)
        expect(Math.abs(o - SYN.offsets[i])).toBeLessThan(0.25)
      })
    })

    it('places the SYN at both points, naming the frames', () => {
      const f = tcp(P.drop)
      expect(sightings(f, 'syn')).toEqual({ seenAt: ['client', 'server'], missingAt: [] })
      const first = (frames: Frame[]): number => segments.syn(frames, clientPort(P.drop))[0].n
      expect(f.keyPackets?.find((k) => k.what === 'syn')?.frames).toEqual([
        `client:c0.pcap#${first(client)}`,
        `server:s0.pcap#${first(server)}`
      ])
    })
  })

  describe.each([
    { what: 'REJECT --reject-with tcp-reset', port: P.rejectRst, v6: false },
    { what: 'a closed port', port: P.closed, v6: false },
    { what: 'a closed port over IPv6', port: P.closed, v6: true }
  ])('refused-rst: $what', ({ port, v6 }) => {
    it('is the responder refusing the SYN', () => {
      const f = tcp(port, v6)
      expect(f.outcome).toBe('refused-rst')
      expect(f.rst).toMatchObject({ by: 'responder', answeredSyn: true })
      expect(f.synRetransmits).toBe(synRetransmits(port, v6)[0])
      expect(f.packets).toBe(segments.all(client, clientPort(port, v6)).length)
      expect(sightings(f, 'rst')).toEqual({ seenAt: ['client', 'server'], missingAt: [] })
    })
  })

  describe.each([
    { what: 'REJECT icmp-port-unreachable', port: P.portUnreachable, v6: false, type: 3, code: 3 },
    { what: 'REJECT icmp-host-prohibited', port: P.hostProhibited, v6: false, type: 3, code: 10 },
    {
      what: 'nft reject icmpx admin-prohibited',
      port: P.adminProhibited,
      v6: false,
      type: 3,
      code: 13
    },
    {
      what: 'ip6tables REJECT icmp6-port-unreachable',
      port: P.portUnreachable,
      v6: true,
      type: 1,
      code: 4
    },
    {
      what: 'nft icmpx admin-prohibited over IPv6',
      port: P.adminProhibited,
      v6: true,
      type: 1,
      code: 1
    }
  ])('icmp-unreachable: $what', ({ port, v6, type, code }) => {
    it(`keeps ICMP type ${type} code ${code} from the destination, quoting the SYN`, () => {
      const f = tcp(port, v6)
      expect(f.outcome).toBe('icmp-unreachable')
      expect(f.icmp).toEqual({
        type,
        code,
        from: v6 ? TWO.server6 : TWO.server,
        sender: 'destination',
        quoted: 'syn',
        time: expect.any(String)
      })
      expect(f.rst).toBeUndefined()
      // The kernel may retry once when the error reaches a socket its caller still holds.
      expect(f.synRetransmits).toBe(synRetransmits(port, v6)[0])
      expect(sightings(f, 'icmp')).toEqual({ seenAt: ['client', 'server'], missingAt: [] })
      expect(f.packets).toBe(segments.all(client, clientPort(port, v6)).length)
    })
  })

  describe("one-way: the client's INPUT drops the SYN-ACKs", () => {
    it('is one-way, with the server retransmitting its SYN-ACK', () => {
      const f = tcp(P.oneWay)
      expect(f.outcome).toBe('one-way')
      const synAcks = segments.synAck(server, clientPort(P.oneWay)).length
      expect(synAcks).toBeGreaterThan(1)
      expect(f.synAckRetransmits).toBe(synAcks - 1)
      expect(f.synRetransmits).toBe(SYN.retries)
    })

    it('places the SYN-ACK at the server, and at the client (tcpdump runs before INPUT)', () => {
      expect(segments.synAck(client, clientPort(P.oneWay)).length).toBe(
        segments.synAck(server, clientPort(P.oneWay)).length
      )
      expect(sightings(tcp(P.oneWay), 'syn-ack')).toEqual({
        seenAt: ['client', 'server'],
        missingAt: []
      })
    })
  })

  describe('reset-midstream: the server aborts after the request', () => {
    it('is a reset by the responder after the handshake', () => {
      const f = tcp(P.resetMidstream)
      expect(f.outcome).toBe('reset-midstream')
      expect(f.rst).toMatchObject({ by: 'responder', answeredSyn: false })
      expect(f.handshakeRttSec).toBeGreaterThan(0)
      expect(segments.rst(client, clientPort(P.resetMidstream)).length).toBe(1)
      expect(sightings(f, 'rst')).toEqual({ seenAt: ['client', 'server'], missingAt: [] })
      expect(f.packets).toBe(segments.all(client, clientPort(P.resetMidstream)).length)
    })
  })

  describe('established: request and reply, closed by both', () => {
    it('is established and complete', () => {
      const f = tcp(P.ok)
      expect(f.outcome).toBe('established')
      expect(f.partial).toBeUndefined()
      expect(f.rst).toBeUndefined()
      expect(f.synRetransmits).toBe(0)
      expect(f.synAckRetransmits).toBe(0)
      expect(f.packets).toBe(segments.all(client, clientPort(P.ok)).length)
    })
  })

  describe('UDP', () => {
    it.each([
      { v6: false, type: 3, code: 3 },
      { v6: true, type: 1, code: 4 }
    ])(
      'to a closed port (IPv6 $v6): icmp-unreachable $type/$code quoting the datagram',
      ({ v6, type, code }) => {
        const f = udp(P.udpClosed, v6)
        expect(f.outcome).toBe('icmp-unreachable')
        expect(f.icmp).toMatchObject({
          type,
          code,
          from: v6 ? TWO.server6 : TWO.server,
          sender: 'destination',
          quoted: 'datagram'
        })
        // Each datagram and its error: tshark finds the quoted UDP header in the error too.
        expect(f.packets).toBe(2 * TWO.datagrams)
        expect(datagrams(client, clientPort(P.udpClosed, v6)).length).toBe(2 * TWO.datagrams)
      }
    )

    it('into a DROP: unanswered', () => {
      const f = udp(P.udpDropped)
      expect(f.outcome).toBe('unanswered')
      expect(f.icmp).toBeUndefined()
      expect(f.packets).toBe(TWO.datagrams)
    })

    it('to an echo server: answered', () => {
      const f = udp(P.udpEcho)
      expect(f.outcome).toBe('answered')
      expect(f.packets).toBe(2 * TWO.datagrams)
    })
  })

  describe('ping', () => {
    it.each([
      { v6: false, dst: TWO.server },
      { v6: true, dst: TWO.server6 }
    ])('answered (IPv6 $v6): every request has its reply', ({ v6, dst }) => {
      const f = flowOf(inc, { proto: v6 ? 'icmpv6' : 'icmp', dst })
      expect(f).toMatchObject({
        outcome: 'answered',
        requests: TWO.pings,
        replies: TWO.pings,
        packets: 2 * TWO.pings
      })
    })

    it('dropped on the server INPUT: unanswered, every request seen at the server', () => {
      const f = flowOf(inc, { proto: 'icmp', dst: TWO.silent })
      expect(f).toMatchObject({
        outcome: 'unanswered',
        requests: TWO.pings,
        replies: 0,
        packets: TWO.pings,
        seenAt: ['client', 'server']
      })
    })
  })

  describe('the server captured with -i any', () => {
    const byTuple = (i: Incident): Array<Record<string, unknown>> =>
      i.flows.map(countsOf).sort((a, b) => (String(a.tuple) < String(b.tuple) ? -1 : 1))

    it('alone, gives the same flows and counts as -i s0', () => {
      expect(byTuple(anyOnly)).toEqual(byTuple(inc))
    })

    it('with -i s0 in the same host folder, counts each packet once', () => {
      expect(both.inputs.filter((i) => i.point === 'server')).toHaveLength(2)
      expect(byTuple(both)).toEqual(byTuple(inc))
    })
  })
})
