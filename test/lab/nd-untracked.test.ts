/**
 * IPv6 neighbour discovery and conntrack, with the kernel as oracle: the kernel leaves neighbour
 * solicitations untracked, so a ruleset that accepts `ct state new` and drops the rest by policy
 * drops them, and the host cannot be reached over IPv6 at all. The packet spec must imply the
 * state the kernel gives, and the walk of the host's snapshot must drop the solicitation where
 * the kernel did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decide } from '../../src-main/engine/evaluate/compile-ruleset'
import { parsePacketSpec } from '../../src-main/engine/evaluate/packet-spec'
import { walkNetfilter } from '../../src-main/engine/evaluate/walk-netfilter'
import { readNft } from '../../src-main/engine/rulesets/read-nft'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, type Host } from './lab-host'

const reason = labSkipReason('neighbour discovery')
const X = 'fd73::2'
const Y = 'fd73::10'
const STATES = ['new', 'established', 'related', 'invalid', 'untracked'] as const

/** Packets counted per rule comment in the host's ruleset. */
async function counters(host: Host): Promise<Map<string, number>> {
  const listed = JSON.parse(await host.must('nft', ['-j', 'list', 'ruleset'])) as {
    nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[]
  }
  const out = new Map<string, number>()
  for (const item of listed.nftables) {
    const rule = item.rule
    const counted = rule?.expr.find((e) => e.counter)?.counter
    if (rule?.comment && counted) out.set(rule.comment, counted.packets)
  }
  return out
}

describe.skipIf(reason !== undefined)('kernel lab: IPv6 neighbour discovery', () => {
  let lab: Lab
  let x: Host
  let y: Host

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    x = await lab.host('ndx', { ipv6: true })
    y = await lab.host('ndy', { ipv6: true })
    await lab.link({ host: x, dev: 'x0', v6: `${X}/64` }, { host: y, dev: 'y0', v6: `${Y}/64` })
  }, 60_000)

  /** Neighbour entries forgotten on both hosts: the next packet between them starts with a solicitation. */
  async function forgetNeighbours(): Promise<void> {
    await x.must('ip', ['-6', 'neigh', 'flush', 'dev', 'x0'])
    await y.must('ip', ['-6', 'neigh', 'flush', 'dev', 'y0'])
  }

  afterAll(async () => {
    await lab?.close()
  })

  it("the solicitation's conntrack state is the one the packet spec implies", async () => {
    const rules = STATES.map(
      (s) => `icmpv6 type nd-neighbor-solicit ct state ${s} counter comment "${s}"`
    )
    await y.nft(
      `table inet nd {\n chain input {\n  type filter hook input priority filter; policy accept;\n  ${rules.join('\n  ')}\n }\n}\n`
    )
    // A veth just made may not carry the first solicitation yet: ask again until one is counted.
    let counted = new Map<string, number>()
    for (let attempt = 0; attempt < 5; attempt++) {
      await forgetNeighbours()
      await x.exec('ping', ['-6', '-c', '1', '-W', '1', Y])
      counted = await counters(y)
      if ([...counted.values()].some((n) => n > 0)) break
    }
    const kernel = STATES.filter((s) => (counted.get(s) ?? 0) > 0)
    const spec = parsePacketSpec(`icmpv6 ${X} > ${Y} nd-neighbor-solicit`)
    if (typeof spec === 'string') throw new Error(spec)
    expect(kernel).toEqual([spec.impliedCt])
    expect(spec.impliedCt).toBe('untracked')
    await y.must('nft', ['flush', 'ruleset'])
  }, 30_000)

  it('a ruleset accepting only new connections drops it by policy, in the kernel and in Verdict', async () => {
    await forgetNeighbours()
    await y.nft(
      'table inet filter {\n chain input {\n  type filter hook input priority filter; policy drop;\n  ct state new counter accept comment "new"\n }\n}\n'
    )
    const ping = await x.exec('ping', ['-6', '-c', '2', '-W', '1', Y])
    // The kernel: no echo reply, no neighbour entry learnt for Y, and the echo request never
    // counted by the rule that would have accepted it (it was never sent).
    expect(ping.code).not.toBe(0)
    expect(await x.must('ip', ['-6', 'neigh', 'show', Y, 'dev', 'x0'])).not.toMatch(
      /REACHABLE|STALE|DELAY|PROBE/
    )
    expect((await counters(y)).get('new')).toBe(0)

    const ruleset = readNft('ruleset.nft', await y.must('nft', ['list', 'ruleset']))
    const spec = parsePacketSpec(`icmpv6 ${X} > ${Y} nd-neighbor-solicit`)
    if (typeof spec === 'string') throw new Error(spec)
    const options = { path: 'input' as const, iif: 'y0' }
    const walk = walkNetfilter(ruleset, spec, options)
    expect(walk).toMatchObject({ verdict: 'drop', uncertain: false, ct: 'untracked' })
    expect(walk.decidedBy?.kind).toBe('policy')
    const fast = decide(ruleset, spec, options)
    expect([fast.verdict, fast.decidedBy?.kind]).toEqual(['drop', 'policy'])
    // The echo request itself would have been accepted: only discovery stands in the way.
    const echo = parsePacketSpec(`icmpv6 ${X} > ${Y} echo-request`)
    if (typeof echo === 'string') throw new Error(echo)
    expect(walkNetfilter(ruleset, echo, options).verdict).toBe('accept')
  }, 30_000)

  it('analyze reports the unanswered discovery, and its fix lets the host be reached', async () => {
    await forgetNeighbours()
    const dir = lab.file('nd-incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result: ping } = await capturing(
      lab,
      [[x, { file: 'nd-incident/client/x0.pcap', ifaces: ['x0'] }]],
      () => x.exec('ping', ['-6', '-c', '1', '-W', '4', Y])
    )
    expect(ping.code).not.toBe(0)
    writeFileSync(join(dir, 'client', 'ip-addr.txt'), await x.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'ip-addr.txt'), await y.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'ruleset.nft'), await y.must('nft', ['list', 'ruleset']))
    const inc = await analyze([dir])
    const flow = inc.flows.find((f) => f.neighbourDiscovery)!
    // What the wire showed: the kernel's solicitations (it tries three times), none answered.
    expect(flow).toMatchObject({
      proto: 'icmpv6',
      src: X,
      dst: Y,
      outcome: 'unanswered',
      replies: 0
    })
    expect(flow.requests).toBeGreaterThanOrEqual(1)
    // No echo request ever left: the host never learnt where to send it.
    expect(inc.flows.some((f) => f.proto === 'icmpv6' && !f.neighbourDiscovery)).toBe(false)
    const finding = inc.findings.find((f) => f.flows.includes(flow.id))!
    expect(finding.title).toMatch(/^1 unanswered neighbour discovery of fd73::10: /)
    expect(finding.cause).toMatchObject({ kind: 'policy', host: 'server', chain: 'input' })
    expect(finding.fix).toBe(
      'nft add rule inet filter input icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept'
    )
    await y.must('nft', [finding.fix!.replace(/^nft /, '')])
    await forgetNeighbours()
    expect((await x.exec('ping', ['-6', '-c', '1', '-W', '2', Y])).code).toBe(0)
  }, 60_000)
})
