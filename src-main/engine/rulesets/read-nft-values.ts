/**
 * The values of nft expressions Verdict models (addresses, ports, protocols,
 * interfaces, conntrack states, TCP flags, ICMP types) turned into Matches.
 */

import { ADDR_TYPES, type AddrType, type Cidr, type CtState, type Match } from './model'
import { parseCidr, parseMac } from './parse-address'
import {
  ICMP_CODES,
  ICMPV6_CODES,
  NFT_ICMP,
  NFT_ICMPV6,
  own,
  SERVICES,
  TCP_FLAGS
} from './read-nft-names'
import { ICMP_NAMES, ICMPV6_NAMES, PROTOCOLS } from './protocols'

/** What an expression's left-hand side selects, for the kinds Verdict models. */
export type KeyKind =
  | { kind: 'addr'; field: 'saddr' | 'daddr'; version: 4 | 6 }
  | { kind: 'port'; field: 'sport' | 'dport' }
  | { kind: 'proto' }
  | { kind: 'family' }
  | { kind: 'iface'; field: 'iif' | 'oif'; byIndex: boolean }
  | { kind: 'ctstate' }
  | { kind: 'ctstatus' }
  | { kind: 'tcpflags'; mask?: number }
  | { kind: 'icmp'; v6: boolean; code: boolean }
  | { kind: 'number'; field: 'length' | 'ttl' }
  | { kind: 'mark'; field: 'mark' | 'ct-mark'; mask?: number }
  | { kind: 'owner'; field: 'uid' | 'gid' }
  | { kind: 'fibtype'; dir: 'src' | 'dst'; iface?: 'in' | 'out' }
  | { kind: 'mac' }

/** The largest value of a numeric key (`ip ttl` 255, `meta length` 65535 ...). */
export const NUMBER_MAX = { length: 65535, ttl: 255, uid: 0xfffffffe, gid: 0xfffffffe } as const

/**
 * How the value is written: `list` (one value, or `a,b` / `a | b`, nft's
 * implicit flag match), or `set` (an anonymous or named set: one of the elements).
 */
export type ValueForm = 'list' | 'set'

/** The Matches a relation comes to: all must hold, or (`any`) exactly one of the alternatives. */
export type Converted = { all: Match[] } | { any: Match[][] }

const CT_STATES: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked']

/** Returns the Matches for `KEY [!=] VALUE`, or undefined when a value is not one Verdict reads. */
export function convert(
  key: KeyKind,
  elems: string[],
  negate: boolean,
  form: ValueForm,
  exact = false
): Converted | undefined {
  switch (key.kind) {
    case 'addr':
      return addressMatches(key.field, key.version, elems, negate)
    case 'port': {
      const ranges = elems.map(portRange)
      if (ranges.some((r) => r === undefined)) return undefined
      return { all: [{ kind: key.field, ranges: ranges as [number, number][], negate }] }
    }
    case 'proto': {
      const protos: number[] = []
      for (const e of elems) {
        // A protocol range (`10-20`, from an interval set) as its numbers.
        const range = own(PROTOCOLS, e) === undefined && /^[^-]+-[^-]+$/.test(e)
        const [lo, hi] = range ? e.split('-').map(protoNumber) : [protoNumber(e), protoNumber(e)]
        if (lo === undefined || hi === undefined || hi < lo) return undefined
        for (let n = lo; n <= hi; n++) protos.push(n)
      }
      return { all: [{ kind: 'proto', protos, negate }] }
    }
    case 'family': {
      const cidrs = elems.map(familyCidr)
      if (cidrs.some((c) => c === undefined)) return undefined
      return { all: [{ kind: 'saddr', cidrs: cidrs as Cidr[], negate }] }
    }
    case 'iface':
      if (elems.some((e) => e === '' || (key.byIndex && /^\d+$/.test(e)))) return undefined
      return { all: [{ kind: key.field, names: elems, negate }] }
    case 'ctstate': {
      const states = elems.flatMap((e) => e.split('|'))
      if (states.some((s) => !CT_STATES.includes(s as CtState))) return undefined
      // `ct state != established,related`: nft 1.0.6 compares the state with the two bits
      // together (always unequal); what other versions load is not known, so not modelled.
      if (negate && form === 'list' && states.length > 1) return undefined
      return { all: [{ kind: 'ct-state', states: states as CtState[], negate }] }
    }
    case 'ctstatus': {
      // Only the translation bits are modelled: `ct status dnat` / `snat` (any of them, as nft's
      // flag match); other status bits (seen-reply, assured, ...) are left unmodelled.
      const bits = elems.flatMap((e) => e.split('|'))
      if (negate || bits.some((b) => b !== 'dnat' && b !== 'snat')) return undefined
      return {
        all: [{ kind: 'ct-state', states: [], nat: bits as ('dnat' | 'snat')[], negate: false }]
      }
    }
    case 'number':
    case 'owner': {
      const max = NUMBER_MAX[key.field]
      const ranges = elems.map((e) =>
        numberRange(key.kind === 'owner' && e === 'root' ? '0' : e, max)
      )
      if (ranges.some((r) => r === undefined)) return undefined
      const rs = ranges as [number, number][]
      if (key.kind === 'number') return { all: [{ kind: key.field, ranges: rs, negate }] }
      return { all: [{ kind: key.field, ranges: rs, negate, withoutSocket: 'never' }] }
    }
    case 'mark': {
      const values = elems.map(markValue)
      if (values.some((v) => v === undefined)) return undefined
      const mask = key.mask ?? 0xffffffff
      return { all: [{ kind: key.field, values: values as number[], mask, negate }] }
    }
    case 'fibtype': {
      if (elems.some((e) => !ADDR_TYPES.includes(e as AddrType))) return undefined
      const m: Match = {
        kind: 'addrtype',
        dir: key.dir,
        types: elems as AddrType[],
        negate,
        dialect: 'nft'
      }
      if (key.iface) m.iface = key.iface
      return { all: [m] }
    }
    case 'mac': {
      const macs = elems.map(parseMac)
      if (macs.some((v) => v === undefined)) return undefined
      return { all: [{ kind: 'mac-source', macs: macs as string[], negate }] }
    }
    case 'tcpflags':
      return tcpFlagMatches(key.mask, elems, negate, form, exact)
    case 'icmp': {
      if (key.code) return undefined
      const types = elems.map((e) => icmpType(e, key.v6))
      if (types.some((t) => t === undefined)) return undefined
      const one = (t: [number, number?], neg: boolean): Match =>
        t[1] === undefined
          ? { kind: 'icmp-type', v6: key.v6, type: t[0], negate: neg }
          : { kind: 'icmp-type', v6: key.v6, type: t[0], code: t[1], negate: neg }
      const all = types as [number, number?][]
      if (negate || all.length === 1) return { all: all.map((t) => one(t, negate)) }
      return { any: all.map((t) => [one(t, false)]) }
    }
  }
}

