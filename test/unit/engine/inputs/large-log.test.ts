import { describe, expect, it } from 'vitest'
import { createEvidence, hostOf } from '../../../../src-main/engine/correlate/evidence'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { readTextInput } from '../../../../src-main/engine/inputs/read-text-input'
import type { InputInfo } from '../../../../src-main/shared/incident'

describe('a drop log of 150,000 lines', () => {
  it('keeps every event (appending them one call per line would overflow the stack)', () => {
    const lines: string[] = []
    for (let i = 0; i < 150_000; i++)
      lines.push(
        `2024-05-01T08:00:${String(i % 60).padStart(2, '0')}.000000+00:00 fw kernel: IN-DROP: IN=eth0 OUT= SRC=198.51.${(i >> 8) & 255}.${i & 255} DST=10.0.0.2 LEN=60 TTL=64 ID=${i & 65535} PROTO=TCP SPT=${20000 + (i % 40000)} DPT=80 WINDOW=64240 SYN URGP=0`
      )
    const text = lines.join('\n') + '\n'
    const d = detectTextKind(text)
    const info: InputInfo = {
      path: 'fw/kern.log',
      kind: d.kind,
      format: d.format,
      records: 0,
      warnings: [],
      errors: []
    }
    const host = hostOf(createEvidence(), 'fw')
    readTextInput(info, text, host)
    expect(info.errors).toEqual([])
    expect(info.records).toBe(150_000)
    expect(host.logs).toHaveLength(150_000)
    expect(host.logs[149_999].packet).toMatchObject({ src: '198.51.73.239', dport: 80 })
  })
})
