/**
 * Benchmark entry: packets per second of the evaluator on a 10,000-rule iptables ruleset and on
 * an nft ruleset with a 10,000-element interval set (bench/evaluate-rulesets.ts), a million
 * seeded packets each, against the per-packet cost of decoding: Verdict's decode of the
 * benchmark capture timed in this same process (so both see the same machine and load), and
 * the last full `npm run bench` (bench/data/results.json) for reference.
 *
 *   node bench/data/evaluate.mjs [--packets N] [--traced-seconds S] [--seed N]
 *                                [--capture FILE] [--json]
 *
 * Two ways to evaluate are timed: `decide` (the compiled fast path, every packet) and the traced
 * walk, walkNetfilter (a time-boxed sample: one traced walk of a 10,000-rule chain takes
 * milliseconds). Every traced packet is also decided, and the two must agree on verdict, deciding
 * rule and uncertainty, or the run fails. Packets are generated in batches outside the timing.
 * With --json the last line is the results as JSON (bench/run.mjs reads it).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createCaptureViewReader } from '../src-main/engine/capture/read-capture'
import type { PacketView } from '../src-main/engine/capture/packet-view'
import { decide } from '../src-main/engine/evaluate/compile-ruleset'
import { readCaptureChunks } from '../src-main/node/read-chunks'
import { walkNetfilter } from '../src-main/engine/evaluate/walk-netfilter'
import type { Ruleset } from '../src-main/engine/rulesets/model'
import { readIptablesSave } from '../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../src-main/engine/rulesets/read-nft'
import { iptablesRuleset, nftRuleset, packetStream, type BenchPacket } from './evaluate-rulesets'

const { values: args } = parseArgs({
  options: {
    packets: { type: 'string', default: '1000000' },
    'traced-seconds': { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    capture: { type: 'string' },
    json: { type: 'boolean', default: false }
  }
})
const total = Number(args.packets)
const tracedSeconds = Number(args['traced-seconds'])
const seed = Number(args.seed)
const BATCH = 10_000

const here = dirname(fileURLToPath(import.meta.url))
const dataDir =
  existsSync(join(here, 'results.json')) || here.endsWith('data') ? here : join(here, 'data')

interface DecodeCost {
  nsPerPacket: number
  /** CPU time of this process per packet (the machine's other load does not count). */
  cpuNsPerPacket: number
  packetsPerSecond: number
  from: string
}

/** Verdict's decode cost per packet, from the last full `npm run bench`. */
function decodeCostRecorded(): DecodeCost | undefined {
  const file = join(dataDir, 'results.json')
  if (!existsSync(file)) return undefined
  const r = JSON.parse(readFileSync(file, 'utf8'))
  const m = r.measurements?.find((x: { name: string }) => x.name === 'verdict decode')
  const seconds = m?.facts?.insideSeconds ?? m?.medianSeconds
  if (!seconds || !r.capture?.packets) return undefined
  return {
    nsPerPacket: (seconds * 1e9) / r.capture.packets,
    cpuNsPerPacket: NaN,
    packetsPerSecond: r.capture.packets / seconds,
    from: `results.json: verdict decode of ${r.capture.file} (${r.capture.packets} packets in ${seconds} s, ${r.date})`
  }
}

/** Runs of the decode timed beside each ruleset: one run of the 100 MB capture takes 0.03-0.16 s. */
const DECODE_RUNS = 5

/**
 * Decodes a capture here (the reader `verdict analyze` uses, every packet into its view, the
 * fields a firewall walk needs read); best of DECODE_RUNS runs, so that one run slowed by the
 * machine's other work does not move the ratio.
 */
