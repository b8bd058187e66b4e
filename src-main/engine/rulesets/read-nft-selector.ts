/**
 * The left-hand sides of nft expressions: header fields (`ip saddr`,
 * `tcp dport`), meta and conntrack keys, fib, routing, socket, osf, ipsec,
 * number generators and raw payload, each read to its last word.
 */

import { STOP, type Cursor } from './read-nft-cursor'
import { isPunct, isWord } from './read-nft-tokens'
import type { KeyKind } from './read-nft-values'

/** Relational operators, as nft writes them in symbols or words. */
export const OPS: Record<string, string> = {
  '==': '==',
  eq: '==',
  '!=': '!=',
  ne: '!=',
  '<': '<',
  lt: '<',
  '>': '>',
  gt: '>',
  '<=': '<=',
  le: '<=',
  '>=': '>=',
  ge: '>='
}

/** True for a relational operator (`==`, `!=`, `<`, `ne` ...). */
export function isOp(w: string | undefined): boolean {
  return w !== undefined && Object.hasOwn(OPS, w)
}

/** What an expression's left-hand side selects, and what nft requires for it. */
export interface Selector {
  name: string
  key?: KeyKind
  /** The transport protocol nft checks first (`tcp dport` → l4proto tcp). */
  proto?: number
  /** The network family the field belongs to (`ip ...` → 4). */
  l3?: 4 | 6
}

const PAYLOAD: Record<string, number | undefined> = {
  ip: undefined,
  ip6: undefined,
  th: undefined,
  tcp: 6,
  udp: 17,
  udplite: 136,
  sctp: 132,
  dccp: 33,
  icmp: 1,
  icmpv6: 58,
  igmp: 2,
  ah: 51,
  esp: 50,
  comp: 108,
  gre: 47,
  ether: undefined,
  vlan: undefined,
  arp: undefined,
  frag: undefined,
  hbh: undefined,
  dst: undefined,
  mh: undefined,
  srh: undefined,
  rt: undefined,
  exthdr: undefined,
  vxlan: undefined,
  geneve: undefined,
  gretap: undefined
}
const TUNNELS = new Set(['vxlan', 'geneve', 'gretap', 'gre'])
/** Meta keys written without `meta` (nft(8) META EXPRESSION, "unqualified"). */
const META_KEYS = new Set(
  'mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace rtclassid ibriport obriport ibrname obrname pkttype cpu iifgroup oifgroup cgroup ipsec time day hour'.split(
    ' '
  )
)
/** Reads a selector (`ip saddr`, `meta l4proto`, `ct original ip saddr`, `fib saddr . iif oif`). */
export function selector(c: Cursor): Selector | undefined {
  const from = c.i
  const w = c.word()
  if (w === undefined || STOP.has(w)) return undefined
  const words = (n: number): boolean => {
    for (let k = 0; k < n; k++) if (c.word(k) === undefined) return false
    c.i += n
    return true
  }
  const give = (sel: Selector | undefined): Selector | undefined => {
    if (!sel) c.i = from
    return sel
  }
  if (/^@(ll|nh|th|ih)$/.test(w) && isPunct(c.peek(1), ',')) {
    c.i += 5
    return { name: w }
  }
  if (Object.hasOwn(PAYLOAD, w)) {
    c.next()
    if (TUNNELS.has(w) && Object.hasOwn(PAYLOAD, c.word() ?? '') && c.word() !== 'rt') {
      const inner = selector(c)
      return give(inner && { name: `${w} ${inner.name}` })
    }
    const field = c.word()
    if (!field || isOp(field) || field === 'vmap' || field === 'set') return give(undefined)
    c.next()
    if (field === 'option' || field === 'chunk') {
      if (!words(1)) return give(undefined)
      const f = c.word()
      const value = ['exists', 'missing', 'vmap', 'set'].includes(f ?? '') || STOP.has(f ?? '')
      if (f && /^[a-z][a-z0-9-]*$/.test(f) && !value && !isOp(f)) c.next()
    }
    if (w === 'rt' && (field === 'ip' || field === 'ip6')) c.next()
    return payload(w, field)
  }
  const ipsec = w === 'ipsec' && isWord(c.peek(1), 'in', 'out')
  if (w === 'meta' || (META_KEYS.has(w) && !ipsec)) {
    c.next()
    const k = w === 'meta' ? c.word() : w
    if (!k) return give(undefined)
    if (w === 'meta') c.next()
    if (k === 'l4proto') return { name: 'meta l4proto', key: { kind: 'proto' } }
    if (k === 'nfproto' || k === 'protocol') return { name: `meta ${k}`, key: { kind: 'family' } }
    if (k === 'mark') return { name: 'meta mark', key: { kind: 'mark', field: 'mark' } }
    if (k === 'skuid' || k === 'skgid')
      return { name: `meta ${k}`, key: { kind: 'owner', field: k === 'skuid' ? 'uid' : 'gid' } }
    if (k === 'length') return { name: 'meta length', key: { kind: 'number', field: 'length' } }
    if (k === 'iifname' || k === 'oifname' || k === 'iif' || k === 'oif')
      return {
        name: `meta ${k}`,
        key: {
          kind: 'iface',
          field: k.startsWith('i') ? 'iif' : 'oif',
          byIndex: !k.endsWith('name')
        }
      }
    return { name: `meta ${k}` }
  }
  if (w === 'ct') {
    c.next()
    if (isWord(c.peek(), 'original', 'reply')) c.next()
    const k = c.word()
    if (!k) return give(undefined)
    c.next()
    if ((k === 'ip' || k === 'ip6') && !words(1)) return give(undefined)
    if (k === 'state' && c.i === from + 2) return { name: 'ct state', key: { kind: 'ctstate' } }
    if (k === 'status' && c.i === from + 2) return { name: 'ct status', key: { kind: 'ctstatus' } }
    if (k === 'mark' && c.i === from + 2)
      return { name: 'ct mark', key: { kind: 'mark', field: 'ct-mark' } }
    return { name: c.text(from) }
  }
  if (w === 'fib') {
    // fib saddr|daddr [. iif|oif|mark ...] type|oif|oifname
    c.next()
    const flags: string[] = []
    if (!c.word()) return give(undefined)
    flags.push(c.next().text)
    while (isWord(c.peek(), '.') && c.word(1)) {
      c.next()
      flags.push(c.next().text)
    }
    const result = c.word()
    if (!result) return give(undefined)
    c.next()
    const dirs = flags.filter((f) => f === 'saddr' || f === 'daddr')
    const known = flags.every((f) => ['saddr', 'daddr', 'iif', 'oif', 'mark'].includes(f))
    if (result !== 'type' || dirs.length !== 1 || !known) return { name: 'fib' }
    const iface = flags.includes('iif') ? 'in' : flags.includes('oif') ? 'out' : undefined
    return {
      name: 'fib',
      key: { kind: 'fibtype', dir: dirs[0] === 'saddr' ? 'src' : 'dst', iface }
    }
  }
  if (w === 'socket' || w === 'osf') {
    // socket transparent | socket cgroupv2 level N; osf [ttl loose|skip] name|version
    c.next()
    if (isWord(c.peek(), 'ttl')) c.i += 2
    if (!words(1)) return give(undefined)
    if (isWord(c.peek(-1), 'cgroupv2') && !words(2)) return give(undefined)
    return { name: w }
  }
  if (w === 'ipsec') {
    // ipsec in|out [spnum N] reqid|spi|ip saddr|ip6 daddr ...
    c.next()
    if (!words(1)) return give(undefined)
    if (isWord(c.peek(), 'spnum')) c.i += 2
    if (!words(1)) return give(undefined)
    if (isWord(c.peek(-1), 'ip', 'ip6') && !words(1)) return give(undefined)
    return { name: w }
  }
  if (w === 'numgen' || w === 'symhash') {
    // numgen inc|random mod N [offset N]; symhash mod N [offset N]
    c.next()
    if (!words(w === 'numgen' ? 3 : 2)) return give(undefined)
    while (isWord(c.peek(), 'offset')) c.i += 2
    return { name: w }
  }
  if (w === 'jhash') {
    c.next()
    while (!c.end && !isWord(c.peek(), 'mod')) c.next()
    if (!words(2)) return give(undefined)
    while (isWord(c.peek(), 'offset', 'seed')) c.i += 2
    return { name: w }
  }
  return undefined
}

