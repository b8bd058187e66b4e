import { existsSync, readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI, CORPUS, hasProgram, run, verdict } from '../support/run'
import type { Incident } from '../../src-main/shared/incident'

const dir = resolve(CORPUS, 'pcaps')
const captures = existsSync(dir)
  ? readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f))
  : []
const reason = !hasProgram('tshark')
  ? 'tshark is not installed'
  : !existsSync(CLI)
    ? 'the command line is not built'
    : undefined
if (reason) console.warn(`skipping the conversation count oracle: ${reason}`)

/** Where Verdict's TCP conversations and tshark's conversation table may differ, and why. */
const EXPECTED_DIFFERENCES: Record<string, string> = {
  // None today. tshark counts one conversation per 5-tuple (tcp.stream), and so does
  // Verdict unless a new SYN with a new ISN reuses a closed 5-tuple (port reuse), where
  // Verdict starts a new conversation and tshark keeps counting the old stream.
}

describe.skipIf(reason !== undefined)('TCP conversations agree with tshark -z conv,tcp', () => {
  it.each(captures)('%s', async (name) => {
    const file = resolve(dir, name)
    const [conv, ours] = await Promise.all([
      run('tshark', ['-n', '-r', file, '-q', '-z', 'conv,tcp']),
      verdict(['analyze', file])
    ])
    const theirs = conv.stdout.split('\n').filter((l) => l.includes('<->')).length
    const incident = JSON.parse(ours.stdout) as Incident
    const mine = incident.flows.filter((f) => f.proto === 'tcp').length
    if (EXPECTED_DIFFERENCES[name]) expect(mine).not.toBe(theirs)
    else expect(mine).toBe(theirs)
  })
})

describe.skipIf(reason !== undefined)('key packets carry the IP length tshark reads', () => {
  it.each(captures)('%s', async (name) => {
    const file = resolve(dir, name)
    const [fields, ours] = await Promise.all([
      run('tshark', [
        '-n',
        '-r',
        file,
        '-T',
        'fields',
        '-E',
        'occurrence=f',
        '-e',
        'frame.number',
        '-e',
        'ip.len',
        '-e',
        'ipv6.plen',
        '-e',
        'frame.time_epoch',
        '-e',
        'frame.protocols'
      ]),
      verdict(['analyze', file])
    ])
    /** The IP length of each frame: IPv4 total length, or the IPv6 payload plus its header. */
    const ipLen = new Map<number, number>()
    // Verdict numbers packets only; tshark 4 numbers pcapng custom blocks too (frames without a
    // time, dissected as data), which are skipped here as the packet oracle skips them.
    let n = 0
    for (const line of fields.stdout.split('\n')) {
      if (line === '') continue
      const [, v4, v6, time, protocols] = line.split('\t')
      if (!time && protocols === 'data') continue
      n++
      if (v4) ipLen.set(n, Number(v4))
      else if (v6) ipLen.set(n, Number(v6) + 40)
    }
    const incident = JSON.parse(ours.stdout) as Incident
    const wrong: string[] = []
    let checked = 0
    for (const flow of incident.flows)
      for (const k of flow.keyPackets ?? []) {
        const frame = Number(/#(\d+)$/.exec(k.frames?.[0] ?? '')?.[1])
        const want = ipLen.get(frame)
        // Only frames whose IP header tshark decodes (not ICMP quotes or unsupported links).
        if (want === undefined || k.what === 'icmp') continue
        checked++
        if (k.len !== want) wrong.push(`${flow.id} ${k.what} #${frame}: ${k.len}, tshark ${want}`)
      }
    expect(wrong).toEqual([])
    if (incident.flows.some((f) => f.keyPackets?.some((k) => k.what !== 'icmp')))
      expect(checked).toBeGreaterThan(0)
  })
})
