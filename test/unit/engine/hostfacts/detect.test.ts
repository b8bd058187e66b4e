import { describe, expect, it } from 'vitest'
import { detectKind } from '../../../../src-main/engine/inputs/detect-kind'
import { fixture } from './fixture'

const kindOf = (text: string) => detectKind(new TextEncoder().encode(text))

describe('detectKind on host facts', () => {
  it('knows conntrack tables and sysctl snapshots by their content', () => {
    for (const name of ['conntrack-L.txt', 'proc-nf_conntrack.txt', 'conntrack-L-a.txt']) {
      expect(kindOf(fixture(name)).kind).toBe('conntrack')
    }
    expect(kindOf(fixture('conntrack-L.txt').split('\n')[1]).kind).toBe('conntrack') // icmpv6 alone
    expect(kindOf(fixture('sysctl.txt'))).toEqual({ kind: 'sysctl', format: 'sysctl' })
    expect(kindOf(fixture('sysctl-init-netns.txt')).kind).toBe('sysctl')
    expect(kindOf(fixture('proc-sys.txt'))).toEqual({ kind: 'sysctl', format: 'proc-sys' })
  })
})
