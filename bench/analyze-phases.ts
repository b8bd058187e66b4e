/**
 * Benchmark entry: where `verdict analyze` spends its time on one capture, phase by phase, in
 * the order analyse() runs them: decoding every packet into its view; tracking every
 * conversation (decode and track, less decode alone); grouping points; making each Flow;
 * correlation; writing the Incident JSON (text made, not written to disk). Each phase is timed
 * in this process, best of `--runs`, with a collection forced before each so one phase's
 * garbage is not charged to the next.
 *
 *   node --expose-gc bench/data/analyze-phases.mjs FILE [--runs N] [--json]
 *
 * With --json the last line is the results as JSON (bench/run.mjs reads it).
 */
import { parseArgs } from 'node:util'
import { createCaptureViewReader } from '../src-main/engine/capture/read-capture'
import type { PacketView } from '../src-main/engine/capture/packet-view'
import { correlate } from '../src-main/engine/correlate/correlate'
import { createEvidence } from '../src-main/engine/correlate/evidence'
import { mergePoints } from '../src-main/engine/flows/merge-points'
import type { PointFlow } from '../src-main/engine/flows/point-flow'
import { toFlow } from '../src-main/engine/flows/to-flow'
import { createPointTracker } from '../src-main/engine/flows/track-point'
import { incidentJsonChunks } from '../src-main/engine/report/to-json'
import { readCaptureChunks } from '../src-main/node/read-chunks'
import { INCIDENT_SCHEMA, type Incident } from '../src-main/shared/incident'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } }
})
const file = positionals[0]
if (!file) {
  console.error('usage: node --expose-gc analyze-phases.mjs FILE [--runs N] [--json]')
  process.exit(2)
}
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) {
  console.error('run with node --expose-gc: each phase starts after a collection')
  process.exit(2)
}

const PHASES = ['decode', 'decode+track', 'merge', 'flows', 'correlate', 'json'] as const
type Phase = (typeof PHASES)[number]
const best = Object.fromEntries(PHASES.map((p) => [p, Infinity])) as Record<Phase, number>

/** Runs `fn` after a collection and keeps its time when it is the best so far. */
async function timed<T>(phase: Phase, fn: () => T | Promise<T>): Promise<T> {
  gc!()
  const t = performance.now()
  const out = await fn()
  best[phase] = Math.min(best[phase], (performance.now() - t) / 1000)
  return out
}

/** Reads the capture, handing every decoded packet to `sink`. */
async function read(sink: (v: PacketView, digits: number) => void): Promise<void> {
  const reader = createCaptureViewReader(file, (v, iface) => sink(v, iface.tsDigits))
  for await (const chunk of readCaptureChunks(file)) reader.push(chunk)
  reader.end()
}

let packets = 0
let flowCount = 0
let jsonChars = 0
for (let run = 0; run < Number(args.runs); run++) {
  // Decoding alone: every packet's addresses, ports and flags read, as the tracker reads them.
  let fold = 0
  await timed('decode', () =>
    read((v) => {
      fold = (fold + v.ipVersion + v.sport + v.dport + v.flags + v.seq) | 0
      packets++
    })
  )
  if (fold === 42) console.log('')
  let seen: PointFlow[] = []
  await timed('decode+track', async () => {
    const tracker = createPointTracker('p')
    await read((v, digits) => tracker.add(v, 0, digits))
    seen = tracker.finish()
  })
  const groups = await timed('merge', () =>
    mergePoints(seen).sort((x, y) => x[0].firstUs - y[0].firstUs)
  )
  seen = []
  const flows = await timed('flows', () =>
    groups.map((g, i) => toFlow(`F${i + 1}`, g, () => file, []))
  )
  groups.length = 0
  const incident: Incident = { schema: INCIDENT_SCHEMA, inputs: [], flows, findings: [] }
  await timed('correlate', () => correlate(incident, createEvidence()))
  jsonChars = await timed('json', () => {
    let n = 0
    for (const chunk of incidentJsonChunks(incident)) n += chunk.length
    return n
  })
  flowCount = flows.length
}
packets /= Number(args.runs)

const phases = {
  decode: best.decode,
  track: Math.max(0, best['decode+track'] - best.decode),
  merge: best.merge,
  flows: best.flows,
  correlate: best.correlate,
  json: best.json
}
const total = Object.values(phases).reduce((a, b) => a + b, 0)
console.log(
  `Analyze phases: ${file}, ${packets.toLocaleString('en-US')} packets, ` +
    `${flowCount.toLocaleString('en-US')} conversations, ${(jsonChars / 1e6).toFixed(1)} MB of JSON ` +
    `(best of ${args.runs} in one process)`
)
for (const [name, seconds] of Object.entries(phases))
  console.log(
    `  ${name.padEnd(10)} ${seconds.toFixed(3).padStart(7)} s  ${((100 * seconds) / total).toFixed(0).padStart(3)}%`
  )
console.log(`  ${'sum'.padEnd(10)} ${total.toFixed(3).padStart(7)} s`)
if (args.json)
  console.log(JSON.stringify({ file, packets, conversations: flowCount, jsonChars, phases, total }))
