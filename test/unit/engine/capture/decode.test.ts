import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeIpv6 } from '../../../../src-main/engine/capture/decode-ipv6'
import { decodeTcpOptions, tcpFlagLetters } from '../../../../src-main/engine/capture/decode-tcp'
import { formatIpv6 } from '../../../../src-main/engine/capture/format-address'
import type { Packet } from '../../../../src-main/engine/capture/packet'
import { readCaptureBytes } from '../../../../src-main/engine/capture/read-capture'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, tcpFrame } from '../../../support/build-capture'
import { CORPUS } from '../../../support/run'
import { memorySource } from '../../../support/sources'

/** Expected values below are what tcpdump prints for the same files (tcpdump -nn -v -e). */
const read = (name: string): Packet[] =>
  readCaptureBytes(name, readFileSync(resolve(CORPUS, 'pcaps', name))).packets

describe('TCP', () => {
  it('decodes MSS, window scale, SACK-permitted and timestamps (accecn_handshake.out)', () => {
    const [syn, synAck] = read('tcpdump_accecn_handshake.pcap')
    // options [mss 1460,nop,wscale 6,sackOK,TS val 112147477 ecr 0]
    expect(syn.l4).toMatchObject({
      kind: 'tcp',
      seq: 1948076589,
      win: 65535,
      options: { mss: 1460, wscale: 6, sackPermitted: true, tsval: 112147477, tsecr: 0 }
    })
    expect(tcpFlagLetters(syn.l4?.kind === 'tcp' ? syn.l4.flags : 0)).toBe('SEWe')
    expect(tcpFlagLetters(synAck.l4?.kind === 'tcp' ? synAck.l4.flags : 0)).toBe('S.W')
  })

  it('decodes SACK blocks (option-sack: "sack 2 {1:16}{256:4096}")', () => {
    const packets = read('zeek_option-sack.pcap')
    expect(packets[1].l4).toMatchObject({
      options: {
        sack: [
          [1, 16],
          [256, 4096]
        ],
        kindMask: (1 << 5) | (1 << 0)
      }
    })
  })

  it('stops at a malformed option length without reading past the header', () => {
    // kind 2 (MSS) claiming 40 bytes inside an 8-byte option area.
    expect(decodeTcpOptions(Uint8Array.of(2, 40, 5, 0xb4, 1, 1, 1, 0), 0, 8)).toEqual({
      kindMask: 1 << 2
    })
  })

  it('prints all eight low flags in tcpdump order', () => {
    const [p] = read('tcpdump_tcp_eight_lowest_weight_flags_set.pcap')
    expect(p.l4?.kind === 'tcp' && tcpFlagLetters(p.l4.flags)).toBe('FSRP.UEW')
  })
})

