#!/usr/bin/env node
/* global window */
/**
 * `node bench/timeline.mjs [--events N] [--json]`: the timeline with a million events, drawn by
 * the app's own layout and canvas code in Debian's Chromium. Each zoom, pan and lane-scroll
 * frame is timed between performance marks (layout + drawing + rasterising); the target is
 * every frame's 95th percentile under 16 ms. Two scenarios: one lane per conversation (many
 * lanes, few marks each) and one lane per host pair (few lanes, tens of thousands of marks each).
 * Results are printed and written to bench/data/timeline.json; with --json the last line of
 * stdout is that JSON. Run by `npm run bench` as its timeline step.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../test/e2e/chromium.mjs'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const DATA = join(ROOT, 'bench/data')
const FRAME_BUDGET_MS = 16

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false }
  }
})
const events = Number(args.events)
if (!existsSync(CHROMIUM)) {
  console.error(`bench/timeline: ${CHROMIUM} is not installed (apt-get install chromium)`)
  process.exit(1)
}
mkdirSync(DATA, { recursive: true })
const bundle = join(DATA, 'timeline-page.js')
await build({
  entryPoints: [join(ROOT, 'bench/timeline-page.mjs')],
  bundle: true,
  format: 'iife',
  target: 'chrome120',
  outfile: bundle,
  logLevel: 'warning',
  alias: { '@shared': join(ROOT, 'src-main/shared') }
})
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
const scenarios = [
  { name: 'per conversation', lanes: 20000 },
  { name: 'per host pair', lanes: 40 }
]
const results = []
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.setContent('<!doctype html><body style="margin:0"></body>')
  await page.addScriptTag({ content: readFileSync(bundle, 'utf8') })
  for (const s of scenarios) {
    const r = await page.evaluate((o) => window.runTimelineBench(o), {
      events,
      lanes: s.lanes,
      seed: 7
    })
    results.push({ name: s.name, ...r, pass: r.p95Ms < FRAME_BUDGET_MS })
  }
} finally {
  await browser.close()
}
const round = (x) => Math.round(x * 100) / 100
console.log(
  `Timeline: ${events.toLocaleString('en-US')} events, frames timed in Chromium (layout + canvas + raster)`
)
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(17)} ${String(r.lanes).padStart(6)} lanes  ${r.frames} frames  ` +
      `p50 ${round(r.p50Ms)} ms  p95 ${round(r.p95Ms)} ms  max ${round(r.maxMs)} ms  ` +
      `(${r.over16} ≥ 16 ms, first ${round(r.firstMs)} ms; down to ${round(r.smallestSpanUs)} µs across)  ` +
      `${r.pass ? 'PASS' : 'MISS'} p95 < ${FRAME_BUDGET_MS} ms`
  )
}
const out = {
  date: new Date().toISOString(),
  events,
  budgetMs: FRAME_BUDGET_MS,
  scenarios: results
}
writeFileSync(join(DATA, 'timeline.json'), JSON.stringify(out, null, 2) + '\n')
if (args.json) console.log(JSON.stringify(out))
