/**
 * Real-kernel captures of the basic outcomes between two namespaces: a completed handshake (in
 * four capture formats), a SYN into a logged DROP (with its NFLOG capture), RSTs, ICMP errors
 * and an answered ping. Every capture must read the same in Verdict as in tshark, and must show
 * exactly what the lab made happen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PacketRecord } from '../../src-main/engine/capture/packet-record'
import {
  decodeAll,
  icmpQuoting,
  labSkipReason,
  oracle,
  payload,
  requireCli,
  seconds,
  seqPlus,
  tcp,
  udp,
  type Decoded
} from './lab-checks'
import {
  DROP,
  HANDSHAKE,
  PAIR,
  RESET,
  UNREACH,
  dropScenario,
  handshakeScenario,
  pingScenario,
  resetScenario,
  unreachableScenario,
  type DropCaptures,
  type HandshakeCaptures,
  type ResetCaptures,
  type UnreachCaptures
} from './decode-scenarios'
import { fileMagic, pcapLinkType } from './lab-capture'
import { Lab } from './lab-host'

const FILES = [
  'handshakeEther',
  'handshakeAny',
  'handshakeNano',
  'handshakePcapng',
  'dropClient',
  'dropNflog',
  'resetClient',
  'resetAny',
  'unreachClient',
  'unreachServer',
  'pingClient'
] as const
type FileKey = (typeof FILES)[number]

const reason = labSkipReason('tcp outcomes')

describe.skipIf(reason !== undefined)(
  'kernel lab: TCP, UDP and ICMP outcomes between two hosts',
  () => {
    let lab: Lab
    let hs: HandshakeCaptures
    let drop: DropCaptures
    let reset: ResetCaptures
    let unreach: UnreachCaptures
    let files: Record<FileKey, string>
    let d: Record<FileKey, Decoded>

    beforeAll(async () => {
      requireCli()
      lab = new Lab()
      let ping: { client: string }
      ;[hs, drop, reset, unreach, ping] = await Promise.all([
        handshakeScenario(lab),
        dropScenario(lab),
        resetScenario(lab),
        unreachableScenario(lab),
        pingScenario(lab)
      ])
      files = {
        handshakeEther: hs.ether,
        handshakeAny: hs.any,
        handshakeNano: hs.nano,
        handshakePcapng: hs.pcapng,
        dropClient: drop.client,
        dropNflog: drop.nflog,
        resetClient: reset.client,
        resetAny: reset.any,
        unreachClient: unreach.client,
        unreachServer: unreach.server,
        pingClient: ping.client
      }
      d = await decodeAll(files)
    })

    afterAll(async () => {
      await lab?.close()
    })

    describe.each(FILES)('%s', (key) => {
      it('reads the same in Verdict as in tshark', async () => {
        const { frames, disagreements } = await oracle(files[key])
        expect(disagreements).toEqual([])
        expect(frames).toBeGreaterThan(0)
      })

      it('decodes without complaint', () => {
        expect(d[key].code).toBe(0)
        expect(d[key].stderr).toBe('')
        expect(d[key].records.filter((r) => r.problem !== undefined)).toEqual([])
      })
    })

    describe('a: completed handshake, 100 bytes up, 1000 down, FIN from both', () => {
      it('the client saw the whole exchange', () => {
        expect(hs.client).toEqual({
          connected: true,
          sent: HANDSHAKE.request,
          received: HANDSHAKE.reply,
          error: null
        })
      })

      it.each(['handshakeEther', 'handshakeAny', 'handshakeNano', 'handshakePcapng'] as const)(
        '%s shows handshake, data and both FINs',
        (key) => expectHandshake(d[key].records)
      )

      it('all four captures carry the same initial sequence numbers', () => {
        const isn = (k: FileKey): [number | undefined, number | undefined] => {
          const { syn, synAck } = conversation(d[k].records)
          return [syn.seq, synAck.seq]
        }
        const ether = isn('handshakeEther')
        for (const k of ['handshakeAny', 'handshakeNano', 'handshakePcapng'] as const)
          expect(isn(k)).toEqual(ether)
      })

      it('plain pcap on the veth: Ethernet, microseconds', () => {
        expect(fileMagic(hs.ether)).toBe('d4c3b2a1')
        expect(pcapLinkType(hs.ether)).toBe(1)
        for (const r of d.handshakeEther.records) expect(r.ts).toMatch(/\.\d{6}Z$/)
      })

      it('tcpdump --time-stamp-precision=nano: nanosecond pcap, 9 fractional digits', () => {
        expect(fileMagic(hs.nano)).toBe('4d3cb2a1')
        expect(pcapLinkType(hs.nano)).toBe(1)
        const recs = d.handshakeNano.records
        for (const r of recs) expect(r.ts).toMatch(/\.\d{9}Z$/)
        // Real nanoseconds, not microseconds padded with zeros.
        expect(recs.some((r) => !r.ts.endsWith('000Z'))).toBe(true)
      })

      it('tcpdump -i any: Linux cooked capture with direction and interface', () => {
        const linkType = pcapLinkType(hs.any)
        // SLL2 (276) on libpcap ≥ 1.10; SLL (113, no interface index) before.
        expect([113, 276]).toContain(linkType)
        const { up, down } = conversation(d.handshakeAny.records)
        for (const r of up) expect(r.dir).toBe('in')
        for (const r of down) expect(r.dir).toBe('out')
        // The ARP request for the server's address arrived as a broadcast.
        expect(
          d.handshakeAny.records.some((r) => r.proto === 'other' && r.dir === 'broadcast')
        ).toBe(true)
        if (linkType === 276) {
          for (const r of d.handshakeAny.records) expect(r.ifindex).toBe(hs.serverIfindex)
        }
      })

      it('dumpcap: pcapng with one interface', () => {
        expect(fileMagic(hs.pcapng)).toBe('0a0d0d0a')
        for (const r of d.handshakePcapng.records) expect(r.iface).toBe(0)
      })
    })

    describe('b: SYN into a logged nft DROP', () => {
      it('the client gave up unanswered', () => {
        expect(drop.result).toEqual({ connected: false, sent: 0, received: 0, error: 'timeout' })
      })

      it('the client capture shows retransmitted SYNs with one sequence number and no answer', () => {
        const recs = d.dropClient.records
        const syns = tcp(recs, PAIR.client, DROP.clientPort, PAIR.server, DROP.port)
        expect(syns.length).toBeGreaterThanOrEqual(DROP.syns)
        for (const s of syns)
          expect(s).toMatchObject({ tcpFlags: 'S', seq: syns[0].seq, ack: 0, df: true })
        // Retransmissions wait for the retransmission timeout: at least a second.
        for (let i = 1; i < syns.length; i++)
          expect(seconds(syns[i]) - seconds(syns[i - 1])).toBeGreaterThan(0.9)
        // Nothing came back: no TCP and no ICMP from the server.
        expect(recs.filter((r) => r.src === PAIR.server)).toEqual([])
        expect(recs.filter((r) => r.proto !== 'other')).toEqual(syns)
      })

      it('NFLOG group 5 holds each SYN twice: raw PREROUTING, then the dropping input rule', () => {
        expect(pcapLinkType(drop.nflog)).toBe(239)
        const syns = tcp(d.dropClient.records, PAIR.client, DROP.clientPort, PAIR.server, DROP.port)
        const logged = d.dropNflog.records
        expect(logged).toHaveLength(2 * syns.length)
        logged.forEach((r, i) => {
          const raw = i % 2 === 0
          expect(r).toMatchObject({
            nflogGroup: DROP.group,
            nflogPrefix: raw ? DROP.rawPrefix : DROP.dropPrefix,
            // NF_INET_PRE_ROUTING = 0, NF_INET_LOCAL_IN = 1.
            nflogHook: raw ? 0 : 1,
            proto: 'tcp',
            src: PAIR.client,
            dst: PAIR.server,
            sport: DROP.clientPort,
            dport: DROP.port,
            tcpFlags: 'S',
            seq: syns[0].seq,
            ipId: syns[Math.floor(i / 2)].ipId
          })
        })
      })
    })

    describe('c: RST from REJECT --reject-with tcp-reset and from a closed port', () => {
      it('both clients were refused', () => {
        expect(reset.rejected.error).toBe('ECONNREFUSED')
        expect(reset.closed.error).toBe('ECONNREFUSED')
      })

      it.each([
        ['REJECT tcp-reset', RESET.rejectClientPort, RESET.rejectPort],
        ['closed port', RESET.closedClientPort, RESET.closedPort]
      ])('%s: one SYN answered by R. with ack = SYN seq + 1', (_what, sport, dport) => {
        for (const k of ['resetClient', 'resetAny'] as const) {
          const recs = d[k].records
          const syns = tcp(recs, PAIR.client, sport, PAIR.server, dport)
          const answers = tcp(recs, PAIR.server, dport, PAIR.client, sport)
          expect(syns).toHaveLength(1)
          expect(syns[0].tcpFlags).toBe('S')
          expect(answers).toHaveLength(1)
          expect(answers[0]).toMatchObject({
            tcpFlags: 'R.',
            seq: 0,
            ack: seqPlus(syns[0].seq, 1),
            win: 0
          })
          expect(answers[0].n).toBeGreaterThan(syns[0].n)
          if (k === 'resetAny') {
            expect(syns[0].dir).toBe('in')
            expect(answers[0].dir).toBe('out')
          }
        }
      })
    })

    describe('d: ICMP destination unreachable', () => {
      it('the TCP clients got the matching errors', () => {
        expect(unreach.admin.error).toBe('EHOSTUNREACH')
        expect(unreach.rejected.error).toBe('ECONNREFUSED')
      })

      it.each([
        ['iptables REJECT', UNREACH.udpReject],
        ['closed port', UNREACH.udpClosed]
      ])('UDP into %s: port unreachable quoting the datagram', (_what, probe) => {
        for (const k of ['unreachClient', 'unreachServer'] as const) {
          const recs = d[k].records
          expect(udp(recs, PAIR.client, probe.clientPort, PAIR.server, probe.port)).toHaveLength(1)
          const errors = icmpQuoting(recs, probe.clientPort, probe.port)
          expect(errors).toHaveLength(1)
          expect(errors[0]).toMatchObject({
            proto: 'icmp',
            src: PAIR.server,
            dst: PAIR.client,
            icmpType: 3,
            icmpCode: 3,
            inner: {
              proto: 'udp',
              src: PAIR.client,
              dst: PAIR.server,
              sport: probe.clientPort,
              dport: probe.port
            }
          })
        }
      })

      it.each([
        ['nft reject with icmpx admin-prohibited', 13, UNREACH.tcpAdmin],
        ['iptables REJECT', 3, UNREACH.tcpReject]
      ])(
        'TCP into %s: one SYN, ICMP 3/%i quoting its ports and sequence number',
        (_what, code, probe) => {
          for (const k of ['unreachClient', 'unreachServer'] as const) {
            const recs = d[k].records
            const syns = tcp(recs, PAIR.client, probe.clientPort, PAIR.server, probe.port)
            expect(syns).toHaveLength(1)
            const errors = icmpQuoting(recs, probe.clientPort, probe.port)
            expect(errors).toHaveLength(1)
            expect(errors[0]).toMatchObject({
              proto: 'icmp',
              src: PAIR.server,
              dst: PAIR.client,
              icmpType: 3,
              icmpCode: code,
              inner: {
                proto: 'tcp',
                src: PAIR.client,
                dst: PAIR.server,
                sport: probe.clientPort,
                dport: probe.port,
                seq: syns[0].seq
              }
            })
            expect(tcp(recs, PAIR.server, probe.port, PAIR.client, probe.clientPort)).toEqual([])
          }
        }
      )
    })

    describe('g: ping answered', () => {
      it('three echo requests, each followed by its reply', () => {
        const icmp = d.pingClient.records.filter((r) => r.proto === 'icmp')
        expect(icmp.map((r) => [r.src, r.dst, r.icmpType, r.icmpCode])).toEqual(
          Array.from({ length: 3 }, () => [
            [PAIR.client, PAIR.server, 8, 0],
            [PAIR.server, PAIR.client, 0, 0]
          ]).flat()
        )
      })
    })
  }
)

/** The handshake conversation's two directions and its opening segments. */
function conversation(records: PacketRecord[]): {
  up: PacketRecord[]
  down: PacketRecord[]
  syn: PacketRecord
  synAck: PacketRecord
} {
  const up = tcp(records, PAIR.client, HANDSHAKE.clientPort, PAIR.server, HANDSHAKE.port)
  const down = tcp(records, PAIR.server, HANDSHAKE.port, PAIR.client, HANDSHAKE.clientPort)
  return { up, down, syn: up[0], synAck: down[0] }
}

