import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHandlers, type RunAnalysis } from '../../../src-main/main/handlers'
import type { PacketNode } from '../../../src-main/shared/api'
import { runAnalysis } from '../../../src-main/worker/run-analysis'
import { CORPUS, hasProgram } from '../../support/run'

const SMTP = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
const RULES = resolve(CORPUS, 'iptables/iptables_policy-drop.txt')
const run: RunAnalysis = (paths, onProgress, signal) => runAnalysis(paths, { onProgress, signal })
const handlers = (initialPaths: string[] = [], sampleDir = '/nonexistent/sample') =>
  createHandlers({ run, initialPaths, sampleDir })

const flatten = (nodes: PacketNode[]): string[] =>
  nodes.flatMap((n) => [n.label, ...flatten(n.children ?? [])])

describe('IPC handlers', () => {
  it('validates every argument and answers with an error, never a throw', async () => {
    const h = handlers()
    for (const bad of [undefined, 'x', [], [1], ['a\0b'], new Array(1001).fill('a')]) {
      const r = await h.analyse(bad, () => {})
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
    const r = await h.analyse([SMTP, RULES, missing], (p) => seen.add(p.path))
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
    await h.analyse([SMTP, RULES], () => {})
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
      await h.analyse([SMTP], () => {})
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
    const pending = h.analyse([SMTP], () => {})
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
    const first = await h.analyse([SMTP], () => {})
    expect(first.ok).toBe(true)
    const file = join(mkdtempSync(join(tmpdir(), 'verdict-saved-')), 'incident.json')
    writeFileSync(file, JSON.stringify(h.loaded()))
    expect(await h.analyse([file], () => {})).toEqual(first)
  })

  it('refuses paths outside what the session may open', async () => {
    const h = createHandlers({
      run,
      initialPaths: [SMTP],
      sampleDir: '/x',
      mayAnalyse: (p) => p === SMTP
    })
    const r = await h.analyse([RULES], () => {})
    expect(r).toMatchObject({ ok: false })
  })
})
