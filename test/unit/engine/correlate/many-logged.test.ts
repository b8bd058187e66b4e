/**
 * A drop log of many lines beside the snapshot that logged them, no capture: every logged
 * conversation becomes a flow, the findings group them by rule, and each finding's walk evidence
 * carries the full trace the evaluator gives for its packet (the trace is made only for the
 * evidence a finding keeps, so this checks it against a walk of its own).
 */
import { describe, expect, it } from 'vitest'
import { correlate } from '../../../../src-main/engine/correlate/correlate'
import { createEvidence, hostOf } from '../../../../src-main/engine/correlate/evidence'
import { parsePacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import { walkNetfilter } from '../../../../src-main/engine/evaluate/walk-netfilter'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { readTextInput } from '../../../../src-main/engine/inputs/read-text-input'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import {
  INCIDENT_SCHEMA,
  type Incident,
  type InputInfo
} from '../../../../src-main/shared/incident'

const RULES = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A PREROUTING -d 203.0.113.10/32 -i eth0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:8080',
  'COMMIT',
  '*filter',
  ':INPUT DROP [0:0]',
  ':FORWARD DROP [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A INPUT -p tcp -m tcp --dport 22 -s 10.9.0.0/16 -j ACCEPT',
  ...Array.from({ length: 40 }, (_, i) => `-A INPUT -p udp -m udp --dport ${5000 + i} -j ACCEPT`),
  '-A INPUT -j LOG --log-prefix "in-drop: "',
  '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A FORWARD -d 10.0.0.6/32 -j ACCEPT',
  '-A FORWARD -j LOG --log-prefix "fwd-drop: "',
  'COMMIT',
  ''
].join('\n')

const IP_ADDR = [
  '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
  '    inet 127.0.0.1/8 scope host lo',
  '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
  '    inet 203.0.113.10/24 scope global eth0',
  '3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
  '    inet 10.0.0.1/24 scope global eth1',
  ''
].join('\n')

interface Attempt {
  src: string
  sport: number
  /** As logged: after the DNAT for the forwarded ones. */
  dst: string
  dport: number
  forward: boolean
  tries: number
}

/** Attempts from 150 sources: to the firewall's ssh, and through its DNAT to 10.0.0.5:8080. */
function attempts(): Attempt[] {
  const out: Attempt[] = []
  for (let i = 0; i < 300; i++) {
    const forward = i % 3 === 0
    out.push({
      src: `198.51.100.${1 + (i % 150)}`,
      sport: 40000 + i,
      dst: forward ? '10.0.0.5' : '203.0.113.10',
      dport: forward ? 8080 : 22,
      forward,
      tries: 1 + (i % 3)
    })
  }
  return out
}

function kernLog(list: Attempt[]): string {
  const lines: string[] = []
  list.forEach((a, i) => {
    for (let k = 0; k < a.tries; k++) {
      const s = (i % 50) + (1 << k) - 1
      const time = `00:${String(Math.floor(i / 50)).padStart(2, '0')}:${String(s).padStart(2, '0')}`
      lines.push(
        `Nov 22 ${time} fw kernel: ${a.forward ? 'fwd-drop: ' : 'in-drop: '}IN=eth0 OUT=${a.forward ? 'eth1' : ''} ` +
          `MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=${a.src} DST=${a.dst} LEN=60 TOS=0x00 ` +
          `PREC=0x00 TTL=${a.forward ? 63 : 64} ID=${1000 + lines.length} DF PROTO=TCP SPT=${a.sport} ` +
          `DPT=${a.dport} WINDOW=64240 RES=0x00 SYN URGP=0`
      )
    }
  })
  return lines.join('\n') + '\n'
}

function incident(list: Attempt[]): Incident {
  const ev = createEvidence()
  const host = hostOf(ev, 'fw')
  for (const [name, text] of Object.entries({
    'rules.v4': RULES,
    'ip-addr.txt': IP_ADDR,
    'kern.log': kernLog(list)
  })) {
    const d = detectTextKind(text)
    const info: InputInfo = {
      path: `fw/${name}`,
      kind: d.kind,
      format: d.format,
      host: 'fw',
      records: 0,
      warnings: [],
      errors: []
    }
    readTextInput(info, text, host)
    expect(info.errors).toEqual([])
  }
  const inc: Incident = { schema: INCIDENT_SCHEMA, inputs: [], flows: [], findings: [] }
  correlate(inc, ev)
  return inc
}

describe('a drop log of many lines and its snapshot, no capture', () => {
  const list = attempts()
  const inc = incident(list)

  it('makes one flow per logged conversation, the forwarded ones at the address asked for', () => {
    expect(inc.flows).toHaveLength(list.length)
    const byPort = new Map(inc.flows.map((f) => [f.sport, f]))
    for (const a of list) {
      const f = byPort.get(a.sport)!
      expect(f).toMatchObject({ proto: 'tcp', src: a.src, outcome: 'syn-timeout' })
      // The DNAT rule gives back what the opener asked for.
      expect([f.dst, f.dport]).toEqual(a.forward ? ['203.0.113.10', 80] : ['203.0.113.10', 22])
      expect(f.synRetransmits ?? 0).toBe(a.tries - 1)
      // The log has no year and there is no capture: the lines' spacing is kept all the same.
      if (a.tries > 1) expect(f.synRetransmitOffsets).toEqual([1, 3].slice(0, a.tries - 1))
    }
  })

  it('groups them by the rule that dropped them', () => {
    const forwarded = list.filter((a) => a.forward).length
    const byChain = new Map(inc.findings.map((f) => [f.cause.chain, f]))
    expect(byChain.get('INPUT')?.flows).toHaveLength(list.length - forwarded)
    expect(byChain.get('FORWARD')?.flows).toHaveLength(forwarded)
    for (const f of inc.findings) {
      expect(f.cause).toMatchObject({ kind: 'policy', table: 'filter', verdict: 'drop' })
      expect(f.evidence.filter((e) => e.kind === 'log').length).toBeGreaterThan(1)
      // Only logs recorded these conversations: no captured packet is claimed.
      expect(f.evidence.filter((e) => e.kind === 'packet')).toEqual([])
    }
  })

  it("gives each finding's walk evidence the evaluator's full trace of its packet", () => {
    const ruleset = readIptablesSave('rules.v4', RULES)
    let walks = 0
    for (const f of inc.findings)
      for (const e of f.evidence) {
        if (e.kind !== 'simulation') continue
        walks++
        const packet = parsePacketSpec(e.packet)
        if (typeof packet === 'string') throw new Error(packet)
        const again = walkNetfilter(ruleset, packet, {
          path: e.path,
          ct: e.ct as 'new',
          iif: 'eth0',
          oif: e.path === 'forward' ? 'eth1' : undefined
        })
        expect(e.verdict).toBe(again.verdict)
        expect(e.trace.length).toBeGreaterThan(1)
        expect(e.trace).toEqual(again.trace)
      }
    expect(walks).toBe(inc.findings.length)
  })
})
