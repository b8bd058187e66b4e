import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Match, Rule, Ruleset } from '../../../../src-main/engine/rulesets/model'
import { parseCidr } from '../../../../src-main/engine/rulesets/parse-address'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { readNftJson } from '../../../../src-main/engine/rulesets/read-nft-json'
import { CORPUS, hasProgram } from '../../../support/run'

const DIR = join(CORPUS, 'nft')
const proto = (n: number): Match => ({ kind: 'proto', protos: [n], negate: false })

function rules(r: Ruleset, table: string, chain: string): Rule[] {
  const c = r.tables.find((t) => t.name === table)?.chains.find((x) => x.name === chain)
  if (!c) throw new Error(`no chain ${table} ${chain}`)
  return c.rules
}

/**
 * What both readers must agree on: tables, chains (name, base), and per chain the rules'
 * matches and actions. `text` is dropped at every level: JSON keeps no source text, so the
 * text of an unmodelled match is the JSON reader's own rendering (numbers in decimal where
 * nft prints hex, for one), not the file's.
 */
function shape(r: Ruleset): unknown {
  const tables = r.tables.map((t) => ({
    family: t.family,
    name: t.name,
    chains: t.chains.map((c) => ({
      name: c.name,
      base: c.base,
      rules: c.rules.map((x) => ({ matches: x.matches, action: x.action }))
    }))
  }))
  return JSON.parse(JSON.stringify(tables, (k, v: unknown) => (k === 'text' ? undefined : v)))
}

const pairs = existsSync(DIR)
  ? readdirSync(DIR)
      .filter(
        (f) => f.endsWith('.json-nft') && existsSync(join(DIR, f.replace(/json-nft$/, 'nft')))
      )
      .map((f) => f.slice(0, -'.json-nft'.length))
      .sort()
  : []

describe('readNftJson against the nft text reader (corpus pairs)', () => {
  it('finds the corpus pairs', (ctx) => {
    if (pairs.length === 0) return ctx.skip(`no corpus at ${DIR}`)
    expect(pairs.length).toBeGreaterThan(50)
  })
  it.for(pairs)('%s reads the same as its text listing', (base) => {
    const json = readNftJson(
      `${base}.json-nft`,
      readFileSync(join(DIR, `${base}.json-nft`), 'utf8')
    )
    const text = readNft(`${base}.nft`, readFileSync(join(DIR, `${base}.nft`), 'utf8'))
    expect(shape(json)).toEqual(shape(text))
  })
})

const SMALL = `{"nftables": [{"metainfo": {"version": "1.0.9", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "f", "handle": 1}},
{"chain": {"family": "inet", "table": "f", "name": "in", "handle": 1,
  "type": "filter", "hook": "input", "prio": 10, "policy": "drop"}},
{"rule": {"family": "inet", "table": "f", "chain": "in", "handle": 4, "comment": "ssh",
  "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
    {"counter": {"packets": 3, "bytes": 180}}, {"accept": null}]}},
{"rule": {"family": "inet", "table": "f", "chain": "in", "handle": 5,
  "expr": [{"vmap": {"key": {"meta": {"key": "iifname"}},
    "data": {"set": [["lo", {"accept": null}], ["eth0", {"jump": {"target": "in"}}]]}}}]}},
{"rule": {"family": "inet", "table": "f", "chain": "in", "handle": 6,
  "expr": [{"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}, {"reject": null}]}}
]}`

describe('readNftJson', () => {
  it('reports a JSON syntax error with its line and column', () => {
    const r = readNftJson('bad.json', '{"nftables": [\n  {"table": {"family": "ip",}}\n]}')
    expect(r.tables).toEqual([])
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0].source).toBe('bad.json')
    expect(r.problems[0].at).toBe('line 2')
    expect(r.problems[0].message).toMatch(/line 2, column \d+/)
  })

  it('reports JSON that is not an nft listing', () => {
    const r = readNftJson('x.json', '{"tables": []}')
    expect(r.problems[0].message).toMatch(/nftables/)
  })

  it('reads chains, rules, lines, handles, verdict maps and unmodelled expressions', () => {
    const r = readNftJson('small.json', SMALL)
    expect(r.system).toBe('nftables')
    expect(r.problems).toEqual([])
    const chain = r.tables[0].chains[0]
    expect(chain.base).toEqual({ type: 'filter', hook: 'input', priority: 10, policy: 'drop' })
    expect(chain.policySource).toEqual({
      line: 3,
      text: 'type filter hook input priority filter + 10; policy drop;'
    })
    const [ssh, lo, eth0, osf] = rules(r, 'f', 'in')
    expect(ssh).toMatchObject({
      source: { line: 5, text: 'tcp dport 22 counter packets 3 bytes 180 accept comment "ssh"' },
      handle: 4,
      comment: 'ssh',
      counters: { packets: 3, bytes: 180 },
      matches: [proto(6), { kind: 'dport', ranges: [[22, 22]], negate: false }],
      action: { kind: 'accept' }
    })
    expect(lo).toMatchObject({
      handle: 5,
      source: { line: 8 },
      matches: [{ kind: 'iif', names: ['lo'], negate: false }],
      action: { kind: 'accept' }
    })
    expect(eth0).toMatchObject({
      handle: 5,
      matches: [{ kind: 'iif', names: ['eth0'], negate: false }],
      action: { kind: 'jump', chain: 'in' }
    })
    expect(osf).toMatchObject({
      handle: 6,
      matches: [{ kind: 'unmodelled', name: 'osf', text: 'osf name "Linux"' }],
      action: { kind: 'reject', with: 'icmpx port-unreachable' }
    })
  })

  it('gives the line where each rule object begins in compact JSON', () => {
    const compact = SMALL.replace(/\n\s*/g, ' ').replace(
      '{"rule": {"family": "inet", "table": "f", "chain": "in", "handle": 6',
      '\n$&'
    )
    const r = readNftJson('compact.json', compact)
    expect(rules(r, 'f', 'in').map((x) => x.source.line)).toEqual([1, 1, 1, 2])
  })
})

