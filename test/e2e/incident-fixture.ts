import { readFileSync } from 'node:fs'
import type { Finding, Flow, Incident } from '../../src-main/shared/incident'

/**
 * Returns a real incident with findings added for its SYN timeouts: until the
 * correlation work fills `findings`, the views are tested on these. The cause
 * is the ruleset's INPUT policy line as the snapshot writes it; the walk is
 * the one `verdict trace` gives for a SYN through that ruleset.
 */
export function withFindings(incident: Incident, rulesetPath: string): Incident {
  const text = readFileSync(rulesetPath, 'utf8').split('\n')
  const policyLine = text.findIndex((l) => l.startsWith(':INPUT ')) + 1
  const policy = text[policyLine - 1]
  const timeouts = incident.flows.filter((f) => f.outcome === 'syn-timeout')
  const findings: Finding[] = timeouts.map((flow, i) =>
    finding(`X${i + 1}`, flow, rulesetPath, policyLine, policy)
  )
  // These findings replace the engine's: no flow keeps a link to one of those.
  const flows = incident.flows.map(({ finding: _engine, ...f }) => {
    const x = findings.find((y) => y.flows.includes(f.id))
    return x ? { ...f, finding: x.id } : f
  })
  return { ...incident, flows, findings }
}

function finding(id: string, flow: Flow, file: string, line: number, rule: string): Finding {
  const syn = flow.keyPackets?.find((k) => k.what === 'syn')
  const spec = `tcp ${flow.src}:${flow.sport} > ${flow.dst}:${flow.dport} syn`
  return {
    id,
    flows: [flow.id],
    outcome: 'syn-timeout',
    title: `SYN timeout to ${flow.dst}:${flow.dport}: INPUT policy \`${rule}\``,
    cause: {
      kind: 'policy',
      system: 'iptables',
      file,
      line,
      table: 'filter',
      chain: 'INPUT',
      rule,
      verdict: 'drop'
    },
    confidence: 0.8,
    evidence: [
      {
        kind: 'packet',
        weight: 'suggests',
        text: `SYN sent ${1 + (flow.synRetransmits ?? 0)} time(s), never answered`,
        time: syn?.time,
        frames: syn?.frames
      },
      {
        kind: 'simulation',
        weight: 'predicts',
        text: 'the SYN walked through the snapshot is dropped by the INPUT policy',
        file,
        packet: spec,
        path: 'input',
        ct: 'new',
        verdict: 'drop',
        uncertain: false,
        trace: [
          {
            hook: 'input',
            table: 'filter',
            chain: 'INPUT',
            kind: 'policy',
            line,
            rule,
            matched: true,
            action: 'drop'
          }
        ]
      },
      {
        kind: 'counter',
        weight: 'suggests',
        text: 'the policy counter in the snapshot',
        file,
        line,
        packets: 0,
        bytes: 0
      }
    ],
    explanation: `No rule in INPUT accepts TCP to port ${flow.dport}, so the chain's DROP policy discards the SYN and the client retransmits until it gives up.`,
    fix: `iptables -I INPUT -p tcp --dport ${flow.dport} -j ACCEPT`
  }
}