async function decodeCostHere(file: string): Promise<DecodeCost> {
  let best = Infinity
  let bestCpu = Infinity
  let packets = 0
  let h = 0
  for (let run = 0; run < DECODE_RUNS; run++) {
    packets = 0
    const sink = (v: PacketView): void => {
      packets++
      h = (Math.imul(h, 31) + v.ipVersion + v.proto + v.sport + v.dport + v.flags + v.ttl) | 0
    }
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    const reader = createCaptureViewReader(file, sink)
    for await (const chunk of readCaptureChunks(file)) reader.push(chunk)
    reader.end()
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9)
    const c = process.cpuUsage(c0)
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6)
  }
  return {
    nsPerPacket: (best * 1e9) / packets,
    cpuNsPerPacket: (bestCpu * 1e9) / packets,
    packetsPerSecond: packets / best,
    from: `decoded here: ${file} (${packets} packets in ${round(best, 3)} s, best of ${DECODE_RUNS}; fold ${h})`
  }
}

interface Measured {
  name: string
  rules: number
  compileSeconds: number
  packets: number
  decideSeconds: number
  decideCpuSeconds: number
  decidePacketsPerSecond: number
  tracedPackets: number
  tracedSeconds: number
  tracedPacketsPerSecond: number
  speedup: number
  verdicts: Record<string, number>
  uncertain: number
  checksum: number
}

