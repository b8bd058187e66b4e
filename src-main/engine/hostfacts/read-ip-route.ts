import { problem, type Problem } from '../../shared/problem'
import {
  addressFamily,
  asRecord,
  normalizeAddress,
  num,
  numberedLines,
  parseJson,
  str
} from './address'

export interface Nexthop {
  via?: string
  dev?: string
  weight?: number
}

export interface Route {
  /** unicast, local, broadcast, blackhole, unreachable, prohibit, throw, multicast, anycast, nat */
  type: string
  family: 4 | 6
  /** 'default' or a prefix `ADDR/LEN` (a host route printed without /LEN gets /32 or /128). */
  dst: string
  prefixLen: number
  via?: string
  dev?: string
  src?: string
  metric?: number
  /** Absent means the main table. */
  table?: string
  proto?: string
  scope?: string
  mtu?: number
  /** onlink, linkdown, dead... */
  flags: string[]
  nexthops?: Nexthop[]
  line: number
}

export interface IpRouteSnapshot {
  format: 'text' | 'json'
  routes: Route[]
  problems: Problem[]
}

const TYPES = new Set([
  'unicast',
  'local',
  'broadcast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'multicast',
  'anycast',
  'nat'
])

/** Keywords followed by one value that the model does not keep. */
const IGNORED_WITH_VALUE = new Set([
  'pref',
  'expires',
  'advmss',
  'hoplimit',
  'initcwnd',
  'initrwnd',
  'rtt',
  'rttvar',
  'cwnd',
  'window',
  'ssthresh',
  'realms',
  'features',
  'quickack',
  'congctl',
  'fastopen_no_cookie',
  'tos',
  'dsfield',
  'nhid',
  'error',
  'from',
  'ttl-propagate',
  'encap',
  'cache',
  'hops'
])

/**
 * Returns the routes of `ip route`, `ip -6 route` (any table) or `ip -j route`.
 * `family` is a hint for routes that do not show theirs (`default dev wg0`);
 * otherwise a file whose other routes are all IPv6 makes them IPv6.
 */
