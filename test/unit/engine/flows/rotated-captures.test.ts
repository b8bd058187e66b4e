import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { analyse, type SourceFile } from '../../../../src-main/engine/analyse'
import type { Flow } from '../../../../src-main/shared/incident'
import { CORPUS } from '../../../support/run'
import { memorySource } from '../../../support/sources'

/** Splits a little-endian classic pcap into files of `per` records each, as `tcpdump -C` would. */
function rotate(bytes: Uint8Array, per: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const header = bytes.subarray(0, 24)
  const files: Uint8Array[] = []
  let records: Uint8Array[] = []
  for (let at = 24; at + 16 <= bytes.length;) {
    const end = at + 16 + view.getUint32(at + 8, true)
    records.push(bytes.subarray(at, end))
    at = end
    if (records.length === per || at + 16 > bytes.length) {
      const file = new Uint8Array(24 + records.reduce((n, r) => n + r.length, 0))
      file.set(header)
      let o = 24
      for (const r of records) {
        file.set(r, o)
        o += r.length
      }
      files.push(file)
      records = []
    }
  }
  return files
}

/** What a conversation is, without which file and frame showed it. */
const summary = (f: Flow) => [
  f.proto,
  f.src,
  f.sport,
  f.dst,
  f.dport,
  f.first,
  f.last,
  f.outcome,
  f.packets,
  f.bytes
]

describe('a capture point rotated into many files', () => {
  it('gives the conversations of the whole capture, with a few files open at a time', async () => {
    const whole = readFileSync(resolve(CORPUS, 'pcaps', 'zeek_smtp.pcap'))
    const parts = rotate(whole, 4)
    expect(parts.length).toBe(32)
    let open = 0
    let mostOpen = 0
    // Each part counts as open from its first read until its last chunk or its closing.
    const counted = (file: SourceFile): SourceFile => ({
      ...file,
      async *read() {
        open++
        mostOpen = Math.max(mostOpen, open)
        try {
          yield* file.read()
        } finally {
          open--
        }
      }
    })
    // Listed newest first: the order of the files on the command line does not matter.
    const files = parts
      .map((p, i) =>
        counted(memorySource(`smtp-${String(i).padStart(3, '0')}.pcap`, p, { point: 'smtp' }))
      )
      .reverse()
    const rotated = await analyse(files)
    const single = await analyse([memorySource('smtp.pcap', whole, { point: 'smtp' })])
    expect(rotated.inputs.every((i) => i.errors.length === 0)).toBe(true)
    expect(rotated.inputs.reduce((n, i) => n + i.records, 0)).toBe(125)
    expect(rotated.flows.map(summary)).toEqual(single.flows.map(summary))
    expect(open).toBe(0)
    expect(mostOpen).toBeLessThanOrEqual(18)
  })
})

describe('a point with a capture per interface', () => {
  it('gives each key packet the frame of every file that captured it', async () => {
    const whole = readFileSync(resolve(CORPUS, 'pcaps', 'zeek_smtp.pcap'))
    // The same packets on both interfaces (a router forwarding everything), and a second file
    // holding only the second half of them (its interface saw nothing before).
    const half = rotate(whole, 64)
    const both = await analyse([
      memorySource('r0.pcap', whole, { point: 'router' }),
      memorySource('r1.pcap', whole, { point: 'router' })
    ])
    const single = await analyse([memorySource('r0.pcap', whole, { point: 'router' })])
    expect(both.flows.map(summary)).toEqual(single.flows.map(summary))
    // (TCP's own key packets: an ICMP error or a retransmitted data segment keeps one frame.)
    const keys = both.flows
      .flatMap((f) => f.keyPackets ?? [])
      .filter((k) => ['syn', 'syn-ack', 'rst', 'fin'].includes(k.what))
    expect(keys.length).toBeGreaterThan(0)
    for (const k of keys) {
      const [own, also] = k.frames ?? []
      expect(own).toMatch(/^router:r0\.pcap#\d+$/)
      expect(also).toBe(own.replace('r0.pcap', 'r1.pcap'))
    }
    const later = await analyse([
      memorySource('r0.pcap', whole, { point: 'router' }),
      memorySource('r1.pcap', half[1], { point: 'router' })
    ])
    // A SYN among the first 64 packets was on r0 only; one after them on both.
    const syns = later.flows.flatMap((f) => f.keyPackets?.filter((k) => k.what === 'syn') ?? [])
    const frameOf = (k: { frames?: string[] }) => Number(k.frames![0].split('#')[1])
    const early = syns.filter((k) => frameOf(k) <= 64)
    const late = syns.filter((k) => frameOf(k) > 64)
    expect(early.length).toBeGreaterThan(0)
    expect(late.length).toBeGreaterThan(0)
    for (const k of early) expect(k.frames).toHaveLength(1)
    for (const k of late) expect(k.frames![1]).toBe(`router:r1.pcap#${frameOf(k) - 64}`)
  })
})