describe('IP', () => {
  it('marks fragments and reassembles the datagram on the frame that completes it', () => {
    // tcpdump: frame 1 "id 1, offset 0, flags [+]", frame 2 "offset 24, flags [none]".
    const [first, last] = read('zeek_fragmented-syn.pcap')
    expect(first.ip).toMatchObject({ version: 4, id: 1, mf: true, fragOffset: 0 })
    expect(first.l4).toBeUndefined()
    expect(last.ip).toMatchObject({ id: 1, mf: false, fragOffset: 24 })
    expect(last.reassembled).toEqual({ frames: [1, 2], length: 40 })
    expect(last.l4).toMatchObject({
      kind: 'tcp',
      sport: 12345,
      dport: 80,
      flags: 0x02,
      headerLen: 40
    })
  })

  it('walks the IPv6 extension chain to the upper layer', () => {
    // An IPv6 header, a hop-by-hop header (8 bytes), a destination-options header, then UDP.
    const b = new Uint8Array(40 + 8 + 8 + 8)
    b[0] = 0x60
    b[5] = 24
    b[6] = 0 // hop-by-hop
    b[7] = 64
    b[40] = 60 // next: destination options
    b[48] = 17 // next: UDP
    const d = decodeIpv6(b, 0, b.length)
    expect(typeof d).toBe('object')
    if (typeof d === 'object') {
      expect(d.ip.extHeaders).toEqual([0, 60])
      expect(d.ip.proto).toBe(17)
      expect(d.payloadOff).toBe(56)
    }
  })

  it('formats IPv6 addresses as RFC 5952 says', () => {
    const addr = (words: number[]) => {
      const b = new Uint8Array(16)
      words.forEach((w, i) => ((b[2 * i] = w >> 8), (b[2 * i + 1] = w & 0xff)))
      return formatIpv6(b, 0)
    }
    expect(addr([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1')
    expect(addr([0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1')
    expect(addr([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::')
    expect(addr([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1')
    expect(addr([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201])).toBe('::ffff:192.0.2.1')
    expect(addr([0xfe80, 0, 0, 0, 0x8c36, 0x6ff, 0xfe44, 0xacaf])).toBe('fe80::8c36:6ff:fe44:acaf')
  })
})

describe('ICMP errors quote the packet they answer', () => {
  it('frag-needed carries the next-hop MTU and the quoted TCP header (zeek smtp)', () => {
    const p = read('zeek_smtp.pcap')[25]
    expect(p.l4).toMatchObject({
      kind: 'icmp',
      type: 3,
      code: 4,
      mtu: 1492,
      inner: {
        ip: { src: '10.10.1.4', dst: '74.53.140.153', proto: 6 },
        l4: { sport: 1470, dport: 25, seq: 2126795847 }
      }
    })
  })

  it('packet too big carries the MTU; destination unreachable walks the quoted extension header', () => {
    const [ptb] = read('zeek_icmp6-toobig.pcap')
    expect(ptb.l4).toMatchObject({
      kind: 'icmpv6',
      type: 2,
      mtu: 1280,
      inner: { l4: { kind: 'udp', sport: 30000, dport: 13000 } }
    })
    const [unreach] = read('zeek_icmp6-destunreach-ip6ext-udp.pcap')
    expect(unreach.l4).toMatchObject({ kind: 'icmpv6', type: 1, code: 0 })
    expect(unreach.l4?.kind === 'icmpv6' && unreach.l4.inner?.ip).toMatchObject({
      version: 6,
      proto: 17
    })
  })
})

describe('link layers', () => {
  it('reads SLL2 interface index and direction (tcpdump: "lo In ifindex 1")', () => {
    const [p] = read('zeek_linux_dlt_sll2.pcap')
    expect(p.link).toMatchObject({ type: 276, sllIfindex: 1, sllPktType: 0, etherType: 0x0800 })
    expect(p.l4).toMatchObject({ kind: 'icmp', type: 8, id: 8, seq: 1 })
  })

  it('reads NFLOG family, group and the logged packet (nflog-e.out: "resource ID 20, family IPv4")', () => {
    const [p] = read('tcpdump_nflog.pcap')
    expect(p.link.nflog).toMatchObject({ family: 2, group: 20 })
    expect(p.ip).toMatchObject({ src: '74.82.42.42', dst: '10.0.0.20' })
    expect(p.l4).toMatchObject({ kind: 'udp', sport: 53, dport: 42585 })
  })

  it('peels stacked 802.1ad/802.1Q tags (QinQ.out: "vlan 200 ... vlan 2001, ethertype ARP")', () => {
    const [p] = read('tcpdump_802.1ad_QinQ.pcap')
    expect(p.link).toMatchObject({ vlan: [200, 2001], etherType: 0x0806 })
    expect(p.ip).toBeUndefined()
  })

  it('reads the NFLOG hook (tshark: nflog.hook 3, the OUTPUT hook)', () => {
    const [p] = read('zeek_nflog-http.pcap')
    expect(p.link.nflog).toMatchObject({ family: 2, group: 42, hook: 3, prefix: '' })
  })
})

describe('a TCP header the snap length cut', () => {
  const whole = tcpFrame({ sport: 40001, dport: 9999, seq: 7, flags: 0x02 })
  /** The SYN as a capture with this many bytes of its TCP header keeps it (14 Ethernet, 20 IP). */
  const capture = (tcpBytes: number, count = 1) =>
    buildPcap(
      Array.from({ length: count }, (_, i) => ({
        sec: 100 + i,
        frac: 0,
        data: whole.subarray(0, 34 + tcpBytes),
        len: whole.length
      }))
    )

  it('keeps ports, sequence numbers and flags when the flags were captured', () => {
    const p = readCaptureBytes('cut.pcap', capture(14)).packets[0]
    expect(p.l4).toMatchObject({
      kind: 'tcp',
      sport: 40001,
      dport: 9999,
      seq: 7,
      flags: 2,
      cut: 14
    })
    expect(p.problem).toBe(
      'TCP header truncated: 14 of 20 bytes (ports, sequence numbers and flags kept)'
    )
    const short = readCaptureBytes('cut.pcap', capture(13)).packets[0]
    expect(short.l4).toBeUndefined()
    expect(short.problem).toBe('TCP header truncated: 13 of 20 bytes')
  })

  it('keeps the conversation, and says how many packets were not decoded whole', async () => {
    const { flows, inputs } = await analyse([memorySource('cut.pcap', capture(14, 3))])
    expect(flows).toMatchObject([
      { sport: 40001, dport: 9999, outcome: 'syn-timeout', synRetransmits: 2 }
    ])
    expect(inputs[0].warnings).toEqual([
      '3 packets not decoded whole (first: frame 1: TCP header truncated: 14 of 20 bytes (ports, sequence numbers and flags kept)); their conversations may be incomplete or missing'
    ])
  })
})
