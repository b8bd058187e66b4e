import type { Flow, Incident } from '../../../../src-main/shared/incident'

/** A log line whose prefix an attacker chose: it must reach every report as text, never markup. */
export const HOSTILE_RAW =
  "Mar  7 03:00:05 server kernel: [ 8123.400100] <script>alert('x')</script>|`id` IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.5 LEN=60 TTL=64 ID=4242 DF PROTO=TCP SPT=40000 DPT=8080 SYN"

/** The DROP rule of finding X1, as an operator wrote it (a comment with a pipe and backticks). */
export const DROP_RULE =
  '-A INPUT -p tcp -m tcp --dport 8080 -m comment --comment "legacy | `app` port" -j DROP'

const syn = (time: string, seenAt: string[], frames: string[], missingAt?: string[]) => ({
  what: 'syn' as const,
  time,
  seenAt,
  frames,
  ...(missingAt ? { missingAt } : {})
})

const flows: Flow[] = [
  {
    id: 'F1',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40000,
    dst: '10.0.0.5',
    dport: 8080,
    first: '2011-03-07T03:00:05.000100Z',
    last: '2011-03-07T03:00:12.000300Z',
    outcome: 'syn-timeout',
    synRetransmits: 3,
    synRetransmitOffsets: [1, 3, 7],
    packets: 4,
    bytes: 240,
    seenAt: ['client', 'server'],
    history: 'S',
    keyPackets: [
      syn(
        '2011-03-07T03:00:05.000100Z',
        ['client', 'server'],
        ['client:eth0.pcap#12', 'server:eth0.pcap#40']
      )
    ],
    finding: 'X1'
  },
  {
    id: 'F2',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40002,
    dst: '10.0.0.5',
    dport: 8080,
    first: '2011-03-07T03:00:06.500000Z',
    last: '2011-03-07T03:00:09.500000Z',
    outcome: 'syn-timeout',
    synRetransmits: 2,
    synRetransmitOffsets: [1, 3],
    packets: 3,
    bytes: 180,
    seenAt: ['client', 'server'],
    keyPackets: [
      syn(
        '2011-03-07T03:00:06.500000Z',
        ['client', 'server'],
        ['client:eth0.pcap#15', 'server:eth0.pcap#44']
      )
    ],
    finding: 'X1'
  },
  {
    id: 'F3',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40010,
    dst: '10.0.0.5',
    dport: 9090,
    first: '2011-03-07T03:00:07.000000Z',
    last: '2011-03-07T03:00:07.000412Z',
    outcome: 'refused-rst',
    synRetransmits: 0,
    packets: 2,
    bytes: 100,
    seenAt: ['client', 'server'],
    rst: {
      time: '2011-03-07T03:00:07.000412Z',
      by: 'responder',
      ttl: 64,
      usualTtl: 64,
      win: 0,
      answeredSyn: true,
      afterSec: 0.000412
    },
    keyPackets: [
      syn(
        '2011-03-07T03:00:07.000000Z',
        ['client', 'server'],
        ['client:eth0.pcap#20', 'server:eth0.pcap#51']
      ),
      {
        what: 'rst',
        time: '2011-03-07T03:00:07.000412Z',
        seenAt: ['client', 'server'],
        frames: ['client:eth0.pcap#21', 'server:eth0.pcap#52']
      }
    ],
    finding: 'X2'
  },
  {
    id: 'F4',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40020,
    dst: '10.0.0.6',
    dport: 443,
    first: '2011-03-07T03:00:08.000000Z',
    last: '2011-03-07T03:00:11.000000Z',
    outcome: 'syn-timeout',
    synRetransmits: 1,
    synRetransmitOffsets: [1],
    packets: 2,
    bytes: 120,
    seenAt: ['client'],
    missingAt: ['server'],
    keyPackets: [
      syn('2011-03-07T03:00:08.000000Z', ['client'], ['client:eth0.pcap#30'], ['server'])
    ],
    finding: 'X3'
  },
  {
    id: 'F5',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40030,
    dst: '10.0.0.7',
    dport: 5432,
    first: '2011-03-07T03:00:09.000000Z',
    last: '2011-03-07T03:00:09.000000Z',
    outcome: 'syn-timeout',
    synRetransmits: 0,
    packets: 1,
    bytes: 60,
    seenAt: ['client'],
    keyPackets: [syn('2011-03-07T03:00:09.000000Z', ['client'], ['client:eth0.pcap#33'])],
    finding: 'X4'
  },
  {
    id: 'F6',
    proto: 'tcp',
    src: '10.0.0.1',
    sport: 40040,
    dst: '10.0.0.5',
    dport: 22,
    first: '2011-03-07T03:00:04.000000Z',
    last: '2011-03-07T03:00:10.000000Z',
    outcome: 'established',
    packets: 20,
    bytes: 4000,
    seenAt: ['client', 'server'],
    keyPackets: [
      syn(
        '2011-03-07T03:00:04.000000Z',
        ['client', 'server'],
        ['client:eth0.pcap#1', 'server:eth0.pcap#1']
      ),
      { what: 'syn-ack', time: '2011-03-07T03:00:04.000300Z', seenAt: ['client', 'server'] },
      { what: 'fin', time: '2011-03-07T03:00:10.000000Z', seenAt: ['client', 'server'] }
    ]
  },
  {
    id: 'F7',
    proto: 'tcp',
    src: 'fd00::1',
    sport: 50000,
    dst: 'fd00::2',
    dport: 443,
    first: '2011-03-07T03:00:06.000000Z',
    last: '2011-03-07T03:00:13.000000Z',
    outcome: 'stalled',
    synRetransmits: 0,
    synAckRetransmits: 1,
    synAckRetransmitOffsets: [1.002],
    packets: 12,
    bytes: 9000,
    seenAt: ['client'],
    icmp: {
      type: 2,
      code: 0,
      mtu: 1280,
      from: 'fd00::fe',
      sender: 'router',
      time: '2011-03-07T03:00:06.200000Z',
      quoted: 'data'
    },
    data: {
      retransmits: 5,
      maxAckedPayload: 1208,
      stuckPayload: 1428,
      stuckDf: true,
      stuckRetransmits: 5,
      pathMtu: 1280
    },
    keyPackets: [
      syn('2011-03-07T03:00:06.000000Z', ['client'], ['client:eth0.pcap#9']),
      { what: 'syn-ack', time: '2011-03-07T03:00:06.000200Z', seenAt: ['client'] },
      { what: 'icmp', time: '2011-03-07T03:00:06.200000Z', seenAt: ['client'] },
      { what: 'data-retransmit', time: '2011-03-07T03:00:06.400000Z', seenAt: ['client'] }
    ]
  },
  {
    id: 'F8',
    proto: 'udp',
    src: '10.0.0.1',
    sport: 53000,
    dst: '10.0.0.53',
    dport: 53,
    first: '2011-03-07T03:00:04.500000Z',
    last: '2011-03-07T03:00:04.501000Z',
    outcome: 'answered',
    packets: 2,
    bytes: 180,
    seenAt: ['client']
  }
]

