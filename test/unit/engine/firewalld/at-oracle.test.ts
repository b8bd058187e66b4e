import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  firewalldChainOf,
  firewalldLogPrefix
} from '../../../../src-main/engine/firewalld/chain-names'
import { evaluateFirewalld } from '../../../../src-main/engine/firewalld/evaluate-firewalld'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { readRichRule } from '../../../../src-main/engine/firewalld/read-rich-rule'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { CORPUS } from '../../../support/run'
import { corpusFiles } from './load'

// firewalld's own test suite (.at files) lists the nft chains firewalld generates:
// the oracle for chain names, log prefixes and where each setting lands.
const DIR = resolve(CORPUS, 'firewalld')
const at = (name: string) => readFileSync(resolve(DIR, name), 'utf8')
const pkt = (spec: string): PacketSpec => parsePacketSpec(spec) as PacketSpec

/** The nft rules expected in one chain, from the first NFT_LIST_RULES block for it after `from`. */
function expected(text: string, chain: string, from = 0): string[] {
  const i = text.indexOf(`chain ${chain} {`, from)
  const body = text.slice(i, text.indexOf('}', i)).split('\n').slice(1)
  return body.map((l) => l.trim()).filter(Boolean)
}

describe('firewalld .at oracle', () => {
  it('names every chain the .at files list', () => {
    const names = new Set<string>()
    for (const f of readdirSync(DIR).filter((n) => n.endsWith('.at')))
      for (const m of at(f).matchAll(/chain ([A-Za-z0-9_-]+) \{/g)) names.add(m[1])
    expect(names.size).toBeGreaterThan(8)
    for (const n of names) {
      const c = firewalldChainOf(n, ['public'])
      expect(c, n).toBeDefined()
      const part = /_(pre|log|deny|allow|post)$/.exec(n)?.[1]
      if (n.includes('_policy_foobar'))
        expect(c).toMatchObject({ policy: 'foobar', ...(part ? { part } : {}) })
      else if (n.endsWith('_to_HOST')) expect(c).toMatchObject({ from: 'public', to: 'HOST' })
      else expect(c).toMatchObject({ zone: 'public', part })
    }
    expect(firewalldChainOf('filter_FWD_internal_deny')).toMatchObject({
      table: 'filter',
      hook: 'FWD',
      zone: 'internal',
      part: 'deny'
    })
    expect(firewalldChainOf('filter_IN_policy_allow-host-ipv6_allow')).toMatchObject({
      policy: 'allow-host-ipv6',
      part: 'allow'
    })
    expect(firewalldChainOf('filter_INPUT')).toMatchObject({ builtin: true })
    expect(firewalldChainOf('something_else')).toBeUndefined()
  })

  it('reads the LogDenied prefix and puts the public reject where firewalld does', () => {
    const text = at('firewalld_features_set_log_denied.at')
    const rules = expected(text, 'filter_IN_public_to_HOST', text.indexOf('--set-log-denied all'))
    expect(rules).toEqual([
      'jump filter_IN_policy_allow-host-ipv6',
      'jump filter_IN_public',
      'log prefix "filter_IN_public_REJECT: "',
      'reject with icmpx admin-prohibited'
    ])
    const prefix = /log prefix "([^"]+)"/.exec(rules[2])?.[1] as string
    expect(firewalldLogPrefix(prefix)).toMatchObject({
      kind: 'zone-target',
      action: 'REJECT',
      zone: 'public',
      chain: 'filter_IN_public_to_HOST'
    })
    expect(firewalldLogPrefix('FINAL_REJECT: ')).toMatchObject({ kind: 'final-reject' })
    expect(firewalldLogPrefix('STATE_INVALID_DROP: ')).toMatchObject({
      kind: 'state-invalid',
      action: 'DROP'
    })
    expect(firewalldLogPrefix('filter_FWD_public_DROP: ')).toMatchObject({
      zone: 'public',
      hook: 'FWD',
      action: 'DROP'
    })
    expect(firewalldLogPrefix('filter_IN_policy_foo_REJECT: ')).toMatchObject({
      kind: 'policy-target',
      policy: 'foo'
    })

    const config = readFirewalld(corpusFiles())
    config.conf.logDenied = 'all'
    const v = evaluateFirewalld(config, pkt('tcp 192.0.2.1:4000 > 192.0.2.2:8080'), {
      path: 'input',
      iif: 'eth0'
    })
    const jumps = rules.filter((r) => r.startsWith('jump ')).map((r) => r.slice(5))
    expect(v.trace.filter((c) => jumps.includes(c))).toEqual(jumps)
    expect(v.chain).toBe('filter_IN_public_to_HOST')
    expect(v.logs.map((l) => `log prefix "${l.prefix}"`)).toEqual([rules[2]])
    expect(`reject with ${v.rejectWith}`).toBe(rules[3])
  })

  it('puts rich rules in the chains the .at file expects, by priority and action', () => {
    const text = at('firewalld_features_rich_rules.at')
    const reload = text.indexOf('FWD_RELOAD', text.indexOf('dnl priority'))
    const section = text.slice(text.indexOf('dnl priority'), reload)
    const written = [...section.matchAll(/--add-rich-rule='([^']+)'\], 0/g)].map((m) => m[1])
    expect(written).toHaveLength(7)
    const config = readFirewalld([])
    config.zones.set('public', {
      ...readFirewalld([{ path: 'zones/public.xml', text: '<zone/>' }]).zones.get('public')!
    })
    config.conf.defaultZone = 'public'
    const rules = written.map((t, i) => readRichRule(t, { file: 'rich_rules.at', line: i + 1 }))
    for (const r of rules) expect(typeof r).toBe('object')
    config.policies.set('foobar', {
      ...readFirewalld([
        {
          path: 'policies/foobar.xml',
          text: '<policy><ingress-zone name="ANY"/><egress-zone name="HOST"/></policy>'
        }
      ]).policies.get('foobar')!,
      rules: rules.filter((r) => typeof r === 'object')
    })
    let checked = 0
    for (const part of ['pre', 'deny', 'allow', 'post']) {
      const chain = `filter_IN_policy_foobar_${part}`
      for (const rule of expected(text, chain, reload)) {
        const m = /^ip saddr (\S+) (accept|drop|reject)(?: with (.*))?$/.exec(rule)
        if (!m) continue
        const v = evaluateFirewalld(config, pkt(`tcp ${m[1]}:4000 > 192.0.2.2:80`), {
          path: 'input',
          iif: 'eth0'
        })
        expect({ rule, chain: v.chain, verdict: v.verdict }).toEqual({ rule, chain, verdict: m[2] })
        if (m[3]) expect(v.rejectWith).toBe(m[3])
        checked++
      }
    }
    expect(checked).toBe(6)
  })
})
