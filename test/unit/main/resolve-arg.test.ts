import { describe, expect, it } from 'vitest'
import { resolveArg } from '../../../src-main/main/resolve-arg'

describe('start-up arguments', () => {
  it('makes paths absolute and keeps the name of NAME=PATH', () => {
    expect(resolveArg('c.pcap', '/work/x')).toBe('/work/x/c.pcap')
    expect(resolveArg('/abs/s.pcap', '/work/x')).toBe('/abs/s.pcap')
    expect(resolveArg('client=cap/c.pcap', '/work/x')).toBe('client=/work/x/cap/c.pcap')
    expect(resolveArg('./a=b.pcap', '/work/x')).toBe('/work/x/a=b.pcap')
  })
})
