import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { beforeAll, describe, expect, it } from 'vitest'
import { createWorkerRunner } from '../../../src-main/main/worker-run'
import type { Progress } from '../../../src-main/shared/api'
import { writeSynFlood } from '../../e2e/big-capture'
import { CORPUS, ROOT } from '../../support/run'
import { NFLOG_CHANGE, SAMPLE, nflogFlow } from './sample-what-if'

const SMTP = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
const dir = mkdtempSync(join(tmpdir(), 'verdict-worker-'))
const workerFile = join(dir, 'analysis-worker.mjs')

// The worker entry built as electron-vite builds it: one ES module for worker_threads.
beforeAll(async () => {
  await build({
    entryPoints: [resolve(ROOT, 'src-main/worker/analysis-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: workerFile,
    logLevel: 'warning'
  })
})

describe('the analysis in a worker thread', () => {
  it('answers with the incident and reports each file’s progress', async () => {
    const progress: Progress[] = []
    const r = await createWorkerRunner(workerFile)(
      [SMTP],
      (p) => progress.push(p),
      new AbortController().signal,
      {}
    )
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.value.inputs[0]).toMatchObject({ path: SMTP, kind: 'capture', records: 125 })
    expect(progress.at(-1)).toMatchObject({ path: SMTP, bytesRead: progress.at(-1)!.totalBytes })
  })

  it('ends the thread when cancelled, and says so', async () => {
    const big = join(dir, 'flood.pcap')
    writeSynFlood(big, 1_000_000)
    const controller = new AbortController()
    const started = Date.now()
    const pending = createWorkerRunner(workerFile)(
      [big],
      () => controller.abort(),
      controller.signal,
      {}
    )
    expect(await pending).toEqual({ ok: false, error: { message: 'analysis cancelled' } })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('refuses a worker started with anything but a list of paths', async () => {
    const r = await createWorkerRunner(workerFile)(
      'not a list' as unknown as string[],
      () => {},
      new AbortController().signal,
      {}
    )
    expect(r).toEqual({ ok: false, error: { message: 'invalid file list' } })
  })

  it('hands the what-if changes to the engine, and refuses ones that are not checked text', async () => {
    const r = await createWorkerRunner(workerFile)(
      [SAMPLE],
      () => {},
      new AbortController().signal,
      { whatIf: [NFLOG_CHANGE] }
    )
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.whatIf).toEqual([
      { change: NFLOG_CHANGE, resolves: [nflogFlow(r.value)], changes: [] }
    ])
    const bad = await createWorkerRunner(workerFile)(
      [SAMPLE],
      () => {},
      new AbortController().signal,
      { whatIf: [''] }
    )
    expect(bad).toEqual({ ok: false, error: { message: 'what-if change 1 is empty' } })
  })
})
