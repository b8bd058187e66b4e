import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { looksLikeListAll, readListAll } from '../../../../src-main/engine/firewalld/read-list-all'
import { CORPUS } from '../../../support/run'
import { FIXTURES } from './load'

describe('readListAll', () => {
  it('reads zones, settings, forward-ports and rich rules with their lines', () => {
    const text = readFileSync(resolve(FIXTURES, 'list-all-zones.txt'), 'utf8')
    expect(looksLikeListAll(text)).toBe(true)
    const c = readFirewalld([{ path: 'list.txt', text }])
    expect(c.problems).toEqual([])
    expect(c.conf.defaultZone).toBe('public')
    const pub = c.zones.get('public')
    expect(pub?.ports.map((p) => [p.port.from, p.port.to, p.port.proto, p.where.line])).toEqual([
      [8080, 8080, 'tcp', 7],
      [6000, 6005, 'udp', 7]
    ])
    expect(pub?.forwardPorts[0]).toMatchObject({
      port: { from: 2222 },
      toPort: '22',
      where: { line: 12 }
    })
    expect(pub?.icmpBlocks.map((b) => b.name)).toEqual(['fragmentation-needed'])
    expect(pub?.rules.map((r) => [r.priority, r.where.line])).toEqual([
      [0, 16],
      [-5, 17]
    ])
    expect(c.zones.get('work')).toMatchObject({
      target: 'DROP',
      sources: [{ addr: { text: '10.20.0.0/16' } }]
    })
  })
  it('reads firewalld test suite --list-all-zones output', () => {
    const at = readFileSync(resolve(CORPUS, 'firewalld/firewalld_regression_gh1152.at'), 'utf8')
    const start = at.indexOf('FWD_CHECK([--list-all-zones')
    const body = at.slice(at.indexOf('[dnl\n', start) + 5, at.indexOf('])])', start))
    const problems: never[] = []
    const list = readListAll(body, 'gh1152.at', problems)
    expect(problems).toEqual([])
    expect(list.zones.map((z) => z.name)).toEqual([
      'block',
      'dmz',
      'drop',
      'external',
      'home',
      'internal',
      'public',
      'trusted',
      'work'
    ])
    expect(list.zones[0]).toMatchObject({
      target: '%%REJECT%%',
      interfaces: [{ name: 'dummy0' }],
      forward: true
    })
    expect(list.zones.find((z) => z.name === 'external')?.masquerade).toBe(true)
  })
  it('keeps a line it cannot read as a problem', () => {
    const problems: { at: string }[] = []
    readListAll(
      'public\n  target: default\n  ports: 80/tcp nonsense\n',
      'x.txt',
      problems as never[]
    )
    expect(problems.map((p) => p.at)).toEqual(['line 3'])
  })
})
