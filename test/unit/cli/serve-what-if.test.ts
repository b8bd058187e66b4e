import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../../src-main/shared/incident'
import type { Result } from '../../../src-main/shared/result'
import { CLI } from '../../support/run'
import { serve, type Served } from '../../e2e/browser'
import { NFLOG_CHANGE, SAMPLE, nflogFlow } from '../main/sample-what-if'

describe.skipIf(!existsSync(CLI) || !existsSync(SAMPLE))(
  'verdict serve: what-if changes over HTTP',
  () => {
    let served: Served | undefined
    let url = ''
    beforeAll(async () => {
      // With no path, serve opens the bundled sample incident.
      served = await serve([])
      url = served.url
    })
    afterAll(() => {
      served?.server.kill()
    })
    /** Posts analyse's arguments and returns the result line that ends the answer. */
    const analyse = async (args: unknown[]): Promise<Result<Incident>> => {
      const res = await fetch(`${url}api/analyse`, { method: 'POST', body: JSON.stringify(args) })
      const lines = (await res.text()).trim().split('\n')
      return (JSON.parse(lines.at(-1)!) as { result: Result<Incident> }).result
    }

    it('passes the changes to the engine: the sample’s NFLOG drop is resolved by its ACCEPT', async () => {
      const r = await analyse([[SAMPLE], { whatIf: [NFLOG_CHANGE] }])
      expect(r.ok).toBe(true)
      if (!r.ok) return
      expect(r.value.whatIf).toEqual([
        { change: NFLOG_CHANGE, resolves: [nflogFlow(r.value)], changes: [] }
      ])
      // No options (absent or null, as JSON writes undefined in a list) is a plain analysis.
      for (const args of [[[SAMPLE]], [[SAMPLE], null]]) {
        const plain = await analyse(args)
        expect(plain.ok && plain.value.whatIf).toBeUndefined()
      }
    })

    it('refuses options that are not a short list of short texts', async () => {
      const refused: [unknown, RegExp][] = [
        [{ whatIf: NFLOG_CHANGE }, /whatIf must be a list of changes/],
        [{ whatIf: ['x'.repeat(5000)] }, /must stay under 2000/],
        [{ whatIf: new Array(21).fill(NFLOG_CHANGE) }, /at most 20 changes/],
        [{ whatIf: ['a\0b'] }, /NUL/],
        [{ run: 'rm -rf /' }, /no option named run/]
      ]
      for (const [options, message] of refused)
        expect(await analyse([[SAMPLE], options])).toEqual({
          ok: false,
          error: { message: expect.stringMatching(message) }
        })
    })
  }
)