// Rulesets loaded into a scratch network namespace and listed back by the real nft.
const LIVE: Record<string, string> = {
  basics: `table ip t {
  set blocked { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9 } }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname != "lo" ip saddr @blocked drop
    tcp dport { 22, 80-81 } accept
    udp dport 53 reject with icmp host-prohibited
    icmp type echo-request limit rate 5/second accept
  }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to 10.1.1.1:80
  }
}
`
}

function listed(file: string): string | undefined {
  const ns = `vdtj${process.pid}`
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return undefined
  try {
    const load = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', file], { encoding: 'utf8' })
    if (load.status !== 0) throw new Error(`nft -f failed: ${load.stderr}`)
    const out = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset'], {
      encoding: 'utf8'
    })
    return out.status === 0 ? out.stdout : undefined
  } finally {
    spawnSync('ip', ['netns', 'delete', ns])
  }
}

describe('readNftJson on the output of nft -j list ruleset', () => {
  it('reads exact Matches and Actions', (ctx) => {
    if (process.getuid?.() !== 0 || !hasProgram('nft') || !hasProgram('ip')) {
      console.log('skipped: needs root, nft and ip to load rulesets into a network namespace')
      return ctx.skip('not root, or nft/ip missing')
    }
    const dir = mkdtempSync(join(tmpdir(), 'vdtj-'))
    try {
      writeFileSync(join(dir, 'basics.nft'), LIVE.basics)
      const json = listed(join(dir, 'basics.nft'))
      if (json === undefined) {
        console.log('skipped: could not create a network namespace')
        return ctx.skip('no network namespace')
      }
      const r = readNftJson('basics.json', json)
      expect(r.problems).toEqual([])
      const input = rules(r, 't', 'input')
      const cidr = (s: string) => parseCidr(s)!
      expect(input.map((x) => ({ matches: x.matches, action: x.action }))).toEqual([
        {
          matches: [{ kind: 'ct-state', states: ['established', 'related'], negate: false }],
          action: { kind: 'accept' }
        },
        {
          matches: [
            { kind: 'iif', names: ['lo'], negate: true },
            {
              kind: 'saddr',
              cidrs: [cidr('10.0.0.0/8'), cidr('192.168.1.1/32'), cidr('192.168.1.2/31')].concat([
                cidr('192.168.1.4/30'),
                cidr('192.168.1.8/31')
              ]),
              negate: false
            }
          ],
          action: { kind: 'drop' }
        },
        {
          matches: [
            proto(6),
            {
              kind: 'dport',
              ranges: [
                [22, 22],
                [80, 81]
              ],
              negate: false
            }
          ],
          action: { kind: 'accept' }
        },
        {
          matches: [proto(17), { kind: 'dport', ranges: [[53, 53]], negate: false }],
          action: { kind: 'reject', with: 'icmp host-prohibited' }
        },
        {
          matches: [
            proto(1),
            { kind: 'icmp-type', v6: false, type: 8, negate: false },
            { kind: 'stateful', name: 'limit', text: 'limit rate 5/second' }
          ],
          action: { kind: 'accept' }
        }
      ])
      expect(input.every((x) => typeof x.handle === 'number')).toBe(true)
      const pre = rules(r, 't', 'pre')
      expect(pre.map((x) => ({ matches: x.matches, action: x.action }))).toEqual([
        {
          matches: [proto(6), { kind: 'dport', ranges: [[8080, 8080]], negate: false }],
          action: { kind: 'dnat', to: '10.1.1.1:80' }
        }
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
