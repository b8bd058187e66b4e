/**
 * Policy routing with the kernel as oracle: seeded random `ip rule` sets (source, destination,
 * fwmark with and without mask, in interface, `not`, goto, suppress_prefixlength, and the
 * unreachable / prohibit / blackhole actions) over random routing tables (unicast routes via
 * gateways on three links, and unreachable, prohibit and blackhole routes) are loaded into a
 * namespace. Verdict reads the namespace's own `ip rule`, `ip route show table all` and `ip addr`
 * output, and for random packets (forwarded from a link, or the host's own, with marks) its route
 * lookup must give what `ip route get` gives: the same interface out, or the same ending.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEvidence, hostOf } from '../../src-main/engine/correlate/evidence'
import { lookupRoute, type RouteQuery } from '../../src-main/engine/correlate/host-roles'
import { readIpAddr } from '../../src-main/engine/hostfacts/read-ip-addr'
import { readIpRoute } from '../../src-main/engine/hostfacts/read-ip-route'
import { readIpRule } from '../../src-main/engine/hostfacts/read-ip-rule'
import { labSkipReason } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { rng, type Rng } from './random-rulesets'

const reason = labSkipReason('policy routing')

/** Rounds (each a fresh ruleset and tables) and packets asked about per round. */
const ROUNDS = 12
const QUERIES = 40
const TABLES = ['100', '200', '300']
const LINKS = [1, 2, 3]
/** Destinations the routes cover, from wide to narrow, and one nothing but a default covers. */
const PREFIXES = ['10.50.0.0/16', '10.50.1.0/24', '10.60.0.0/16', '10.61.0.0/16', '10.70.0.0/16']
const SOURCES = ['10.20.1.0/24', '10.20.2.0/25', '10.30.0.0/16', '10.31.0.0/16']

interface Query {
  dst: string
  src: string
  iif?: string
  mark: number
}

/** What a lookup ends in: the interface out, or what ends the packet. */
type Answer = string

const host4 = (r: Rng, prefix: string): string => {
  const [a, b] = prefix.split('.').map(Number)
  return `${a}.${b}.${prefix.endsWith('/24') ? prefix.split('.')[2] : r.int(0, 255)}.${r.int(2, 250)}`
}

/** `ip route add` argument lists of one round's tables (main included). */
function randomRoutes(r: Rng): string[][] {
  const out: string[][] = []
  for (const table of [...TABLES, 'main']) {
    const used = new Set<string>()
    const n = r.int(table === 'main' ? 0 : 1, 4)
    for (let i = 0; i < n; i++) {
      const dst = r.chance(0.2) ? 'default' : r.pick(PREFIXES)
      if (used.has(dst)) continue
      used.add(dst)
      const type = r.pick(['unicast', 'unicast', 'unicast', 'unreachable', 'prohibit', 'blackhole'])
      const route = type === 'unicast' ? [dst, 'via', `10.20.${r.pick(LINKS)}.2`] : [type, dst]
      out.push([...route, 'table', table])
    }
  }
  return out
}

/** `ip rule add` argument lists of one round. */
function randomRules(r: Rng): string[][] {
  const out: string[][] = []
  const prefs = new Set<number>()
  const n = r.int(1, 7)
  for (let i = 0; i < n; i++) {
    let pref = r.int(10, 300) * 100
    while (prefs.has(pref)) pref += 1
    prefs.add(pref)
    const rule: string[] = []
    if (r.chance(0.15)) rule.push('not')
    if (r.chance(0.4)) rule.push('from', r.pick(SOURCES))
    if (r.chance(0.3)) rule.push('to', r.pick(PREFIXES))
    if (r.chance(0.35)) rule.push('fwmark', r.pick(['0x1', '0x2', '0x1/0x1', '0x2/0x3']))
    if (r.chance(0.25)) rule.push('iif', r.pick(['d1', 'd2', 'lo']))
    const action = r.next()
    if (action < 0.65) {
      rule.push('lookup', r.pick([...TABLES, 'main']))
      if (r.chance(0.15)) rule.push('suppress_prefixlength', r.pick(['0', '16']))
    } else if (action < 0.75) rule.push('goto', String(pref + 100 * r.int(1, 20)))
    else rule.push(r.pick(['unreachable', 'prohibit', 'blackhole']))
    out.push([...rule, 'pref', String(pref)])
  }
  // A goto must name a rule that exists.
  for (const rule of out) {
    const at = rule.indexOf('goto')
    if (at < 0) continue
    const target = Number(rule[at + 1])
    const after = [...prefs].filter((p) => p >= target).sort((a, b) => a - b)[0]
    if (after === undefined) rule.splice(at, 2, 'lookup', 'main')
    else rule[at + 1] = String(after)
  }
  return out
}

function randomQueries(r: Rng): Query[] {
  const out: Query[] = []
  for (let i = 0; i < QUERIES; i++) {
    const dst = r.chance(0.1)
      ? `10.99.${r.int(0, 255)}.${r.int(1, 250)}`
      : host4(r, r.pick(PREFIXES))
    const mark = r.pick([0, 0, 1, 2, 3])
    if (r.chance(0.6)) {
      const iif = r.pick(['d1', 'd2'])
      out.push({ dst, src: host4(r, r.pick(SOURCES)), iif, mark })
    } else out.push({ dst, src: r.pick(['10.20.1.1', '10.20.2.1', '10.20.3.1']), mark })
  }
  return out
}

