import type { CtState } from '../rulesets/model'
import { parseCidr, parseMac } from '../rulesets/parse-address'
import { ICMP_NAMES, ICMPV6_NAMES } from '../rulesets/protocols'
import { NFT_ICMP, NFT_ICMPV6, own } from '../rulesets/read-nft-names'
import type { Cidr } from '../rulesets/model'

/**
 * ICMPv6 types conntrack leaves untracked (nf_conntrack_proto_icmpv6.c, noct_valid_new):
 * multicast listener query, report and done (130-132), router and neighbour solicitations and
 * advertisements (133-136), and MLDv2 reports (143). A rule on `ct state new` never sees them.
 */
const ICMPV6_UNTRACKED = new Set([130, 131, 132, 133, 134, 135, 136, 143])

/** A packet to walk through a ruleset: typed by hand or taken from a capture. */
export interface PacketSpec {
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6'
  src: Cidr
  dst: Cidr
  srcText: string
  dstText: string
  sport?: number
  dport?: number
  /** TCP flag bits (FIN 1, SYN 2, RST 4, PSH 8, ACK 16 ...). */
  tcpFlags?: number
  icmpType?: number
  icmpCode?: number
  /** The conntrack state the packet implies. */
  impliedCt: CtState
  /** IP total length (IPv6: payload length + 40), as -m length and meta length compare it. */
  len?: number
  /** TTL (IPv6: hop limit) as the packet arrives at the host or leaves its socket. */
  ttl?: number
  /** The packet's netfilter mark, and its connection's. */
  mark?: number
  ctMark?: number
  /** The user and group owning the local socket that sent it (output path). */
  uid?: number
  gid?: number
  /** The Ethernet source address it arrived with, lower case (`02:00:00:00:00:01`). */
  srcMac?: string
  /**
   * The bridge ports a bridged packet came in by and leaves by (br_netfilter); null when it has
   * none. Given one, the other is none unless given too; neither given: not known.
   */
  physIn?: string | null
  physOut?: string | null
}

/** The fields every packet has; the rest are optional. */
type PacketEssentials = Pick<
  PacketSpec,
  'proto' | 'src' | 'dst' | 'srcText' | 'dstText' | 'impliedCt'
>

/**
 * Returns a packet with every field present, undefined where the packet has none: every packet
 * one shape, so the evaluator reads its fields from a known place instead of looking each up
 * among many shapes (a quarter of the compiled decision's time on the evaluator bench).
 */
export function packetSpec(fields: PacketEssentials & Partial<PacketSpec>): PacketSpec {
  return {
    proto: fields.proto,
    src: fields.src,
    dst: fields.dst,
    srcText: fields.srcText,
    dstText: fields.dstText,
    sport: fields.sport,
    dport: fields.dport,
    tcpFlags: fields.tcpFlags,
    icmpType: fields.icmpType,
    icmpCode: fields.icmpCode,
    impliedCt: fields.impliedCt,
    len: fields.len,
    ttl: fields.ttl,
    mark: fields.mark,
    ctMark: fields.ctMark,
    uid: fields.uid,
    gid: fields.gid,
    srcMac: fields.srcMac,
    physIn: fields.physIn,
    physOut: fields.physOut
  }
}

/** The facts a SPEC may add after WHAT as `key=value` words. */
const FACT_KEYS: Record<
  string,
  'len' | 'ttl' | 'mark' | 'ctMark' | 'uid' | 'gid' | 'srcMac' | 'physIn' | 'physOut'
> = {
  len: 'len',
  length: 'len',
  ttl: 'ttl',
  hl: 'ttl',
  hoplimit: 'ttl',
  mark: 'mark',
  ctmark: 'ctMark',
  'ct-mark': 'ctMark',
  uid: 'uid',
  gid: 'gid',
  mac: 'srcMac',
  physin: 'physIn',
  physout: 'physOut'
}
const MAX: Record<string, number> = {
  len: 65535,
  ttl: 255,
  mark: 0xffffffff,
  ctMark: 0xffffffff,
  uid: 0xfffffffe,
  gid: 0xfffffffe
}

const TCP_WORDS: Record<string, number> = {
  syn: 0x02,
  'syn-ack': 0x12,
  ack: 0x10,
  rst: 0x04,
  'rst-ack': 0x14,
  fin: 0x11,
  'fin-ack': 0x11,
  psh: 0x18,
  data: 0x18
}
const LETTERS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, '.': 16, U: 32, E: 64, W: 128 }

/**
 * Returns the packet a SPEC describes: `PROTO SRC[:PORT] > DST[:PORT] [WHAT] [key=value...]`
 * (IPv6 in brackets when a port follows; facts len, ttl, mark, ctmark, uid, gid, mac), or a
 * message saying what is wrong.
 */
