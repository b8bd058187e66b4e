import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCidr, parseIpv4 } from '../../../../src-main/engine/rulesets/parse-address'

/** The definition, written the obvious way: four dot-separated parts of 1–3 digits, each ≤ 255. */
function dottedQuad(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || parts.some((p) => !/^[0-9]{1,3}$/.test(p) || Number(p) > 255))
    return undefined
  return parts.reduce((v, p) => v * 256 + Number(p), 0)
}

describe('IPv4 address text', () => {
  it('reads dotted quads, leading zeros included, as an unsigned number', () => {
    expect(parseIpv4('10.0.0.1')).toBe(0x0a000001)
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff)
    expect(parseIpv4('010.000.000.001')).toBe(0x0a000001)
  })

  it('refuses anything else', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.',
      '.1.2.3',
      '1..2.3',
      '256.0.0.1',
      '1.2.3.4 ',
      '0001.1.1.1',
      '1.2.3.-4',
      '1.2.3.٤'
    ])
      expect(parseIpv4(bad), bad).toBeUndefined()
  })

  it('agrees with the definition on any short text of digits, dots and other characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9.a :-]{0,18}$/), (text) => {
        expect(parseIpv4(text)).toBe(dottedQuad(text))
      }),
      { numRuns: 20_000 }
    )
    fc.assert(
      fc.property(fc.array(fc.nat(400), { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.join('.')
        expect(parseIpv4(text)).toBe(dottedQuad(text))
      })
    )
  })

  it('reads masks written as prefixes and as dotted quads', () => {
    expect(parseCidr('192.0.2.0/24')).toEqual({ version: 4, words: [0xc0000200], bits: 24 })
    expect(parseCidr('192.0.2.0/255.255.255.0')).toEqual({
      version: 4,
      words: [0xc0000200],
      bits: 24
    })
    expect(parseCidr('192.0.2.0/255.0.255.0')).toBeUndefined()
  })
})
