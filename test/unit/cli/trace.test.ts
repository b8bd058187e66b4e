import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI, verdict } from '../../support/run'

const reason = existsSync(CLI) ? undefined : 'the command line is not built (npm run build:cli)'
if (reason) console.warn(`skipping the trace command tests: ${reason}`)

const dir = mkdtempSync(join(tmpdir(), 'verdict-trace-'))
const rules = join(dir, 'rules.v4')
writeFileSync(
  rules,
  '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m set --match-set admins src -j ACCEPT\nCOMMIT\n'
)
const sets = join(dir, 'ipsets')
writeFileSync(sets, 'create admins hash:ip family inet\nadd admins 10.0.0.1\n')

describe.skipIf(reason !== undefined)('verdict trace', () => {
  it('prints the contract JSON: verdict, decidedBy, trace, uncertain', async () => {
    const { code, stdout } = await verdict([
      'trace',
      rules,
      sets,
      '--packet',
      'tcp 10.0.0.1:40000 > 10.0.0.2:22 syn',
      '--format',
      'json'
    ])
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({
      verdict: 'accept',
      decidedBy: {
        kind: 'rule',
        table: 'filter',
        chain: 'INPUT',
        line: 3,
        rule: '-A INPUT -p tcp --dport 22 -m set --match-set admins src -j ACCEPT'
      },
      uncertain: false
    })
    expect(r.trace).toHaveLength(1)
  })

  it('says the verdict is uncertain, and why, when the ipset snapshot is missing', async () => {
    const { stdout } = await verdict([
      'trace',
      rules,
      '--packet',
      'tcp 10.0.0.1:40000 > 10.0.0.2:22'
    ])
    expect(stdout).toContain('DROP by policy at line 2 (filter/INPUT): :INPUT DROP [0:0]')
    expect(stdout).toContain('UNCERTAIN: line 3: ipset admins is in no snapshot loaded')
  })

  it('decides fact matches from the packet facts and --local, and says which fact is missing', async () => {
    const facts = join(dir, 'facts.v4')
    writeFileSync(
      facts,
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -m addrtype ! --dst-type LOCAL -j DROP\n' +
        '-A INPUT -p udp -m ttl --ttl-lt 5 -j REJECT\n-A INPUT -p udp -m length --length 0:99 -j ACCEPT\nCOMMIT\n'
    )
    const run = async (packet: string, ...more: string[]) => {
      const { code, stdout } = await verdict([
        'trace',
        facts,
        '--packet',
        packet,
        ...more,
        '--format',
        'json'
      ])
      expect(code).toBe(0)
      return JSON.parse(stdout) as {
        verdict: string
        decidedBy: { line: number }
        uncertainWhy: string[]
      }
    }
    const sure = await run('udp 10.0.0.1:1 > 10.0.0.2:53 ttl=64 len=60', '--local', '10.0.0.2/24')
    expect([sure.verdict, sure.decidedBy.line, sure.uncertainWhy]).toEqual(['accept', 5, []])
    const rejected = await run('udp 10.0.0.1:1 > 10.0.0.2:53 ttl=4', '--local=10.0.0.2')
    expect([rejected.verdict, rejected.decidedBy.line]).toEqual(['reject', 4])
    const elsewhere = await run('udp 10.0.0.1:1 > 10.0.0.3:53 ttl=4', '--local', '10.0.0.2')
    expect([elsewhere.verdict, elsewhere.decidedBy.line]).toEqual(['drop', 3])
    const unsure = await run('udp 10.0.0.1:1 > 10.0.0.2:53 len=60')
    expect(unsure.uncertainWhy).toEqual([
      "line 3: not destination address type local (the host's addresses are not known: --local ADDR,...)",
      'line 4: TTL 0-4 (the packet has no ttl=N)'
    ])
    const bad = await verdict([
      'trace',
      facts,
      '--packet',
      'udp 10.0.0.1:1 > 10.0.0.2:53',
      '--local',
      '10.0.0.300'
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--local: address '10.0.0.300' not understood")
  })

  it('prints a rule with a set once in the text walk, with each element it missed', async () => {
    const nft = join(dir, 'vmap.nft')
    writeFileSync(
      nft,
      'table inet filter {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport vmap { 22 : accept, 5432 : drop, 8080 : drop }\n  }\n}\n'
    )
    const { stdout } = await verdict([
      'trace',
      nft,
      '--packet',
      'tcp 10.0.0.1:40000 > 10.0.0.2:8080 syn'
    ])
    const lines = stdout.split('\n').filter((l) => l.startsWith('  input'))
    expect(lines).toEqual([
      '  input filter/input line 4: no (needs destination port 22 or needs destination port 5432)  tcp dport vmap { 22 : accept, 5432 : drop, 8080 : drop }',
      '  input filter/input line 4: matched → drop  tcp dport vmap { 22 : accept, 5432 : drop, 8080 : drop }'
    ])
  })

  it('walks a bridged frame through the bridge family and, with br_netfilter, iptables', async () => {
    const bridge = join(dir, 'bridge.nft')
    writeFileSync(
      bridge,
      'table bridge filter {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    iifname "bp0" tcp dport 5432 drop\n  }\n}\n'
    )
    const run = async (...extra: string[]) =>
      JSON.parse(
        (
          await verdict([
            'trace',
            bridge,
            '--packet',
            'tcp 10.0.0.1:40000 > 10.0.0.2:5432 syn',
            '--path',
            'bridge',
            ...extra,
            '--format',
            'json'
          ])
        ).stdout
      )
    expect(await run('--iif', 'bp0', '--oif', 'bp1')).toMatchObject({
      verdict: 'drop',
      decidedBy: { chain: 'forward', line: 4 }
    })
    expect(await run('--iif', 'bp1', '--oif', 'bp0')).toMatchObject({ verdict: 'accept' })
    const bad = await verdict([
      'trace',
      bridge,
      '--packet',
      'tcp 1.1.1.1:1 > 2.2.2.2:2 syn',
      '--bridge',
      'br0'
    ])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--bridge and --br-netfilter are for --path bridge/)
  })

  it('routes on a packet to the host that DNAT sends elsewhere, and says where to', async () => {
    const dn = join(dir, 'dnat.rules')
    writeFileSync(
      dn,
      '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n'
    )
    const { stdout } = await verdict([
      'trace',
      dn,
      '--packet',
      'tcp 1.2.3.4:5 > 192.168.60.1:8080 syn',
      '--local',
      '192.168.60.1/24'
    ])
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      'DROP by policy at line 7 (filter/FORWARD): :FORWARD DROP [0:0]',
      'conntrack state: new',
      'destination translated to 172.17.0.2:80'
    ])
  })

  it('rejects a bad packet spec with usage', async () => {
    const { code, stderr } = await verdict([
      'trace',
      rules,
      '--packet',
      'tcp 10.0.0.1 > 10.0.0.2:22'
    ])
    expect(code).toBe(2)
    expect(stderr).toContain('tcp needs ports: SRC:PORT > DST:PORT')
  })

  it('names a file that is not a ruleset', async () => {
    const notes = join(dir, 'notes.txt')
    writeFileSync(notes, 'hello\n')
    const { code, stderr } = await verdict([
      'trace',
      notes,
      '--packet',
      'udp 10.0.0.1:1 > 10.0.0.2:53'
    ])
    expect(code).toBe(1)
    expect(stderr).toContain(`${notes}: not a ruleset Verdict reads`)
  })
})

