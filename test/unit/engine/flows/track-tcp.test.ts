import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, icmpErrorFrame, tcpFrame, type Frame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'

const S = 0x02
const R = 0x04
const A = 0x10
const F = 0x01
const at = (sec: number, data: Uint8Array): Frame => ({
  sec: 1_700_000_000 + Math.floor(sec),
  frac: Math.round((sec % 1) * 1e6),
  data
})
const client = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 }
const server = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 }

describe('TCP conversations built from hand-made segments', () => {
  it('a new SYN with a new ISN on a closed 5-tuple is a new conversation (port reuse)', async () => {
    const file = buildPcap([
      at(0, tcpFrame({ ...client, flags: S, seq: 100 })),
      at(0.001, tcpFrame({ ...server, flags: R | A, seq: 0, ack: 101 })),
      at(5, tcpFrame({ ...client, flags: S, seq: 9000 })),
      at(5.001, tcpFrame({ ...server, flags: S | A, seq: 7000, ack: 9001 })),
      at(5.002, tcpFrame({ ...client, flags: A, seq: 9001, ack: 7001 }))
    ])
    const { flows } = await analyse([memorySource('reuse.pcap', file)])
    expect(flows.map((f) => [f.outcome, f.sport, f.dport, f.packets])).toEqual([
      ['refused-rst', 40000, 80, 2],
      ['established', 40000, 80, 3]
    ])
  })

  it('SYN retransmissions with the same ISN stay one conversation, with their times', async () => {
    const file = buildPcap(
      [0, 1, 3, 7].map((t) => at(t, tcpFrame({ ...client, flags: S, seq: 100 })))
    )
    const { flows } = await analyse([memorySource('syn.pcap', file)])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      outcome: 'syn-timeout',
      synRetransmits: 3,
      synRetransmitOffsets: [1, 3, 7],
      history: 'ST'
    })
  })

  it('an ICMP error about the SYN-ACK: the answer was made and never got through (one-way)', async () => {
    // The server's own kernel could not resolve its next hop and says so to itself.
    const synAck = tcpFrame({ ...server, flags: S | A, seq: 500, ack: 101 })
    const file = buildPcap([
      at(0, tcpFrame({ ...client, flags: S, seq: 100 })),
      at(1, tcpFrame({ ...client, flags: S, seq: 100 })),
      at(
        3.001,
        icmpErrorFrame({ src: '10.0.0.2', dst: '10.0.0.2', type: 3, code: 1, quoted: synAck })
      )
    ])
    const { flows } = await analyse([memorySource('arp.pcap', file)])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      outcome: 'one-way',
      icmp: { type: 3, code: 1, from: '10.0.0.2', quoted: 'reply' }
    })
  })

  it('a lone reset answering a SYN the capture missed is a refusal; a mid-stream one is not', async () => {
    // A host's own output chain rejected its SYN with tcp-reset: only the reset, on loopback.
    const refused = buildPcap([at(0, tcpFrame({ ...server, flags: R | A, seq: 0, ack: 101 }))])
    const { flows } = await analyse([memorySource('lo.pcap', refused)])
    expect(flows.map((f) => [f.outcome, f.src, f.sport, f.rst?.answeredSyn])).toEqual([
      ['refused-rst', '10.0.0.1', 40000, true]
    ])
    const midstream = buildPcap([at(0, tcpFrame({ ...server, flags: R | A, seq: 7000, ack: 101 }))])
    const again = await analyse([memorySource('mid.pcap', midstream)])
    expect(again.flows[0].outcome).toBe('reset-midstream')
  })

  it('SYN-ACKs retransmitted by the server with no final ACK: one-way, with their times', async () => {
    const file = buildPcap([
      at(0, tcpFrame({ ...client, flags: S, seq: 100 })),
      at(0.001, tcpFrame({ ...server, flags: S | A, seq: 500, ack: 101 })),
      at(1.001, tcpFrame({ ...server, flags: S | A, seq: 500, ack: 101 })),
      at(3.001, tcpFrame({ ...server, flags: S | A, seq: 500, ack: 101 }))
    ])
    const { flows } = await analyse([memorySource('oneway.pcap', file)])
    expect(flows[0]).toMatchObject({
      outcome: 'one-way',
      synAckRetransmits: 2,
      synAckRetransmitOffsets: [1, 3],
      handshakeRttSec: 0.001
    })
  })

  it('a conversation seen from mid-stream is incomplete, its opener guessed from the ports', async () => {
    const file = buildPcap([
      at(0, tcpFrame({ ...server, flags: A, seq: 500, ack: 101, payload: 10 })),
      at(0.001, tcpFrame({ ...client, flags: A, seq: 101, ack: 510 })),
      at(0.002, tcpFrame({ ...client, flags: F | A, seq: 101, ack: 510 }))
    ])
    const { flows } = await analyse([memorySource('mid.pcap', file)])
    expect(flows[0]).toMatchObject({
      src: '10.0.0.1',
      sport: 40000,
      dst: '10.0.0.2',
      dport: 80,
      partial: true
    })
    expect(['incomplete', 'established']).toContain(flows[0].outcome)
  })
})
