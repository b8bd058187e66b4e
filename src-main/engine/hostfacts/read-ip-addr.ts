import { problem, type Problem } from '../../shared/problem'
import { asRecord, normalizeAddress, num, numberedLines, parseJson, str } from './address'

export interface IfAddress {
  family: 4 | 6
  address: string
  prefixLen: number
  scope?: string
  broadcast?: string
  /** Point-to-point peer (`inet A peer B/32`). */
  peer?: string
  label?: string
  /** secondary, dynamic, noprefixroute, nodad, tentative, deprecated... */
  flags: string[]
}

export interface Interface {
  index: number
  name: string
  /** What follows '@' in the name: a veth's peer (`if2`), a VLAN's parent. */
  linkTo?: string
  /** UP, LOWER_UP, BROADCAST... (absent in `ip -o addr`, which does not print them). */
  flags: string[]
  mtu?: number
  state?: string
  /** The bridge (or bond) this interface is a port of (`master br0`). */
  master?: string
  /**
   * A bridge port's hairpin mode (`bridge -d link`): whether the bridge may send a frame back
   * out of the port it came in by.
   */
  hairpin?: boolean
  link?: { type: string; address?: string; broadcast?: string }
  addresses: IfAddress[]
  line: number
}

export interface IpAddrSnapshot {
  format: 'text' | 'oneline' | 'json'
  interfaces: Interface[]
  problems: Problem[]
}

/** Returns the interfaces of `ip addr`, `ip -o addr` or `ip -j addr` output. */
export function readIpAddr(source: string, text: string): IpAddrSnapshot {
  if (/^\s*\[/.test(text)) return readJson(source, text)
  const problems: Problem[] = []
  const interfaces: Interface[] = []
  const byIndex = new Map<number, Interface>()
  let current: Interface | undefined
  let oneline = false
  const getIf = (index: number, name: string, lineNo: number): Interface => {
    let itf = byIndex.get(index)
    if (itf === undefined) {
      const [base, linkTo] = splitName(name)
      itf = { index, name: base, flags: [], addresses: [], line: lineNo }
      if (linkTo !== undefined) itf.linkTo = linkTo
      byIndex.set(index, itf)
      interfaces.push(itf)
    }
    return itf
  }
  for (const { lineNo, raw } of numberedLines(text)) {
    if (raw.trim() === '') continue
    // -o puts a whole record on one line, continuation lines joined by '\'
    const segments = raw.split('\\').map((s) => s.trim())
    const head = /^(\d+):\s+(\S+?)(:?)\s+(.*)$/.exec(segments[0])
    let rest: string[]
    if (head) {
      const itf = getIf(Number(head[1]), head[2], lineNo)
      if (head[3] === ':' && head[4].startsWith('<')) {
        readHeader(itf, head[4])
        current = itf
        rest = segments.slice(1)
      } else if (head[3] === '' && /^(inet6?|link\/)/.test(head[4])) {
        oneline = true
        current = itf
        rest = [head[4], ...segments.slice(1)]
      } else {
        problems.push(problem(source, `line ${lineNo}`, 'not an interface line', raw))
        continue
      }
    } else {
      rest = segments
    }
    for (const seg of rest) {
      if (seg === '') continue
      const err = current === undefined ? 'a detail before any interface' : readDetail(current, seg)
      if (err !== undefined) problems.push(problem(source, `line ${lineNo}`, err, raw))
    }
  }
  return { format: oneline ? 'oneline' : 'text', interfaces, problems }
}

function splitName(name: string): [string, string | undefined] {
  const at = name.indexOf('@')
  return at > 0 ? [name.slice(0, at), name.slice(at + 1)] : [name, undefined]
}

function readHeader(itf: Interface, text: string): void {
  const m = /^<([^>]*)>\s*(.*)$/.exec(text)
  if (!m) return
  itf.flags = m[1] === '' ? [] : m[1].split(',')
  const words = m[2].split(/\s+/)
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === 'mtu') itf.mtu = Number(words[i + 1])
    if (words[i] === 'state') itf.state = words[i + 1]
    if (words[i] === 'master') itf.master = words[i + 1]
  }
}

