import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isPathList } from '../../../src-main/shared/api'
import { readCaptures } from '../../../src-main/worker/read-captures'
import { CORPUS } from '../../support/run'

describe('the worker reading captures for the window', () => {
  it('reads good files, reports bad ones by name, and reports progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verdict-'))
    const junk = join(dir, 'notes.txt')
    writeFileSync(junk, 'not a capture')
    const good = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
    const seen: number[] = []
    const [a, b, c] = await readCaptures([good, junk, join(dir, 'missing.pcap')], (p) =>
      seen.push(p.bytesRead)
    )
    expect(a.summary?.packets).toBe(125)
    expect(a.records).toHaveLength(125)
    expect(a.records[25]).toMatchObject({ icmpType: 3, icmpCode: 4, mtu: 1492 })
    expect(b.error?.message).toBe(`${junk}: not a capture: unknown magic 0x6e6f7420 at byte 0`)
    expect(c.error?.message).toMatch(/missing\.pcap: ENOENT/)
    expect(seen.at(-1)).toBeGreaterThan(0)
  })

  it('accepts only lists of plain paths from the renderer', () => {
    expect(isPathList(['/a.pcap'])).toBe(true)
    expect(isPathList('/a.pcap')).toBe(false)
    expect(isPathList([1])).toBe(false)
    expect(isPathList(['/a\0b'])).toBe(false)
    expect(isPathList([''])).toBe(false)
  })
})
