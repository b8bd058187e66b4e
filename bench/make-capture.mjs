#!/usr/bin/env node
/**
 * Writes a deterministic classic pcap (little-endian, microseconds, Ethernet) of mixed traffic
 * for `npm run bench`: TCP conversations with options, SACK and losses, unanswered and reset
 * SYNs, mid-stream resets, PMTU errors (ICMP frag-needed, ICMPv6 packet-too-big), ICMP port
 * unreachable, pings, DNS, QUIC-like UDP, ARP, IPv6 and 802.1Q/802.1ad VLAN tags.
 *
 * A sidecar <file>.json records a hash of this generator, the seed, the size and the exact
 * counts the file holds; the capture is only rewritten when that marker does not match.
 *
 *   node bench/make-capture.mjs [--size MB] [--seed N] [--force]
 */
import { createHash } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync
} from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/** A hash of this file: any edit to the generator rewrites captures made by an older one. */
export const GENERATOR_HASH = createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')
  .slice(0, 16)
export const DEFAULT_SIZE_MB = 1000
export const DEFAULT_SEED = 20240601

export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'data')

/** Returns the capture path for a size in MB (1 MB = 10^6 bytes). */
export function capturePath(sizeMB) {
  return join(DATA_DIR, sizeMB === 1000 ? 'mix-1g.pcap' : `mix-${sizeMB}m.pcap`)
}

/** Returns the marker of an up-to-date capture, or undefined when it must be (re)generated. */
export function readMarker(file, sizeMB, seed) {
  try {
    const m = JSON.parse(readFileSync(`${file}.json`, 'utf8'))
    if (m.generatorHash !== GENERATOR_HASH || m.seed !== seed || m.sizeMB !== sizeMB) return
    if (!existsSync(file) || statSync(file).size !== m.bytes) return
    return m
  } catch {
    return undefined
  }
}

/** Returns the marker of the capture for these parameters, generating it first when needed. */
export function ensureCapture({
  sizeMB = DEFAULT_SIZE_MB,
  seed = DEFAULT_SEED,
  force = false
} = {}) {
  const file = capturePath(sizeMB)
  const existing = force ? undefined : readMarker(file, sizeMB, seed)
  if (existing) return { ...existing, file, generated: false }
  mkdirSync(DATA_DIR, { recursive: true })
  const t0 = process.hrtime.bigint()
  const tmp = `${file}.tmp`
  const result = generate(tmp, sizeMB * 1e6, seed)
  renameSync(tmp, file)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const marker = {
    generatorHash: GENERATOR_HASH,
    seed,
    sizeMB,
    ...result,
    generationSeconds: Math.round(seconds * 100) / 100
  }
  writeFileSync(`${file}.json`, JSON.stringify(marker, null, 2) + '\n')
  return { ...marker, file, generated: true }
}

// ---------------------------------------------------------------------------------------------
// Generator

const CHUNK = 32 << 20
const FLUSH_AT = CHUNK - 4096
const CONCURRENT_FLOWS = 384
const START_SEC = 1717200000 // 2024-06-01T00:00:00Z

const OPT_NONE = 0
const OPT_SYN_TS = 1 // MSS, SACK-permitted, timestamps, NOP, window scale (Linux)
const OPT_SYN = 2 // MSS, NOP, NOP, SACK-permitted, NOP, window scale
const OPT_TS = 3 // NOP, NOP, timestamps
const OPT_TS_SACK = 4 // NOP, NOP, timestamps, NOP, NOP, one SACK block
const OPT_SACK = 5 // NOP, NOP, one SACK block
const OPT_LEN = [0, 20, 12, 12, 24, 12]
/** A full TLS 1.3 application-data record: 5-byte header, 16384 bytes of data, 17 of AEAD. */
const TLS_RECORD = 16406

const FIN = 0x01
const SYN = 0x02
const RST = 0x04
const PSH = 0x08
const ACK = 0x10

const DNS_NAMES = [
  'www.example.com',
  'api.github.com',
  'registry.npmjs.org',
  'deb.debian.org',
  'time.cloudflare.com',
  'login.microsoftonline.com',
  'updates.example.net',
  's3.eu-west-1.amazonaws.com',
  'metrics.internal.corp',
  'db-primary.internal.corp',
  'cdn.jsdelivr.net',
  'fonts.googleapis.com'
]

