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
