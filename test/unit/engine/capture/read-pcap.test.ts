import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  createCaptureReader,
  readCaptureBytes
} from '../../../../src-main/engine/capture/read-capture'
import { buildPcap, tcpFrame } from '../../../support/build-capture'
import { CORPUS } from '../../../support/run'

const frames = [
  { sec: 1_700_000_000, frac: 123456, data: tcpFrame({ flags: 0x02, seq: 7 }) },
  {
    sec: 1_700_000_001,
    frac: 999999,
    data: tcpFrame({ flags: 0x12, seq: 9, ack: 8, sport: 80, dport: 40000 })
  }
]

describe('classic pcap', () => {
  it.each([
    ['little-endian µs', { little: true, nano: false }],
    ['big-endian µs', { little: false, nano: false }],
    ['little-endian ns', { little: true, nano: true }],
    ['big-endian ns', { little: false, nano: true }]
  ])('reads the %s magic', (_name, opts) => {
    const scale = opts.nano ? 1000 : 1
    const file = buildPcap(
      frames.map((f) => ({ ...f, frac: f.frac * scale })),
      opts
    )
    const { packets, summary } = readCaptureBytes('t.pcap', file)
    expect(summary.format).toBe('pcap')
    expect(summary.version).toBe('2.4')
    expect(summary.interfaces[0].tsDigits).toBe(opts.nano ? 9 : 6)
    expect(summary.problems).toEqual([])
    expect(packets.map((p) => [p.sec, p.nsec, p.timeUs])).toEqual([
      [1_700_000_000, 123456000, 1_700_000_000_123_456],
      [1_700_000_001, 999999000, 1_700_000_001_999_999]
    ])
    expect(packets[1].l4).toMatchObject({
      kind: 'tcp',
      sport: 80,
      dport: 40000,
      seq: 9,
      ack: 8,
      flags: 0x12
    })
  })

  it('reads the FCS length from the link-type field and keeps it off the payload', () => {
    // draft-ietf-opsawg-pcap §4: F bit (26) set, FCS length 2 × 16 bits = 4 bytes.
    const data = Uint8Array.from([...tcpFrame({}), 0xde, 0xad, 0xbe, 0xef])
    const file = buildPcap([{ sec: 1, frac: 0, data }], { linkField: 0x24000001 })
    const { packets, summary } = readCaptureBytes('fcs.pcap', file)
    expect(summary.interfaces[0]).toMatchObject({ linkType: 1, fcsLen: 4 })
    expect(packets[0].l4).toMatchObject({ kind: 'tcp', payloadLen: 0 })
  })

  it('keeps a record larger than the snaplen, with a warning naming the byte offset', () => {
    const file = buildPcap([{ sec: 1, frac: 0, data: tcpFrame({}) }], { snaplen: 40 })
    const { packets, summary } = readCaptureBytes('snap.pcap', file)
    expect(packets).toHaveLength(1)
    expect(summary.problems).toEqual([
      {
        source: 'snap.pcap',
        at: 'byte 24',
        message: "record captured 54 bytes, more than the file's snaplen 40; kept"
      }
    ])
  })

  it('reads the corpus capture in every chunking the same way', () => {
    const bytes = readFileSync(resolve(CORPUS, 'pcaps/tcpdump_ssh.pcap'))
    const whole = readCaptureBytes('ssh.pcap', bytes).packets
    expect(whole).toHaveLength(54)
    for (const size of [1, 3, 16, 17, 23, 24, 25, 100, 4096]) {
      const got: unknown[] = []
      const reader = createCaptureReader('ssh.pcap', (p) => got.push(p))
      for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size))
      const summary = reader.end()
      expect(summary.problems).toEqual([])
      expect(got).toEqual(whole)
    }
  })
})
