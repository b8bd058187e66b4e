/**
 * IPv6 neighbour discovery as conversations: a solicitation nobody answers is a failure to report
 * (the soliciting host never sends what it had for the target); answered discoveries, duplicate
 * address detection and unsolicited advertisements are the link at work and make no flow.
 */
import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, icmpv6Frame, ndBody, type Frame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'

const at = (sec: number, data: Uint8Array): Frame => ({
  sec: 1_700_000_000 + Math.floor(sec),
  frac: Math.round((sec % 1) * 1e6),
  data
})
const NS = 135
const NA = 136
/** The solicited-node multicast address of an address ending in `tail`. */
const solicited = (tail: string): string => `ff02::1:ff00:${tail}`
/** A solicitation from `src` for `target` (ending in `tail`), sent to its solicited-node group. */
const ns = (t: number, src: string, tail: string): Frame =>
  at(t, icmpv6Frame({ src, dst: solicited(tail), type: NS, body: ndBody(`fd00::${tail}`) }))
/** An advertisement of `src`'s own address, to `dst`, with the given flags (0x60: solicited). */
const na = (t: number, src: string, dst: string, flags: number): Frame =>
  at(t, icmpv6Frame({ src, dst, type: NA, body: ndBody(src, flags) }))

describe('neighbour discovery', () => {
  it('a solicitation nobody answers is an unanswered discovery of its target', async () => {
    const file = buildPcap([
      // fd00::2 asks three times for fd00::10, one second apart, and hears nothing.
      ...[0, 1, 2].map((t) => ns(t, 'fd00::2', '10')),
      // fd00::2 asks for fd00::11, which answers.
      ns(3, 'fd00::2', '11'),
      na(3.001, 'fd00::11', 'fd00::2', 0x60),
      // Duplicate address detection (from the unspecified address) and an unsolicited advertisement.
      ns(4, '::', '12'),
      na(5, 'fd00::13', 'ff02::1', 0x20),
      // A third host's one question, seen here as every multicast on the link is; its unicast
      // answer goes to the asker only.
      ns(6, 'fd00::20', '14')
    ])
    const { flows } = await analyse([memorySource('nd.pcap', file)])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      proto: 'icmpv6',
      src: 'fd00::2',
      dst: 'fd00::10',
      outcome: 'unanswered',
      neighbourDiscovery: true,
      requests: 3,
      replies: 0,
      packets: 3
    })
  })

  it('a solicitation answered only after a while is still answered', async () => {
    const file = buildPcap([
      ns(0, 'fd00::2', '10'),
      ns(1, 'fd00::2', '10'),
      na(1.2, 'fd00::10', 'fd00::2', 0x60)
    ])
    const { flows } = await analyse([memorySource('nd.pcap', file)])
    expect(flows).toEqual([])
  })
})

describe('a discovery answered on the wire that the asker never heard', () => {
  it('is unanswered when the asker keeps asking after the advertisements came', async () => {
    const file = buildPcap([
      // fd00::2 asks for fd00::10 once a second; every answer comes back, and it asks on.
      ...[0, 1, 2, 3].flatMap((t) => [
        ns(t, 'fd00::2', '10'),
        na(t + 0.001, 'fd00::10', 'fd00::2', 0x60)
      ])
    ])
    const { flows } = await analyse([memorySource('nd.pcap', file)])
    expect(flows).toMatchObject([
      { src: 'fd00::2', dst: 'fd00::10', outcome: 'unanswered', requests: 4, replies: 4 }
    ])
    // One more solicitation after the answer is the kernel confirming what it learnt.
    const confirmed = buildPcap([
      ns(0, 'fd00::2', '10'),
      na(0.001, 'fd00::10', 'fd00::2', 0x60),
      ns(5, 'fd00::2', '10'),
      na(5.001, 'fd00::10', 'fd00::2', 0x60)
    ])
    expect((await analyse([memorySource('nd.pcap', confirmed)])).flows).toEqual([])
  })
})
