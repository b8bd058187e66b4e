import { existsSync, readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareWithTshark, verdictRecords, type Disagreement } from '../support/tshark-oracle'
import { CLI, CORPUS, hasProgram } from '../support/run'

const dir = resolve(CORPUS, 'pcaps')
const captures = existsSync(dir)
  ? readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f))
  : []

/**
 * Disagreements with tshark that are justified, by file. Each is a record
 * the file itself gets wrong, where the two tools choose different honest readings.
 */
const EXCEPTIONS: Record<string, { fields: string[]; why: string }> = {
  'tcpdump_timestamp_invalid_nano.pcap': {
    fields: ['time'],
    // Frames 2 and 3 carry 1000000000 and 2147483648 "nanoseconds". tcpdump prints them
    // as "(invalid ns)"; tshark prints 10.1 s and a negative time. Verdict carries the
    // excess into the seconds and reports each record as a problem.
    why: 'nanosecond fractions of 1e9 and above are invalid; readings differ'
  }
}

const reason = !hasProgram('tshark')
  ? 'tshark is not installed'
  : !existsSync(CLI)
    ? 'the command line is not built (npm run build:cli)'
    : captures.length === 0
      ? `no corpus at ${dir}`
      : undefined
if (reason) console.warn(`skipping the tshark oracle over the corpus: ${reason}`)

describe.skipIf(reason !== undefined)('every corpus capture decodes as tshark dissects it', () => {
  it.each(captures)('%s', async (name) => {
    const file = resolve(dir, name)
    const { frames, disagreements } = await compareWithTshark(file)
    expect(frames).toBeGreaterThan(0)
    const allowed = EXCEPTIONS[name]
    const unexplained = disagreements.filter(
      (d: Disagreement) => !allowed?.fields.includes(d.field)
    )
    expect(unexplained).toEqual([])
    if (allowed) expect(disagreements.length).toBeGreaterThan(0)
  })

  it('reports the invalid timestamps it carried over', async () => {
    const { stderr } = await verdictRecords(resolve(dir, 'tcpdump_timestamp_invalid_nano.pcap'))
    expect(stderr).toContain('timestamp fraction 1000000000 is out of range for nanoseconds')
    expect(stderr).toContain('timestamp fraction 2147483648 is out of range for nanoseconds')
  })
})
