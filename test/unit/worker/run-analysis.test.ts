import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runAnalysis } from '../../../src-main/worker/run-analysis'
import { CORPUS } from '../../support/run'

const SMTP = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
const RULES = resolve(CORPUS, 'iptables/iptables_policy-drop.txt')

describe('runAnalysis', () => {
  it('opens a folder as an incident: each subfolder one host, files at the top belonging to none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verdict-incident-'))
    mkdirSync(join(dir, 'client'))
    mkdirSync(join(dir, 'fw', 'etc'), { recursive: true })
    copyFileSync(SMTP, join(dir, 'client', 'c.pcap'))
    copyFileSync(RULES, join(dir, 'fw', 'etc', 'rules.v4'))
    writeFileSync(join(dir, 'notes.txt'), 'what the on-call engineer saw\n')
    const r = await runAnalysis([dir])
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const byName = Object.fromEntries(r.value.inputs.map((i) => [i.path.slice(dir.length + 1), i]))
    expect(byName['client/c.pcap']).toMatchObject({ kind: 'capture', host: 'client', records: 125 })
    expect(byName['fw/etc/rules.v4']).toMatchObject({ kind: 'ruleset', host: 'fw' })
    expect(byName['notes.txt'].host).toBeUndefined()
  })

  it('reads a JSON file that is not an Incident as any other input, by its content', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'verdict-json-')), 'other.json')
    writeFileSync(file, JSON.stringify({ schema: 'something/else', flows: [] }))
    const r = await runAnalysis([file])
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.value.inputs[0]).toMatchObject({ path: file, kind: 'unknown' })
  })

  it('answers a cancelled analysis with an error rather than a partial incident', async () => {
    const controller = new AbortController()
    controller.abort()
    expect(await runAnalysis([SMTP], { signal: controller.signal })).toEqual({
      ok: false,
      error: { message: 'analysis cancelled' }
    })
  })
})
