import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../../../src-main/engine/capture/input-error'
import {
  createCaptureReader,
  readCaptureBytes,
  readyFor
} from '../../../../src-main/engine/capture/read-capture'
import { buildPcap, buildPcapng, tcpFrame } from '../../../support/build-capture'
import { CORPUS } from '../../../support/run'

const corpus = (name: string): Uint8Array => readFileSync(resolve(CORPUS, 'pcaps', name))
const three = buildPcap([1, 2, 3].map((sec) => ({ sec, frac: 0, data: tcpFrame({ seq: sec }) })))

describe('gzip, loaded when a capture needs it', () => {
  // First in the file: this test file's modules are its own, so nothing has loaded gzip yet.
  it('is loaded by readyFor the first bytes of a gzip capture, and only then', async () => {
    const gz = corpus('zeek_tls-fragmented-handshake.pcap.gz')
    await readyFor(three)
    expect(() => readCaptureBytes('early.gz', gz)).toThrow(/a gzip capture read before readyFor/)
    await readyFor(gz.subarray(0, 2))
    expect(readCaptureBytes('ready.gz', gz).summary.packets).toBe(416)
  })
})

describe('capture detection and gzip', () => {
  beforeAll(() => readyFor(Uint8Array.of(0x1f, 0x8b)))

  it('detects gzip by content and reads it like the plain file', () => {
    const gz = corpus('zeek_tls-fragmented-handshake.pcap.gz')
    const plain = readCaptureBytes('plain', gunzipSync(gz))
    const zipped = readCaptureBytes('zipped', gz)
    expect(zipped.summary.gzip).toBe(true)
    expect(zipped.summary.packets).toBe(416)
    expect(zipped.packets).toEqual(plain.packets)
  })

  it('reads a gzip pcapng fed one byte at a time', () => {
    const gz = corpus('zeek_portmapper-many-unanswered-calls.pcapng.gz')
    const got: number[] = []
    const reader = createCaptureReader('p.gz', (p) => got.push(p.n))
    for (let i = 0; i < gz.length; i++) reader.push(gz.subarray(i, i + 1))
    expect(reader.end().format).toBe('pcapng')
    expect(got).toHaveLength(189)
  })

  it('keeps the packets before a gzip stream that is cut short', () => {
    const gz = corpus('zeek_tls-fragmented-handshake.pcap.gz')
    const { packets, summary } = readCaptureBytes('cut.pcap.gz', gz.subarray(0, gz.length >> 1))
    expect(packets.length).toBeGreaterThan(100)
    expect(packets.length).toBeLessThan(416)
    expect(summary.problems.length).toBeGreaterThanOrEqual(1)
    expect(summary.problems.map((p) => p.message).join(' ')).toMatch(
      /truncated capture|gzip stream ends early/
    )
  })
})

describe('chunk ownership', () => {
  beforeAll(() => readyFor(Uint8Array.of(0x1f, 0x8b)))

  it.each([
    ['tcpdump_ssh.pcap', 1],
    ['tcpdump_ssh.pcap', 3],
    ['tcpdump_ssh.pcap', 1000],
    ['zeek_fragmented-syn.pcap', 7],
    ['pcapngtg_le_test202.pcapng', 5],
    ['zeek_tls-fragmented-handshake.pcap.gz', 2],
    ['zeek_tls-fragmented-handshake.pcap.gz', 4096]
  ])(
    'keeps nothing of a chunk after push (%s in %i-byte chunks into one reused buffer)',
    (name, size) => {
      const bytes = corpus(name)
      const expected = readCaptureBytes(name, bytes)
      const got: unknown[] = []
      const reader = createCaptureReader(name, (p) => got.push(p))
      const buffer = new Uint8Array(size)
      for (let i = 0; i < bytes.length; i += size) {
        const n = Math.min(size, bytes.length - i)
        buffer.set(bytes.subarray(i, i + n))
        reader.push(buffer.subarray(0, n))
        buffer.fill(0xa5)
      }
      expect(reader.end().problems).toEqual(expected.summary.problems)
      expect(got).toEqual(expected.packets)
    }
  )
})

