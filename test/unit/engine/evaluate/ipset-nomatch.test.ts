/**
 * ipset's `nomatch`: a more specific entry of a hash:net set that makes the addresses it holds
 * not match the set, a hole in a wider entry (the kernel's hash:net tries prefixes from the most
 * specific, and a nomatch entry found first ends the lookup with no match).
 */
import { describe, expect, it } from 'vitest'
import { readIpsetSave } from '../../../../src-main/engine/rulesets/read-ipset'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { walkAndDecide } from './walk-and-decide'

const IPSET = [
  'create bl hash:net family inet hashsize 1024 maxelem 65536 timeout 0 counters',
  'add bl 10.4.2.0/24 timeout 0 packets 3 bytes 180',
  'add bl 10.4.2.9 timeout 0 nomatch packets 6 bytes 324',
  'add bl 10.4.0.0/16 timeout 0',
  'add bl 10.4.3.0/25 nomatch',
  ''
].join('\n')

describe('ipset nomatch entries', () => {
  it('are holes in the wider entries that hold them', () => {
    const { sets, problems } = readIpsetSave('ipset.txt', IPSET)
    expect(problems).toEqual([])
    expect(sets.get('bl')!.members.map((m) => m.nomatch ?? false)).toEqual([
      false,
      true,
      false,
      true
    ])
    const rs = readIptablesSave(
      'iptables-save.txt',
      '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set bl src -j DROP\nCOMMIT\n'
    )
    rs.ipsets = sets
    const verdict = (src: string) =>
      walkAndDecide(rs, `tcp ${src}:44004 > 10.4.9.1:8443 S`, { path: 'input' }).verdict
    expect(verdict('10.4.2.10')).toBe('drop') // in the /24
    expect(verdict('10.4.2.9')).toBe('accept') // the hole in it
    expect(verdict('10.4.3.7')).toBe('accept') // a /25 hole in the /16
    expect(verdict('10.4.3.200')).toBe('drop') // the /16 beyond the hole
    expect(verdict('10.5.0.1')).toBe('accept') // in no entry
  })
})