describe.skipIf(reason !== undefined)('verdict trace on a bridge (-m physdev)', () => {
  const bridge = join(dir, 'bridge.v4')
  writeFileSync(
    bridge,
    '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m physdev --physdev-in eth1 --physdev-is-bridged -j DROP\nCOMMIT\n'
  )
  const run = async (packet: string) => {
    const { code, stdout } = await verdict(
      [
        'trace',
        bridge,
        '--packet',
        packet,
        '--path',
        'forward',
        '--iif',
        'br0',
        '--oif',
        'br0'
      ].concat(['--format', 'json'])
    )
    expect(code).toBe(0)
    return JSON.parse(stdout) as { verdict: string; uncertain: boolean; uncertainWhy?: string[] }
  }

  it('decides the rule from the packet bridge ports', async () => {
    const syn = 'tcp 10.0.0.1:40000 > 10.0.0.2:22 syn'
    expect(await run(`${syn} physin=eth1 physout=vnet0`)).toMatchObject({
      verdict: 'drop',
      uncertain: false
    })
    expect(await run(`${syn} physin=eth2 physout=vnet0`)).toMatchObject({
      verdict: 'accept',
      uncertain: false
    })
    const unknown = await run(syn)
    expect(unknown).toMatchObject({ verdict: 'accept', uncertain: true })
    expect(unknown.uncertainWhy?.join(' ')).toContain('physin=')
  })
})
