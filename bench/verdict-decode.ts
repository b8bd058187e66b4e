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
import { readCaptureChunks } from '../src-main/node/read-chunks'
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

/** The counts, in the order of the slots of `count`. */
const NAMES = [
  'packets',
  'ipv4',
  'ipv6',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
  'nonIp',
  'vlan',
  'syn',
  'rst',
  'fin',
  'fragNeeded',
  'portUnreachable',
  'packetTooBig',
  'echo',
  'tcpPayload',
  'udpPayload',
  'problems'
] as const
const [PACKETS, IPV4, IPV6, TCP, UDP, ICMP, ICMPV6, NON_IP, VLAN, SYN, RST, FIN] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
]
const [FRAG_NEEDED, PORT_UNREACHABLE, PACKET_TOO_BIG, ECHO, TCP_PAYLOAD, UDP_PAYLOAD, PROBLEMS] = [
  12, 13, 14, 15, 16, 17, 18
]
/** Counts in a typed array: plain doubles, no property lookups, no overflow past 2^31. */
const count = new Float64Array(NAMES.length)

/**
 * The running checksum lives in an Int32Array: a module-level `let` holding an int32 outside
 * the small-integer range would box a fresh heap number on every store.
 */
const acc = new Int32Array(1)

/**
 * Folds each packet into the checksum and counts what it is. Its fields are weighted by
 * distinct odd constants and summed (independent multiplies the CPU runs side by side), and only
 * that sum is chained into the running hash. TCP and UDP are folded here, in the one call per
 * packet, so the harness costs little next to the decoding it checks; rarer layers call out.
 */
const sink = (v: PacketView): void => {
  count[PACKETS]++
  let h =
    (v.n +
      Math.imul(v.sec, 0x9e3779b1) +
      Math.imul(v.nsec, 0x85ebca77) +
      Math.imul(v.len, 0xc2b2ae3d) +
      Math.imul(v.caplen, 0x27d4eb2f) +
      Math.imul(v.linkType, 0x165667b1)) |
    0
  if (v.vlanCount > 0) h = (h + foldVlan(v)) | 0
  if (v.full !== undefined) h = (h + foldProblem(v)) | 0
  const version = v.ipVersion
  if (version === 4) {
    count[IPV4]++
    h =
      (h +
        Math.imul(v.ipId, 0x3c6ef372) +
        Math.imul(v.totalLen, 0x78dde6e5) +
        (v.df ? 1 : 0) +
        Math.imul(v.ipOff < 0 ? addressText(v, true) : v.src4, 0x6c8e9cf5) +
        (v.ipOff < 0 ? addressText(v, false) : v.dst4)) |
      0
  } else if (version === 6) {
    count[IPV6]++
    h =
      (h +
        Math.imul(v.flowLabel, 0x3c6ef372) +
        Math.imul(v.ipPayloadLen, 0x78dde6e5) +
        Math.imul(address6(v, 8, true), 0x6c8e9cf5) +
        address6(v, 24, false)) |
      0
  } else {
    count[NON_IP]++
    acc[0] = (Math.imul(acc[0], 31) + h) | 0
    return
  }
  h = (h + Math.imul(v.ttl, 0x5bd1e995) + Math.imul(v.proto, 0x1b873593)) | 0
  const l4 = v.l4
  if (l4 === L4_TCP) {
    count[TCP]++
    count[TCP_PAYLOAD] += v.payloadLen
    const flags = v.flags
    if (flags & 0x02) count[SYN]++
    if (flags & 0x04) count[RST]++
    if (flags & 0x01) count[FIN]++
    h =
      (h +
        Math.imul(v.sport, 0x7feb352d) +
        Math.imul(v.dport, 0x846ca68b) +
        Math.imul(v.seq, 0x2c1b3c6d) +
        Math.imul(v.ack, 0x297a2d39) +
        Math.imul(flags, 0x6a09e667) +
        Math.imul(v.win, 0xbb67ae85) +
        Math.imul(v.payloadLen, 0x3c6ef373)) |
      0
    if (v.optMask !== 0)
      h =
        (h +
          Math.imul(v.optMask, 0xa54ff53a) +
          Math.imul(v.mss, 0x510e527f) +
          Math.imul(v.wscale, 0x9b05688c) +
          Math.imul(v.tsval, 0x1f83d9ab) +
          Math.imul(v.tsecr, 0x5be0cd19) +
          v.sackCount) |
        0
  } else if (l4 === L4_UDP) {
    count[UDP]++
    count[UDP_PAYLOAD] += v.payloadLen
    h =
      (h +
        Math.imul(v.sport, 0x7feb352d) +
        Math.imul(v.dport, 0x846ca68b) +
        Math.imul(v.payloadLen, 0x2c1b3c6d)) |
      0
  } else if (l4 === L4_ICMP || l4 === L4_ICMPV6) {
    h = (h + foldIcmp(v)) | 0
  }
  acc[0] = (Math.imul(acc[0], 31) + h) | 0
}

