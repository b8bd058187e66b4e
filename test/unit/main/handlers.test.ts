import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHandlers, type RunAnalysis } from '../../../src-main/main/handlers'
import type { AnalyseOptions, PacketNode } from '../../../src-main/shared/api'
import { runAnalysis } from '../../../src-main/worker/run-analysis'
import { CORPUS, hasProgram } from '../../support/run'
import { NFLOG_CHANGE, SAMPLE, nflogFlow } from './sample-what-if'

const SMTP = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
const RULES = resolve(CORPUS, 'iptables/iptables_policy-drop.txt')
const run: RunAnalysis = (paths, onProgress, signal, options) =>
  runAnalysis(paths, { onProgress, signal, ...options })
const handlers = (initialPaths: string[] = [], sampleDir = '/nonexistent/sample') =>
  createHandlers({ run, initialPaths, sampleDir })

const flatten = (nodes: PacketNode[]): string[] =>
  nodes.flatMap((n) => [n.label, ...flatten(n.children ?? [])])

describe('IPC handlers', () => {
  it('validates every argument and answers with an error, never a throw', async () => {
    const h = handlers()
    for (const bad of [undefined, 'x', [], [1], ['a\0b'], new Array(1001).fill('a')]) {
      const r = await h.analyse(bad, undefined, () => {})
      expect(r.ok).toBe(false)
    }
    expect((await h.readText(42)).ok).toBe(false)
    expect((await h.packet(SMTP, 0)).ok).toBe(false)
    expect((await h.packet(SMTP, 1.5)).ok).toBe(false)
  })

  it('analyses files with per-file progress, and lists a missing path with its error', async () => {
    const h = handlers()
    const seen = new Set<string>()
    const missing = join(tmpdir(), 'verdict-no-such-file.pcap')
    const r = await h.analyse([SMTP, RULES, missing], undefined, (p) => seen.add(p.path))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(seen.has(SMTP)).toBe(true)
    const byPath = new Map(r.value.inputs.map((i) => [i.path, i]))
    expect(byPath.get(SMTP)).toMatchObject({ kind: 'capture', format: 'pcap', records: 125 })
    expect(byPath.get(RULES)).toMatchObject({ kind: 'ruleset', format: 'iptables-save' })
    expect(byPath.get(missing)?.errors[0]).toMatch(/verdict-no-such-file\.pcap: ENOENT/)
    expect(r.value.flows.length).toBeGreaterThan(0)
    expect(h.loaded()).toBe(r.value)
  })

  it('reads only text inputs of the loaded incident', async () => {
    const h = handlers()
    expect((await h.readText(RULES)).ok).toBe(false)
    await h.analyse([SMTP, RULES], undefined, () => {})
    const text = await h.readText(RULES)
    expect(text).toEqual({ ok: true, value: execFileSync('cat', [RULES], { encoding: 'utf8' }) })
    expect((await h.readText(SMTP)).ok).toBe(false)
    expect((await h.readText('/etc/passwd')).ok).toBe(false)
  })

  it.skipIf(!hasProgram('tshark'))(
    'decodes one frame with the quoted packet of an ICMP error, as tshark does',
    async () => {
      const h = handlers()
      expect((await h.packet(SMTP, 26)).ok).toBe(false)
      await h.analyse([SMTP], undefined, () => {})
      const r = await h.packet(SMTP, 26)
      expect(r.ok).toBe(true)
      if (!r.ok) return
      // tshark lists the outer and the quoted header's addresses in one field, outer first.
      const [[src, innerSrc], [dst, innerDst], [type], [code], [mtu]] = execFileSync(
        'tshark',
        [
          '-r',
          SMTP,
          '-Y',
          'frame.number == 26',
          '-T',
          'fields',
          '-E',
          'separator=|',
          ...['ip.src', 'ip.dst', 'icmp.type', 'icmp.code', 'icmp.mtu'].flatMap((f) => ['-e', f])
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }
      )
        .trim()
        .split('|')
        .map((f) => f.split(','))
      const labels = flatten(r.value.layers)
      expect(labels).toContain(`Internet Protocol Version 4, Src: ${src}, Dst: ${dst}`)
      expect(labels).toContain(`Type: ${type}`)
      expect(labels).toContain(`Code: ${code}`)
      expect(labels).toContain(`MTU of next hop: ${mtu}`)
      expect(labels).toContain(`Quoted packet: ${innerSrc} > ${innerDst}`)
      expect(r.value.summary).toContain('mtu')
      expect((await h.packet(SMTP, 100000)).ok).toBe(false)
    }
  )

  it('cancels the analysis under way', async () => {
    const h = handlers()
    const pending = h.analyse([SMTP], undefined, () => {})
    h.cancel()
    expect(await pending).toEqual({ ok: false, error: { message: 'analysis cancelled' } })
  })

  it('opens the paths given, else the sample incident, else says the sample is missing', () => {
    expect(handlers([SMTP]).startup()).toEqual({ paths: [SMTP], sample: false })
    const dir = mkdtempSync(join(tmpdir(), 'verdict-sample-'))
    expect(handlers([], dir).startup()).toEqual({ paths: [dir], sample: true })
    expect(handlers([], join(dir, 'missing')).startup().note).toMatch(/sample incident is not here/)
  })

  it('opens a saved incident as it was saved', async () => {
    const h = handlers()
    const first = await h.analyse([SMTP], undefined, () => {})
    expect(first.ok).toBe(true)
    const file = join(mkdtempSync(join(tmpdir(), 'verdict-saved-')), 'incident.json')
    writeFileSync(file, JSON.stringify(h.loaded()))
    expect(await h.analyse([file], undefined, () => {})).toEqual(first)
  })

  it('refuses paths outside what the session may open', async () => {
    const h = createHandlers({
      run,
      initialPaths: [SMTP],
      sampleDir: '/x',
      mayAnalyse: (p) => p === SMTP
    })
    const r = await h.analyse([RULES], undefined, () => {})
    expect(r).toMatchObject({ ok: false })
  })

  it('refuses what-if changes that are not a short list of short, non-empty texts, before running', async () => {
    const asked: AnalyseOptions[] = []
    const spy: RunAnalysis = async (_paths, _onProgress, _signal, options) => {
      asked.push(options)
      return { ok: false, error: { message: 'not run' } }
    }
    const h = createHandlers({ run: spy, initialPaths: [], sampleDir: '/x' })
    const change = 'iptables -P INPUT ACCEPT'
    const refused: [unknown, RegExp][] = [
      ['whatIf', /must be an object/],
      [[change], /must be an object/],
      [{ whatIf: change }, /list of changes/],
      [{ whatIf: [change], clock: {} }, /no option named clock/],
      [{ whatIf: [42] }, /change 1 is not text/],
      [{ whatIf: [change, ''] }, /change 2 is empty/],
      [{ whatIf: ['  \n'] }, /change 1 is empty/],
      [{ whatIf: ['iptables\0 -P INPUT ACCEPT'] }, /NUL/],
      [{ whatIf: ['x'.repeat(2000)] }, /2000 characters long: changes must stay under 2000/],
      [{ whatIf: new Array(21).fill(change) }, /at most 20 changes \(21 given\)/]
    ]
    for (const [options, message] of refused) {
      const r = await h.analyse([SMTP], options, () => {})
      expect(r.ok ? 'accepted' : r.error.message, JSON.stringify(options)).toMatch(message)
    }
    expect(asked).toEqual([])
    // At the limits, and with no options at all, the run goes ahead with a copy of what was checked.
    const most = { whatIf: [...new Array(19).fill(change), 'x'.repeat(1999)] }
    for (const options of [undefined, null, {}, { whatIf: [] }, most])
      await h.analyse([SMTP], options, () => {})
    expect(asked).toEqual([{}, {}, {}, { whatIf: [] }, { whatIf: most.whatIf }])
    expect(asked[4].whatIf).not.toBe(most.whatIf)
  })

  it('tries a what-if change on the sample incident: it resolves exactly the flow it opens', async () => {
    const h = handlers()
    const r = await h.analyse([SAMPLE], { whatIf: [NFLOG_CHANGE, 'server: nonsense'] }, () => {})
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const [tried, bad] = r.value.whatIf!
    expect(tried).toEqual({ change: NFLOG_CHANGE, resolves: [nflogFlow(r.value)], changes: [] })
    expect(bad.resolves).toEqual([])
    expect(bad.problems?.[0]).toMatch(/iptables, ip6tables, nft or sysctl commands/)
    // The what-if leaves the incident itself as a plain analysis finds it.
    const plain = await h.analyse([SAMPLE], undefined, () => {})
    expect(plain.ok && plain.value.whatIf).toBeUndefined()
    expect(plain.ok && plain.value.findings).toEqual(r.value.findings)
  })

  it('answers a what-if on a saved incident with why it was not tried', async () => {
    const h = handlers()
    await h.analyse([SMTP], undefined, () => {})
    const file = join(mkdtempSync(join(tmpdir(), 'verdict-saved-')), 'incident.json')
    writeFileSync(file, JSON.stringify(h.loaded()))
    const r = await h.analyse([file], { whatIf: [NFLOG_CHANGE] }, () => {})
    expect(r.ok && r.value.whatIf).toEqual([
      {
        change: NFLOG_CHANGE,
        resolves: [],
        changes: [],
        problems: [expect.stringMatching(/saved incident holds no snapshots/)]
      }
    ])
  })
})