export function readIpRoute(source: string, text: string, family?: 4 | 6): IpRouteSnapshot {
  if (/^\s*\[/.test(text)) return readJson(source, text, family)
  const problems: Problem[] = []
  const routes: Route[] = []
  const pending: Route[] = []
  for (const { lineNo, raw } of numberedLines(text)) {
    if (raw.trim() === '') continue
    const words = raw.trim().split(/\s+/)
    const last = routes[routes.length - 1]
    if (/^\s/.test(raw) && words[0] === 'nexthop' && last !== undefined) {
      const nh: Nexthop = {}
      for (let i = 1; i < words.length - 1; i++) {
        if (words[i] === 'via')
          nh.via = normalizeAddress(words[++i] === 'inet6' ? words[++i] : words[i])
        else if (words[i] === 'dev') nh.dev = words[++i]
        else if (words[i] === 'weight') nh.weight = Number(words[++i])
      }
      ;(last.nexthops ??= []).push(nh)
      continue
    }
    const r = parseRoute(words, lineNo)
    if (typeof r === 'string') {
      problems.push(problem(source, `line ${lineNo}`, r, raw))
      continue
    }
    routes.push(r.route)
    if (!r.known) pending.push(r.route)
  }
  settleFamilies(routes, pending, family)
  return { format: 'text', routes, problems }
}

function parseRoute(words: string[], lineNo: number): { route: Route; known: boolean } | string {
  let i = 0
  let type = 'unicast'
  if (TYPES.has(words[0])) type = words[i++]
  const dstText = words[i++]
  if (dstText === undefined) return 'a route without a destination'
  const route: Route = { type, family: 4, dst: 'default', prefixLen: 0, flags: [], line: lineNo }
  let known = false
  if (dstText !== 'default' && dstText !== 'all' && dstText !== 'any') {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(dstText)
    const fam = m ? addressFamily(m[1]) : undefined
    if (!m || fam === undefined) return `not a destination: ${dstText}`
    route.family = fam
    known = true
    route.prefixLen = m[2] !== undefined ? Number(m[2]) : fam === 4 ? 32 : 128
    route.dst = `${normalizeAddress(m[1])}/${route.prefixLen}`
  }
  for (; i < words.length; i++) {
    const w = words[i]
    const next = words[i + 1]
    const noteFamily = (addr: string) => {
      const f = addressFamily(addr)
      if (f !== undefined && !known) {
        route.family = f
        known = true
      }
    }
    if (w === 'via' && next !== undefined) {
      i++
      let v = next
      if ((v === 'inet' || v === 'inet6') && words[i + 1] !== undefined) v = words[++i]
      if (addressFamily(v) === undefined) return `not a gateway: ${v}`
      route.via = normalizeAddress(v)
      noteFamily(v)
    } else if (w === 'src' && next !== undefined) {
      if (addressFamily(next) === undefined) return `not a source address: ${next}`
      route.src = normalizeAddress(next)
      noteFamily(next)
      i++
    } else if (w === 'dev' || w === 'oif') {
      if (next === undefined) return 'dev without a name'
      route.dev = next
      i++
    } else if (w === 'metric' || w === 'mtu') {
      let v = next
      if (v === 'lock') v = words[++i + 1]
      if (v === undefined || !/^\d+$/.test(v)) return `${w} is not a number: ${v ?? ''}`
      if (w === 'metric') route.metric = Number(v)
      else route.mtu = Number(v)
      i++
    } else if ((w === 'table' || w === 'proto' || w === 'scope') && next !== undefined) {
      if (w === 'table') route.table = next
      else if (w === 'proto') route.proto = next
      else route.scope = next
      i++
    } else if (IGNORED_WITH_VALUE.has(w) && next !== undefined) {
      i++
    } else if (/^[a-z][a-z_-]*$/.test(w)) {
      route.flags.push(w)
    } else {
      return `unexpected "${w}"`
    }
  }
  return { route, known }
}

function settleFamilies(routes: Route[], pending: Route[], hint: 4 | 6 | undefined): void {
  const knownFamilies = new Set(routes.filter((r) => !pending.includes(r)).map((r) => r.family))
  const fallback = hint ?? (knownFamilies.size === 1 && knownFamilies.has(6) ? 6 : 4)
  for (const r of pending) r.family = fallback
}

function readJson(source: string, text: string, hint: 4 | 6 | undefined): IpRouteSnapshot {
  const problems: Problem[] = []
  const routes: Route[] = []
  const pending: Route[] = []
  const parsed = parseJson(text)
  if ('error' in parsed) {
    problems.push(problem(source, `line ${parsed.line}`, `not JSON: ${parsed.error}`))
    return { format: 'json', routes, problems }
  }
  if (!Array.isArray(parsed.value)) {
    problems.push(problem(source, 'line 1', 'ip -j route output is an array'))
    return { format: 'json', routes, problems }
  }
  parsed.value.forEach((v, n) => {
    const o = asRecord(v)
    const dst = str(o?.dst)
    if (o === undefined || dst === undefined) {
      problems.push(problem(source, `item ${n + 1}`, 'a route without dst'))
      return
    }
    const words = [str(o.type) ?? 'unicast', dst]
    const r = parseRoute(words, 1)
    if (typeof r === 'string') {
      problems.push(problem(source, `item ${n + 1}`, r))
      return
    }
    const route = r.route
    let known = r.known
    const gw = str(o.gateway)
    const src = str(o.prefsrc)
    for (const a of [gw, src]) {
      const f = a === undefined ? undefined : addressFamily(a)
      if (f !== undefined && !known) {
        route.family = f
        known = true
      }
    }
    if (gw !== undefined) route.via = normalizeAddress(gw)
    if (src !== undefined) route.src = normalizeAddress(src)
    const dev = str(o.dev)
    if (dev !== undefined) route.dev = dev
    const metric = num(o.metric)
    if (metric !== undefined) route.metric = metric
    const table = str(o.table) ?? (num(o.table) !== undefined ? String(o.table) : undefined)
    if (table !== undefined && table !== 'main') route.table = table
    const proto = str(o.protocol)
    if (proto !== undefined) route.proto = proto
    const scope = str(o.scope)
    if (scope !== undefined) route.scope = scope
    const metrics = Array.isArray(o.metrics) ? o.metrics.map(asRecord) : []
    for (const m of metrics) if (num(m?.mtu) !== undefined) route.mtu = num(m?.mtu)
    if (Array.isArray(o.flags))
      route.flags = o.flags.filter((f): f is string => typeof f === 'string')
    if (Array.isArray(o.nexthops)) {
      route.nexthops = o.nexthops.map((x) => {
        const h = asRecord(x)
        const nh: Nexthop = {}
        const via = str(h?.gateway)
        if (via !== undefined) nh.via = normalizeAddress(via)
        const d = str(h?.dev)
        if (d !== undefined) nh.dev = d
        const w = num(h?.weight)
        if (w !== undefined) nh.weight = w
        return nh
      })
    }
    routes.push(route)
    if (!known) pending.push(route)
  })
  settleFamilies(routes, pending, hint)
  return { format: 'json', routes, problems }
}