/** The Matches of `tcp flags ...`: a mask and the bits that must be set under it. */
function tcpFlagMatches(
  mask: number | undefined,
  elems: string[],
  negate: boolean,
  form: ValueForm,
  exact: boolean
): Converted | undefined {
  const values = elems.map(flagBits)
  if (values.some((v) => v === undefined)) return undefined
  const bits = values as number[]
  if (form === 'list' && mask === undefined && !exact) {
    // `tcp flags syn` / `tcp flags syn,ack`: any of the flags set (nft's implicit flag match).
    const any = bits.reduce((a, b) => a | b, 0)
    const single = any !== 0 && (any & (any - 1)) === 0
    if (any === 0) return { all: [{ kind: 'tcp-flags', mask: 0xff, set: 0, negate }] }
    return {
      all: [
        single
          ? { kind: 'tcp-flags', mask: any, set: any, negate }
          : { kind: 'tcp-flags', mask: any, set: 0, negate: !negate }
      ]
    }
  }
  const m = mask ?? 0xff
  const values2 = form === 'list' ? [bits.reduce((a, b) => a | b, 0)] : bits
  const one = (v: number, neg: boolean): Match => ({
    kind: 'tcp-flags',
    mask: m,
    set: v,
    negate: neg
  })
  if (negate || values2.length === 1) return { all: values2.map((v) => one(v, negate)) }
  return { any: values2.map((v) => [one(v, false)]) }
}

function protoNumber(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) <= 255 ? Number(text) : undefined
  return own(PROTOCOLS, text.toLowerCase())
}

/** Returns the bits of `syn`, `syn|ack`, `(fin|syn)` or a number, or undefined. */
export function flagBits(text: string): number | undefined {
  let n = 0
  for (const f of text.replace(/[()]/g, '').split(/[|,]/)) {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(f)) n |= Number(f)
    else if (own(TCP_FLAGS, f) !== undefined) n |= TCP_FLAGS[f]
    else return undefined
  }
  return n
}

function icmpType(text: string, v6: boolean): [number, number?] | undefined {
  if (/^\d+$/.test(text)) return [Number(text)]
  const extra = own(v6 ? NFT_ICMPV6 : NFT_ICMP, text)
  if (extra !== undefined) return [extra]
  return own(v6 ? ICMPV6_NAMES : ICMP_NAMES, text)
}

/** Returns the ICMP code a reject or `icmp code` names, or undefined. */
export function icmpCode(text: string, v6: boolean): number | undefined {
  if (/^\d+$/.test(text)) return Number(text)
  return own(v6 ? ICMPV6_CODES : ICMP_CODES, text)
}