function expectHandshake(records: PacketRecord[]): void {
  const { up, down, syn, synAck } = conversation(records)
  // No other TCP in the capture.
  expect(up.length + down.length).toBe(records.filter((r) => r.proto === 'tcp').length)
  expect(syn).toMatchObject({ tcpFlags: 'S', ack: 0 })
  expect(up.filter((r) => r.tcpFlags?.includes('S'))).toHaveLength(1)
  expect(synAck).toMatchObject({ tcpFlags: 'S.', ack: seqPlus(syn.seq, 1) })
  expect(down.filter((r) => r.tcpFlags?.includes('S'))).toHaveLength(1)
  expect(up[1]).toMatchObject({ seq: seqPlus(syn.seq, 1), ack: seqPlus(synAck.seq, 1) })
  expect(payload(up)).toBe(HANDSHAKE.request)
  expect(payload(down)).toBe(HANDSHAKE.reply)
  // The server closes first, after its data; the client's FIN follows; the server acks it last.
  const serverFin = down.filter((r) => r.tcpFlags?.includes('F'))
  const clientFin = up.filter((r) => r.tcpFlags?.includes('F'))
  expect(serverFin).toHaveLength(1)
  expect(clientFin).toHaveLength(1)
  expect(serverFin[0].seq).toBe(
    seqPlus(synAck.seq, 1 + HANDSHAKE.reply - (serverFin[0].payloadLen ?? 0))
  )
  expect(clientFin[0].seq).toBe(seqPlus(syn.seq, 1 + HANDSHAKE.request))
  expect(clientFin[0].ack).toBe(seqPlus(synAck.seq, 2 + HANDSHAKE.reply))
  const last = down[down.length - 1]
  expect(last).toMatchObject({ tcpFlags: '.', ack: seqPlus(syn.seq, 2 + HANDSHAKE.request) })
  expect(last.n).toBeGreaterThan(clientFin[0].n)
  expect([...up, ...down].filter((r) => r.tcpFlags?.includes('R'))).toEqual([])
}
