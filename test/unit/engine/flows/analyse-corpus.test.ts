import { gunzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import type { Flow } from '../../../../src-main/shared/incident'
import { readCaptureBytes } from '../../../../src-main/engine/capture/read-capture'
import { corpusSource, memorySource } from '../../../support/sources'
import { CORPUS } from '../../../support/run'

const outcomes = (flows: Flow[]) =>
  flows
    .map((f) => `${f.proto} ${f.src}:${f.sport ?? ''}>${f.dst}:${f.dport ?? ''} ${f.outcome}`)
    .sort()

describe('conversations in the corpus, checked against what the captures show', () => {
  it('counts SYN retransmissions and their back-off (option-sack: 4 SYNs, no answer)', async () => {
    const { flows } = await analyse([corpusSource('zeek_option-sack.pcap')])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      outcome: 'syn-timeout',
      synRetransmits: 3,
      synRetransmitOffsets: [6.448, 9.285, 12.102]
    })
  })

  it('tells a SYN answered by RST from a SYN the opener itself reset', async () => {
    const attr = await analyse([corpusSource('zeek_attr.pcap')])
    const refused = attr.flows.filter((f) => f.outcome === 'refused-rst')
    expect(refused).toHaveLength(2)
    for (const f of refused) expect(f.rst).toMatchObject({ by: 'responder', answeredSyn: true })
    const aborted = await analyse([corpusSource('zeek_syn-then-rst.pcap')])
    expect(aborted.flows[0]).toMatchObject({
      outcome: 'incomplete',
      rst: { by: 'initiator', answeredSyn: false }
    })
  })

  it('joins a frag-needed to the connection it quotes and learns the path MTU (smtp)', async () => {
    const { flows } = await analyse([corpusSource('zeek_smtp.pcap')])
    const smtp = flows.find((f) => f.dport === 25)!
    expect(smtp).toMatchObject({
      outcome: 'established',
      icmp: { type: 3, code: 4, mtu: 1492, from: '192.168.1.1', sender: 'router', quoted: 'data' }
    })
    expect(smtp.data?.pathMtu).toBe(1492)
  })

  it('joins port-unreachable to the UDP datagram it answers (conn-size)', async () => {
    const { flows } = await analyse([corpusSource('zeek_conn-size.pcap')])
    const unreachable = flows.filter((f) => f.outcome === 'icmp-unreachable')
    expect(unreachable.length).toBe(2)
    for (const f of unreachable)
      expect(f).toMatchObject({
        proto: 'udp',
        icmp: { type: 3, code: 3, sender: 'destination', quoted: 'datagram' }
      })
  })

  it('keeps 20 unanswered SYNs to 20 ports as 20 conversations (rotation)', async () => {
    const { flows } = await analyse([corpusSource('zeek_rotation.pcap')])
    expect(flows.map((f) => f.outcome)).toEqual(new Array(20).fill('syn-timeout'))
  })

  it('counts echo requests and replies', async () => {
    const { flows } = await analyse([corpusSource('zeek_linux_dlt_sll2.pcap')])
    const v4 = flows.find((f) => f.proto === 'icmp')!
    expect(v4).toMatchObject({ outcome: 'answered', requests: 1, replies: 1 })
  })
})

describe('properties: how the evidence is cut or ordered changes no outcome', () => {
  const raw = (name: string) => {
    const b = readFileSync(resolve(CORPUS, 'pcaps', name))
    return name.endsWith('.gz') ? gunzipSync(b) : b
  }
  const samples = [
    'zeek_smtp.pcap',
    'zeek_attr.pcap',
    'zeek_conn-size.pcap',
    'tcpdump_tfo-5c1fa7f9ae91.pcap',
    'zeek_irc-353.pcap'
  ]

  it('splitting a capture into two files of one capture point', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (name, where) => {
          const bytes = raw(name)
          const whole = await analyse([memorySource(name, bytes)])
          const [part1, part2] = splitPcap(bytes, where)
          const split = await analyse([
            memorySource('part1.pcap', part1, { point: 'p' }),
            memorySource('part2.pcap', part2, { point: 'p' })
          ])
          expect(outcomes(split.flows)).toEqual(outcomes(whole.flows))
        }
      ),
      { numRuns: 25 }
    )
  })

  it('loading the same capture twice at one point', async () => {
    for (const name of samples) {
      const once = await analyse([corpusSource(name)])
      const twice = await analyse([
        corpusSource(name, { point: 'p' }),
        corpusSource(name, { path: 'copy-' + name, point: 'p' })
      ])
      expect(outcomes(twice.flows)).toEqual(outcomes(once.flows))
      expect(twice.flows.map((f) => f.packets)).toEqual(once.flows.map((f) => f.packets))
    }
  })

  it('shuffling the order the capture points are given in', async () => {
    const a = corpusSource('zeek_smtp.pcap', { point: 'client' })
    const b = corpusSource('zeek_smtp.pcap', { path: 'router.pcap', point: 'router' })
    const c = corpusSource('zeek_attr.pcap', { point: 'server' })
    const base = outcomes((await analyse([a, b, c])).flows)
    for (const order of [
      [c, b, a],
      [b, a, c],
      [c, a, b]
    ]) {
      expect(outcomes((await analyse(order)).flows)).toEqual(base)
    }
  })
})

/** Splits a classic pcap at a packet boundary into two pcaps with the same header. */
function splitPcap(bytes: Uint8Array, where: number): [Uint8Array, Uint8Array] {
  const { packets } = readCaptureBytes('x', bytes, { headersOnly: true })
  const cut = Math.floor(where * packets.length)
  const records: Uint8Array[] = []
  let off = 24
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const little = view.getUint32(0, true) === 0xa1b2c3d4 || view.getUint32(0, true) === 0xa1b23c4d
  while (off + 16 <= bytes.length) {
    const len = 16 + view.getUint32(off + 8, little)
    records.push(bytes.subarray(off, off + len))
    off += len
  }
  const header = bytes.subarray(0, 24)
  const join = (rs: Uint8Array[]) => Uint8Array.from([...header, ...rs.flatMap((r) => [...r])])
  return [join(records.slice(0, cut)), join(records.slice(cut))]
}
