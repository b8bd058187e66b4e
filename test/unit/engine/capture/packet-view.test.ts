import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { PacketView, viewFromPacket } from '../../../../src-main/engine/capture/packet-view'
import {
  createCaptureViewReader,
  readCaptureBytes,
  readyFor
} from '../../../../src-main/engine/capture/read-capture'
import { InputError } from '../../../../src-main/engine/capture/input-error'
import { buildPcap, tcpFrame, udpFrame, type Frame } from '../../../support/build-capture'
import { CORPUS } from '../../../support/run'

/** The view's numbers that mean something for a packet, by what it carries. */
function numbers(v: PacketView): Record<string, unknown> {
  const r: Record<string, unknown> = {
    n: v.n,
    iface: v.iface,
    sec: v.sec,
    nsec: v.nsec,
    timeUs: v.timeUs,
    len: v.len,
    caplen: v.caplen,
    vlan: Array.from(v.vlan.subarray(0, v.vlanCount)),
    etherType: v.etherType,
    sllPktType: v.sllPktType,
    ipVersion: v.ipVersion,
    l4: v.l4
  }
  if (v.ipVersion !== 0) {
    Object.assign(r, { src: v.srcText(), dst: v.dstText(), ttl: v.ttl, proto: v.proto })
    if (v.ipVersion === 4) Object.assign(r, { ipId: v.ipId, totalLen: v.totalLen, df: v.df })
    else Object.assign(r, { payloadLen: v.ipPayloadLen, flowLabel: v.flowLabel })
  }
  if (v.l4 === 6 || v.l4 === 17)
    Object.assign(r, { sport: v.sport, dport: v.dport, checksum: v.checksum, pl: v.payloadLen })
  if (v.l4 === 6)
    Object.assign(r, {
      seq: v.seq,
      ack: v.ack,
      flags: v.flags,
      win: v.win,
      optMask: v.optMask,
      mss: v.mss,
      wscale: v.wscale,
      tsval: v.tsval,
      tsecr: v.tsecr,
      sack: v.sackCount
    })
  return r
}

describe('PacketView', () => {
  // The corpus holds gzip captures too.
  beforeAll(() => readyFor(Uint8Array.of(0x1f, 0x8b)))

  const dir = resolve(CORPUS, 'pcaps')
  const names = readdirSync(dir).filter((n) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(n))

  it('carries the numbers of the Packet the full decoder makes, on every corpus capture', () => {
    let fast = 0
    for (const name of names) {
      const bytes = readFileSync(resolve(dir, name))
      let packets
      try {
        packets = readCaptureBytes(name, bytes).packets
      } catch (e) {
        if (e instanceof InputError) continue
        throw e
      }
      const seen: Record<string, unknown>[] = []
      const fromPacket: Record<string, unknown>[] = []
      const reader = createCaptureViewReader(name, (v) => {
        if (!v.full) {
          fast++
          // The Packet materialised from a fast view is the full decoder's packet.
          expect(v.packet(), `${name} frame ${v.n}`).toEqual(packets[v.n - 1])
        }
        seen.push(numbers(v))
      })
      reader.push(bytes)
      reader.end()
      const scratch = new PacketView()
      for (const p of packets) {
        viewFromPacket(scratch, p)
        fromPacket.push(numbers(scratch))
      }
      expect(seen, name).toEqual(fromPacket)
    }
    expect(fast).toBeGreaterThan(1000)
  })
})

describe('PacketView TCP options', () => {
  const TS = [1, 1, 8, 10, 0x80, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]
  const SACK = [1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0]
  const SYN_LINUX = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7]
  const cases: [string, number[], number?][] = [
    ['NOP, NOP, timestamps', TS],
    ['timestamps then a SACK block', [...TS, ...SACK]],
    ['a SYN: MSS, SACK permitted, timestamps, NOP, window scale', SYN_LINUX],
    ['timestamps after other options', [2, 4, 5, 0xb4, ...TS]],
    ['NOP, NOP, a timestamp option of the wrong length', [1, 1, 8, 6, 0, 0, 0, 1, 1, 1, 1, 1]],
    ['NOP, NOP, timestamps, cut by the capture', TS, 62],
    ['end of options list before timestamps', [0, 0, 0, 0, ...TS]],
    ['an option running past the header', [1, 1, 8, 40, 0, 0, 0, 1, 0, 0, 0, 2]]
  ]

  it.each(cases)('reads %s as the full decoder does', (_, options, caplen) => {
    const frame = withOptions(tcpFrame({ flags: 0x12, seq: 0xfffffff0, ack: 0x80000001 }), options)
    const data = caplen === undefined ? frame : frame.subarray(0, caplen)
    const bytes = buildPcap([{ sec: 1, frac: 0, len: frame.length, data }])
    const { packets } = readCaptureBytes('o.pcap', bytes)
    let seen: Record<string, unknown> | undefined
    const reader = createCaptureViewReader('o.pcap', (v) => {
      expect(v.full, 'decoded by the view itself').toBeUndefined()
      seen = numbers(v)
    })
    reader.push(bytes)
    reader.end()
    const scratch = new PacketView()
    viewFromPacket(scratch, packets[0])
    expect(seen).toEqual(numbers(scratch))
  })
})