/** Returns the range of `64`, `0x40` or `1-10` within 0..max, or undefined. */
export function numberRange(text: string, max: number): [number, number] | undefined {
  const one = (s: string): number | undefined =>
    /^(0x[0-9a-f]+|\d+)$/i.test(s) && Number(s) <= max ? Number(s) : undefined
  const whole = one(text)
  if (whole !== undefined) return [whole, whole]
  const m = /^([^-]+)-([^-]+)$/.exec(text)
  const lo = m ? one(m[1]) : undefined
  const hi = m ? one(m[2]) : undefined
  return lo !== undefined && hi !== undefined && lo <= hi ? [lo, hi] : undefined
}

/** Returns a 32-bit mark (`0x00000001`, `1`), or undefined. */
export function markValue(text: string): number | undefined {
  return /^(0x[0-9a-f]+|\d+)$/i.test(text) && Number(text) <= 0xffffffff ? Number(text) : undefined
}

/** Returns the port range of `22`, `ssh`, `8000-8080`, or undefined. */
export function portRange(text: string): [number, number] | undefined {
  const one = (s: string): number | undefined => {
    const n = /^\d+$/.test(s) ? Number(s) : own(SERVICES, s)
    return n !== undefined && n <= 65535 ? n : undefined
  }
  const whole = one(text)
  if (whole !== undefined) return [whole, whole]
  const m = /^([^-]+)-([^-]+)$/.exec(text)
  if (!m) return undefined
  const lo = one(m[1])
  const hi = one(m[2])
  return lo !== undefined && hi !== undefined && lo <= hi ? [lo, hi] : undefined
}

function familyCidr(text: string): Cidr | undefined {
  if (text === 'ipv4' || text === 'ip') return { version: 4, words: [0], bits: 0 }
  if (text === 'ipv6' || text === 'ip6') return { version: 6, words: [0, 0, 0, 0], bits: 0 }
  return undefined
}

/** The family condition (`meta nfproto ipv4`) as a Match: a source address within 0.0.0.0/0 (or ::/0). */
export function familyMatch(version: 4 | 6, negate = false): Match {
  return { kind: 'saddr', cidrs: [familyCidr(version === 4 ? 'ipv4' : 'ipv6')!], negate }
}

function addressMatches(
  field: 'saddr' | 'daddr',
  version: 4 | 6,
  elems: string[],
  negate: boolean
): Converted | undefined {
  const parsed = elems.map((e) => addressElement(e, version))
  if (parsed.some((p) => p === undefined)) return undefined
  const items = parsed as (Cidr | [Cidr, Cidr])[]
  if (items.length === 1 && Array.isArray(items[0])) {
    const [from, to] = items[0]
    return { all: [{ kind: field === 'saddr' ? 'saddr-range' : 'daddr-range', from, to, negate }] }
  }
  const cidrs = items.flatMap((i) => (Array.isArray(i) ? rangeToCidrs(i[0], i[1]) : [i]))
  return { all: [{ kind: field, cidrs, negate }] }
}

/** Returns an address, prefix or `from-to` range of the given family, or undefined. */
function addressElement(text: string, version: 4 | 6): Cidr | [Cidr, Cidr] | undefined {
  const dash = text.indexOf('-')
  if (dash < 0) {
    const c = parseCidr(text)
    return c?.version === version ? c : undefined
  }
  const from = parseCidr(text.slice(0, dash))
  const to = parseCidr(text.slice(dash + 1))
  if (!from || !to || from.version !== version || to.version !== version) return undefined
  if (from.bits !== (version === 4 ? 32 : 128) || to.bits !== from.bits) return undefined
  return [from, to]
}

/** Returns the fewest prefixes that cover exactly the addresses from..to. */
export function rangeToCidrs(from: Cidr, to: Cidr): Cidr[] {
  const width = from.version === 4 ? 32 : 128
  const big = (c: Cidr): bigint => c.words.reduce((a, w) => (a << 32n) | BigInt(w >>> 0), 0n)
  const back = (n: bigint, bits: number): Cidr => {
    const words: number[] = []
    for (let i = from.words.length - 1; i >= 0; i--)
      words[i] = Number((n >> BigInt(32 * (from.words.length - 1 - i))) & 0xffffffffn)
    return { version: from.version, words, bits }
  }
  const out: Cidr[] = []
  let lo = big(from)
  const hi = big(to)
  while (lo <= hi) {
    let size = 0
    while (
      size < width &&
      ((lo >> BigInt(size)) & 1n) === 0n &&
      lo + (2n << BigInt(size)) - 1n <= hi
    )
      size++
    out.push(back(lo, width - size))
    lo += 1n << BigInt(size)
  }
  return out
}