/**
 * Returns an incident as the correlation will fill it: an iptables DROP rule
 * proven by a log line, a packet sighting, a simulation and a counter; a
 * port with no listener; a full conntrack table; an unknown with what is
 * missing; plus a stalled IPv6 flow no finding explains, an established one
 * and an answered UDP exchange.
 */
export function sampleIncident(): Incident {
  return {
    schema: 'verdict.incident/1',
    inputs: [
      {
        path: 'incident/client/eth0.pcap',
        kind: 'capture',
        format: 'pcapng',
        host: 'client',
        point: 'client',
        records: 1200,
        warnings: [],
        errors: []
      },
      {
        path: 'incident/server/eth0.pcap',
        kind: 'capture',
        format: 'pcap',
        host: 'server',
        point: 'server',
        records: 800,
        warnings: ['byte 91234: capture cut short: 40 of 74 bytes'],
        errors: []
      },
      {
        path: 'incident/server/rules.v4',
        kind: 'ruleset',
        format: 'iptables-save',
        host: 'server',
        records: 14,
        warnings: ['line 9, column 14: -m recent is not modelled'],
        errors: []
      },
      {
        path: 'incident/server/kern.log',
        kind: 'log',
        format: 'kernel-log',
        host: 'server',
        records: 420,
        warnings: [],
        errors: [
          `incident/server/kern.log: line 77: no timestamp: '<script>alert(1)</script> | \`x\`'`
        ]
      },
      {
        path: 'incident/notes.txt',
        kind: 'unknown',
        format: 'text',
        records: 0,
        warnings: [],
        errors: ['incident/notes.txt: not a capture, log or ruleset Verdict recognises (text)']
      }
    ],
    flows: structuredClone(flows),
    findings: [
      {
        id: 'X1',
        flows: ['F1', 'F2'],
        outcome: 'syn-timeout',
        title: '2 SYN timeouts to 10.0.0.5:8080: filter INPUT rule at rules.v4 line 7 drops them',
        cause: {
          kind: 'rule',
          system: 'iptables',
          host: 'server',
          file: 'incident/server/rules.v4',
          line: 7,
          table: 'filter',
          chain: 'INPUT',
          rule: DROP_RULE,
          verdict: 'DROP'
        },
        confidence: 0.97,
        evidence: [
          {
            kind: 'log',
            weight: 'proves',
            text: 'kernel logged the SYN dropped (prefix, addresses, ports and IP ID match)',
            file: 'incident/server/kern.log',
            line: 77,
            raw: HOSTILE_RAW,
            time: '2011-03-07T03:00:05.000180Z',
            alignment: 'learnt'
          },
          {
            kind: 'log',
            weight: 'proves',
            text: 'kernel logged the retransmitted SYN dropped',
            file: 'incident/server/kern.log',
            line: 78,
            raw: 'Mar  7 03:00:06 server kernel: DROP-8080 SRC=10.0.0.1 DST=10.0.0.5 SPT=40000 DPT=8080 SYN',
            time: '2011-03-07T03:00:06.000200Z',
            alignment: 'learnt'
          },
          {
            kind: 'packet',
            weight: 'suggests',
            text: 'the SYN reached the server point and was never answered',
            time: '2011-03-07T03:00:05.000100Z',
            frames: ['client:eth0.pcap#12', 'server:eth0.pcap#40']
          },
          {
            kind: 'simulation',
            weight: 'predicts',
            text: 'the SYN walked through the snapshot is dropped by rule 7',
            file: 'incident/server/rules.v4',
            host: 'server',
            packet: 'tcp 10.0.0.1:40000 > 10.0.0.5:8080 syn',
            path: 'input',
            ct: 'new',
            verdict: 'drop',
            trace: [
              {
                hook: 'input',
                table: 'filter',
                chain: 'INPUT',
                kind: 'rule',
                line: 5,
                rule: '-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT',
                matched: false,
                note: 'ct state is new'
              },
              {
                hook: 'input',
                table: 'filter',
                chain: 'INPUT',
                kind: 'rule',
                line: 7,
                rule: DROP_RULE,
                matched: true,
                action: 'DROP'
              }
            ],
            uncertain: false
          },
          {
            kind: 'counter',
            weight: 'suggests',
            text: 'the rule counted packets',
            file: 'incident/server/rules.v4',
            line: 7,
            packets: 7,
            bytes: 420
          }
        ],
        explanation:
          'The SYNs reached the server and its INPUT chain dropped them at line 7. The client retransmitted until it gave up.',
        fix: 'iptables -I INPUT 7 -p tcp -s 10.0.0.1 --dport 8080 -j ACCEPT',
        alignment: 'kern.log learnt from 2 matching packets'
      },
      {
        id: 'X2',
        flows: ['F3'],
        outcome: 'refused-rst',
        title: 'Connection to 10.0.0.5:9090 refused: nothing listens there',
        cause: { kind: 'no-listener', host: 'server' },
        confidence: 0.9,
        evidence: [
          {
            kind: 'packet',
            weight: 'proves',
            text: 'the server answered the SYN with RST after 412 µs, TTL 64 as its other packets',
            time: '2011-03-07T03:00:07.000412Z',
            frames: ['server:eth0.pcap#52']
          },
          {
            kind: 'conntrack',
            weight: 'predicts',
            text: 'ss -tlnp shows no socket on port 9090',
            file: 'incident/server/ss.txt',
            line: 3
          }
        ],
        explanation: 'The host itself refused the connection: no process listens on port 9090.'
      },
      {
        id: 'X3',
        flows: ['F4'],
        outcome: 'syn-timeout',
        title: 'SYN to 10.0.0.6:443 lost while the conntrack table was full',
        cause: { kind: 'conntrack-full', host: 'server' },
        confidence: 0.8,
        evidence: [
          {
            kind: 'log',
            weight: 'proves',
            text: 'nf_conntrack: table full, dropping packet',
            file: 'incident/server/kern.log',
            line: 101,
            raw: 'Mar  7 03:00:07 server kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
            time: '2011-03-07T03:00:07.500000Z'
          },
          {
            kind: 'log',
            weight: 'proves',
            text: 'nf_conntrack: table full, dropping packet',
            file: 'incident/server/kern.log',
            line: 140,
            raw: 'Mar  7 03:00:10 server kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
            time: '2011-03-07T03:00:10.500000Z'
          },
          {
            kind: 'conntrack',
            weight: 'predicts',
            text: 'net.netfilter.nf_conntrack_count = 65536 of nf_conntrack_max = 65536',
            file: 'incident/server/sysctl.txt',
            line: 412
          }
        ],
        explanation:
          'The conntrack table was full, so the kernel dropped new connections before any rule saw them.',
        fix: 'sysctl -w net.netfilter.nf_conntrack_max=262144\necho 65536 > /sys/module/nf_conntrack/parameters/hashsize'
      },
      {
        id: 'X4',
        flows: ['F5'],
        outcome: 'syn-timeout',
        title: 'SYN to 10.0.0.7:5432 unanswered: cause unknown',
        cause: { kind: 'unknown' },
        confidence: 0.2,
        evidence: [
          {
            kind: 'packet',
            weight: 'suggests',
            text: 'the SYN left the client and nothing came back',
            time: '2011-03-07T03:00:09.000000Z',
            frames: ['client:eth0.pcap#33']
          }
        ],
        explanation: 'Nothing says where the SYN was lost.',
        missing: [
          'a capture on 10.0.0.7 or on the path to it',
          "10.0.0.7's ruleset (iptables-save or nft list ruleset)"
        ]
      }
    ],
    alignments: [
      {
        file: 'incident/server/kern.log',
        method: 'learnt',
        offsetSec: 1299466796.6,
        matches: 2,
        spreadSec: 0.00002,
        text: 'learnt from 2 packets both logged and captured (IP ID, ports, length); spread 20 µs'
      }
    ],
    whatIf: [
      {
        change: 'iptables -I INPUT 7 -p tcp --dport 8080 -j ACCEPT',
        resolves: ['F1', 'F2'],
        changes: [{ flow: 'F3', before: 'accept', after: 'accept' }]
      }
    ]
  }
}
