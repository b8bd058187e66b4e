/**
 * Benchmark entry: reads a capture with Verdict's engine and decodes every packet into the
 * engine's numeric packet view (what `verdict analyze` consumes; address text only on demand).
 * Bundled by bench/run.mjs with esbuild and run as its own process:
 *
 *   node bench/data/verdict-decode.mjs FILE
 *
 * Every decoded field that matters is folded into a checksum and per-protocol counts, printed
 * as one JSON line at the end, so no decoding work can be optimised away. The counts use the
 * same names as the generator's marker (bench/make-capture.mjs) so the runner can compare them.
 */
import { createCaptureViewReader } from '../src-main/engine/capture/read-capture'
import { readChunks } from '../src-main/node/read-chunks'
import {
  L4_ICMP,
  L4_ICMPV6,
  L4_TCP,
  L4_UDP,
  PacketView
} from '../src-main/engine/capture/packet-view'

const file = process.argv[2]
if (!file) {
  console.error('usage: node verdict-decode.mjs FILE')
  process.exit(2)
}

const counts = {
  packets: 0,
  ipv4: 0,
  ipv6: 0,
  tcp: 0,
  udp: 0,
  icmp: 0,
  icmpv6: 0,
  nonIp: 0,
  vlan: 0,
  syn: 0,
  rst: 0,
  fin: 0,
  fragNeeded: 0,
  portUnreachable: 0,
  packetTooBig: 0,
  echo: 0,
  tcpPayload: 0,
  udpPayload: 0,
  problems: 0
}
/** Folds v into the hash h (kept in locals: the harness should cost little next to decoding). */
const mix = (h: number, v: number): number => (Math.imul(h, 31) + (v | 0)) | 0
/**
 * The running hash lives in an Int32Array: a module-level `let` holding an int32 outside the
 * small-integer range would box a fresh heap number on every store.
 */
const acc = new Int32Array(1)

const sink = (v: PacketView): void => {
  acc[0] = mix(acc[0], fold(v))
}

/** Folds an address: its words from the frame, or its text's length when only text exists. */
function foldAddress(h: number, v: PacketView, at: number, src: boolean): number {
  if (v.ipOff < 0) return mix(h, (src ? v.srcText() : v.dstText()).length)
  const b = v.b
  const o = v.ipOff + at
  const words = v.ipVersion === 4 ? 1 : 4
  for (let i = 0; i < words; i++)
    h = mix(
      h,
      (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3]
    )
  return h
}

/** Returns a hash of the packet's decoded fields and counts what it is. */
function fold(v: PacketView): number {
  counts.packets++
  let h = 0
  h = mix(h, v.n)
  h = mix(h, v.sec)
  h = mix(h, v.nsec)
  h = mix(h, v.len)
  h = mix(h, v.caplen)
  h = mix(h, v.linkType)
  if (v.vlanCount > 0) {
    counts.vlan++
    for (let i = 0; i < v.vlanCount; i++) h = mix(h, v.vlan[i])
  }
  const problem = v.full?.problem
  if (problem !== undefined) {
    counts.problems++
    h = mix(h, problem.length)
  }
  if (v.ipVersion === 0) {
    counts.nonIp++
    return h
  }
  if (v.ipVersion === 4) {
    counts.ipv4++
    h = mix(h, v.ipId)
    h = mix(h, v.totalLen)
    h = foldAddress(h, v, 12, true)
    h = foldAddress(h, v, 16, false)
  } else {
    counts.ipv6++
    h = mix(h, v.flowLabel)
    h = foldAddress(h, v, 8, true)
    h = foldAddress(h, v, 24, false)
  }
  h = mix(h, v.ttl)
  h = mix(h, v.proto)
  switch (v.l4) {
    case L4_TCP:
      counts.tcp++
      counts.tcpPayload += v.payloadLen
      if (v.flags & 0x02) counts.syn++
      if (v.flags & 0x04) counts.rst++
      if (v.flags & 0x01) counts.fin++
      h = mix(h, v.sport)
      h = mix(h, v.dport)
      h = mix(h, v.seq)
      h = mix(h, v.ack)
      h = mix(h, v.flags)
      h = mix(h, v.win)
      h = mix(h, v.payloadLen)
      if (v.optMask !== 0) {
        h = mix(h, v.optMask)
        h = mix(h, v.mss)
        h = mix(h, v.wscale)
        h = mix(h, v.tsval)
        h = mix(h, v.tsecr)
        h = mix(h, v.sackCount)
      }
      break
    case L4_UDP:
      counts.udp++
      counts.udpPayload += v.payloadLen
      h = mix(h, v.sport)
      h = mix(h, v.dport)
      h = mix(h, v.payloadLen)
      break
    case L4_ICMP:
    case L4_ICMPV6: {
      const v6 = v.l4 === L4_ICMPV6
      if (v6) counts.icmpv6++
      else counts.icmp++
      const type = v.icmpType
      const code = v.icmpCode
      h = mix(h, type)
      h = mix(h, code)
      h = mix(h, v.mtu)
      h = mix(h, v.icmpId)
      h = mix(h, v.icmpSeq)
      if (v6 ? type === 128 || type === 129 : type === 0 || type === 8) counts.echo++
      if (!v6 && type === 3 && code === 4) counts.fragNeeded++
      if (v6 ? type === 1 && code === 4 : type === 3 && code === 3) counts.portUnreachable++
      if (v6 && type === 2) counts.packetTooBig++
      // ICMP comes from the full decoder: the quoted packet is on its Packet.
      const l4 = v.full?.l4
      const inner = l4 && (l4.kind === 'icmp' || l4.kind === 'icmpv6') ? l4.inner : undefined
      if (inner) {
        h = mix(h, inner.ip.src.length)
        h = mix(h, inner.ip.dst.length)
        h = mix(h, inner.ip.proto)
        if (inner.l4) {
          h = mix(h, inner.l4.sport ?? 0)
          h = mix(h, inner.l4.dport ?? 0)
          h = mix(h, inner.l4.seq ?? 0)
        }
      }
      break
    }
  }
  return h
}

const t0 = performance.now()
const reader = createCaptureViewReader(file, sink)
// The command line's own reading path: 1 MiB reads into one reused buffer.
for await (const chunk of readChunks(file)) reader.push(chunk)
const summary = reader.end()
const seconds = (performance.now() - t0) / 1000

console.log(
  JSON.stringify({
    file,
    seconds,
    bytesRead: summary.bytesRead,
    summaryPackets: summary.packets,
    summaryProblems: summary.problems.length,
    checksum: acc[0] >>> 0,
    counts,
    maxRssKB: process.resourceUsage().maxRSS
  })
)