/** The selector of a header field: `ip saddr`, `tcp dport`, `icmpv6 type`, `ip6 hoplimit`. */
function payload(proto: string, field: string): Selector {
  const name = `${proto} ${field}`
  const l3 = proto === 'ip' ? 4 : proto === 'ip6' ? 6 : undefined
  const p = PAYLOAD[proto]
  if (l3 && (field === 'saddr' || field === 'daddr'))
    return { name, l3, key: { kind: 'addr', field, version: l3 } }
  if ((proto === 'ip' && field === 'protocol') || (proto === 'ip6' && field === 'nexthdr'))
    return { name, l3, key: { kind: 'proto' } }
  if (field === 'sport' || field === 'dport') {
    if (proto === 'th') return { name, key: { kind: 'port', field } }
    if (p !== undefined && p !== 1 && p !== 58)
      return { name, proto: p, key: { kind: 'port', field } }
  }
  if (proto === 'tcp' && field === 'flags') return { name, proto: p, key: { kind: 'tcpflags' } }
  if ((proto === 'icmp' || proto === 'icmpv6') && (field === 'type' || field === 'code'))
    return {
      name,
      proto: p,
      l3: p === 1 ? 4 : 6,
      key: { kind: 'icmp', v6: p === 58, code: field === 'code' }
    }
  if (proto === 'ether' && field === 'type') return { name, key: { kind: 'family' } }
  if (proto === 'ether' && field === 'saddr') return { name, key: { kind: 'mac' } }
  if ((proto === 'ip' && field === 'ttl') || (proto === 'ip6' && field === 'hoplimit'))
    return { name, l3, key: { kind: 'number', field: 'ttl' } }
  return { name, l3, proto: p }
}