/** Returns the VLAN tags' share of the hash and counts the tagged frame. */
function foldVlan(v: PacketView): number {
  count[VLAN]++
  let h = 0
  for (let i = 0; i < v.vlanCount; i++) h = (h + Math.imul(v.vlan[i], 0x2545f491 + i)) | 0
  return h
}

/** Returns the length of the decode problem of a packet the full decoder made, counting it. */
function foldProblem(v: PacketView): number {
  const problem = v.full?.problem
  if (problem === undefined) return 0
  count[PROBLEMS]++
  return problem.length
}

/** Returns an address's text length: what a packet the full decoder made has instead of bytes. */
function addressText(v: PacketView, src: boolean): number {
  return (src ? v.srcText() : v.dstText()).length
}

/** Returns the XOR of the words of the IPv6 address at `at` in the IP header. */
function address6(v: PacketView, at: number, src: boolean): number {
  if (v.ipOff < 0) return addressText(v, src)
  const b = v.b
  let w = 0
  for (let o = v.ipOff + at, end = o + 16; o < end; o += 4)
    w ^= (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]
  return w
}

/** Returns the ICMP/ICMPv6 fields' share of the hash (with the quoted packet's) and counts kinds. */
function foldIcmp(v: PacketView): number {
  const v6 = v.l4 === L4_ICMPV6
  count[v6 ? ICMPV6 : ICMP]++
  const type = v.icmpType
  const code = v.icmpCode
  if (v6 ? type === 128 || type === 129 : type === 0 || type === 8) count[ECHO]++
  if (!v6 && type === 3 && code === 4) count[FRAG_NEEDED]++
  if (v6 ? type === 1 && code === 4 : type === 3 && code === 3) count[PORT_UNREACHABLE]++
  if (v6 && type === 2) count[PACKET_TOO_BIG]++
  let h =
    (Math.imul(type, 0x7feb352d) +
      Math.imul(code, 0x846ca68b) +
      Math.imul(v.mtu, 0x2c1b3c6d) +
      Math.imul(v.icmpId, 0x297a2d39) +
      Math.imul(v.icmpSeq, 0x6a09e667)) |
    0
  // ICMP comes from the full decoder: the quoted packet is on its Packet.
  const l4 = v.full?.l4
  const inner = l4 && (l4.kind === 'icmp' || l4.kind === 'icmpv6') ? l4.inner : undefined
  if (inner) {
    h = (h + inner.ip.src.length + Math.imul(inner.ip.dst.length, 3)) | 0
    h = (h + Math.imul(inner.ip.proto, 5)) | 0
    if (inner.l4)
      h =
        (h +
          Math.imul(inner.l4.sport ?? 0, 7) +
          Math.imul(inner.l4.dport ?? 0, 11) +
          Math.imul(inner.l4.seq ?? 0, 13)) |
        0
  }
  return h | 0
}

const t0 = performance.now()
const reader = createCaptureViewReader(file, sink)
// The command line's own reading path: 1 MiB reads into one reused buffer.
for await (const chunk of readCaptureChunks(file)) reader.push(chunk)
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
    counts: Object.fromEntries(NAMES.map((name, i) => [name, count[i]])),
    maxRssKB: process.resourceUsage().maxRSS
  })
)
