/**
 * Grouping failures that share a cause: a port scan is one finding without a fix (opening every
 * port it tried is no fix), and a group's fix lists a bounded number of commands.
 */
import { describe, expect, it } from 'vitest'
import { correlate } from '../../../../src-main/engine/correlate/correlate'
import { createEvidence, hostOf } from '../../../../src-main/engine/correlate/evidence'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { readTextInput } from '../../../../src-main/engine/inputs/read-text-input'
import { INCIDENT_SCHEMA, type Flow, type Incident } from '../../../../src-main/shared/incident'

const RULES = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
const ADDR = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    inet 127.0.0.1/8 scope host lo
2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    inet 10.0.0.2/24 scope global eth0
`

/** SYN timeouts to the server at 10.0.0.2, one per (source, port). */
function analyse(pairs: [string, number][]): Incident {
  const ev = createEvidence()
  for (const [name, text] of Object.entries({ 'iptables-save.txt': RULES, 'ip-addr.txt': ADDR })) {
    const d = detectTextKind(text)
    const info = {
      path: `server/${name}`,
      kind: d.kind,
      format: d.format,
      host: 'server',
      records: 0,
      warnings: [],
      errors: []
    }
    readTextInput(info, text, hostOf(ev, 'server'))
  }
  return correlated(
    pairs.map(([src, dport]) => [src, '10.0.0.2', dport]),
    ev,
    'server'
  )
}

/** SYN timeouts with nothing loaded but the capture, one per [source, destination, port]. */
function unexplained(tries: [string, string, number][]): Incident {
  return correlated(tries, createEvidence(), 'client')
}

/** Correlates one SYN timeout (a SYN and its retransmission) per [source, destination, port]. */
function correlated(
  tries: [string, string, number][],
  ev: ReturnType<typeof createEvidence>,
  point: string
): Incident {
  const flows: Flow[] = tries.map(([src, dst, dport], i) => ({
    id: `F${i + 1}`,
    proto: 'tcp',
    src,
    sport: 40000 + i,
    dst,
    dport,
    first: '2026-11-22T03:00:00.000000Z',
    last: '2026-11-22T03:00:03.000000Z',
    outcome: 'syn-timeout',
    packets: 2,
    bytes: 120,
    seenAt: [point],
    synRetransmits: 1
  }))
  const inc: Incident = { schema: INCIDENT_SCHEMA, inputs: [], flows, findings: [] }
  correlate(inc, ev)
  return inc
}

const ports = (n: number, from = 1000): number[] => Array.from({ length: n }, (_, i) => from + i)

describe('grouping by cause', () => {
  it('calls one source refused on many ports a port scan, and proposes no fix', () => {
    const inc = analyse(ports(30).map((p) => ['10.0.0.9', p]))
    expect(inc.findings).toHaveLength(1)
    const f = inc.findings[0]
    expect(f.cause).toMatchObject({ kind: 'policy', chain: 'INPUT' })
    expect(f.flows).toHaveLength(30)
    expect(f.title).toContain('port scan by 10.0.0.9 (30 ports on 10.0.0.2)')
    expect(f.fix).toBeUndefined()
  })

  it('a few refused ports are not a scan: each gets its command', () => {
    const inc = analyse(ports(3).map((p) => ['10.0.0.9', p]))
    const f = inc.findings[0]
    expect(f.title).not.toContain('scan')
    expect(f.fix?.split('\n')).toEqual(
      ports(3).map((p) => `iptables -A INPUT -p tcp --dport ${p} -j ACCEPT`)
    )
  })

  it('many sources on many ports: the fix lists twenty commands and counts the rest', () => {
    const inc = analyse(ports(45).map((p, i) => [`10.0.1.${i + 1}`, p]))
    const lines = inc.findings[0].fix!.split('\n')
    expect(lines).toHaveLength(21)
    expect(lines[19]).toBe('iptables -A INPUT -p tcp --dport 1019 -j ACCEPT')
    expect(lines[20]).toBe('# and 25 more commands like these')
  })

  it('gathers one source failing the same way on many hosts into one finding, in flow order', () => {
    const sweep = Array.from(
      { length: 25 },
      (_, i) => ['192.0.2.7', `10.0.3.${i + 1}`, 22] as [string, string, number]
    )
    const other: [string, string, number] = ['192.0.2.8', '10.0.3.1', 22]
    const inc = unexplained([...sweep.slice(0, 10), other, ...sweep.slice(10)])
    expect(inc.findings).toHaveLength(2)
    const [gathered, alone] = inc.findings
    expect(gathered.flows).toEqual(inc.flows.filter((f) => f.src === '192.0.2.7').map((f) => f.id))
    expect(gathered.title).toBe('25 SYN timeouts from 192.0.2.7 to 25 destinations: cause unknown')
    expect(gathered.cause.kind).toBe('unknown')
    expect(alone.flows).toEqual(['F11'])
  })

  it('keeps a source failing on a few hosts as one finding per destination', () => {
    const inc = unexplained(ports(5).map((_, i) => ['192.0.2.7', `10.0.3.${i + 1}`, 22]))
    expect(inc.findings).toHaveLength(5)
    for (const f of inc.findings) expect(f.flows).toHaveLength(1)
  })

  it('calls one source failing on many ports of many hosts a port scan, without a fix', () => {
    const inc = unexplained(ports(40).map((p, i) => ['192.0.2.7', `10.0.3.${(i % 4) + 1}`, p]))
    expect(inc.findings).toHaveLength(1)
    expect(inc.findings[0].title).toBe(
      '40 SYN timeouts from a port scan by 192.0.2.7 (40 ports on 4 hosts): cause unknown'
    )
    expect(inc.findings[0].fix).toBeUndefined()
  })
})