/** The kernel's answer to `ip route get`: the device it names, or the error it gives. */
function kernelAnswer(out: string): Answer {
  if (/Permission denied/.test(out)) return 'prohibit'
  if (/Invalid argument/.test(out)) return 'blackhole'
  if (/No route to host|Network is unreachable/.test(out)) return 'unreachable'
  const dev = /\sdev (\S+)/.exec(out)
  return dev ? dev[1] : `? ${out.trim()}`
}

/** Verdict's answer: the interface out, the ending, or none (the kernel: unreachable). */
function verdictAnswer(h: ReturnType<typeof hostOf>, q: Query): Answer {
  const rq: RouteQuery = { src: q.src, mark: q.mark }
  if (q.iif) rq.iif = q.iif
  const c = lookupRoute(h, q.dst, rq)
  if (!c) return 'unreachable'
  if (c.type === 'unicast') return c.dev ?? '?'
  return c.type
}

describe.skipIf(reason !== undefined)('kernel lab: policy routing', () => {
  let lab: Lab
  let r: Host

  beforeAll(async () => {
    lab = new Lab()
    r = await lab.host('pr', { router: true })
    for (const i of LINKS) {
      await r.ip('link', 'add', `d${i}`, 'type', 'veth', 'peer', 'name', `p${i}`)
      await r.ip('addr', 'add', `10.20.${i}.1/24`, 'dev', `d${i}`)
      await r.ip('link', 'set', `d${i}`, 'up')
      await r.ip('link', 'set', `p${i}`, 'up')
    }
    // Asked for a forwarded packet, the kernel checks its source's way back too: not here.
    for (const dev of ['all', 'default', 'd1', 'd2', 'd3']) {
      await r.sysctl(`net.ipv4.conf.${dev}.rp_filter`, 0)
      await r.sysctl(`net.ipv4.conf.${dev}.accept_local`, 1)
    }
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('gives the route `ip route get` gives, for random rules, tables and packets', async () => {
    const seed = Number(process.env.VERDICT_LAB_SEED ?? Date.now() % 100_000)
    const disagreements: string[] = []
    let asked = 0
    let policy = 0
    for (let round = 0; round < ROUNDS; round++) {
      const g = rng(seed * 31 + round)
      // A clean slate: the kernel's own three rules and the links' connected routes.
      const script: string[] = ['set -e']
      for (const t of TABLES) script.push(`ip route flush table ${t} 2>/dev/null || true`)
      script.push('ip route flush table main proto boot 2>/dev/null || true')
      script.push('ip route flush table main proto static 2>/dev/null || true')
      script.push(
        "ip rule show | awk -F: '$1 != 0 && $1 != 32766 && $1 != 32767 {print $1}' | while read p; do ip rule del pref $p; done"
      )
      const rules = randomRules(g)
      const routes = randomRoutes(g)
      for (const x of routes) script.push(`ip route add ${x.join(' ')}`)
      for (const x of rules) script.push(`ip rule add ${x.join(' ')}`)
      await r.must('sh', ['-c', script.join('\n')])
      const ruleText = await r.ip('rule', 'show')
      const routeText = await r.ip('route', 'show', 'table', 'all')
      const addrText = await r.ip('addr')
      const ev = createEvidence()
      const h = hostOf(ev, 'pr')
      h.ipRules.push({ file: 'ip-rule.txt', value: readIpRule('ip-rule.txt', ruleText) })
      h.routes.push({ file: 'ip-route.txt', value: readIpRoute('ip-route.txt', routeText) })
      h.ipAddr = { file: 'ip-addr.txt', value: readIpAddr('ip-addr.txt', addrText) }
      expect(h.ipRules[0].value.problems).toEqual([])
      expect(h.routes[0].value.problems).toEqual([])

      const queries = randomQueries(g)
      const ask = queries.map(
        (q, i) =>
          `echo "@@${i}"; ip route get ${q.dst} from ${q.src}${q.iif ? ` iif ${q.iif}` : ''} mark ${q.mark} 2>&1 || true`
      )
      const out = await r.must('sh', ['-c', ask.join('\n')])
      const answers = out.split(/^@@\d+\n/m).slice(1)
      expect(answers).toHaveLength(queries.length)
      queries.forEach((q, i) => {
        const kernel = kernelAnswer(answers[i])
        const ours = verdictAnswer(h, q)
        asked++
        if (lookupRoute(h, q.dst, { src: q.src, iif: q.iif, mark: q.mark })?.rule) policy++
        if (kernel !== ours)
          disagreements.push(
            `seed ${seed} round ${round}: ${q.dst} from ${q.src}${q.iif ? ` iif ${q.iif}` : ''} mark ${q.mark}: kernel ${kernel}, verdict ${ours}\n  rules: ${ruleText.trim().replace(/\n/g, ' | ')}\n  routes: ${routeText
              .split('\n')
              .filter((l) => !/table local|^(fe80|ff00|multicast)/.test(l) && l.trim())
              .join(' | ')}`
          )
      })
    }
    console.log(
      `policy routing: ${asked} lookups over ${ROUNDS} random rule sets (seed ${seed}), ${policy} decided by a rule other than the kernel's own`
    )
    expect(disagreements).toEqual([])
    // The rounds must exercise the policy, not only the main table.
    expect(policy).toBeGreaterThan(asked / 10)
  }, 120_000)
})
