/** Random mutations of real lines: readLog never throws and accounts for every non-empty line. */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readLog } from '../../../../src-main/engine/logs/read-log'
import { CORPUS } from '../../../support/run'
import { WRAPPERS, dmesgMessage } from './wrap-kernel-line'

const kernel = readFileSync(
  resolve(import.meta.dirname, '../../../fixtures/logs/lab-dmesg.txt'),
  'utf8'
)
const corpus = [
  'elastic-integrations_test-iptables-raw.log',
  'snippets_nf_conntrack_table_full.log',
  'snippets_selinux_avc_name_connect_name_bind.log',
  'fail2ban_recidive'
].map((f) => readFileSync(resolve(CORPUS, 'logs', f), 'utf8'))
const seeds = [kernel, ...corpus].flatMap((t) => t.trimEnd().split('\n'))
const wrapped = kernel
  .trimEnd()
  .split('\n')
  .flatMap((l) => Object.values(WRAPPERS).map((w) => w(dmesgMessage(l))))
const lines = [...seeds, ...wrapped].filter((l) => l.trim() !== '')

const mutation = fc.oneof(
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom('[', ']', '=', ' ', '(', 'x', 'SRC=', '0x', '\u00ff', '"', '{')
  }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 12 })
  })
)

function mutate(line: string, ms: { op: string; at: number; text?: string; n?: number }[]): string {
  let s = line
  for (const m of ms) {
    const at = s.length ? m.at % s.length : 0
    if (m.op === 'cut') s = s.slice(0, at)
    else if (m.op === 'insert') s = s.slice(0, at) + m.text + s.slice(at)
    else s = s.slice(0, at) + s.slice(at + (m.n ?? 1))
  }
  return s
}

describe('readLog under random mutation', () => {
  it('never throws; events, merged counts, problems and ignored lines add up to the non-empty lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...lines), fc.array(mutation, { maxLength: 4 })), {
          minLength: 1,
          maxLength: 12
        }),
        (picked) => {
          const text = picked.map(([l, ms]) => mutate(l, ms).replace(/\r?\n/g, ' ')).join('\n')
          const r = readLog('fuzz.log', text)
          const nonEmpty = text.split('\n').filter((l) => l.trim() !== '').length
          const merged = r.events.filter((e) => e.suppressedLine !== undefined).length
          expect(r.events.length + merged + r.problems.length + r.ignored).toBe(nonEmpty)
          for (const p of r.problems) expect(p.at).toMatch(/^line \d+$/)
          for (const e of r.events) if (e.kind === 'packet') expect(e.packet!.src).not.toBe('')
        }
      ),
      { numRuns: 400, seed: 20261121 }
    )
  })
})
