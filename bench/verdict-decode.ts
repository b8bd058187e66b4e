/**
 * Benchmark entry: reads a capture with Verdict's engine and decodes every packet.
 * Bundled by bench/run.mjs with esbuild and run as its own process:
 *
 *   node bench/data/verdict-decode.mjs FILE
 *
 * Every decoded field that matters is folded into a checksum and per-protocol counts, printed
 * as one JSON line at the end, so no decoding work can be optimised away. The counts use the
 * same names as the generator's marker (bench/make-capture.mjs) so the runner can compare them.
 */
import { createCaptureReader } from '../src-main/engine/capture/read-capture'
import { readChunks } from '../src-main/node/read-chunks'
import type { Packet } from '../src-main/engine/capture/packet'

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

const sink = (p: Packet): void => {
  acc[0] = mix(acc[0], fold(p))
}

/** Returns a hash of the packet's decoded fields and counts what it is. */
function fold(p: Packet): number {
  counts.packets++
  let h = 0
  h = mix(h, p.n)
  h = mix(h, p.sec)
  h = mix(h, p.nsec)
  h = mix(h, p.len)
  h = mix(h, p.caplen)
  h = mix(h, p.link.type)
  if (p.link.vlan) {
    counts.vlan++
    for (const id of p.link.vlan) h = mix(h, id)
  }
  if (p.problem !== undefined) {
    counts.problems++
    h = mix(h, p.problem.length)
  }
  const ip = p.ip
  if (!ip) {
    counts.nonIp++
    return h
  }
  if (ip.version === 4) {
    counts.ipv4++
    h = mix(h, ip.id)
    h = mix(h, ip.totalLen)
  } else {
    counts.ipv6++
    h = mix(h, ip.flowLabel)
  }
  h = mix(h, ip.src.length)
  h = mix(h, ip.dst.length)
  h = mix(h, ip.ttl)
  h = mix(h, ip.proto)
  const l4 = p.l4
  if (!l4) return h
  switch (l4.kind) {
    case 'tcp':
      counts.tcp++
      counts.tcpPayload += l4.payloadLen
      if (l4.flags & 0x02) counts.syn++
      if (l4.flags & 0x04) counts.rst++
      if (l4.flags & 0x01) counts.fin++
      h = mix(h, l4.sport)
      h = mix(h, l4.dport)
      h = mix(h, l4.seq)
      h = mix(h, l4.ack)
      h = mix(h, l4.flags)
      h = mix(h, l4.win)
      h = mix(h, l4.payloadLen)
      if (l4.options) {
        h = mix(h, l4.options.kindMask)
        h = mix(h, l4.options.mss ?? 0)
        h = mix(h, l4.options.wscale ?? 0)
        h = mix(h, l4.options.tsval ?? 0)
        h = mix(h, l4.options.tsecr ?? 0)
        if (l4.options.sack) for (const [l, r] of l4.options.sack) h = mix(h, l ^ r)
      }
      break
    case 'udp':
      counts.udp++
      counts.udpPayload += l4.payloadLen
      h = mix(h, l4.sport)
      h = mix(h, l4.dport)
      h = mix(h, l4.payloadLen)
      break
    case 'icmp':
    case 'icmpv6': {
      if (l4.kind === 'icmp') counts.icmp++
      else counts.icmpv6++
      h = mix(h, l4.type)
      h = mix(h, l4.code)
      h = mix(h, l4.mtu ?? 0)
      h = mix(h, l4.id ?? 0)
      h = mix(h, l4.seq ?? 0)
      const v6 = l4.kind === 'icmpv6'
      if (v6 ? l4.type === 128 || l4.type === 129 : l4.type === 0 || l4.type === 8) counts.echo++
      if (!v6 && l4.type === 3 && l4.code === 4) counts.fragNeeded++
      if (v6 ? l4.type === 1 && l4.code === 4 : l4.type === 3 && l4.code === 3) {
        counts.portUnreachable++
      }
      if (v6 && l4.type === 2) counts.packetTooBig++
      const inner = l4.inner
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
const reader = createCaptureReader(file, sink)
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
