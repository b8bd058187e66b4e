/**
 * -m physdev from a real kernel: hosts a and b on one network joined by a bridge in a third
 * namespace (ports pa and pb, br_netfilter calling iptables), the bridge filtering its FORWARD
 * chain with physdev rules, one rule per destination port. A connection that is answered was
 * accepted, one that is not was dropped. The kernel's verdict must be the one a person reading
 * the rules expects, and Verdict's traced walk and its fast path, on the bridge's own
 * iptables-save and the packet with its bridge ports as facts, must give it too.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decide } from '../../src-main/engine/evaluate/compile-ruleset'
import { parsePacketSpec } from '../../src-main/engine/evaluate/packet-spec'
import { walkNetfilter } from '../../src-main/engine/evaluate/walk-netfilter'
import type { Ruleset } from '../../src-main/engine/rulesets/model'
import { readIptablesSave } from '../../src-main/engine/rulesets/read-iptables-save'
import { labSkipReason } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { scriptedClient, services } from './lab-traffic'

/** The lab's own needs, then br_netfilter, which makes a bridge's packets meet iptables. */
const reason = labSkipReason('physdev') ?? bridgeNetfilterMissing()

function bridgeNetfilterMissing(): string | undefined {
  if (existsSync('/proc/sys/net/bridge')) return undefined
  const why = 'br_netfilter is not loaded (modprobe br_netfilter): bridged packets skip iptables'
  console.warn(`kernel lab (physdev) skipped: ${why}`)
  return why
}

const A = '10.93.0.1'
const B = '10.93.0.2'

/** Each port's rule and whether it drops a→b (in by pa, out by pb) and b→a (in by pb, out by pa). */
const CASES: { port: number; match: string; dropsAB: boolean; dropsBA: boolean }[] = [
  { port: 7001, match: '--physdev-in pa', dropsAB: true, dropsBA: false },
  { port: 7002, match: '--physdev-in pb', dropsAB: false, dropsBA: true },
  { port: 7003, match: '! --physdev-in pa', dropsAB: false, dropsBA: true },
  { port: 7004, match: '--physdev-out pb', dropsAB: true, dropsBA: false },
  { port: 7005, match: '--physdev-is-bridged', dropsAB: true, dropsBA: true },
  { port: 7006, match: '! --physdev-is-bridged', dropsAB: false, dropsBA: false },
  { port: 7007, match: '--physdev-in p+', dropsAB: true, dropsBA: true },
  { port: 7008, match: '--physdev-is-in --physdev-out pa', dropsAB: false, dropsBA: true },
  { port: 7009, match: '--physdev-is-bridged ! --physdev-out pb', dropsAB: false, dropsBA: true },
  { port: 7010, match: '--physdev-is-out --physdev-in pa', dropsAB: true, dropsBA: false }
]

describe.skipIf(reason !== undefined)('kernel lab: -m physdev on a bridge', () => {
  let lab: Lab
  let a: Host
  let b: Host
  let ruleset: Ruleset
  /** What the kernel did with each connection: `port a>b` or `port b>a` → dropped. */
  const dropped = new Map<string, boolean>()

  beforeAll(async () => {
    lab = new Lab()
    a = await lab.host('pd-a')
    b = await lab.host('pd-b')
    const br = await lab.host('pd-br')
    await lab.link({ host: a, dev: 'a0', v4: `${A}/24` }, { host: br, dev: 'pa' })
    await lab.link({ host: b, dev: 'b0', v4: `${B}/24` }, { host: br, dev: 'pb' })
    await br.bridge('br0', ['pa', 'pb'])
    await br.sysctl('net.bridge.bridge-nf-call-iptables', 1)
    const rules = CASES.map(
      (c) => `-A FORWARD -p tcp -m tcp --dport ${c.port} -m physdev ${c.match} -j DROP`
    )
    const file = lab.file('physdev.rules')
    writeFileSync(
      file,
      `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules.join('\n')}\nCOMMIT\n`
    )
    await br.must('iptables-restore', [file])
    ruleset = readIptablesSave('bridge/iptables-save.txt', await br.must('iptables-save', []))
    const listen = CASES.map((c) => ({
      proto: 'tcp' as const,
      host: '0.0.0.0',
      port: c.port,
      answers: [{ after: 1, send: 1 }],
      close: 'end' as const
    }))
    await services(a, listen)
    await services(b, listen)
    for (const c of CASES)
      for (const [from, to, dir] of [
        [a, B, 'a>b'],
        [b, A, 'b>a']
      ] as const) {
        const r = await scriptedClient(from, {
          host: to,
          port: c.port,
          localPort: c.port + (dir === 'a>b' ? 10000 : 20000),
          steps: [{ send: 1, await: 1 }],
          timeoutMs: 1200
        })
        dropped.set(`${c.port} ${dir}`, !r.connected)
      }
  }, 120_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('the kernel drops exactly what the rules say (the harness checks itself)', () => {
    for (const c of CASES) {
      expect(dropped.get(`${c.port} a>b`), `${c.match} a>b`).toBe(c.dropsAB)
      expect(dropped.get(`${c.port} b>a`), `${c.match} b>a`).toBe(c.dropsBA)
    }
  })

  it("Verdict's walk and fast path give the kernel's verdict and rule, from the bridge's snapshot", () => {
    const wrong: string[] = []
    for (const c of CASES)
      for (const [src, dst, physin, physout, dir] of [
        [A, B, 'pa', 'pb', 'a>b'],
        [B, A, 'pb', 'pa', 'b>a']
      ] as const) {
        const spec = `tcp ${src}:${c.port + 10000} > ${dst}:${c.port} syn physin=${physin} physout=${physout}`
        const packet = parsePacketSpec(spec)
        if (typeof packet === 'string') throw new Error(packet)
        const options = { path: 'forward' as const, ct: 'new' as const, iif: 'br0', oif: 'br0' }
        const walk = walkNetfilter(ruleset, packet, options)
        const fast = decide(ruleset, packet, options)
        const kernel = dropped.get(`${c.port} ${dir}`) ? 'drop' : 'accept'
        const line = walk.decidedBy?.rule ?? 'policy'
        if (walk.verdict !== kernel || walk.uncertain)
          wrong.push(
            `${spec}: walk ${walk.verdict}${walk.uncertain ? ' (uncertain)' : ''}, kernel ${kernel}`
          )
        if (fast.verdict !== walk.verdict || fast.uncertain !== walk.uncertain)
          wrong.push(`${spec}: decide ${fast.verdict}, walk ${walk.verdict}`)
        if (kernel === 'drop' && !line.includes(`--dport ${c.port} `))
          wrong.push(`${spec}: decided by ${line}`)
      }
    expect(wrong).toEqual([])
  })

  it('a packet not said to be bridged leaves physdev undecided; one said not bridged fails it', () => {
    const rule = CASES[0]
    const unknown = parsePacketSpec(`tcp ${A}:1 > ${B}:${rule.port} syn`)
    const routed = parsePacketSpec(`tcp ${A}:1 > ${B}:${rule.port} syn physin=none physout=none`)
    if (typeof unknown === 'string' || typeof routed === 'string') throw new Error('spec')
    const options = { path: 'forward' as const, ct: 'new' as const, iif: 'br0', oif: 'br0' }
    expect(walkNetfilter(ruleset, unknown, options).uncertain).toBe(true)
    const r = walkNetfilter(ruleset, routed, options)
    expect(r).toMatchObject({ verdict: 'accept', uncertain: false })
  })
})