describe('bad input', () => {
  it('rejects an unknown magic with the file and byte offset', () => {
    const read = () => readCaptureBytes('notes.txt', new TextEncoder().encode('hello world'))
    expect(read).toThrow(InputError)
    expect(read).toThrow('notes.txt: not a capture: unknown magic 0x68656c6c at byte 0')
  })

  it('rejects an empty file and a file shorter than a magic', () => {
    expect(() => readCaptureBytes('empty.pcap', new Uint8Array(0))).toThrow(
      'empty.pcap: empty file: no capture header'
    )
    expect(() => readCaptureBytes('short.pcap', Uint8Array.of(0xd4, 0xc3))).toThrow(
      'short.pcap: file too short for a capture header: 2 bytes'
    )
  })

  it('keeps the packets before a truncated record and says where it was cut', () => {
    const cut = three.subarray(0, three.length - 10)
    const { packets, summary } = readCaptureBytes('cut.pcap', cut)
    expect(packets.map((p) => p.sec)).toEqual([1, 2])
    const third = 24 + 2 * (16 + 54)
    expect(summary.problems).toEqual([
      {
        source: 'cut.pcap',
        at: `byte ${third}`,
        message:
          'file ends inside a record: 60 of 70 bytes present (truncated capture); packets before it kept'
      }
    ])
  })

  it('stops at a record claiming more than 256 KiB, keeping what came before', () => {
    const file = three.slice()
    const second = 24 + 16 + 54
    new DataView(file.buffer).setUint32(second + 8, 300_000, true)
    const { packets, summary } = readCaptureBytes('huge.pcap', file)
    expect(packets.map((p) => p.sec)).toEqual([1])
    expect(summary.problems[0]).toEqual({
      source: 'huge.pcap',
      at: `byte ${second}`,
      message:
        'record claims 300000 captured bytes, more than the 262144-byte maximum: the file is corrupt from here'
    })
  })

  it('stops at a pcapng block claiming an absurd length', () => {
    const file = buildPcapng([
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 1 } },
      { type: 'epb', frame: { sec: 1, frac: 0, data: tcpFrame({}) } },
      { type: 'epb', frame: { sec: 2, frac: 0, data: tcpFrame({}) } }
    ])
    const view = new DataView(file.buffer)
    const shb = view.getUint32(4, true)
    const idb = view.getUint32(shb + 4, true)
    const epb = view.getUint32(shb + idb + 4, true)
    const second = shb + idb + epb
    view.setUint32(second + 4, 0x7ffffff0, true)
    const { packets, summary } = readCaptureBytes('absurd.pcapng', file)
    expect(packets).toHaveLength(1)
    expect(summary.problems[0].at).toBe(`byte ${second}`)
    expect(summary.problems[0].message).toMatch(
      /claims 2147483632 bytes, more than the 16777216-byte maximum/
    )
  })

  it('counts packets of a link type it does not decode and reads the rest', () => {
    const file = buildPcapng([
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 147 } },
      { type: 'idb', iface: { linkType: 1 } },
      { type: 'epb', frame: { sec: 1, frac: 0, data: Uint8Array.of(1, 2, 3) } },
      { type: 'epb', frame: { sec: 2, frac: 0, data: tcpFrame({}), iface: 1 } }
    ])
    const { packets, summary } = readCaptureBytes('mixed.pcapng', file)
    expect(summary.unsupportedPackets).toBe(1)
    expect(packets[1].l4?.kind).toBe('tcp')
    expect(summary.problems).toEqual([
      {
        source: 'mixed.pcapng',
        at: 'interface 0',
        message: 'link type 147 is not decoded; its 1 packet(s) are counted only'
      }
    ])
  })

  it('never throws anything but InputError on mutated or cut captures', () => {
    const seeds = [
      three,
      corpus('zeek_smtp.pcap').subarray(0, 4000),
      corpus('zeek_icmp6.pcap'),
      corpus('pcapngtg_le_test202.pcapng'),
      corpus('pcapngtg_be_test001.pcapng'),
      corpus('tcpdump_nflog.pcap'),
      corpus('zeek_linux_dlt_sll2.pcap'),
      corpus('zeek_fragmented-syn.pcap')
    ]
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 24 }),
        fc.nat(),
        fc.integer({ min: 1, max: 5000 }),
        (seed, flips, cut, chunk) => {
          const bytes = seed.slice(0, seed.length - (cut % Math.max(1, seed.length >> 2)))
          for (const [at, v] of flips) if (bytes.length) bytes[at % bytes.length] = v
          try {
            const reader = createCaptureReader('fuzz', () => {})
            for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk))
            reader.end()
          } catch (e) {
            if (!(e instanceof InputError)) throw e
          }
        }
      ),
      { numRuns: 3000 }
    )
  })
})