describe('PacketView from classic pcap records', () => {
  const frames = (frac: (i: number) => number): Frame[] =>
    [
      tcpFrame({ seq: 0xfffffff0, ack: 0x80000001, flags: 0x12 }),
      udpFrame({ src: '10.0.0.3', dst: '10.0.0.4', sport: 53, dport: 5353, id: 9, payload: 40 }),
      tcpFrame({ vlan: [100, 200], payload: 300, flags: 0x18 }),
      tcpFrame({ payload: 1000, flags: 0x10 })
    ].map((data, i) => ({ sec: 1700000000 + i, frac: frac(i), data }))
  const fcs = (f: Frame): Frame => {
    const data = new Uint8Array(f.data.length + 4)
    data.set(f.data)
    data.set([0xde, 0xad, 0xbe, 0xef], f.data.length)
    return { ...f, data }
  }
  const us = (i: number): number => i * 250000
  const cases: [string, Uint8Array][] = [
    ['little-endian microseconds', buildPcap(frames(us))],
    ['big-endian microseconds', buildPcap(frames(us), { little: false })],
    [
      'little-endian nanoseconds',
      buildPcap(
        frames((i) => i * 250000001),
        { nano: true }
      )
    ],
    [
      'big-endian nanoseconds',
      buildPcap(
        frames((i) => i * 250000001),
        { nano: true, little: false }
      )
    ],
    [
      'frames with a 4-byte FCS',
      buildPcap(frames(us).map(fcs), { linkField: 1 | (1 << 26) | (2 << 28) })
    ],
    ['records longer than the snaplen', buildPcap(frames(us), { snaplen: 100 })],
    ['a timestamp fraction out of range', buildPcap(frames((i) => (i === 1 ? 1500000 : i)))],
    ['a record cut by the end of the file', buildPcap(frames(us)).subarray(0, -30)]
  ]

  it.each(cases)('reads %s as the full decoder does, in chunks of any size', (_, bytes) => {
    const full = readCaptureBytes('r.pcap', bytes)
    const fcsLen = full.summary.interfaces[0].fcsLen ?? 0
    const scratch = new PacketView()
    const expected = full.packets.map((p) => {
      viewFromPacket(scratch, p)
      return numbers(scratch)
    })
    for (const chunk of [bytes.length, 1000, 7]) {
      const seen: Record<string, unknown>[] = []
      const reader = createCaptureViewReader('r.pcap', (v) => {
        if (!v.full) {
          expect(v.packet(), `frame ${v.n}`).toEqual(full.packets[v.n - 1])
          // The frame's bytes stop before a trailing FCS.
          expect(v.end - v.off, `frame ${v.n}`).toBe(v.caplen - (v.caplen === v.len ? fcsLen : 0))
        }
        seen.push(numbers(v))
      })
      for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk))
      expect(reader.end(), `${chunk}-byte chunks`).toEqual(full.summary)
      expect(seen, `${chunk}-byte chunks`).toEqual(expected)
    }
  })
})

/** Returns an Ethernet/IPv4/TCP frame from tcpFrame with `options` after its 20-byte TCP header. */
function withOptions(frame: Uint8Array, options: number[]): Uint8Array {
  const tcp = 14 + 20
  const out = new Uint8Array(frame.length + options.length)
  out.set(frame.subarray(0, tcp + 20))
  out.set(options, tcp + 20)
  out.set(frame.subarray(tcp + 20), tcp + 20 + options.length)
  out[tcp + 12] = ((20 + options.length) / 4) << 4
  const ipLen = ((out[16] << 8) | out[17]) + options.length
  out[16] = ipLen >> 8
  out[17] = ipLen & 0xff
  return out
}