export function parsePacketSpec(spec: string): PacketSpec | string {
  const m = /^\s*(tcp|udp|icmp|icmpv6)\s+(\S+)\s*>\s*(\S+)\s*(.*)$/i.exec(spec)
  if (!m) return `packet '${spec}' is not PROTO SRC[:PORT] > DST[:PORT] [WHAT]`
  const proto = m[1].toLowerCase() as PacketSpec['proto']
  const src = endpoint(m[2], proto)
  const dst = endpoint(m[3], proto)
  if (typeof src === 'string') return src
  if (typeof dst === 'string') return dst
  const words = m[4]
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '')
  const firstFact = words.findIndex((w) => w.includes('='))
  const what = (firstFact < 0 ? words : words.slice(0, firstFact)).join(' ')
  const p = packetSpec({
    proto,
    src: src.addr,
    dst: dst.addr,
    srcText: src.text,
    dstText: dst.text,
    impliedCt: 'new'
  })
  if (src.addr.version !== dst.addr.version)
    return 'source and destination are of different address families'
  if (proto === 'tcp' || proto === 'udp') {
    if (src.port === undefined || dst.port === undefined)
      return `${proto} needs ports: SRC:PORT > DST:PORT`
    p.sport = src.port
    p.dport = dst.port
  }
  if (proto === 'tcp') {
    const word = what.toLowerCase() || 'syn'
    let flags = TCP_WORDS[word]
    // Several words name the flags together: `ack psh`, `fin ack`.
    const named = word.split(/[\s,+|]+/)
    if (flags === undefined && named.length > 1 && named.every((w) => TCP_WORDS[w] !== undefined))
      flags = named.reduce((f, w) => f | TCP_WORDS[w], 0)
    if (flags === undefined) {
      flags = 0
      for (const c of what) {
        if (LETTERS[c] === undefined)
          return `TCP flags '${what}' not understood (syn, syn-ack, ack, rst, fin, psh, several of them as 'ack psh', or tcpdump letters like S.)`
        flags |= LETTERS[c]
      }
    }
    p.tcpFlags = flags
    p.impliedCt =
      flags & 0x02 && !(flags & 0x10)
        ? 'new'
        : flags & 0x04 && !(flags & 0x10)
          ? 'invalid'
          : 'established'
  } else if (proto === 'icmp' || proto === 'icmpv6') {
    const v6 = proto === 'icmpv6'
    const words = (what || 'echo-request').split(/\s+/)
    // iptables' names, or nft's where they differ (nd-neighbor-solicit, mld-listener-query ...).
    const nftType = own(v6 ? NFT_ICMPV6 : NFT_ICMP, words[0])
    const named =
      own(v6 ? ICMPV6_NAMES : ICMP_NAMES, words[0]) ??
      (nftType === undefined ? undefined : ([nftType] as [number, number?]))
    const numeric = /^(\d+)(?:\/(\d+))?$/.exec(words[0])
    const t =
      named ??
      (numeric
        ? [Number(numeric[1]), numeric[2] === undefined ? undefined : Number(numeric[2])]
        : undefined)
    if (!t) return `ICMP type '${words[0]}' not understood`
    p.icmpType = t[0]
    p.icmpCode = t[1] ?? 0
    const echoReply = v6 ? 129 : 0
    const errors = v6 ? [1, 2, 3, 4] : [3, 4, 5, 11, 12]
    p.impliedCt =
      p.icmpType === echoReply
        ? 'established'
        : errors.includes(p.icmpType)
          ? 'related'
          : v6 && ICMPV6_UNTRACKED.has(p.icmpType)
            ? 'untracked'
            : 'new'
  }
  if (firstFact >= 0) {
    const bad = addFacts(p, words.slice(firstFact))
    if (bad) return bad
  }
  // One bridge port given: the packet has no other.
  if (p.physIn !== undefined || p.physOut !== undefined) {
    p.physIn ??= null
    p.physOut ??= null
  }
  return p
}

/** Reads `key=value` facts into the packet; returns what is wrong, if anything. */
function addFacts(p: PacketSpec, words: string[]): string | undefined {
  const expected = Object.keys(FACT_KEYS).filter((k) => !k.includes('-') && k !== 'length')
  for (const word of words) {
    const eq = word.indexOf('=')
    if (eq < 0) return `'${word}' after a key=value fact: WHAT comes before the facts`
    const name = word.slice(0, eq).toLowerCase()
    const value = word.slice(eq + 1)
    const key = Object.hasOwn(FACT_KEYS, name) ? FACT_KEYS[name] : undefined
    if (!key) return `fact '${word}' not understood (one of ${expected.join(', ')})`
    if (p[key] !== undefined) return `fact '${name}' given twice`
    if (key === 'srcMac') {
      const mac = parseMac(value)
      if (!mac) return `MAC address '${value}' not understood (six hex octets: 02:00:00:00:00:01)`
      p.srcMac = mac
      continue
    }
    if (key === 'physIn' || key === 'physOut') {
      if (!/^[^\s/]{1,15}$/.test(value)) return `bridge port '${value}' is not an interface name`
      p[key] = value === 'none' ? null : value
      continue
    }
    const n = /^(0x[0-9a-f]+|\d+)$/i.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n > MAX[key])
      return `${name} '${value}' is not a number from 0 to ${MAX[key]}`
    const min = key === 'len' ? (p.src.version === 4 ? 20 : 40) : 0
    if (n < min) return `${name} '${value}' is shorter than the IP header (${min} bytes)`
    p[key] = n
  }
  return undefined
}

function endpoint(
  text: string,
  proto: string
): { addr: Cidr; text: string; port?: number } | string {
  let host = text
  let port: number | undefined
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracket) {
    host = bracket[1]
    if (bracket[2] !== undefined) port = Number(bracket[2])
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [h, p] = text.split(':')
    host = h
    port = Number(p)
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    return `port in '${text}' is not 0-65535`
  if (port !== undefined && proto !== 'tcp' && proto !== 'udp')
    return `${proto} has no ports: '${text}'`
  const addr = parseCidr(host)
  if (!addr || addr.bits !== (addr.version === 4 ? 32 : 128))
    return `address '${host}' not understood`
  return { addr, text: host, port }
}
