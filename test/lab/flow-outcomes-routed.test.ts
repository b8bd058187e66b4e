/**
 * Flow outcomes from real kernels across a router: client — router — server, captured at all
 * three (the router on both its interfaces, one capture point) and analysed with `verdict
 * analyze` as an incident folder. The router's FORWARD chain drops SYNs, rejects them and drops
 * SYN-ACKs; its 1300-byte link to the server makes the client's large segments need path MTU
 * discovery, with the frag-needed / packet-too-big errors delivered or dropped; it translates
 * addresses (MASQUERADE, DNAT) and forges a RST mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Flow, Incident } from '../../src-main/shared/incident'
import {
  analyze,
  countsOf,
  datagrams,
  flowOf,
  flowsWhere,
  segments,
  sightings,
  tsharkFrames,
  type Frame
} from './flow-checks'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab } from './lab-host'
import {
  SYN,
  THREE,
  clientPort,
  threeHostScenario,
  type ThreeHostCaptures
} from './outcome-scenarios'

const reason = labSkipReason('flow outcomes, three hosts')
const T = THREE
const P = T.port

describe.skipIf(reason !== undefined)('kernel lab: flow outcomes across a router', () => {
  let lab: Lab
  let caps: ThreeHostCaptures
  /** `verdict analyze DIR`: client/c0.pcap, router/r0.pcap + router/r1.pcap, server/s0.pcap. */
  let inc: Incident
  /** The client's and the server's captures only. */
  let ends: Incident
  /** The router point from tcpdump -i any instead of -i r0 and -i r1. */
  let routerAny: Incident
  /** The router point from all three of its captures. */
  let routerAll: Incident
  /** tshark's reading of each capture. */
  const fr = {} as Record<'client' | 'routerIn' | 'routerOut' | 'server', Frame[]>

  /** The flow opened from the client's port for `port` (IPv6: 42xxx). */
  const tcp = (port: number, v6 = false, i: Incident = inc): Flow =>
    flowOf(i, { proto: 'tcp', sport: clientPort(port, v6) })

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    caps = await threeHostScenario(lab)
    const c = `client=${caps.client}`
    const s = `server=${caps.server}`
    ;[inc, ends, routerAny, routerAll, fr.client, fr.routerIn, fr.routerOut, fr.server] =
      await Promise.all([
        analyze([caps.dir]),
        analyze([c, s]),
        analyze([c, `router=${caps.routerAny}`, s]),
        analyze([
          c,
          `router=${caps.routerIn}`,
          `router=${caps.routerOut}`,
          `router=${caps.routerAny}`,
          s
        ]),
        tsharkFrames(caps.client),
        tsharkFrames(caps.routerIn),
        tsharkFrames(caps.routerOut),
        tsharkFrames(caps.server)
      ])
  })

  afterAll(async () => {
    await lab?.close()
  })

  describe('the incident', () => {
    it('has one capture point per host folder; the router point holds both its captures', () => {
      expect(
        inc.inputs.map((i) => [i.path.slice(caps.dir.length + 1), i.host, i.point, i.errors])
      ).toEqual([
        ['client/c0.pcap', 'client', 'client', []],
        ['router/r0.pcap', 'router', 'router', []],
        ['router/r1.pcap', 'router', 'router', []],
        ['server/s0.pcap', 'server', 'server', []]
      ])
    })

    it('the kernel did what each conversation was set up for', () => {
      const t = caps.tcp
      expect(t.forwardDrop).toMatchObject({ connected: false, error: 'timeout' })
      expect(t.forwardReject).toMatchObject({ connected: false, error: 'ECONNREFUSED' })
      expect(t.forwardReject6).toMatchObject({ connected: false, error: 'EACCES' })
      expect(t.synAckDrop).toMatchObject({ connected: false, error: 'timeout' })
      for (const k of ['pmtuOk', 'pmtuOk6'] as const)
        expect(t[k], k).toMatchObject({ connected: true, sent: T.hello + T.upload, received: 4 })
      for (const k of ['pmtuBlackhole', 'pmtuBlackhole6'] as const)
        expect(t[k], k).toMatchObject({ connected: true, received: 2, error: 'timeout' })
      expect(t.masquerade).toMatchObject({ received: T.reply, error: null })
      expect(t.dnat).toMatchObject({ received: T.reply, error: null })
      expect(t.dnatClosed).toMatchObject({ connected: false, error: 'ECONNREFUSED' })
      expect(t.forgedReset).toMatchObject({ connected: true, received: 2, error: 'ECONNRESET' })
      expect(caps.udpMasquerade).toBe(2)
    })
  })

  describe("syn-timeout: DROP in the router's FORWARD", () => {
    it('counts the SYNs, which reached the router and never the server', () => {
      const f = tcp(P.forwardDrop)
      const port = clientPort(P.forwardDrop)
      expect(f.outcome).toBe('syn-timeout')
      expect(segments.syn(fr.client, port)).toHaveLength(SYN.retries + 1)
      expect(segments.syn(fr.routerIn, port)).toHaveLength(SYN.retries + 1)
      expect(segments.all(fr.server, port)).toHaveLength(0)
      expect(f.synRetransmits).toBe(SYN.retries)
      f.synRetransmitOffsets!.forEach((o, i) =>
        expect(Math.abs(o - SYN.offsets[i])).toBeLessThan(0.25)
      )
      expect(f.seenAt).toEqual(['client', 'router'])
      expect(sightings(f, 'syn')?.seenAt).toEqual(['client', 'router'])
    })

    it('says the SYN is missing at the server', () => {
      expect(sightings(tcp(P.forwardDrop), 'syn')?.missingAt).toEqual(['server'])
    })
  })

  describe.each([
    { v6: false, type: 3, code: 3, from: T.routerIn },
    { v6: true, type: 1, code: 1, from: T.routerIn6 }
  ])("icmp-unreachable: REJECT in the router's FORWARD (IPv6 $v6)", ({ v6, type, code, from }) => {
    it(`keeps ${type}/${code} from the router, quoting the SYN`, () => {
      const f = tcp(P.forwardReject, v6)
      expect(f.outcome).toBe('icmp-unreachable')
      expect(f.icmp).toEqual({
        type,
        code,
        from,
        sender: 'router',
        quoted: 'syn',
        time: expect.any(String)
      })
      expect(f.seenAt).toEqual(['client', 'router'])
      expect(sightings(f, 'icmp')?.seenAt).toEqual(['client', 'router'])
      expect(segments.all(fr.server, clientPort(P.forwardReject, v6))).toHaveLength(0)
      expect(f.synRetransmits).toBe(
        segments.syn(fr.client, clientPort(P.forwardReject, v6)).length - 1
      )
    })
  })

  describe("one-way: SYN-ACKs dropped in the router's FORWARD", () => {
    it('is one-way, the server retransmitting SYN-ACKs the client never got', () => {
      const f = tcp(P.synAckDrop)
      const port = clientPort(P.synAckDrop)
      expect(f.outcome).toBe('one-way')
      const synAcks = segments.synAck(fr.server, port).length
      expect(synAcks).toBeGreaterThan(1)
      expect(segments.synAck(fr.routerOut, port)).toHaveLength(synAcks)
      expect(segments.synAck(fr.client, port)).toHaveLength(0)
      expect(f.synAckRetransmits).toBe(synAcks - 1)
      expect(f.synRetransmits).toBe(SYN.retries)
    })

    it('places the SYN-ACK at the router and the server, missing at the client', () => {
      const f = tcp(P.synAckDrop)
      expect(f.seenAt).toEqual(['client', 'router', 'server'])
      expect(sightings(f, 'syn')).toEqual({
        seenAt: ['client', 'router', 'server'],
        missingAt: []
      })
      expect(sightings(f, 'syn-ack')).toEqual({
        seenAt: ['router', 'server'],
        missingAt: ['client']
      })
    })
  })

  describe.each([
    { v6: false, headers: 40, src: T.client2 },
    { v6: true, headers: 60, src: T.client6b }
  ])(
    'stalled: frag-needed / packet-too-big dropped on the router (IPv6 $v6)',
    ({ v6, headers, src }) => {
      const port = clientPort(P.pmtuBlackhole, v6)
      /** The client's data segment sent most often, and how often, by tshark. */
      const mostSent = (): { len: number; sends: number } => {
        const bySeq = new Map<number, { len: number; sends: number }>()
        for (const s of segments.data(fr.client, port)) {
          const e = bySeq.get(s.tcp!.seq) ?? { len: s.tcp!.len, sends: 0 }
          e.sends++
          bySeq.set(s.tcp!.seq, e)
        }
        return [...bySeq.values()].reduce((a, b) => (b.sends > a.sends ? b : a))
      }

      it('the capture shows the black hole: full-sized segments resent, no ICMP back', () => {
        const stuck = mostSent()
        expect(stuck.sends).toBeGreaterThanOrEqual(3)
        expect(stuck.len + headers).toBeGreaterThan(T.mtu)
        expect(segments.all(fr.client, port).filter((f) => f.icmp)).toHaveLength(0)
        // Only the request got through to the server.
        expect(segments.data(fr.server, port).map((s) => s.tcp!.len)).toEqual([T.hello])
      })

      it('is stalled on a DF segment larger than the path allows', () => {
        const f = flowOf(inc, { proto: 'tcp', src, sport: port })
        const stuck = mostSent()
        expect(f.outcome).toBe('stalled')
        expect(f.icmp).toBeUndefined()
        expect(f.data).toMatchObject({
          stuckDf: true,
          stuckPayload: stuck.len,
          stuckRetransmits: stuck.sends - 1,
          maxAckedPayload: T.hello
        })
        expect(f.data!.stuckPayload!).toBeGreaterThan(T.mtu - headers)
        expect(f.data!.maxAckedPayload).toBeLessThan(T.mtu - headers)
        expect(f.data!.pathMtu).toBeUndefined()
      })

      it('places the retransmissions at the client and the router, missing at the server', () => {
        const f = flowOf(inc, { proto: 'tcp', src, sport: port })
        expect(f.seenAt).toEqual(['client', 'router', 'server'])
        expect(sightings(f, 'data-retransmit')).toEqual({
          seenAt: ['client', 'router'],
          missingAt: ['server']
        })
      })
    }
  )

  describe.each([
    { v6: false, type: 3, code: 4, from: T.routerIn, headers: 40 },
    { v6: true, type: 2, code: 0, from: T.routerIn6, headers: 60 }
  ])(
    'established: frag-needed / packet-too-big delivered (IPv6 $v6)',
    ({ v6, type, code, from, headers }) => {
      const port = clientPort(P.pmtuOk, v6)

      it(`is established, with the router's ${type}/${code} and the path MTU`, () => {
        const f = tcp(P.pmtuOk, v6)
        expect(f.outcome).toBe('established')
        expect(f.icmp).toEqual({
          type,
          code,
          mtu: T.mtu,
          from,
          sender: 'router',
          quoted: 'data',
          time: expect.any(String)
        })
        expect(f.data?.pathMtu).toBe(T.mtu)
        expect(sightings(f, 'icmp')).toEqual({
          seenAt: ['client', 'router'],
          missingAt: ['server']
        })
        // The client resent the data in segments that fit.
        const arrived = Math.max(...segments.data(fr.server, port).map((s) => s.tcp!.len))
        expect(arrived).toBe(T.mtu - headers - 12)
      })

      it('reports the largest acknowledged payload the server really received', () => {
        const arrived = Math.max(...segments.data(fr.server, port).map((s) => s.tcp!.len))
        expect(tcp(P.pmtuOk, v6).data?.maxAckedPayload).toBe(arrived)
      })
    }
  )

  describe('NAT, captured at the client and the server', () => {
    /** The client port the server saw for a MASQUERADEd conversation, by tshark. */
    const masqPort = (dport: number): number => {
      const syn = fr.server.find(
        (f) => !f.icmp && f.tcp?.dport === dport && f.tcp.syn && !f.tcp.ack
      )
      const dgram = fr.server.find((f) => f.udp?.dport === dport)
      const port = syn?.tcp?.sport ?? dgram?.udp?.sport
      if (port === undefined) throw new Error(`the server saw nothing to port ${dport}`)
      return port
    }

    it('MASQUERADE, TCP: one established flow with the source translated', () => {
      expect(flowsWhere(ends, { proto: 'tcp', dport: P.masquerade })).toHaveLength(1)
      const f = tcp(P.masquerade, false, ends)
      const outside = masqPort(P.masquerade)
      expect(outside).toBeGreaterThanOrEqual(T.masqPorts[0])
      expect(outside).toBeLessThanOrEqual(T.masqPorts[1])
      expect(f.outcome).toBe('established')
      expect(f.seenAt).toEqual(['client', 'server'])
      expect(f.nat?.points).toEqual({
        client: {
          src: T.client,
          sport: clientPort(P.masquerade),
          dst: T.server,
          dport: P.masquerade
        },
        server: { src: T.routerOut, sport: outside, dst: T.server, dport: P.masquerade }
      })
      expect(f.nat?.from).toBe(
        `${T.client}:${clientPort(P.masquerade)} > ${T.server}:${P.masquerade}`
      )
      expect(f.nat?.to).toBe(`${T.routerOut}:${outside} > ${T.server}:${P.masquerade}`)
    })

    it('MASQUERADE, UDP: one answered flow with the source translated', () => {
      expect(flowsWhere(ends, { proto: 'udp', dport: P.udpMasquerade })).toHaveLength(1)
      const f = flowOf(ends, { proto: 'udp', sport: clientPort(P.udpMasquerade) })
      expect(f.outcome).toBe('answered')
      expect(f.seenAt).toEqual(['client', 'server'])
      expect(f.packets).toBe(datagrams(fr.client, clientPort(P.udpMasquerade)).length)
      expect(f.nat?.points).toEqual({
        client: {
          src: T.client,
          sport: clientPort(P.udpMasquerade),
          dst: T.server,
          dport: P.udpMasquerade
        },
        server: {
          src: T.routerOut,
          sport: masqPort(P.udpMasquerade),
          dst: T.server,
          dport: P.udpMasquerade
        }
      })
    })

    it('DNAT to a listener: one established flow with the destination translated', () => {
      const f = tcp(P.dnat, false, ends)
      expect(f.outcome).toBe('established')
      expect(f.seenAt).toEqual(['client', 'server'])
      expect(f).toMatchObject({ src: T.client, dst: T.routerIn, dport: T.dnatFront })
      expect(f.nat?.points).toEqual({
        client: { src: T.client, sport: clientPort(P.dnat), dst: T.routerIn, dport: T.dnatFront },
        server: { src: T.client, sport: clientPort(P.dnat), dst: T.server, dport: P.dnat }
      })
    })

    it('DNAT to a closed port: one refused flow with the destination translated', () => {
      const f = tcp(P.dnatClosed, false, ends)
      expect(f.outcome).toBe('refused-rst')
      expect(f.rst).toMatchObject({ by: 'responder', answeredSyn: true })
      expect(f.seenAt).toEqual(['client', 'server'])
      expect(f.nat?.points.server).toEqual({
        src: T.client,
        sport: clientPort(P.dnatClosed),
        dst: T.server,
        dport: P.dnatClosed
      })
    })
  })

  describe('NAT, the router captured on both sides too', () => {
    it('MASQUERADE: the client-side conversation is followed through all three points', () => {
      const f = tcp(P.masquerade)
      expect(f.outcome).toBe('established')
      expect(f.seenAt).toEqual(['client', 'router', 'server'])
      expect(f.nat?.points.server).toMatchObject({ src: T.routerOut, dst: T.server })
    })

    it('gives one flow per translated conversation', () => {
      const touching = (proto: 'tcp' | 'udp', ports: number[]): Flow[] =>
        inc.flows.filter(
          (f) => f.proto === proto && (ports.includes(f.dport ?? 0) || ports.includes(f.sport ?? 0))
        )
      expect(touching('tcp', [P.masquerade])).toHaveLength(1)
      expect(touching('tcp', [T.dnatFront, P.dnat])).toHaveLength(1)
      expect(touching('tcp', [T.dnatClosedFront, P.dnatClosed])).toHaveLength(1)
      expect(touching('udp', [P.udpMasquerade])).toHaveLength(1)
      expect(flowOf(inc, { proto: 'udp', sport: clientPort(P.udpMasquerade) }).nat).toBeDefined()
    })
  })

  describe("reset-midstream: the router's FORWARD answers a data segment with tcp-reset", () => {
    const port = clientPort(P.forgedReset)

    it('is a reset in the responder’s name that the responder never sent', () => {
      const f = tcp(P.forgedReset)
      expect(f.outcome).toBe('reset-midstream')
      expect(f.rst).toMatchObject({ by: 'responder', answeredSyn: false })
      expect(segments.rst(fr.client, port)).toHaveLength(1)
      expect(segments.all(fr.server, port).filter((s) => s.tcp?.rst)).toHaveLength(0)
      expect(sightings(f, 'rst')).toEqual({ seenAt: ['client', 'router'], missingAt: ['server'] })
    })

    it("gives the forged RST's TTL next to the server's usual one", () => {
      const f = tcp(P.forgedReset)
      const [rst] = segments.rst(fr.client, port)
      const usual = segments.toClient(fr.client, port).find((s) => !s.tcp?.rst)
      // The router made it (64), the server's own packets crossed the router (63).
      expect(rst.ttl).toBe(64)
      expect(usual?.ttl).toBe(63)
      expect(f.rst).toMatchObject({ ttl: rst.ttl, usualTtl: usual?.ttl })
    })
  })

  describe('the router captured with -i any', () => {
    const byTuple = (i: Incident): Array<Record<string, unknown>> =>
      i.flows.map(countsOf).sort((a, b) => (String(a.tuple) < String(b.tuple) ? -1 : 1))

    it('alone, gives the same flows and counts as -i r0 and -i r1', () => {
      expect(byTuple(routerAny)).toEqual(byTuple(inc))
    })

    it('with -i r0 and -i r1 in the same point, counts each packet once', () => {
      expect(byTuple(routerAll)).toEqual(byTuple(inc))
    })
  })
})
