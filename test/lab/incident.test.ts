/**
 * Whole incidents from real kernels: `verdict analyze` on an incident folder made in the lab
 * (captures, the kernel's LOG lines, iptables snapshots and host facts) must name, for every
 * failure, the cause the scenario built — its kind, its host, and the rule exactly as the snapshot
 * writes it. The fixes it proposes are then applied to the real kernel, and the same connection
 * must succeed. Clock alignment is checked against the kernel's own clocks.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Finding, Flow, Incident } from '../../src-main/shared/incident'
import { findingOf as findingIn, wrongCauses, wrongRules } from '../support/incident-cases'
import { analyze, flowOf } from './flow-checks'
import { buildIncident, PORT, type IncidentFolder } from './incident-scenario'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab } from './lab-host'
import { scriptedClient } from './lab-traffic'

const reason = labSkipReason('whole incidents')

describe.skipIf(reason !== undefined).each(['iptables', 'nft'] as const)(
  'kernel lab: whole incidents (%s)',
  (firewall) => {
    let lab: Lab
    let folder: IncidentFolder
    let inc: Incident

    beforeAll(async () => {
      requireCli()
      lab = new Lab()
      folder = await buildIncident(lab, firewall)
      inc = await analyze([folder.dir])
    }, 120_000)

    afterAll(async () => {
      await lab?.close()
    })

    const findingOf = (f: Flow): Finding | undefined => findingIn(inc, f)

    it('finds the cause the scenario built for every failure', () => {
      expect(wrongCauses(inc, folder.cases)).toEqual([])
    })

    it('names each rule exactly as the snapshot writes it, at its file and line', () => {
      expect(wrongRules(inc, folder.cases)).toEqual([])
    })

    it('proves logged drops with the kernel line, and says which clock alignment it used', () => {
      for (const c of folder.cases.filter((x) => x.logged)) {
        const finding = findingOf(flowOf(inc, { proto: c.proto, sport: c.sport }))!
        const log = finding.evidence.find((e) => e.kind === 'log')
        expect(log, c.name).toMatchObject({ weight: 'proves' })
        expect(log && 'raw' in log ? log.raw : '', c.name).toContain(folder.tag)
        expect(finding.alignment, c.name).toBeTruthy()
        expect(finding.confidence, c.name).toBeGreaterThanOrEqual(0.9)
      }
    })

    it('learns the dmesg clock from packets both logged and captured, within a millisecond', () => {
      const a = inc.alignments?.find((x) => x.file.endsWith(join('server', 'kern.log')))
      expect(a?.method).toBe('learnt')
      expect(Math.abs(a!.offsetSec! - folder.bootOffsetSec)).toBeLessThan(0.001)
    })

    it('learns a skewed, zone-shifted syslog clock within a millisecond of the truth', async () => {
      const a = inc.alignments!.find((x) => x.file.endsWith(join('server', 'kern.log')))!
      // The server's own kernel lines rewritten as a syslog in UTC+05:30 whose clock runs 37.25 s
      // fast: wall = boot seconds + boot time + zone + skew, written without year or zone.
      const zone = 330 * 60
      const skew = 37.25
      const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')
      const lines = readFileSync(folder.files.server['kern.log'], 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          const m = /^\[\s*(\d+\.\d+)\]\s(.*)$/.exec(l)!
          const t = Number(m[1]) + a.offsetSec! + zone + skew
          const d = new Date(Math.floor(t) * 1000)
          const us = String(Math.round((t % 1) * 1e6)).padStart(6, '0')
          const hms = d.toISOString().slice(11, 19)
          return `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms}.${us} server kernel: ${m[2]}`
        })
      const shifted = join(folder.dir, 'server', 'kern.log')
      const original = readFileSync(shifted, 'utf8')
      writeFileSync(shifted, lines.join('\n') + '\n')
      try {
        const again = await analyze([folder.dir])
        const b = again.alignments!.find((x) => x.file === a.file)!
        expect(b.method).toBe('learnt')
        expect(Math.abs(b.offsetSec! - -(zone + skew))).toBeLessThan(0.001)
        const logged = again.findings.find((f) =>
          f.evidence.some((e) => e.kind === 'log' && e.file === a.file)
        )
        expect(logged?.cause.kind).toBe('rule')
      } finally {
        writeFileSync(shifted, original)
      }
    })

    it('from the drop logs and snapshots alone, with no capture, finds the logged failures', async () => {
      const dir = lab.file(`logs-only-${firewall}`)
      cpSync(folder.dir, dir, { recursive: true, filter: (src) => !src.endsWith('.pcap') })
      const only = await analyze([dir])
      expect(only.flows.filter((f) => f.seenAt.length > 0)).toEqual([])
      // The text logs' failures (the NFLOG drop's log is a capture). The DNAT's logged packet
      // carries the translated address; the router's DNAT rule gives back the one the client asked.
      const logged = folder.cases.filter((c) => c.logged && c.name !== 'NFLOG drop')
      expect(logged.map((c) => c.name)).toEqual([
        'logged drop',
        'logged drop (IPv6)',
        'return path',
        'DNAT without a FORWARD accept',
        'egress'
      ])
      expect(wrongCauses(only, logged)).toEqual([])
      expect(wrongRules(only, logged)).toEqual([])
      for (const c of logged) {
        const flow = flowOf(only, { proto: c.proto, sport: c.sport })
        expect(flow.loggedAt, c.name).toEqual([c.host])
        const finding = findingIn(only, flow)!
        expect(
          finding.evidence.find((e) => e.kind === 'log'),
          c.name
        ).toMatchObject({
          weight: 'proves'
        })
      }
    })

    it('what-if: accepting the NFLOG-dropped port resolves that flow and changes no other', async () => {
      const flow = flowOf(inc, {
        proto: 'tcp',
        sport: folder.cases.find((c) => c.name === 'NFLOG drop')!.sport
      })
      const change =
        firewall === 'nft'
          ? `server: nft insert rule inet filter input index 2 tcp dport ${PORT.dropped} accept`
          : `server: iptables -I INPUT 3 -p tcp --dport ${PORT.dropped} -j ACCEPT`
      const w = await analyze([folder.dir, '--what-if', change])
      expect(w.whatIf?.[0]).toMatchObject({ change, resolves: [flow.id], changes: [] })
    })

    it('what-if: a rule that would drop a working service shows that flow in the blast radius', async () => {
      const ok = inc.flows.find(
        (f) => f.proto === 'tcp' && f.dport === PORT.ok && f.outcome === 'established'
      )!
      const change =
        firewall === 'nft'
          ? `server: nft insert rule inet filter input index 0 tcp dport ${PORT.ok} drop`
          : `server: iptables -I INPUT 1 -p tcp --dport ${PORT.ok} -j DROP`
      const w = await analyze([folder.dir, '--what-if', change])
      expect(w.whatIf?.[0].resolves).toEqual([])
      expect(w.whatIf?.[0].changes).toEqual([
        { flow: ok.id, before: 'accept', after: expect.stringContaining('drop at server') }
      ])
    })

    it('the proposed fixes, applied to the real kernel, let the same connections through', async () => {
      const applied: string[] = []
      for (const name of [
        'logged drop',
        'policy',
        'return path',
        'DNAT without a FORWARD accept',
        'rate limit',
        'length rule'
      ]) {
        const c = folder.cases.find((x) => x.name === name)!
        const finding = findingOf(flowOf(inc, { proto: c.proto, sport: c.sport }))!
        expect(finding.fix, name).toMatch(firewall === 'nft' ? /^nft / : /^ip6?tables /)
        const host = lab.hostByName(`inc-${c.host![0]}`)
        const [tool, ...args] = finding.fix!.split(/\s+/)
        await host.must(tool, args)
        applied.push(finding.fix!)
        const dst = c.name.startsWith('DNAT') ? folder.net.routerIn : folder.net.server
        // The stalled connection must now carry its full-size data, not only connect.
        const steps =
          c.outcome === 'stalled'
            ? [
                { send: 100, await: 2 },
                { send: 6000, await: 4 }
              ]
            : [{ send: 1, await: 1 }]
        const result = await scriptedClient(lab.hostByName('inc-c'), {
          host: dst,
          port: c.dport,
          localPort: c.sport + 7,
          steps,
          timeoutMs: 3_000
        })
        expect(result.connected, `${name} after \`${finding.fix}\``).toBe(true)
        // Each step's `await` is the total the server has answered by then.
        expect(result.received, `${name} after \`${finding.fix}\``).toBe(steps.at(-1)!.await)
      }
      expect(applied).toHaveLength(6)
    })
  }
)