/** Reads one detail line of an interface; returns a message when it cannot. */
function readDetail(itf: Interface, line: string): string | undefined {
  const words = line.split(/\s+/)
  const first = words[0]
  if (first.startsWith('link/')) {
    const link: NonNullable<Interface['link']> = { type: first.slice(5) }
    if (words[1] !== undefined && words[1] !== 'brd' && /[:.]/.test(words[1]))
      link.address = words[1]
    const brd = words.indexOf('brd')
    if (brd > 0 && words[brd + 1] !== undefined) link.broadcast = words[brd + 1]
    itf.link = link
    return undefined
  }
  if (first === 'inet' || first === 'inet6') {
    const family = first === 'inet' ? 4 : 6
    const m = /^([^/\s]+)(?:\/(\d+))?$/.exec(words[1] ?? '')
    if (!m) return `not an address: ${words[1] ?? ''}`
    const a: IfAddress = {
      family,
      address: normalizeAddress(m[1]),
      prefixLen: m[2] !== undefined ? Number(m[2]) : family === 4 ? 32 : 128,
      flags: []
    }
    for (let i = 2; i < words.length; i++) {
      const w = words[i]
      const next = words[i + 1]
      if (
        (w === 'brd' || w === 'scope' || w === 'peer' || w === 'metric' || w === 'label') &&
        next
      ) {
        i++
        if (w === 'brd') a.broadcast = next
        else if (w === 'scope') a.scope = next
        else if (w === 'label') a.label = next
        else if (w === 'peer') {
          const p = /^([^/]+)(?:\/(\d+))?$/.exec(next)
          if (p) {
            a.peer = normalizeAddress(p[1])
            if (p[2] !== undefined && m[2] === undefined) a.prefixLen = Number(p[2])
          }
        }
      } else if (
        family === 4 &&
        i === words.length - 1 &&
        (w === itf.name || w.startsWith(itf.name + ':'))
      ) {
        a.label = w
      } else if (w !== '') {
        a.flags.push(w)
      }
    }
    itf.addresses.push(a)
    return undefined
  }
  if (/^(valid_lft|altname|prop|link-netns|link-netnsid|alias)\b/.test(first)) return undefined
  // `bridge -d link`'s port details: hairpin on|off, among others not needed here.
  const hairpin = words.indexOf('hairpin')
  if (hairpin >= 0 && (words[hairpin + 1] === 'on' || words[hairpin + 1] === 'off')) {
    itf.hairpin = words[hairpin + 1] === 'on'
    return undefined
  }
  // `ip -d addr` details (veth, vlan id ..., bridge_slave ...) are not needed here
  if (/^[a-z_]+$/.test(first) && itf.addresses.length === 0) return undefined
  return 'not an address line'
}

function readJson(source: string, text: string): IpAddrSnapshot {
  const problems: Problem[] = []
  const interfaces: Interface[] = []
  const parsed = parseJson(text)
  if ('error' in parsed) {
    problems.push(problem(source, `line ${parsed.line}`, `not JSON: ${parsed.error}`))
    return { format: 'json', interfaces, problems }
  }
  if (!Array.isArray(parsed.value)) {
    problems.push(problem(source, 'line 1', 'ip -j addr output is an array'))
    return { format: 'json', interfaces, problems }
  }
  parsed.value.forEach((v, n) => {
    const o = asRecord(v)
    const index = num(o?.ifindex)
    const name = str(o?.ifname)
    if (o === undefined || index === undefined || name === undefined) {
      problems.push(problem(source, `item ${n + 1}`, 'an interface without ifindex or ifname'))
      return
    }
    const itf: Interface = { index, name, flags: [], addresses: [], line: 1 }
    const linkTo = str(o.link)
    if (linkTo !== undefined) itf.linkTo = linkTo
    if (Array.isArray(o.flags))
      itf.flags = o.flags.filter((f): f is string => typeof f === 'string')
    const mtu = num(o.mtu)
    if (mtu !== undefined) itf.mtu = mtu
    const state = str(o.operstate)
    if (state !== undefined) itf.state = state
    const master = str(o.master)
    if (master !== undefined) itf.master = master
    const linkType = str(o.link_type)
    if (linkType !== undefined) {
      itf.link = { type: linkType }
      const address = str(o.address)
      const brd = str(o.broadcast)
      if (address !== undefined) itf.link.address = address
      if (brd !== undefined) itf.link.broadcast = brd
    }
    const infos = Array.isArray(o.addr_info) ? o.addr_info : []
    for (const ai of infos) {
      const a = asRecord(ai)
      const fam = str(a?.family)
      const local = str(a?.local)
      if (a === undefined || (fam !== 'inet' && fam !== 'inet6') || local === undefined) continue
      const family = fam === 'inet' ? 4 : 6
      const addr: IfAddress = {
        family,
        address: normalizeAddress(local),
        prefixLen: num(a.prefixlen) ?? (family === 4 ? 32 : 128),
        flags: []
      }
      const scope = str(a.scope)
      const brd = str(a.broadcast)
      const peer = str(a.address)
      const label = str(a.label)
      if (scope !== undefined) addr.scope = scope
      if (brd !== undefined) addr.broadcast = brd
      if (peer !== undefined && peer !== local) addr.peer = normalizeAddress(peer)
      if (label !== undefined) addr.label = label
      for (const [k, val] of Object.entries(a)) if (val === true) addr.flags.push(k)
      itf.addresses.push(addr)
    }
    interfaces.push(itf)
  })
  return { format: 'json', interfaces, problems }
}