/** Generates the capture into `file` until at least `targetBytes` are written; returns its counts. */
function generate(file, targetBytes, seed) {
  const rnd = makeRng(seed)
  const randInt = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1))
  const chance = (p) => rnd() < p
  const pick = (a) => a[Math.floor(rnd() * a.length)]
  const u32 = () => Math.floor(rnd() * 4294967296)
  const expo = (mean) => -mean * Math.log(1 - rnd())
  /** Log-uniform between lo and hi: many small values, a long tail. */
  const logUni = (lo, hi) => Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo)))
  const us = (x) => Math.max(1, Math.round(x))

  // Random bytes that payloads are copied from.
  const noise = Buffer.alloc(1 << 17)
  for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE(u32(), i)

  const dnsNames = DNS_NAMES.map((n) => {
    const parts = n.split('.')
    const b = Buffer.alloc(n.length + 2)
    let o = 0
    for (const p of parts) {
      b[o++] = p.length
      b.write(p, o, 'latin1')
      o += p.length
    }
    b[o] = 0
    return b
  })

  // Hosts: clients on the capture side (some on VLANs), servers out on the Internet.
  const GW_MAC_HI = 0x001b
  const GW_MAC_LO = 0x21aabbcc
  const clients = []
  for (let i = 0; i < 600; i++) {
    const r = rnd()
    let vlan = null
    if (r < 0.02) vlan = [0x88a8, 100 + (i % 4), 0x8100, 10 + (i % 3)]
    else if (r < 0.3) vlan = [0x8100, pick([10, 20, 30, 110, 250]) | (pick([0, 0, 0, 5]) << 13)]
    const ip6 = new Uint8Array(16)
    ip6.set([0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, (i >> 6) & 0xff])
    for (let k = 8; k < 16; k++) ip6[k] = randInt(0, 255)
    clients.push({
      ip4: ((10 << 24) | (1 << 16) | ((2 + (i >> 8)) << 8) | (1 + (i & 0xff))) >>> 0,
      ip6,
      macHi: 0x0200 | (i >> 24),
      macLo: (0x5e000000 | i) >>> 0,
      vlan
    })
  }
  const servers4 = []
  while (servers4.length < 3000) {
    const a = randInt(1, 223)
    if (a === 10 || a === 127 || a === 100 || a === 169 || a === 172 || a === 192) continue
    servers4.push(
      ((a << 24) | (randInt(0, 255) << 16) | (randInt(0, 255) << 8) | randInt(1, 254)) >>> 0
    )
  }
  const prefixes6 = [
    [0x2a, 0x00, 0x14, 0x50, 0x40, 0x01],
    [0x26, 0x06, 0x47, 0x00, 0x00, 0x00],
    [0x2a, 0x03, 0x28, 0x80, 0xf1, 0x2f],
    [0x26, 0x00, 0x1f, 0x18, 0x24, 0x7f],
    [0x20, 0x01, 0x06, 0x7c, 0x13, 0x6c]
  ]
  const servers6 = []
  for (let i = 0; i < 1500; i++) {
    const a = new Uint8Array(16)
    a.set(pick(prefixes6))
    a[6] = randInt(0, 8)
    a[7] = randInt(0, 255)
    if (chance(0.6)) {
      a[14] = randInt(0, 255)
      a[15] = randInt(1, 255)
    } else {
      for (let k = 8; k < 16; k++) a[k] = randInt(0, 255)
    }
    servers6.push(a)
  }
  const resolvers4 = [0x0a010001, 0x08080808, 0x01010101]
  const resolvers6 = servers6.slice(0, 3)
  const routers4 = [0x0a01ff01, 0xc6336401, 0xcb007101, 0x5bbd5901]
  const routers6 = [servers6[10], servers6[11]]
  /** Popular servers get most of the traffic. */
  const popular = (list) => list[Math.floor(list.length * rnd() ** 3)]

  // Output buffer and record writer.
  const out = Buffer.alloc(CHUNK)
  const fd = openSync(file, 'w')
  let pos = 0
  let flushed = 0
  let now = START_SEC * 1e6
  let rec = 0
  let ipStart = 0
  let l4Start = 0
  let isV6 = false
  let l4Proto = 0

  const c = {
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
    udpPayload: 0
  }
  const flows = {}

  const w8 = (v) => {
    out[pos++] = v
  }
  const w16 = (v) => {
    out[pos++] = (v >>> 8) & 0xff
    out[pos++] = v & 0xff
  }
  const w32 = (v) => {
    out[pos++] = (v >>> 24) & 0xff
    out[pos++] = (v >>> 16) & 0xff
    out[pos++] = (v >>> 8) & 0xff
    out[pos++] = v & 0xff
  }
  const put16 = (o, v) => {
    out[o] = (v >>> 8) & 0xff
    out[o + 1] = v & 0xff
  }
  const put32le = (o, v) => {
    out[o] = v & 0xff
    out[o + 1] = (v >>> 8) & 0xff
    out[o + 2] = (v >>> 16) & 0xff
    out[o + 3] = (v >>> 24) & 0xff
  }
  const wBytes = (a) => {
    for (let i = 0; i < a.length; i++) out[pos++] = a[i]
  }
  const wNoise = (len) => {
    const from = Math.floor(rnd() * (noise.length - len))
    noise.copy(out, pos, from, from + len)
    pos += len
  }
  const flush = () => {
    writeSync(fd, out, 0, pos)
    flushed += pos
    pos = 0
  }

  // pcap file header: magic, 2.4, thiszone 0, sigfigs 0, snaplen 262144, LINKTYPE_ETHERNET.
  put32le(0, 0xa1b2c3d4)
  out[4] = 2
  out[6] = 4
  put32le(16, 262144)
  put32le(20, 1)
  pos = 24

  const begin = () => {
    if (pos > FLUSH_AT) flush()
    rec = pos
    pos += 16
  }
  const finish = () => {
    const len = pos - rec - 16
    const sec = Math.floor(now / 1e6)
    put32le(rec, sec)
    put32le(rec + 4, now - sec * 1e6)
    put32le(rec + 8, len)
    put32le(rec + 12, len)
    c.packets++
  }
  const eth = (dHi, dLo, sHi, sLo, vlan, type) => {
    w16(dHi)
    w32(dLo)
    w16(sHi)
    w32(sLo)
    if (vlan) {
      c.vlan++
      for (let i = 0; i < vlan.length; i++) w16(vlan[i])
    }
    w16(type)
  }
  /** Starts an IP packet (after the Ethernet header); lengths are patched by endIp. */
  const ipHeader = (v6, src, dst, proto, ttl, id) => {
    isV6 = v6
    l4Proto = proto
    ipStart = pos
    if (v6) {
      c.ipv6++
      w32((6 << 28) | (id & 0xfffff))
      w16(0)
      w8(proto)
      w8(ttl)
      wBytes(src)
      wBytes(dst)
    } else {
      c.ipv4++
      w8(0x45)
      w8(0)
      w16(0)
      w16(id & 0xffff)
      w16(proto === 17 || proto === 1 ? 0 : 0x4000)
      w8(ttl)
      w8(proto)
      w16(0)
      w32(src)
      w32(dst)
    }
    l4Start = pos
  }
  /** Ones'-complement sum (RFC 1071) of the 16-bit words in out[from, to), added to `s`. */
  const sum16 = (from, to, s) => {
    for (let o = from; o + 1 < to; o += 2) s += (out[o] << 8) | out[o + 1]
    if ((to - from) & 1) s += out[to - 1] << 8
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16)
    return s
  }
  /** Patches the IP and transport lengths and checksums, then closes the record. */
  const endIp = () => {
    const l4Len = pos - l4Start
    if (isV6) put16(ipStart + 4, pos - ipStart - 40)
    else {
      put16(ipStart + 2, pos - ipStart)
      put16(ipStart + 10, ~sum16(ipStart, ipStart + 20, 0) & 0xffff)
    }
    if (l4Proto === 17) put16(l4Start + 4, l4Len)
    // TCP, UDP and ICMPv6 sum a pseudo-header: both addresses, the protocol and the length.
    let s = 0
    if (l4Proto !== 1)
      s = sum16(isV6 ? ipStart + 8 : ipStart + 12, ipStart + (isV6 ? 40 : 20), l4Proto + l4Len)
    const ck = ~sum16(l4Start, pos, s) & 0xffff
    put16(
      l4Start + (l4Proto === 6 ? 16 : l4Proto === 17 ? 6 : 2),
      l4Proto === 17 && ck === 0 ? 0xffff : ck
    )
    finish()
  }
  /** Copies the IP packet just written (its first `max` bytes), for an ICMP error to quote. */
  const lastIp = (max) => Buffer.from(out.subarray(ipStart, Math.min(pos, ipStart + max)))

  // A flow: one client and one server, as seen at the client-side capture point.
  const newFlow = (v6, server) => {
    const cl = pick(clients)
    return {
      v6,
      cip: v6 ? cl.ip6 : cl.ip4,
      sip: server ?? (v6 ? popular(servers6) : popular(servers4)),
      cl,
      cport: randInt(32768, 60999),
      sport: 443,
      sttl: pick([64, 128, 255]) - randInt(5, 20),
      cid: randInt(0, 0xffff),
      sid: randInt(0, 0xffff),
      // TCP state
      ts: false,
      tsBaseC: u32(),
      tsBaseS: u32(),
      tsC: 0,
      tsS: 0,
      sackL: 0,
      sackR: 0
    }
  }
  const ipOut = (f, fromC, proto) => {
    begin()
    const cl = f.cl
    if (fromC) eth(GW_MAC_HI, GW_MAC_LO, cl.macHi, cl.macLo, cl.vlan, f.v6 ? 0x86dd : 0x0800)
    else eth(cl.macHi, cl.macLo, GW_MAC_HI, GW_MAC_LO, cl.vlan, f.v6 ? 0x86dd : 0x0800)
    if (fromC) ipHeader(f.v6, f.cip, f.sip, proto, 64, f.v6 ? f.cport * 7 : f.cid++)
    else ipHeader(f.v6, f.sip, f.cip, proto, f.sttl, f.v6 ? f.sport * 13 : f.sid++)
  }

  /**
   * Writes `plen` payload bytes: bytes [msgOff, msgOff + plen) of an application message of
   * `msgLen` bytes. TLS messages get record headers at their record boundaries; other messages
   * start with `head` (HTTP headers); the rest is random.
   */
  const wPayload = (f, plen, msgOff, msgLen, head) => {
    const p0 = pos
    wNoise(plen)
    if (f.app === 'tls') {
      for (
        let r = Math.floor(msgOff / TLS_RECORD) * TLS_RECORD;
        r < msgOff + plen;
        r += TLS_RECORD
      ) {
        const len = Math.min(TLS_RECORD, msgLen - r) - 5
        for (let i = 0; i < 5; i++) {
          const at = r + i - msgOff
          if (at >= 0 && at < plen)
            out[p0 + at] = i === 0 ? 0x17 : i < 3 ? 0x03 : i === 3 ? len >> 8 : len & 0xff
        }
      }
    } else if (head) {
      for (let i = msgOff; i < head.length && i < msgOff + plen; i++) out[p0 + i - msgOff] = head[i]
    }
  }

  const tcpOut = (f, fromC, flags, seq, ack, win, opt, plen, msgOff = 0, msgLen = plen, head) => {
    ipOut(f, fromC, 6)
    c.tcp++
    if (flags & SYN) c.syn++
    if (flags & RST) c.rst++
    if (flags & FIN) c.fin++
    c.tcpPayload += plen
    w16(fromC ? f.cport : f.sport)
    w16(fromC ? f.sport : f.cport)
    w32(seq >>> 0)
    w32(ack >>> 0)
    w8(((20 + OPT_LEN[opt]) / 4) << 4)
    w8(flags)
    w16(win)
    w32(0) // checksum, urgent pointer
    const ms = Math.floor(now / 1000)
    const tsval = ((fromC ? f.tsBaseC : f.tsBaseS) + ms) >>> 0
    const tsecr = fromC ? f.tsS : f.tsC
    if (fromC) f.tsC = tsval
    else f.tsS = tsval
    switch (opt) {
      case OPT_SYN_TS:
        w32(0x02040000 | (f.v6 ? 1440 : 1460))
        w16(0x0402)
        w16(0x080a)
        w32(tsval)
        w32(flags & ACK ? tsecr : 0)
        w32(0x01030307)
        break
      case OPT_SYN:
        w32(0x02040000 | (f.v6 ? 1440 : pick([1460, 1460, 1380])))
        w32(0x01010402)
        w32(0x01030308)
        break
      case OPT_TS:
        w32(0x0101080a)
        w32(tsval)
        w32(tsecr)
        break
      case OPT_TS_SACK:
        w32(0x0101080a)
        w32(tsval)
        w32(tsecr)
        w32(0x0101050a)
        w32(f.sackL >>> 0)
        w32(f.sackR >>> 0)
        break
      case OPT_SACK:
        w32(0x0101050a)
        w32(f.sackL >>> 0)
        w32(f.sackR >>> 0)
        break
    }
    if (plen > 0) wPayload(f, plen, msgOff, msgLen, head)
    endIp()
  }

  const udpHeader = (sport, dport) => {
    c.udp++
    w16(sport)
    w16(dport)
    w32(0) // length (patched), checksum
  }
  const udpOut = (f, fromC, plen) => {
    ipOut(f, fromC, 17)
    udpHeader(fromC ? f.cport : f.sport, fromC ? f.sport : f.cport)
    c.udpPayload += plen
    wNoise(plen)
    endIp()
  }
  const dnsOut = (f, fromC, id, name, qtype, answers) => {
    ipOut(f, fromC, 17)
    udpHeader(fromC ? f.cport : f.sport, fromC ? f.sport : f.cport)
    const p0 = pos
    w16(id)
    w16(fromC ? 0x0100 : answers ? 0x8180 : 0x8183)
    w16(1)
    w16(answers)
    w32(0)
    wBytes(name)
    w16(qtype)
    w16(1)
    for (let i = 0; i < answers; i++) {
      w16(0xc00c)
      w16(qtype)
      w16(1)
      w32(randInt(30, 3600))
      if (qtype === 28) {
        w16(16)
        wNoise(16)
      } else if (qtype === 1) {
        w16(4)
        wNoise(4)
      } else {
        w16(40)
        w8(39)
        for (let k = 0; k < 39; k++) w8(0x61 + ((k * 7) % 26))
      }
    }
    c.udpPayload += pos - p0
    endIp()
  }
  /** An ICMP(v6) error from `src` to the client quoting `quote`; `word` is the 4 bytes after the checksum. */
  const icmpError = (f, src, type, code, word, quote) => {
    begin()
    const cl = f.cl
    eth(cl.macHi, cl.macLo, GW_MAC_HI, GW_MAC_LO, cl.vlan, f.v6 ? 0x86dd : 0x0800)
    ipHeader(f.v6, src, f.cip, f.v6 ? 58 : 1, f.v6 ? 250 : 250, f.v6 ? 0 : randInt(0, 0xffff))
    if (f.v6) c.icmpv6++
    else c.icmp++
    w8(type)
    w8(code)
    w16(0)
    w32(word)
    wBytes(quote)
    endIp()
  }
  const echoOut = (f, fromC, id, seq) => {
    ipOut(f, fromC, f.v6 ? 58 : 1)
    if (f.v6) c.icmpv6++
    else c.icmp++
    c.echo++
    w8(f.v6 ? (fromC ? 128 : 129) : fromC ? 8 : 0)
    w8(0)
    w16(0)
    w16(id)
    w16(seq)
    // Linux ping: an 8-byte timestamp then 48 pattern bytes.
    w32(Math.floor(now / 1e6))
    w32(now % 1e6)
    for (let i = 0x10; i < 0x40; i++) w8(i)
    endIp()
  }
  const arpOut = (cl, target, reply) => {
    begin()
    if (reply) eth(cl.macHi, cl.macLo, GW_MAC_HI, GW_MAC_LO, cl.vlan, 0x0806)
    else eth(0xffff, 0xffffffff, cl.macHi, cl.macLo, cl.vlan, 0x0806)
    c.nonIp++
    w32(0x00010800)
    w16(0x0604)
    w16(reply ? 2 : 1)
    if (reply) {
      w16(GW_MAC_HI)
      w32(GW_MAC_LO)
      w32(target)
      w16(cl.macHi)
      w32(cl.macLo)
      w32(cl.ip4)
    } else {
      w16(cl.macHi)
      w32(cl.macLo)
      w32(cl.ip4)
      w16(0)
      w32(0)
      w32(target)
    }
    // Ethernet minimum frame: pad to 60 bytes.
    while (pos - rec - 16 < 60) w8(0)
    finish()
  }

  // ---- flows: generators yield the delay (µs) before their next packet ----

  /** Adjusts a message length so its application framing fits (0 stays 0). */
  const appLength = (f, n) => {
    if (n === 0) return 0
    if (f.app === 'http') return Math.max(n, 160)
    if (f.app === 'tls') {
      n = Math.max(n, 24)
      const tail = n % TLS_RECORD
      return tail > 0 && tail < 6 ? n + 6 : n
    }
    return n
  }
  const httpRequest = (len) => {
    const path = `/${pick(['api/v1/items', 'index.html', 'static/app.js', 'health', 'upload'])}`
    const host = pick(DNS_NAMES)
    if (len > 1200) {
      // An upload: headers, then a body of the remaining bytes.
      const head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: `
      return Buffer.from(
        `${head}${len - head.length - 4 - lengthDigits(len - head.length - 4)}\r\n\r\n`
      )
    }
    const head = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\nX-Pad: `
    return Buffer.from(`${head}${'a'.repeat(Math.max(0, len - head.length - 4))}\r\n\r\n`)
  }
  const httpResponse = (len) => {
    if (len === 0) return undefined
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: '
    return Buffer.from(
      `${head}${len - head.length - 4 - lengthDigits(len - head.length - 4)}\r\n\r\n`
    )
  }
  /** Returns d such that the decimal of (n - d) has d digits: the Content-Length of a body. */
  const lengthDigits = (n) => {
    for (let d = 1; d < 10; d++) if (String(n - d).length === d) return d
    return 1
  }

  /** Response sizes: mostly small, some large downloads. */
  const responseSize = () => {
    const r = rnd()
    if (r < 0.6) return randInt(0, 1200)
    if (r < 0.91) return Math.round(logUni(1200, 20000))
    if (r < 0.993) return Math.round(logUni(20000, 200000))
    return Math.round(logUni(200000, 1000000))
  }

  /**
   * A TCP connection. `variant`: 'normal', 'midRst' (one side resets mid-transfer) or 'pmtu'
   * (the client's full-size segments hit a smaller MTU: ICMP frag-needed / packet-too-big).
   */
  function* tcpConversation(f, variant) {
    const rtt = logUni(400, 150000)
    const half = rtt / 2
    f.ts = chance(0.85)
    f.sport = pick([443, 443, 443, 443, 443, 443, 80, 80, 8080, 22, 22, 50051, 6443])
    f.app =
      f.sport === 80 || f.sport === 8080
        ? 'http'
        : f.sport === 443 || f.sport === 6443
          ? 'tls'
          : 'raw'
    const mss = f.v6 ? 1440 : 1460
    const seg = mss - (f.ts ? 12 : 0)
    const dataOpt = f.ts ? OPT_TS : OPT_NONE
    const cwin = 502 + randInt(0, 40)
    const swin = randInt(230, 510)
    // Receivers in quick-ack mode acknowledge every segment, the others every second one.
    const ackEvery = chance(0.4) ? 1 : 2
    let cseq = u32()
    let sseq = u32()
    tcpOut(f, true, SYN, cseq, 0, 64240, f.ts ? OPT_SYN_TS : OPT_SYN, 0)
    cseq++
    yield rtt
    tcpOut(f, false, SYN | ACK, sseq, cseq, 65160, f.ts ? OPT_SYN_TS : OPT_SYN, 0)
    sseq++
    yield randInt(20, 200)
    tcpOut(f, true, ACK, cseq, sseq, cwin, dataOpt, 0)
    let cwnd = 10
    // Database and SSH sessions trade many small messages; web requests fetch bigger responses.
    const interactive = f.sport === 22 || f.sport === 50051
    const requests = 1 + Math.floor(expo(interactive ? 25 : 1.5))
    const resetAt = variant === 'midRst' ? randInt(0, requests - 1) : -1
    for (let r = 0; r < requests; r++) {
      yield r === 0 ? randInt(5, 300) : interactive ? logUni(100, 3e5) : logUni(1000, 2e6)
      // Request: an upload for the PMTU variant, a few hundred bytes otherwise.
      let reqLen = interactive ? randInt(30, 300) : randInt(60, 900)
      if (variant === 'pmtu' && r === 0) reqLen = randInt(20000, 150000)
      reqLen = appLength(f, reqLen)
      const reqHead = f.app === 'http' ? httpRequest(reqLen) : undefined
      if (reqLen > seg) {
        let pmtuSeg = seg
        if (variant === 'pmtu' && r === 0) {
          // A burst of full-size segments the path cannot carry: a router answers each with an
          // error quoting its IP and TCP header, and the sender retransmits them smaller.
          const mtu = f.v6 ? pick([1280, 1420]) : pick([1400, 1280, 1492, 1450, 1476])
          const quotes = []
          for (let i = randInt(1, 3); i > 0; i--) {
            const at = quotes.length * seg
            tcpOut(f, true, ACK, cseq + at, sseq, cwin, dataOpt, seg, at, reqLen, reqHead)
            quotes.push(lastIp(f.v6 ? 1232 : 20 + 20 + OPT_LEN[dataOpt]))
            yield randInt(8, 120)
          }
          yield logUni(200, half)
          for (const quote of quotes) {
            if (f.v6) {
              c.packetTooBig++
              icmpError(f, pick(routers6), 2, 0, mtu, quote)
            } else {
              c.fragNeeded++
              icmpError(f, pick(routers4), 3, 4, mtu, quote)
            }
            yield randInt(5, 50)
          }
          pmtuSeg = mtu - (f.v6 ? 60 : 40) - (f.ts ? 12 : 0)
          yield randInt(50, 400)
        }
        let sent = 0
        let unacked = 0
        let burst = 0
        while (sent < reqLen) {
          const len = Math.min(pmtuSeg, reqLen - sent)
          const flags = ACK | (sent + len === reqLen ? PSH : 0)
          tcpOut(f, true, flags, cseq + sent, sseq, cwin, dataOpt, len, sent, reqLen, reqHead)
          sent += len
          if (++unacked === 2 || sent === reqLen) {
            yield half + randInt(5, 80)
            tcpOut(f, false, ACK, sseq, cseq + sent, swin, dataOpt, 0)
            unacked = 0
          }
          if (++burst >= cwnd) {
            yield rtt * 0.6
            burst = 0
            cwnd = Math.min(cwnd * 2, 80)
          } else yield randInt(8, 120)
        }
        cseq += reqLen
      } else {
        tcpOut(f, true, PSH | ACK, cseq, sseq, cwin, dataOpt, reqLen, 0, reqLen, reqHead)
        cseq += reqLen
      }
      yield rtt + logUni(50, 20000)
      // Response: bursts of cwnd segments; the client acks every second one.
      const respLen = appLength(f, interactive ? randInt(0, 900) : responseSize())
      const respHead = f.app === 'http' ? httpResponse(respLen) : undefined
      let sent = 0
      let unacked = 0
      let burst = 0
      let hole = -1
      let holeLen = 0
      const resetAfter = r === resetAt ? Math.floor(respLen * rnd()) : -1
      if (respLen === 0) tcpOut(f, false, ACK, sseq, cseq, swin, dataOpt, 0)
      while (sent < respLen) {
        const len = Math.min(seg, respLen - sent)
        const lost = hole < 0 && sent + len < respLen && chance(0.004)
        if (lost) {
          hole = sent
          holeLen = len
        } else {
          const flags = ACK | (sent + len === respLen ? PSH : 0)
          tcpOut(f, false, flags, sseq + sent, cseq, swin, dataOpt, len, sent, respLen, respHead)
        }
        sent += len
        if (hole >= 0 && !lost) {
          // Out of order after a loss: an immediate duplicate ACK with a SACK block.
          f.sackL = sseq + hole + holeLen
          f.sackR = sseq + sent
          yield randInt(10, 60)
          tcpOut(f, true, ACK, cseq, sseq + hole, cwin, f.ts ? OPT_TS_SACK : OPT_SACK, 0)
          if (f.sackR - f.sackL >= 3 * seg || sent === respLen) {
            // Fast retransmit of the hole, then a cumulative ACK.
            yield half + randInt(10, 200)
            tcpOut(
              f,
              false,
              ACK,
              sseq + hole,
              cseq,
              swin,
              dataOpt,
              holeLen,
              hole,
              respLen,
              respHead
            )
            yield randInt(10, 60)
            tcpOut(f, true, ACK, cseq, sseq + sent, cwin, dataOpt, 0)
            hole = -1
            unacked = 0
          }
        } else if (!lost && (++unacked >= ackEvery || sent === respLen)) {
          yield randInt(10, 60)
          tcpOut(f, true, ACK, cseq, sseq + sent, cwin, dataOpt, 0)
          unacked = 0
        }
        if (resetAfter >= 0 && sent >= resetAfter && hole < 0) {
          yield randInt(50, 5000)
          if (chance(0.5)) tcpOut(f, false, RST | ACK, sseq + sent, cseq, 0, OPT_NONE, 0)
          else tcpOut(f, true, RST, cseq, 0, 0, OPT_NONE, 0)
          flows.midStreamRst = (flows.midStreamRst ?? 0) + 1
          return
        }
        if (++burst >= cwnd) {
          yield rtt * 0.8 + randInt(10, 300)
          burst = 0
          cwnd = Math.min(cwnd * 2, 120)
        } else yield randInt(5, 130)
      }
      sseq += respLen
    }
    // Close: usually the client first.
    yield logUni(100, 3e6)
    if (chance(0.7)) {
      tcpOut(f, true, FIN | ACK, cseq, sseq, cwin, dataOpt, 0)
      cseq++
      yield rtt + randInt(10, 300)
      tcpOut(f, false, FIN | ACK, sseq, cseq, swin, dataOpt, 0)
      sseq++
      yield randInt(10, 100)
      tcpOut(f, true, ACK, cseq, sseq, cwin, dataOpt, 0)
    } else {
      tcpOut(f, false, FIN | ACK, sseq, cseq, swin, dataOpt, 0)
      sseq++
      yield randInt(20, 2000)
      tcpOut(f, true, FIN | ACK, cseq, sseq, cwin, dataOpt, 0)
      cseq++
      yield rtt + randInt(10, 300)
      tcpOut(f, false, ACK, sseq, cseq, swin, dataOpt, 0)
    }
  }

  /** A SYN nobody answers: retransmitted after 1 s, 2 s and 4 s (Linux's back-off). */
  function* synUnanswered(f) {
    f.ts = true
    f.sport = pick([443, 22, 5432, 8443, 25, 3389])
    const isn = u32()
    const retries = chance(0.7) ? 3 : randInt(1, 5)
    let wait = 1e6
    for (let i = 0; i <= retries; i++) {
      tcpOut(f, true, SYN, isn, 0, 64240, OPT_SYN_TS, 0)
      if (i < retries) yield wait + randInt(0, 3000)
      wait *= 2
    }
  }

  /** A SYN refused with RST+ACK (nothing listens); the client may try once more. */
  function* synRefused(f) {
    f.sport = pick([8080, 9090, 5000, 3000, 6379, 27017])
    const rtt = logUni(300, 80000)
    const attempts = chance(0.3) ? 2 : 1
    for (let i = 0; i < attempts; i++) {
      const isn = u32()
      tcpOut(f, true, SYN, isn, 0, 64240, OPT_SYN_TS, 0)
      yield rtt
      tcpOut(f, false, RST | ACK, 0, isn + 1, 0, OPT_NONE, 0)
      if (i + 1 < attempts) {
        yield logUni(1000, 1e6)
        f.cport = randInt(32768, 60999)
      }
    }
  }

  /** UDP to a closed port: the host answers ICMP port unreachable quoting the datagram. */
  function* udpClosedPort(f) {
    f.sport = chance(0.5) ? 53 : 33434 + randInt(0, 30)
    const tries = randInt(1, 3)
    const id = randInt(0, 0xffff)
    for (let i = 0; i < tries; i++) {
      // A DNS query to a host with no resolver, or a traceroute probe.
      if (f.sport === 53) dnsOut(f, true, id, pick(dnsNames), 1, 0)
      else udpOut(f, true, 32)
      const quote = lastIp(548)
      yield logUni(300, 60000)
      if (f.v6) icmpError(f, f.sip, 1, 4, 0, quote)
      else icmpError(f, f.sip, 3, 3, 0, quote)
      c.portUnreachable++
      if (i + 1 < tries) yield logUni(2e5, 5e6)
    }
  }

  function* dns(f) {
    f.sip = f.v6 ? pick(resolvers6) : pick(resolvers4)
    f.sport = 53
    const rtt = logUni(200, 60000)
    const queries = randInt(1, 3)
    for (let q = 0; q < queries; q++) {
      const name = pick(dnsNames)
      const qtype = q === 1 ? 28 : q === 2 ? 16 : 1
      const id = randInt(0, 0xffff)
      dnsOut(f, true, id, name, qtype, 0)
      if (chance(0.03)) {
        // Lost: the stub resolver retries after its timeout.
        yield randInt(1e6, 5e6)
        dnsOut(f, true, id, name, qtype, 0)
      }
      yield rtt
      dnsOut(f, false, id, name, qtype, chance(0.1) ? 0 : randInt(1, 4))
      yield randInt(50, 5000)
    }
  }

  /** QUIC-like UDP: a handshake then bursts of large datagrams, both directions. */
  function* quic(f) {
    f.sport = 443
    const rtt = logUni(1000, 100000)
    udpOut(f, true, 1250)
    yield rtt
    udpOut(f, false, 1250)
    yield randInt(20, 200)
    const bursts = randInt(1, 6)
    for (let b = 0; b < bursts; b++) {
      udpOut(f, true, randInt(40, 300))
      yield rtt
      const n = randInt(1, 20)
      for (let i = 0; i < n; i++) {
        udpOut(f, false, randInt(1150, 1350))
        yield randInt(10, 150)
        if (i % 2 === 1) {
          udpOut(f, true, randInt(30, 60))
          yield randInt(10, 150)
        }
      }
      yield logUni(1000, 500000)
    }
  }

  /** ping: one echo a second; some hosts never answer. */
  function* ping(f) {
    const rtt = logUni(300, 200000)
    const id = randInt(1, 0xffff)
    const count = randInt(3, 10)
    const dead = chance(0.15)
    for (let s = 1; s <= count; s++) {
      echoOut(f, true, id, s)
      if (!dead) {
        yield rtt
        echoOut(f, false, id, s)
        yield 1e6 - rtt
      } else yield 1e6
    }
  }

  function* arp() {
    const cl = pick(clients)
    arpOut(cl, 0x0a010001, false)
    yield randInt(50, 2000)
    arpOut(cl, 0x0a010001, true)
  }

  // Flow mix: [weight, name, v6 share, make].
  const MIX = [
    [62, 'tcp', 0.15, (f) => tcpConversation(f, 'normal')],
    [3, 'tcpMidRst', 0.15, (f) => tcpConversation(f, 'midRst')],
    [1.2, 'tcpPmtu', 0.2, (f) => tcpConversation(f, 'pmtu')],
    [2, 'synUnanswered', 0.1, synUnanswered],
    [2.5, 'synRefused', 0.1, synRefused],
    [1.5, 'udpClosedPort', 0.1, udpClosedPort],
    [30, 'dns', 0.15, dns],
    [4, 'quic', 0.2, quic],
    [1.2, 'ping', 0.2, ping],
    [1, 'arp', 0, arp]
  ]
  const totalWeight = MIX.reduce((s, m) => s + m[0], 0)
  const newFlowGen = () => {
    let r = rnd() * totalWeight
    let m = MIX[0]
    for (const x of MIX) {
      m = x
      if ((r -= x[0]) < 0) break
    }
    flows[m[1]] = (flows[m[1]] ?? 0) + 1
    return m[3](newFlow(chance(m[2])))
  }
  /** A slot runs flows one after another with idle gaps between them. */
  function* slot() {
    for (;;) {
      yield* newFlowGen()
      yield expo(40000)
    }
  }

  // Event loop: a binary min-heap of (time, seq) over CONCURRENT_FLOWS slots.
  const heapT = []
  const heapS = []
  const heapG = []
  let seq = 0
  const push = (t, g) => {
    let i = heapT.length
    heapT.push(t)
    heapS.push(seq++)
    heapG.push(g)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heapT[p] < heapT[i] || (heapT[p] === heapT[i] && heapS[p] < heapS[i])) break
      swap(i, p)
      i = p
    }
  }
  const swap = (i, j) => {
    const t = heapT[i]
    heapT[i] = heapT[j]
    heapT[j] = t
    const s = heapS[i]
    heapS[i] = heapS[j]
    heapS[j] = s
    const g = heapG[i]
    heapG[i] = heapG[j]
    heapG[j] = g
  }
  const less = (i, j) => heapT[i] < heapT[j] || (heapT[i] === heapT[j] && heapS[i] < heapS[j])
  const siftDown = () => {
    let i = 0
    const n = heapT.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const m = r < n && less(r, l) ? r : l
      if (!less(m, i)) break
      swap(i, m)
      i = m
    }
  }

  for (let i = 0; i < CONCURRENT_FLOWS; i++) push(now + us(rnd() * 200000), slot())
  while (flushed + pos < targetBytes) {
    now = heapT[0]
    const g = heapG[0]
    const delay = us(g.next().value)
    heapT[0] = now + delay
    heapS[0] = seq++
    siftDown()
  }
  flush()
  closeSync(fd)
  return {
    bytes: flushed,
    firstTime: START_SEC,
    lastTimeUs: now,
    durationSeconds: Math.round((now - START_SEC * 1e6) / 1e4) / 100,
    counts: c,
    flows
  }
}

/** sfc32 seeded through splitmix32: fast, 32-bit, deterministic across platforms. */
function makeRng(seed) {
  let s = seed >>> 0
  const sm = () => {
    s = (s + 0x9e3779b9) | 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = sm()
  let b = sm()
  let c = sm()
  let d = sm()
  return () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: String(DEFAULT_SIZE_MB) },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      force: { type: 'boolean', default: false }
    }
  })
  const m = ensureCapture({
    sizeMB: Number(values.size),
    seed: Number(values.seed),
    force: values.force
  })
  const verb = m.generated ? `wrote in ${m.generationSeconds} s` : 'up to date'
  console.log(
    `${m.file}: ${verb}; ${m.bytes} bytes, ${m.counts.packets} packets, ` +
      `${Math.round(m.bytes / m.counts.packets)} bytes/packet, ${m.durationSeconds} s of traffic`
  )
}
