import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { readXml } from '../../../../src-main/engine/firewalld/read-xml'

describe('readXml', () => {
  it('reads elements, attributes, text, comments, entities and CDATA with lines', () => {
    const doc = readXml(
      '<?xml version="1.0"?>\n<!-- c -->\n<zone a=\'1\' b="&lt;&#65;&amp;">\n  <x>t &gt; <![CDATA[<raw>]]></x>\n</zone>\n',
      'f.xml'
    )
    expect(doc.problems).toEqual([])
    expect(doc.root).toMatchObject({ name: 'zone', line: 3, attrs: { a: '1', b: '<A&' } })
    expect(doc.root?.children[0]).toMatchObject({ name: 'x', line: 4, text: 't > <raw>' })
  })
  it('names the line of each problem and keeps what it read', () => {
    const doc = readXml('<zone>\n<a/>\n<b>\n</zone>\n<c/>\n&bogus;', 'z.xml')
    expect(doc.problems.map((p) => `${p.at}: ${p.message}`)).toEqual([
      'line 3: <b> is never closed (closed by </zone> on line 4)',
      'line 5: second root element <c> ignored',
      'line 6: text outside the root element'
    ])
    expect(doc.root?.children.map((c) => c.name)).toEqual(['a', 'b'])
  })
  it('never throws, whatever the bytes', () => {
    const pieces = fc.constantFrom(
      '<',
      '>',
      '/',
      '=',
      '"',
      "'",
      '&',
      ';',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '<?',
      '?>',
      'zone',
      'rule',
      ' ',
      '\n',
      'a',
      '&amp;',
      '&#x110000;'
    )
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string()), { maxLength: 60 }), (parts) => {
        const text = parts.join('')
        const doc = readXml(text, 'fuzz.xml')
        for (const p of doc.problems) expect(p.at).toMatch(/^line \d+$/)
        readFirewalld([{ path: 'zones/fuzz.xml', text: `<zone>${text}</zone>` }])
      }),
      { numRuns: 400 }
    )
  })
})
