import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readCaptureBytes } from '../../../../src-main/engine/capture/read-capture'
import { buildPcapng, tcpFrame, type PcapngBlock } from '../../../support/build-capture'
import { CORPUS } from '../../../support/run'

const syn = tcpFrame({ flags: 0x02, seq: 100 })

function sample(): PcapngBlock[] {
  return [
    { type: 'shb', comment: 'taken on the router', os: 'Linux 6.1', app: 'tcpdump' },
    { type: 'idb', iface: { linkType: 1, name: 'eth0', description: 'uplink' } },
    { type: 'idb', iface: { linkType: 1, name: 'eth1', tsresol: 9 } },
    { type: 'epb', frame: { sec: 1_700_000_000, frac: 5, data: syn, comment: 'first SYN' } },
    { type: 'raw', blockType: 4, body: Uint8Array.of(0, 0, 0, 0) },
    { type: 'raw', blockType: 5, body: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) },
    { type: 'raw', blockType: 0xa, body: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0) },
    { type: 'raw', blockType: 0xbad, body: Uint8Array.of(0, 0, 0x7e, 0xd9) },
    // 1.7e18 ns since the epoch: beyond 2^53, so the reader must divide exactly.
    {
      type: 'epb',
      frame: { sec: 0, frac: 0, data: syn, iface: 1 },
      ts64: split64Big(1_700_000_000_123_456_789n)
    },
    { type: 'spb', frame: { sec: 0, frac: 0, data: syn } },
    { type: 'opb', frame: { sec: 1_700_000_002, frac: 7, data: syn } }
  ]
}

describe('pcapng', () => {
  it.each([true, false])('reads every block kind (little-endian: %s)', (little) => {
    const { packets, summary } = readCaptureBytes('s.pcapng', buildPcapng(sample(), { little }))
    expect(summary.problems).toEqual([])
    expect(summary).toMatchObject({
      format: 'pcapng',
      version: '1.0',
      sections: 1,
      comments: ['taken on the router'],
      os: 'Linux 6.1',
      application: 'tcpdump',
      packets: 4,
      skippedBlocks: {
        'name resolution': 1,
        'interface statistics': 1,
        'decryption secrets': 1,
        custom: 1
      }
    })
    expect(summary.interfaces.map((i) => [i.name, i.description, i.tsDigits, i.packets])).toEqual([
      ['eth0', 'uplink', 6, 3],
      ['eth1', undefined, 9, 1]
    ])
    expect(packets.map((p) => [p.iface, p.sec, p.nsec])).toEqual([
      [0, 1_700_000_000, 5000],
      [1, 1_700_000_000, 123_456_789],
      [0, 0, 0],
      [0, 1_700_000_002, 7000]
    ])
    expect(packets[0].comment).toBe('first SYN')
    for (const p of packets) expect(p.l4).toMatchObject({ kind: 'tcp', seq: 100, flags: 0x02 })
  })

  it('starts over at each section: interfaces belong to their section', () => {
    const blocks: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 1 } },
      { type: 'epb', frame: { sec: 1, frac: 0, data: syn } },
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 101 } },
      { type: 'epb', frame: { sec: 2, frac: 0, data: syn.subarray(14) } }
    ]
    const { packets, summary } = readCaptureBytes('two.pcapng', buildPcapng(blocks))
    expect(summary.sections).toBe(2)
    expect(packets.map((p) => [p.iface, p.link.type, p.l4?.kind])).toEqual([
      [0, 1, 'tcp'],
      [1, 101, 'tcp']
    ])
  })

  it('applies if_tsoffset and a binary if_tsresol', () => {
    const blocks: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 1, tsresol: 0x80 | 10, tsoffset: 1000 } },
      { type: 'epb', frame: { sec: 0, frac: 0, data: syn }, ts64: [0, 1024 * 5 + 512] }
    ]
    const { packets } = readCaptureBytes('bin.pcapng', buildPcapng(blocks))
    expect([packets[0].sec, packets[0].nsec]).toEqual([1005, 500_000_000])
  })

  it('reads the big-endian and little-endian corpus files to the same packets', () => {
    const read = (name: string) =>
      readCaptureBytes(name, readFileSync(resolve(CORPUS, 'pcaps', name))).packets.map((p) => ({
        ...p
      }))
    expect(read('pcapngtg_be_test001.pcapng')).toEqual(read('pcapngtg_le_test001.pcapng'))
  })

  it('names an interface it has not seen yet, skips that packet and keeps the rest', () => {
    const blocks: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'epb', frame: { sec: 1, frac: 0, data: syn } },
      { type: 'idb', iface: { linkType: 1 } },
      { type: 'epb', frame: { sec: 2, frac: 0, data: syn } }
    ]
    const { packets, summary } = readCaptureBytes('early.pcapng', buildPcapng(blocks))
    expect(packets).toHaveLength(1)
    expect(summary.problems).toEqual([
      {
        source: 'early.pcapng',
        at: 'byte 28',
        message:
          'packet block names interface 0, but this section has 0 interface(s) so far; packet skipped'
      }
    ])
  })

  it('reports a block whose two lengths disagree and goes on', () => {
    const file = buildPcapng([
      { type: 'shb' },
      { type: 'idb', iface: { linkType: 1 } },
      { type: 'epb', frame: { sec: 1, frac: 0, data: syn } },
      { type: 'epb', frame: { sec: 2, frac: 0, data: syn } }
    ])
    // Corrupt the trailing length of the first EPB, which follows the SHB and the IDB.
    const len = (o: number) => file[o + 4] | (file[o + 5] << 8)
    const epb = len(0) + len(len(0))
    file[epb + len(epb) - 4] ^= 0x10
    const { packets, summary } = readCaptureBytes('bad.pcapng', file)
    expect(packets.map((p) => p.sec)).toEqual([2])
    expect(summary.problems[0].at).toBe(`byte ${epb}`)
    expect(summary.problems[0].message).toMatch(
      /leading length \d+ and trailing length \d+ disagree/
    )
  })

  it('converts timestamps exactly at every decimal resolution, either side of 2^52', () => {
    const counts = [
      0n,
      1n,
      999_999n,
      1_000_000n,
      1_700_000_000_123_456n,
      (1n << 52n) - 1n,
      1n << 52n,
      (1n << 52n) + 999_999n,
      (1n << 53n) + 1n,
      1_700_000_000_123_456_789n,
      (1n << 64n) - 1n
    ]
    for (const tsresol of [0, 3, 6, 9, 12]) {
      const units = 10n ** BigInt(tsresol)
      const blocks: PcapngBlock[] = [
        { type: 'shb' },
        { type: 'idb', iface: { linkType: 1, tsresol } },
        ...counts.map((c): PcapngBlock => ({
          type: 'epb',
          frame: { sec: 0, frac: 0, data: syn },
          ts64: split64Big(c)
        }))
      ]
      const { packets } = readCaptureBytes('t.pcapng', buildPcapng(blocks))
      expect(
        packets.map((p) => [p.sec, p.nsec]),
        `if_tsresol ${tsresol}`
      ).toEqual(
        counts.map((c) => [Number(c / units), Number(((c % units) * 1_000_000_000n) / units)])
      )
    }
  })
})

function split64Big(v: bigint): [number, number] {
  return [Number(v >> 32n), Number(v & 0xffffffffn)]
}
