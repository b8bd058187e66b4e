import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, tcpFrame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'
import { REPORT_LIMITS } from '../../../../src-main/engine/report/report-view'
import { toHtml } from '../../../../src-main/engine/report/to-html'
import { toMarkdown } from '../../../../src-main/engine/report/to-markdown'
import { toText } from '../../../../src-main/engine/report/to-text'

/**
 * A sweep of `count` SYNs from one scanner, each to its own address and port, none answered:
 * as many conversations as packets. Built from one frame with the bytes that differ patched in.
 */
function sweep(count: number): Uint8Array {
  const template = tcpFrame({ src: '192.0.2.7', dst: '10.0.0.0', sport: 40000, dport: 1 })
  const header = buildPcap([])
  const record = 16 + template.length
  const out = new Uint8Array(header.length + count * record)
  out.set(header)
  const view = new DataView(out.buffer)
  for (let i = 0; i < count; i++) {
    const at = header.length + i * record
    view.setUint32(at, 1_700_000_000 + Math.floor(i / 1000), true)
    view.setUint32(at + 4, (i % 1000) * 1000, true)
    view.setUint32(at + 8, template.length, true)
    view.setUint32(at + 12, template.length, true)
    out.set(template, at + 16)
    const frame = at + 16
    // Destination 10.x.y.z from i, port 1–1000, and the IP ID: all different per packet.
    view.setUint8(frame + 31, (i >> 16) & 0xff)
    view.setUint16(frame + 32, i & 0xffff)
    view.setUint16(frame + 36, 1 + (i % 1000))
    view.setUint16(frame + 18, i & 0xffff)
  }
  return out
}

describe('a capture with 150,000 conversations', () => {
  it('analyses every one (no step spreads the whole list into one call)', async () => {
    const count = 150_000
    const incident = await analyse([memorySource('sweep.pcap', sweep(count), {}, 1 << 20)])
    expect(incident.inputs[0].errors).toEqual([])
    expect(incident.flows).toHaveLength(count)
    expect(incident.flows.every((f) => f.outcome === 'syn-timeout')).toBe(true)
    expect(incident.flows[count - 1]).toMatchObject({
      id: `F${count}`,
      src: '192.0.2.7',
      dst: `10.${(count - 1) >> 16}.${((count - 1) >> 8) & 0xff}.${(count - 1) & 0xff}`,
      dport: 1 + ((count - 1) % 1000)
    })
    // One scanner, one story: a single finding covers every conversation.
    expect(incident.findings).toHaveLength(1)
    expect(incident.findings[0].flows).toHaveLength(count)
    expect(incident.findings[0].title).toBe(
      '150,000 SYN timeouts from a port scan by 192.0.2.7 (1,000 ports on 150,000 hosts): cause unknown'
    )
    // What is missing is the same kind of fact for each host: listed up to twenty, the rest counted.
    const missing = incident.findings[0].missing!
    expect(missing).toHaveLength(21)
    expect(missing[20]).toMatch(/^and \d{1,3}(,\d{3})* more like these$/)
    // Every report renders: one line per failed conversation in text, bounded tables elsewhere.
    expect(
      toText(incident)
        .split('\n')
        .filter((l) => l.startsWith('  F'))
    ).toHaveLength(count)
    expect(toMarkdown(incident)).toContain(`And ${count - REPORT_LIMITS.flowsPerOutcome} more`)
    expect(toHtml(incident).length).toBeLessThan(1_000_000)
  }, 120_000)
})
