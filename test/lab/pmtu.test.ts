/**
 * Path MTU discovery across a real router namespace: client — router — server, where the router's
 * side of the second link is small (1300 for IPv4, 1280 for IPv6). The client's full-sized DF
 * segments reach the router, which answers with frag-needed / packet-too-big; the client then
 * sends smaller segments and the transfer completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PacketRecord } from '../../src-main/engine/capture/packet-record'
import {
  decodeAll,
  labSkipReason,
  oracle,
  requireCli,
  seqPlus,
  tcp,
  type Decoded
} from './lab-checks'
import {
  ROUTED,
  fragNeededScenario,
  packetTooBigScenario,
  type RoutedCaptures
} from './decode-scenarios'
import { fileMagic, pcapLinkType } from './lab-capture'
import { Lab } from './lab-host'

const reason = labSkipReason('path MTU')

const FAMILIES = {
  v4: { proto: 'icmp', type: 3, code: 4, ...ROUTED.v4 },
  v6: { proto: 'icmpv6', type: 2, code: 0, ...ROUTED.v6 }
} as const
type Family = keyof typeof FAMILIES
type FileKey = 'client' | 'router' | 'routerAny'

describe.skipIf(reason !== undefined)('kernel lab: path MTU discovery through a router', () => {
  let lab: Lab
  const caps = {} as Record<Family, RoutedCaptures>
  const dec = {} as Record<Family, Record<FileKey, Decoded>>

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    ;[caps.v4, caps.v6] = await Promise.all([fragNeededScenario(lab), packetTooBigScenario(lab)])
    for (const f of ['v4', 'v6'] as const) {
      const { client, router, routerAny } = caps[f]
      dec[f] = await decodeAll({ client, router, routerAny })
    }
  })

  afterAll(async () => {
    await lab?.close()
  })

  describe.each(['v4', 'v6'] as const)('%s', (fam) => {
    const F = FAMILIES[fam]
    const up = (recs: PacketRecord[]): PacketRecord[] =>
      tcp(recs, F.client, F.clientPort, F.server, F.port)
    const down = (recs: PacketRecord[]): PacketRecord[] =>
      tcp(recs, F.server, F.port, F.client, F.clientPort)
    const errors = (recs: PacketRecord[]): PacketRecord[] =>
      recs.filter((r) => r.proto === F.proto && r.icmpType === F.type)

    it.each(['client', 'router', 'routerAny'] as const)(
      '%s capture reads the same in Verdict as in tshark',
      async (k) => {
        const { frames, disagreements } = await oracle(caps[fam][k])
        expect(disagreements).toEqual([])
        expect(frames).toBeGreaterThan(0)
        expect(dec[fam][k].code).toBe(0)
        expect(dec[fam][k].stderr).toBe('')
        expect(dec[fam][k].records.filter((r) => r.problem !== undefined)).toEqual([])
      }
    )

    it('the transfer completed', () => {
      expect(caps[fam].result).toEqual({
        connected: true,
        sent: ROUTED.send,
        received: ROUTED.reply,
        error: null
      })
      const recs = dec[fam].client.records
      const isn = up(recs)[0].seq
      expect(down(recs).some((r) => r.ack === seqPlus(isn, 1 + ROUTED.send))).toBe(true)
    })

    it(`the router answered oversized segments with ${F.proto} type ${F.type} code ${F.code}, mtu ${F.mtu}`, () => {
      const recs = dec[fam].client.records
      const big = up(recs).filter((r) => ipLength(r, 1) > F.mtu)
      expect(big.length).toBeGreaterThan(0)
      if (fam === 'v4') for (const r of big) expect(r.df).toBe(true)
      const errs = errors(recs)
      expect(errs.length).toBeGreaterThan(0)
      for (const e of errs) {
        expect(e).toMatchObject({
          src: F.routerIn,
          dst: F.client,
          icmpCode: F.code,
          mtu: F.mtu,
          // The router made it: one hop away, not decremented.
          ttl: 64,
          inner: { proto: 'tcp', src: F.client, dst: F.server, sport: F.clientPort, dport: F.port }
        })
        // It quotes a full-sized segment the client sent just before.
        expect(big.some((b) => b.seq === e.inner?.seq && b.n < e.n)).toBe(true)
      }
    })

    it('after the last error the client only sends segments that fit', () => {
      const recs = dec[fam].client.records
      const last = Math.max(...errors(recs).map((e) => e.n))
      const after = up(recs).filter((r) => r.n > last)
      expect(after.length).toBeGreaterThan(0)
      for (const r of after) expect(ipLength(r, 1)).toBeLessThanOrEqual(F.mtu)
    })

    it('dumpcap on r0 and r1: pcapng with two interfaces, errors leave by r0, only small segments by r1', () => {
      const file = caps[fam].router
      expect(fileMagic(file)).toBe('0a0d0d0a')
      const recs = dec[fam].router.records
      expect(new Set(recs.map((r) => r.iface))).toEqual(new Set([0, 1]))
      const errs = errors(recs)
      // The same errors as the client received, all on r0.
      expect(errs.map((e) => [e.iface, e.inner?.seq])).toEqual(
        errors(dec[fam].client.records).map((e) => [0, e.inner?.seq])
      )
      const fwd = up(recs).filter((r) => r.iface === 1)
      expect(fwd.length).toBeGreaterThan(0)
      for (const r of fwd) {
        expect(ipLength(r, 1)).toBeLessThanOrEqual(F.mtu)
        expect(r.ttl).toBe(63)
      }
      for (const r of up(recs).filter((x) => x.iface === 0)) expect(r.ttl).toBe(64)
      expect(
        up(recs).filter((r) => r.iface === 0 && ipLength(r, 1) > F.mtu).length
      ).toBeGreaterThan(0)
    })

    it('tcpdump -i any on the router: direction and interface of every hop', () => {
      const file = caps[fam].routerAny
      const linkType = pcapLinkType(file)
      expect([113, 276]).toContain(linkType)
      const recs = dec[fam].routerAny.records
      const { r0, r1 } = caps[fam].ifindex
      const withIndex = linkType === 276
      for (const e of errors(recs))
        expect(e).toMatchObject({ dir: 'out', ...(withIndex ? { ifindex: r0 } : {}) })
      const arriving = up(recs).filter((r) => r.ttl === 64)
      const leaving = up(recs).filter((r) => r.ttl === 63)
      for (const r of arriving)
        expect(r).toMatchObject({ dir: 'in', ...(withIndex ? { ifindex: r0 } : {}) })
      for (const r of leaving) {
        expect(r).toMatchObject({ dir: 'out', ...(withIndex ? { ifindex: r1 } : {}) })
        expect(ipLength(r, linkType)).toBeLessThanOrEqual(F.mtu)
      }
      expect(arriving.length + leaving.length).toBe(up(recs).length)
      // Exactly what dumpcap saw leave by r1.
      expect(leaving.map((r) => r.seq)).toEqual(
        up(dec[fam].router.records)
          .filter((r) => r.iface === 1)
          .map((r) => r.seq)
      )
    })

    if (fam === 'v6') {
      it('two pings across the router were answered, the replies one hop away', () => {
        const echo = dec.v6.client.records.filter(
          (r) => r.proto === 'icmpv6' && (r.icmpType === 128 || r.icmpType === 129)
        )
        expect(echo.map((r) => [r.src, r.dst, r.icmpType, r.ttl])).toEqual([
          [F.client, F.server, 128, 64],
          [F.server, F.client, 129, 63],
          [F.client, F.server, 128, 64],
          [F.server, F.client, 129, 63]
        ])
      })
    }
  })
})

/** A packet's IP length: the frame less its link-layer header (Ethernet, SLL or SLL2). */
function ipLength(r: PacketRecord, linkType: number): number {
  const header = linkType === 276 ? 20 : linkType === 113 ? 16 : 14
  return r.len - header
}