function measure(name: string, ruleset: Ruleset): Measured {
  const rules = ruleset.tables.reduce(
    (n, t) => n + t.chains.reduce((k, c) => k + c.rules.length, 0),
    0
  )
  const next = packetStream(seed)
  // The first decision compiles the ruleset (cached per Ruleset): timed apart.
  const first = next()
  let t0 = process.hrtime.bigint()
  decide(ruleset, first.packet, first.options)
  const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9

  const verdicts: Record<string, number> = { accept: 0, drop: 0, reject: 0 }
  let uncertain = 0
  let checksum = 0
  let decideNs = 0n
  let decideCpuUs = 0
  const batch: BenchPacket[] = new Array(BATCH)
  const gen = packetStream(seed)
  for (let done = 0; done < total;) {
    const n = Math.min(BATCH, total - done)
    for (let i = 0; i < n; i++) batch[i] = gen()
    const c0 = process.cpuUsage()
    t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const { packet, options } = batch[i]
      const d = decide(ruleset, packet, options)
      verdicts[d.verdict]++
      if (d.uncertain) uncertain++
      checksum = (Math.imul(checksum, 31) + (d.decidedBy?.line ?? 0)) | 0
    }
    decideNs += process.hrtime.bigint() - t0
    const c = process.cpuUsage(c0)
    decideCpuUs += c.user + c.system
    done += n
  }
  const decideSeconds = Number(decideNs) / 1e9

  // The traced walk on the same packets from the start, time-boxed; each checked against decide.
  const again = packetStream(seed)
  let traced = 0
  let tracedNs = 0n
  const limit = BigInt(Math.round(tracedSeconds * 1e9))
  while (tracedNs < limit && traced < total) {
    const { packet, options } = again()
    t0 = process.hrtime.bigint()
    const w = walkNetfilter(ruleset, packet, options)
    tracedNs += process.hrtime.bigint() - t0
    traced++
    const d = decide(ruleset, packet, options)
    const same =
      d.verdict === w.verdict &&
      d.rejectWith === w.rejectWith &&
      d.uncertain === w.uncertain &&
      d.dnatTo === w.dnatTo &&
      JSON.stringify(d.decidedBy) === JSON.stringify(w.decidedBy)
    if (!same) {
      console.error(`${name}: decide and the traced walk disagree on packet ${traced}:`)
      console.error(
        JSON.stringify({ packet, options, decide: d, walk: { ...w, trace: undefined } })
      )
      process.exit(1)
    }
  }
  const tracedS = Number(tracedNs) / 1e9
  const decidePps = total / decideSeconds
  const tracedPps = traced / tracedS
  return {
    name,
    rules,
    compileSeconds: round(compileSeconds, 3),
    packets: total,
    decideSeconds: round(decideSeconds, 3),
    decideCpuSeconds: round(decideCpuUs / 1e6, 3),
    decidePacketsPerSecond: Math.round(decidePps),
    tracedPackets: traced,
    tracedSeconds: round(tracedS, 3),
    tracedPacketsPerSecond: Math.round(tracedPps),
    speedup: round(decidePps / tracedPps, 1),
    verdicts,
    uncertain,
    checksum
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

const started = process.hrtime.bigint()
const capture =
  args.capture ?? ['mix-100m.pcap', 'mix-1g.pcap'].map((f) => join(dataDir, f)).find(existsSync)
const decodeRecorded = decodeCostRecorded()
const inputs: [string, () => Ruleset][] = [
  ['iptables 10,000 rules', () => readIptablesSave('bench-iptables.rules', iptablesRuleset(seed))],
  ['nft 10,000-element set', () => readNft('bench-nft.nft', nftRuleset(seed))]
]
const results: object[] = []
console.log(`Evaluator: ${fmt(total)} packets per ruleset (seed ${seed})`)
for (const [name, make] of inputs) {
  const ruleset = make()
  // Decoding is timed again beside each ruleset's run, so both see the same load.
  const decode = capture ? await decodeCostHere(capture) : decodeRecorded
  const m = measure(name, ruleset)
  const ns = (m.decideSeconds * 1e9) / m.packets
  const cpuNs = (m.decideCpuSeconds * 1e9) / m.packets
  const tracedNs = 1e9 / m.tracedPacketsPerSecond
  // CPU time against CPU time when decoding was timed here; wall time against the record otherwise.
  const ratio =
    decode === undefined
      ? undefined
      : Number.isNaN(decode.cpuNsPerPacket)
        ? ns / decode.nsPerPacket
        : cpuNs / decode.cpuNsPerPacket
  const r = {
    ...m,
    decideNsPerPacket: round(ns, 1),
    decideCpuNsPerPacket: round(cpuNs, 1),
    tracedNsPerPacket: round(tracedNs, 1),
    decode: decode ?? null,
    decideToDecode: ratio === undefined ? null : round(ratio, 3),
    tracedToDecode: decode ? round(tracedNs / decode.nsPerPacket, 1) : null
  }
  results.push(r)
  console.log(
    `  ${name}: ${fmt(m.rules)} rules, compiled in ${m.compileSeconds} s; verdicts ` +
      `${JSON.stringify(m.verdicts)}, ${fmt(m.uncertain)} uncertain`
  )
  console.log(
    `    decide:      ${fmt(m.decidePacketsPerSecond).padStart(9)} packets/s  ` +
      `${r.decideNsPerPacket} ns/packet (CPU ${r.decideCpuNsPerPacket} ns)` +
      (ratio !== undefined ? `, ${r.decideToDecode}× the decode cost` : '')
  )
  console.log(
    `    traced walk: ${fmt(m.tracedPacketsPerSecond).padStart(9)} packets/s  ` +
      `${r.tracedNsPerPacket} ns/packet over ${fmt(m.tracedPackets)} packets (all agreeing with decide)` +
      (r.tracedToDecode !== null ? `, ${r.tracedToDecode}× the decode cost` : '') +
      `; decide is ${m.speedup}× faster`
  )
  if (decode)
    console.log(
      `    decode:      ${fmt(decode.packetsPerSecond).padStart(9)} packets/s  ` +
        `${round(decode.nsPerPacket, 1)} ns/packet` +
        (Number.isNaN(decode.cpuNsPerPacket)
          ? ''
          : ` (CPU ${round(decode.cpuNsPerPacket, 1)} ns)`) +
        `, ${decode.from}`
    )
}
if (!capture && !decodeRecorded)
  console.log('  decode cost: no capture in bench/data (npm run bench makes one)')
const seconds = Number(process.hrtime.bigint() - started) / 1e9
if (args.json)
  console.log(
    JSON.stringify({
      seed,
      packets: total,
      decodeRecorded: decodeRecorded ?? null,
      rulesets: results,
      seconds: round(seconds, 1)
    })
  )
