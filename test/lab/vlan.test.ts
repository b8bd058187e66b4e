/**
 * 802.1Q-tagged frames on a real veth. With the 8021q module the lab runs ping, TCP and UDP over
 * `type vlan id 100` subinterfaces; without it (many CI kernels) it injects the same kinds of
 * tagged frames, plus a QinQ frame, through a packet socket. Either way the captures are taken
 * by tcpdump on the parent veths and read by the kernel's and libpcap's own tag handling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PacketRecord } from '../../src-main/engine/capture/packet-record'
import { decodeAll, labSkipReason, oracle, requireCli, type Decoded } from './lab-checks'
import { pcapLinkType } from './lab-capture'
import { Lab, labUnavailable } from './lab-host'
import { VLAN, vlanScenario, vlanUnavailable, type VlanCaptures } from './vlan-scenario'

// perl writes the injected frames where the kernel has no 8021q; it is part of every Debian base.
const reason = labSkipReason('VLAN') ?? vlanUnavailable()
if (reason && !labUnavailable()) console.warn(`kernel lab (VLAN) skipped: ${reason}`)

const FILES = ['receiver', 'sender', 'receiverAny'] as const
type FileKey = (typeof FILES)[number]

describe.skipIf(reason !== undefined)('kernel lab: VLAN-tagged link', () => {
  let lab: Lab
  let caps: VlanCaptures
  let d: Record<FileKey, Decoded>

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    caps = await vlanScenario(lab)
    d = await decodeAll({
      receiver: caps.receiver,
      sender: caps.sender,
      receiverAny: caps.receiverAny
    })
  })

  afterAll(async () => {
    await lab?.close()
  })

  it.each(FILES)('%s capture reads the same in Verdict as in tshark', async (k) => {
    const { frames, disagreements } = await oracle(caps[k])
    expect(disagreements).toEqual([])
    expect(frames).toBeGreaterThan(0)
    expect(d[k].code).toBe(0)
    expect(d[k].stderr).toBe('')
  })

  it.each(['receiver', 'sender'] as const)(
    '%s (Ethernet on the parent veth): every frame tagged 100',
    (k) => {
      expect(pcapLinkType(caps[k])).toBe(1)
      const recs = d[k].records
      const ip = recs.filter((r) => r.ipVersion !== undefined)
      expect(ip.length).toBeGreaterThan(0)
      for (const r of ip) expect(r.vlan?.[r.vlan.length - 1]).toBe(VLAN.id)
      expect(recs.filter((r) => r.problem !== undefined)).toEqual([])
      const request = find(recs, { proto: 'icmp', icmpType: 8, src: VLAN.a, dst: VLAN.b })
      expect(request.vlan).toEqual([VLAN.id])
      // The injected SYN's tag carries priority 5: the id is read without it.
      const syn = find(recs, {
        proto: 'tcp',
        tcpFlags: 'S',
        src: VLAN.a,
        dst: VLAN.b,
        sport: VLAN.clientPort,
        dport: VLAN.port
      })
      expect(syn.vlan).toEqual([VLAN.id])
      const datagram = find(recs, { proto: 'udp', sport: VLAN.udpClientPort, dport: VLAN.udpPort })
      expect(datagram.vlan).toEqual([VLAN.id])
      if (caps.mode === 'injected') {
        expect(syn.seq).toBe(VLAN.synSeq)
        expect(datagram).toMatchObject({ ipVersion: 6, src: VLAN.a6, dst: VLAN.b6, payloadLen: 7 })
        // The QinQ frame: 802.1ad 200 outside, 802.1Q 100 inside, outer first.
        const qinq = recs.filter((r) => r.vlan?.length === 2)
        expect(qinq).toHaveLength(1)
        expect(qinq[0]).toMatchObject({
          vlan: [VLAN.outer, VLAN.id],
          proto: 'icmp',
          icmpType: 8,
          src: VLAN.a,
          dst: VLAN.b
        })
        expect(recs).toHaveLength(4)
      } else {
        expect(find(recs, { proto: 'icmp', icmpType: 0, src: VLAN.b, dst: VLAN.a }).vlan).toEqual([
          VLAN.id
        ])
        const synAck = find(recs, {
          proto: 'tcp',
          tcpFlags: 'S.',
          src: VLAN.b,
          sport: VLAN.port,
          dport: VLAN.clientPort
        })
        expect(synAck.vlan).toEqual([VLAN.id])
      }
    }
  )

  it('receiverAny (tcpdump -i any): cooked frames arriving on b0', () => {
    const linkType = pcapLinkType(caps.receiverAny)
    expect([113, 276]).toContain(linkType)
    const recs = d.receiverAny.records
    const syn = find(recs, {
      proto: 'tcp',
      tcpFlags: 'S',
      src: VLAN.a,
      sport: VLAN.clientPort,
      dport: VLAN.port
    })
    expect(syn.dir).toBe('in')
    const request = find(recs, { proto: 'icmp', icmpType: 8, src: VLAN.a, dst: VLAN.b })
    expect(request.dir).toBe('in')
    // Injected frames arrive on b0 only; over real subinterfaces b0.100 sees them too.
    if (linkType === 276 && caps.mode === 'injected') {
      for (const r of recs) expect(r).toMatchObject({ dir: 'in', ifindex: caps.receiverIfindex })
    }
  })
})

function find(records: PacketRecord[], want: Partial<PacketRecord>): PacketRecord {
  const hit = records.find((r) =>
    Object.entries(want).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v)
  )
  if (!hit) throw new Error(`no packet like ${JSON.stringify(want)} among ${records.length}`)
  return hit
}
