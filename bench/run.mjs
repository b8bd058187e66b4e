#!/usr/bin/env node
/**
 * `npm run bench`: one honest run comparing Verdict's capture decoding with cat, tcpdump and
 * tshark on the same generated capture, with wall time and peak memory of every process.
 *
 *   npm run bench [-- --size MB] [--seed N] [--runs N] [--tshark-runs N]
 *                 [--only name,name] [--profile]
 *
 * --size MB        capture size (default 1000: bench/data/mix-1g.pcap); 1 MB = 10^6 bytes
 * --runs N         timed runs per tool, median reported (default 3)
 * --tshark-runs N  tshark runs (default: 3, or 1 when one run takes over 10 s)
 * --only a,b       measure only these entries (names as printed: cat, tcpdump, tshark, ...;
 *                  timeline, evaluate, memory, phases and logs are steps of their own)
 * --profile        also profile the Verdict decode once (node --cpu-prof) and print the hottest
 *                  functions with their source file:line
 *
 * Results are printed and written to bench/data/results.json (results-partial.json with --only,
 * so a partial run never replaces the full comparison). Targets are reported as
 * PASS/MISS; a miss does not fail the process (a benchmark reports, it is not a test).
 */
import { spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { SourceMap } from 'node:module'
import os from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { writeBulkCapture } from './bulk-capture.mjs'
import { DATA_DIR, DEFAULT_SEED, DEFAULT_SIZE_MB, ensureCapture } from './make-capture.mjs'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const TIME = '/usr/bin/time'
const MB = 1e6
/** When one tshark run takes longer than this, it is run once only (unless --tshark-runs). */
const TSHARK_SLOW_SECONDS = 10
/** Cores' worth of CPU used by other processes during a run above which the run is flagged. */
const OTHERS_BUSY = 0.25
/** Kernel clock ticks per second, the unit of /proc/stat. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/** The targets Verdict's decode is held to. */
const DECODE_TARGETS = { maxVsTcpdump: 1.0, minVsTshark: 20, maxRssMB: 300 }
/** The targets `verdict analyze` (decode + every conversation + the Incident JSON) is held to. */
const ANALYZE_TARGETS = { maxVsTcpdump: 1.5, minVsTshark: 20, maxRssMB: 500 }
/** Drop-log lines of the logs step's two incidents: the second four times the first. */
const LOG_LINES = [50_000, 200_000]
/** Time the logs step's larger incident may take, in multiples of the smaller's per line. */
const LOG_SCALING_TARGET = 1.25

/** Whether this run has built the command line (out/cli/verdict.mjs) already. */
let cliBuilt = false

/** Where the analyze measurement writes its Incident. */
const ANALYZE_OUT = join(DATA_DIR, 'analyze.json')
/** tshark's conversation count from this run, for checking Verdict's. */
let tsharkConversations

/**
 * What is timed, in this order. Each entry:
 *   name      printed name (and --only key)
 *   label     the command as shown in results.json
 *   command   (file) => argv; run from the repository root
 *   prepare   optional async () => void, untimed (bundling, building)
 *   stdout    'null' (default) or 'capture' (kept for check)
 *   check     optional (stdout, capture) => facts: validates the output, throws when wrong
 *   runs      optional fixed number of runs, or 'tshark' for the slow-tool policy
 *   parsesPackets  false for tools that do not look at packets (no packets/s)
 *   verdict   true for Verdict's own measurements: ratios against tcpdump and tshark
 *   targets   optional DECODE_TARGETS-shaped object: PASS/MISS checks for this entry
 *
 * To add a Verdict measurement (e.g. `verdict analyze`), append one entry; the table, ratios
 * against tcpdump and tshark, and the JSON pick it up.
 */
const MEASUREMENTS = [
  {
    name: 'cat',
    label: 'cat FILE > /dev/null',
    command: (f) => ['cat', f],
    parsesPackets: false
  },
  {
    name: 'tcpdump',
    label: 'tcpdump -nn -r FILE -w /dev/null',
    command: (f) => ['tcpdump', '-nn', '-r', f, '-w', '/dev/null']
  },
  {
    name: 'tshark',
    label: 'tshark -r FILE -q -z conv,tcp',
    command: (f) => ['tshark', '-r', f, '-q', '-z', 'conv,tcp'],
    stdout: 'capture',
    runs: 'tshark',
    check: checkTshark
  },
  {
    name: 'verdict decode',
    label:
      'node bench/data/verdict-decode.mjs FILE (createCaptureViewReader, every packet decoded)',
    prepare: () => bundle('bench/verdict-decode.ts', 'verdict-decode.mjs'),
    command: (f) => [process.execPath, join(DATA_DIR, 'verdict-decode.mjs'), f],
    stdout: 'capture',
    check: checkDecode,
    verdict: true,
    targets: DECODE_TARGETS
  },
  {
    name: 'verdict analyze',
    label: 'verdict analyze FILE --out bench/data/analyze.json (every conversation, Incident JSON)',
    prepare: () => buildCli(),
    command: (f) => [process.execPath, 'out/cli/verdict.mjs', 'analyze', f, '--out', ANALYZE_OUT],
    check: checkAnalyze,
    verdict: true,
    targets: ANALYZE_TARGETS
  },
  {
    name: 'pcap-parser',
    label: 'node bench/pcap-parser-read.mjs FILE (pcap-parser stream, Ethernet/VLAN/IP/ports read)',
    command: (f) => [process.execPath, 'bench/pcap-parser-read.mjs', f],
    stdout: 'capture',
    check: checkPcapParser
  }
]

// ---------------------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: String(DEFAULT_SIZE_MB) },
    seed: { type: 'string', default: String(DEFAULT_SEED) },
    runs: { type: 'string', default: '3' },
    'tshark-runs': { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false }
  }
})
const sizeMB = Number(args.size)
const seed = Number(args.seed)
const runs = Number(args.runs)
if (!(sizeMB > 0) || !Number.isInteger(sizeMB))
  fail(`--size must be a whole number of MB, not ${args.size}`)
if (!(runs >= 1) || !Number.isInteger(runs))
  fail(`--runs must be a positive integer, not ${args.runs}`)
const only = args.only?.split(',').map((s) => s.trim())
const selected = only ? MEASUREMENTS.filter((m) => only.includes(m.name)) : MEASUREMENTS
// The timeline step (bench/timeline.mjs) draws a million events in Chromium, apart from the
// capture; `--only timeline` runs it alone.
const wantTimeline = !only || only.includes('timeline')
// The evaluate step (bench/evaluate.ts) walks a million packets through a 10,000-rule iptables
// ruleset and a 10,000-element nft set; `--only evaluate` runs it alone.
const wantEvaluate = !only || only.includes('evaluate')
// The memory step analyses captures of few long conversations and of many short ones (peak RSS
// against packets and conversations); `--only memory` runs it alone.
const wantMemory = !only || only.includes('memory')
// Where analyze's time goes on the same capture, phase by phase; `--only phases` runs it alone.
const wantPhases = !only || only.includes('phases')
// Drop logs beside a 10,000-rule snapshot and no capture, at two sizes: time and memory against
// lines, which must grow no faster than the lines do; `--only logs` runs it alone.
const wantLogs = !only || only.includes('logs')
const STEPS = ['timeline', 'evaluate', 'memory', 'phases', 'logs']
if (only && selected.length !== only.filter((n) => !STEPS.includes(n)).length) {
  fail(
    `--only: unknown name among ${only.join(', ')}; known: ${[...MEASUREMENTS.map((m) => m.name), ...STEPS].join(', ')}`
  )
}

const started = process.hrtime.bigint()
const haveTime = existsSync(TIME)
/**
 * The timed processes' environment: this one without NODE_EXTRA_CA_CERTS, which makes every
 * node process load a certificate bundle at start (80-90 ms of CPU where it is set), a cost of
 * the machine's set-up that no user's run pays and tcpdump or tshark never do.
 */
const TIMED_ENV = { ...process.env }
delete TIMED_ENV.NODE_EXTRA_CA_CERTS
mkdirSync(DATA_DIR, { recursive: true })
if (only && selected.length === 0) {
  if (wantTimeline) runTimelineStep()
  if (wantEvaluate) await runEvaluateStep()
  if (wantMemory) await runMemoryStep()
  if (wantPhases) await runPhasesStep(ensureCapture({ sizeMB, seed }).file)
  if (wantLogs) await runLogsStep()
  process.exit(0)
}

// 1. The capture.
console.log(`Capture: ${sizeMB} MB, seed ${seed}`)
const capture = ensureCapture({ sizeMB, seed })
const rel = relative(ROOT, capture.file)
if (capture.generated) {
  console.log(`  generated ${rel} in ${capture.generationSeconds} s`)
} else {
  console.log(`  ${rel} is up to date (generated earlier in ${capture.generationSeconds} s)`)
}
const packets = capture.counts.packets
console.log(
  `  ${fmtInt(capture.bytes)} bytes, ${fmtInt(packets)} packets ` +
    `(${Math.round(capture.bytes / packets)} bytes/packet), ${capture.durationSeconds} s of traffic`
)
await verifyTcpdumpCount(capture)

// 2. Environment and a warm page cache.
const env = environment()
console.log(`Machine: ${env.cpu} × ${env.cores}, ${env.memGB} GiB RAM, ${env.os}`)
console.log(`Tools: node ${env.node}; ${env.tcpdump}; ${env.tshark}`)
if (process.env.NODE_EXTRA_CA_CERTS)
  console.log(
    '  NODE_EXTRA_CA_CERTS is unset for the timed processes (a start-up cost of this machine)'
  )
if (haveTime) {
  console.log(
    `Peak RSS and CPU: ${TIME} -f '%e %M %U %S' (maximum resident set size of each measured ` +
      'process); CPU used by other processes meanwhile from /proc/stat'
  )
} else {
  console.log(
    `Peak RSS: ${TIME} is missing (Debian/Ubuntu: apt-get install -y time); RSS is reported only ` +
      'for node processes (process.resourceUsage().maxRSS), n/a for the others'
  )
}
if (capture.bytes > os.totalmem() / 2) {
  console.log('  warning: the capture is over half the RAM; it may not stay in the page cache')
}
const load = os.loadavg()
console.log(
  `Load average before timing: ${load.map((x) => x.toFixed(2)).join(' ')}` +
    (load[0] > 0.5 ? ' (other processes are busy: expect noisier times)' : '')
)
const warm = warmCache(capture.file)
console.log(
  `Page cache: read the file once before timing (${warm.toFixed(2)} s, ` +
    `${fmtRate(capture.bytes / MB / warm)} MB/s); caches are not dropped, so every tool reads from memory`
)

// 3. The measurements.
const results = []
for (const m of selected) {
  if (m.prepare) await m.prepare()
  const argv = m.command(capture.file)
  let want = runs
  let note
  if (m.runs === 'tshark' && args['tshark-runs']) want = Number(args['tshark-runs'])
  else if (typeof m.runs === 'number') want = m.runs
  process.stdout.write(`Timing ${m.name}: `)
  const samples = []
  let facts
  for (let i = 0; i < want; i++) {
    const r = await timeCommand(argv, m.stdout === 'capture')
    if (m.check) facts = m.check(r.stdout, capture)
    // A node child reports its own peak too: a cross-check, and the fallback without time(1).
    r.selfRssKB = facts?.selfReportedMaxRssKB
    if (r.rssKB === undefined) r.rssKB = r.selfRssKB
    samples.push(r)
    process.stdout.write(`${r.seconds.toFixed(2)} s `)
    if (m.runs === 'tshark' && !args['tshark-runs'] && i === 0 && r.seconds > TSHARK_SLOW_SECONDS) {
      note = `1 run only: one run took ${r.seconds.toFixed(1)} s (over ${TSHARK_SLOW_SECONDS} s); --tshark-runs 3 to repeat`
      break
    }
  }
  const others = samples.map((s) => s.othersCores).filter((x) => x !== undefined)
  const othersMax = others.length ? Math.max(...others) : undefined
  process.stdout.write(
    othersMax === undefined ? '\n' : `(other processes: up to ${othersMax.toFixed(2)} cores busy)\n`
  )
  const secs = samples.map((s) => s.seconds)
  const rss = samples.map((s) => s.rssKB).filter((x) => x !== undefined)
  const median = medianOf(secs)
  results.push({
    name: m.name,
    command: m.label,
    argv: argv.map((a) => (a === capture.file ? rel : a)),
    runs: samples.map((s) => ({
      seconds: round(s.seconds, 4),
      timeElapsed: s.timeElapsed,
      cpuSeconds: s.cpuSeconds,
      othersCores: s.othersCores === undefined ? undefined : round(s.othersCores, 3),
      peakRssKB: s.rssKB,
      ...(s.selfRssKB !== undefined ? { selfReportedMaxRssKB: s.selfRssKB } : {})
    })),
    medianSeconds: round(median, 4),
    minSeconds: round(Math.min(...secs), 4),
    maxSeconds: round(Math.max(...secs), 4),
    mbPerSecond: round(capture.bytes / MB / median, 1),
    packetsPerSecond: m.parsesPackets === false ? null : Math.round(packets / median),
    peakRssMB: rss.length ? round((Math.max(...rss) * 1024) / MB, 1) : null,
    note,
    medianCpuSeconds:
      samples[0].cpuSeconds === undefined
        ? null
        : round(medianOf(samples.map((s) => s.cpuSeconds)), 3),
    othersCoresMax: othersMax === undefined ? null : round(othersMax, 3),
    facts,
    verdict: m.verdict === true,
    targets: m.targets
  })
}

// 4. Report.
const byName = Object.fromEntries(results.map((r) => [r.name, r]))
console.log('')
printTable(results)
const notes = results.filter((r) => r.note)
for (const r of notes) console.log(`  ${r.name}: ${r.note}`)

const busy = results.filter((r) => r.othersCoresMax !== null && r.othersCoresMax > OTHERS_BUSY)
if (busy.length) {
  console.log(
    `  note: other processes kept up to ${Math.max(...busy.map((r) => r.othersCoresMax)).toFixed(2)} ` +
      `of ${env.cores} cores busy while ${busy.map((r) => r.name).join(', ')} ran: those times may be inflated`
  )
}

const ratios = []
const checks = []
for (const r of results) {
  if (!r.verdict) continue
  const tcpdump = byName.tcpdump
  const tshark = byName.tshark
  if (tcpdump) {
    const v = r.medianSeconds / tcpdump.medianSeconds
    ratios.push({ name: `${r.name} time / tcpdump time`, value: round(v, 3) })
    if (r.targets)
      checks.push(target(`${r.name} time / tcpdump time`, v, '<=', r.targets.maxVsTcpdump, 'x'))
  }
  if (tshark) {
    const v = tshark.medianSeconds / r.medianSeconds
    ratios.push({ name: `tshark time / ${r.name} time`, value: round(v, 3) })
    if (r.targets)
      checks.push(target(`tshark time / ${r.name} time`, v, '>=', r.targets.minVsTshark, 'x'))
  }
  if (r.targets && r.peakRssMB !== null) {
    checks.push(target(`${r.name} peak RSS`, r.peakRssMB, '<', r.targets.maxRssMB, ' MB'))
  }
}
if (ratios.length) {
  console.log('')
  console.log('Ratios (median times):')
  for (const x of ratios) console.log(`  ${x.name.padEnd(42)} ${x.value.toFixed(2)}`)
}
if (checks.length) {
  console.log('')
  console.log('Targets (reported, never fatal):')
  for (const c of checks) {
    const v = c.unit === 'x' ? `${c.value.toFixed(2)}×` : `${c.value}${c.unit}`
    const t = c.unit === 'x' ? `${c.target.toFixed(1)}×` : `${c.target}${c.unit}`
    const op = { '<=': '≤', '>=': '≥', '<': '<' }[c.op]
    console.log(
      `  ${c.pass ? 'PASS' : 'MISS'}  ${c.name.padEnd(40)} ${v.padStart(10)}   target ${op} ${t}`
    )
  }
}

let profile
if (args.profile) profile = await profileDecode(capture.file)
else if (checks.some((c) => !c.pass)) {
  console.log(
    `  to see where the decode time goes: npm run bench -- --only 'verdict decode' --profile`
  )
}

const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9
const out = {
  date: new Date().toISOString(),
  environment: env,
  capture: {
    file: rel,
    sizeMB,
    seed,
    bytes: capture.bytes,
    packets,
    counts: capture.counts,
    flows: capture.flows,
    durationSeconds: capture.durationSeconds,
    generatedThisRun: capture.generated,
    generationSeconds: capture.generationSeconds,
    tcpdumpPackets: capture.tcpdumpPackets
  },
  method: {
    timing:
      'wall clock of each process (spawn to exit), measured by the runner; median of the runs',
    peakRss: haveTime
      ? `${TIME} -f '%e %M %U %S'`
      : 'process.resourceUsage().maxRSS (node children only)',
    pageCache: 'warm: file read once before timing, caches not dropped',
    warmReadSeconds: round(warm, 3),
    loadAverageBefore: load.map((x) => round(x, 2)),
    loadAverageAfter: os.loadavg().map((x) => round(x, 2))
  },
  measurements: results,
  ratios,
  targets: checks,
  profile,
  timeline: wantTimeline ? runTimelineStep() : undefined,
  evaluate: wantEvaluate ? await runEvaluateStep() : undefined,
  memory: wantMemory ? await runMemoryStep() : undefined,
  phases: wantPhases ? await runPhasesStep(capture.file) : undefined,
  logs: wantLogs ? await runLogsStep() : undefined,
  totalSeconds: round(totalSeconds, 1)
}
// A partial run (--only) must not overwrite the full comparison.
const resultsFile = join(DATA_DIR, only ? 'results-partial.json' : 'results.json')
writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n')
console.log('')
console.log(`Wrote ${relative(ROOT, resultsFile)}; whole run ${totalSeconds.toFixed(1)} s`)

// ---------------------------------------------------------------------------------------------

/** Runs bench/timeline.mjs (frame times of a million-event timeline in Chromium); returns its results. */
function runTimelineStep() {
  console.log('')
  return runJsonStep(join(ROOT, 'bench/timeline.mjs'), 'bench/timeline.mjs')
}

/**
 * Runs bench/evaluate.ts (bundled): packets/s of the evaluator's fast path and traced walk, and
 * their ratio to the decode cost per packet; returns its results (also written to
 * bench/data/evaluate.json).
 */
async function runEvaluateStep() {
  console.log('')
  await bundle('bench/evaluate.ts', 'evaluate.mjs')
  const result = runJsonStep(join(DATA_DIR, 'evaluate.mjs'), 'bench/evaluate.ts')
  if (!result.error) writeFileSync(join(DATA_DIR, 'evaluate.json'), JSON.stringify(result) + '\n')
  return result
}

/**
 * Runs bench/analyze-phases.ts (bundled) on the capture: the time of each phase of analyze
 * (decode, track, merge, flows, correlate, JSON), so a miss of the analyze target shows where.
 */
async function runPhasesStep(file) {
  console.log('')
  await bundle('bench/analyze-phases.ts', 'analyze-phases.mjs')
  return runJsonStep(
    join(DATA_DIR, 'analyze-phases.mjs'),
    'bench/analyze-phases.ts',
    [file],
    ['--expose-gc']
  )
}

/**
 * Runs a bench script with --json: echoes its report lines, and returns the JSON its last line
 * holds (or the error when it failed).
 */
function runJsonStep(script, name, extra = [], nodeFlags = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, script, ...extra, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = r.stdout.trim().split('\n')
  for (const line of lines.slice(0, -1)) console.log(line)
  if (r.status !== 0) return { error: `${name} exited with ${r.status}` }
  return JSON.parse(lines.at(-1))
}

/**
 * Peak memory of `verdict analyze` against packets and against conversations: 200 long TCP
 * conversations, then the same 200 five times longer (5× the packets), then 20,000 short ones
 * (about as many packets as the first). Memory must follow conversations: the longer run may
 * not need much more than the first (target: at most 1.25×). Every capture is over 64 MB, so
 * all are read the same way (the reader thread starts only for large files).
 */
async function runMemoryStep() {
  console.log('')
  console.log('Memory: verdict analyze peak RSS against packets and conversations')
  buildCli()
  const shapes = [
    { flows: 200, segments: 2500 },
    { flows: 200, segments: 12500 },
    { flows: 20000, segments: 25 }
  ]
  const rows = []
  for (const shape of shapes) {
    const file = join(DATA_DIR, `bulk-${shape.flows}x${shape.segments}.pcap`)
    const packets = writeBulkCapture(file, shape)
    const r = await timeCommand(
      [process.execPath, 'out/cli/verdict.mjs', 'analyze', file, '--out', ANALYZE_OUT],
      false
    )
    rmSync(file, { force: true })
    const row = {
      conversations: shape.flows,
      packets,
      seconds: round(r.seconds, 3),
      peakRssMB: r.rssKB === undefined ? null : round((r.rssKB * 1024) / MB, 1)
    }
    rows.push(row)
    console.log(
      `  ${fmtInt(row.conversations).padStart(7)} conversations, ${fmtInt(packets).padStart(10)} packets: ` +
        `peak RSS ${row.peakRssMB ?? 'n/a'} MB, ${row.seconds.toFixed(2)} s`
    )
  }
  const [short, long, many] = rows
  const perPackets = long.peakRssMB && short.peakRssMB ? long.peakRssMB / short.peakRssMB : null
  const perConversations =
    many.peakRssMB && short.peakRssMB ? many.peakRssMB / short.peakRssMB : null
  if (perPackets !== null) {
    const pass = perPackets <= 1.25
    console.log(
      `  ${pass ? 'PASS' : 'MISS'}  5× the packets, same conversations: ${perPackets.toFixed(2)}× the memory   target ≤ 1.25×`
    )
    console.log(
      `        100× the conversations, about as many packets: ${perConversations.toFixed(2)}× the memory`
    )
  }
  return { rows, perPackets, perConversations }
}

/**
 * `verdict analyze` on incident folders of drop logs beside a 10,000-rule iptables snapshot and
 * no capture (bench/log-incident.ts), at LOG_LINES lines: wall time, lines/s and peak RSS, with
 * `grep -c` counting the same log's packets as the floor of reading it. Correlating a log walks
 * each logged conversation through the snapshot, so time must follow lines: four times the
 * lines may take at most LOG_SCALING_TARGET × four times as long (a scan of every line or rule
 * per line shows here).
 */
async function runLogsStep() {
  console.log('')
  console.log('Logs: verdict analyze on drop logs beside a 10,000-rule snapshot, no capture')
  buildCli()
  await bundle('bench/log-incident.ts', 'log-incident.mjs')
  const rows = []
  for (const lines of LOG_LINES) {
    const dir = join(DATA_DIR, `logs-${lines}`)
    rmSync(dir, { recursive: true, force: true })
    const made = spawnSync(
      process.execPath,
      [join(DATA_DIR, 'log-incident.mjs'), dir, String(lines), '--seed', String(seed)],
      { cwd: ROOT, encoding: 'utf8' }
    )
    if (made.status !== 0) return { error: `bench/log-incident.ts exited with ${made.status}` }
    const log = join(dir, 'fw', 'kern.log')
    const grep = await timeCommand(['grep', '-c', 'SRC=', log], false)
    const out = join(DATA_DIR, 'logs-analyze.json')
    const r = await timeCommand(
      [process.execPath, 'out/cli/verdict.mjs', 'analyze', dir, '--out', out],
      false
    )
    const incident = JSON.parse(readFileSync(out, 'utf8'))
    rmSync(dir, { recursive: true, force: true })
    const row = {
      lines,
      conversations: incident.flows.length,
      findings: incident.findings.length,
      seconds: round(r.seconds, 3),
      linesPerSecond: Math.round(lines / r.seconds),
      peakRssMB: r.rssKB === undefined ? null : round((r.rssKB * 1024) / MB, 1),
      grepSeconds: round(grep.seconds, 3),
      vsGrep: round(r.seconds / grep.seconds, 1)
    }
    rows.push(row)
    console.log(
      `  ${fmtInt(lines).padStart(7)} lines, ${fmtInt(row.conversations).padStart(6)} conversations, ` +
        `${row.findings} findings: ${row.seconds.toFixed(2)} s (${fmtInt(row.linesPerSecond)} lines/s), ` +
        `peak RSS ${row.peakRssMB ?? 'n/a'} MB; grep -c ${row.grepSeconds.toFixed(3)} s (${row.vsGrep}×)`
    )
  }
  const [small, large] = rows
  const growth = large.lines / small.lines
  const scaling = large.seconds / small.seconds / growth
  const pass = scaling <= LOG_SCALING_TARGET
  console.log(
    `  ${pass ? 'PASS' : 'MISS'}  ${growth}× the lines: ${(large.seconds / small.seconds).toFixed(2)}× the time, ` +
      `${scaling.toFixed(2)}× linear   target ≤ ${LOG_SCALING_TARGET}×`
  )
  if (small.peakRssMB && large.peakRssMB)
    console.log(
      `        ${growth}× the lines: ${(large.peakRssMB / small.peakRssMB).toFixed(2)}× the memory`
    )
  return { rows, scaling: round(scaling, 3), target: LOG_SCALING_TARGET }
}

/** Builds the command line the analyze measurements run, once per bench run. */
function buildCli() {
  if (cliBuilt) return
  const r = spawnSync('npm', ['run', 'build:cli'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit']
  })
  if (r.status !== 0) fail(`npm run build:cli exited with ${r.status}`)
  cliBuilt = true
}

/** Bundles a TypeScript bench entry the way build:cli bundles the CLI (plus a source map). */
async function bundle(entry, outName) {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    outfile: join(DATA_DIR, outName),
    logLevel: 'warning'
  })
}

/**
 * Runs argv under /usr/bin/time (when present) and returns its wall time (measured here, spawn
 * to exit), peak RSS in KiB, and stdout when asked. Throws when the command fails.
 */
function timeCommand(argv, captureStdout) {
  const timeFile = join(DATA_DIR, '.time.out')
  rmSync(timeFile, { force: true })
  const full = haveTime ? [TIME, '-f', '%e %M %U %S', '-o', timeFile, ...argv] : argv
  const devNull = openSync('/dev/null', 'w')
  return new Promise((resolve, reject) => {
    const busy0 = busyCpuSeconds()
    const t0 = process.hrtime.bigint()
    const child = spawn(full[0], full.slice(1), {
      cwd: ROOT,
      env: TIMED_ENV,
      stdio: ['ignore', captureStdout ? 'pipe' : devNull, 'pipe']
    })
    const out = []
    const err = []
    child.stdout?.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => err.push(d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      const busy1 = busyCpuSeconds()
      const busy = busy0 === undefined || busy1 === undefined ? undefined : busy1 - busy0
      closeSync(devNull)
      const stderr = Buffer.concat(err).toString()
      if (code !== 0) {
        reject(new Error(`${argv.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr}`))
        return
      }
      const r = { seconds, stdout: Buffer.concat(out).toString(), stderr }
      if (haveTime) {
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop()
        const [e, m, u, s] = last.split(' ').map(Number)
        r.timeElapsed = e
        r.rssKB = m
        r.cpuSeconds = round(u + s, 2)
        // CPU the whole machine spent during the run, minus the measured process's own, less
        // two clock ticks per core of /proc/stat granularity.
        const slack = (2 * os.cpus().length) / CLK_TCK
        if (busy !== undefined) r.othersCores = Math.max(0, busy - u - s - slack) / seconds
      }
      resolve(r)
    })
  })
}

/** Returns the CPU seconds all cores have spent busy since boot (/proc/stat), or undefined. */
function busyCpuSeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK
  } catch {
    return undefined
  }
}

/** Validates Verdict's decode output against the generator's counts; returns the facts. */
function checkDecode(stdout, cap) {
  const line = stdout.trim().split('\n').pop()
  const d = JSON.parse(line)
  const problems = []
  if (d.counts.packets !== cap.counts.packets) {
    problems.push(`decoded ${d.counts.packets} packets, the generator wrote ${cap.counts.packets}`)
  }
  if (cap.tcpdumpPackets !== undefined && d.counts.packets !== cap.tcpdumpPackets) {
    problems.push(`decoded ${d.counts.packets} packets, tcpdump reads ${cap.tcpdumpPackets}`)
  }
  if (d.summaryPackets !== d.counts.packets)
    problems.push(`summary says ${d.summaryPackets} packets`)
  if (d.bytesRead !== cap.bytes) problems.push(`read ${d.bytesRead} bytes of ${cap.bytes}`)
  for (const [k, v] of Object.entries(cap.counts)) {
    if (d.counts[k] !== v) problems.push(`${k}: decoded ${d.counts[k]}, generated ${v}`)
  }
  if (d.counts.problems !== 0) problems.push(`${d.counts.problems} packets carry a decode problem`)
  if (problems.length)
    throw new Error(`Verdict decode output is wrong:\n  ${problems.join('\n  ')}`)
  return {
    packets: d.counts.packets,
    checksum: d.checksum,
    counts: d.counts,
    insideSeconds: round(d.seconds, 4),
    selfReportedMaxRssKB: d.maxRssKB
  }
}

/** Checks tshark printed its TCP conversation table; returns how many conversations it listed. */
function checkTshark(stdout) {
  if (!stdout.includes('TCP Conversations'))
    throw new Error(`tshark printed no conversation table:\n${stdout.slice(0, 500)}`)
  const conversations = stdout.split('\n').filter((l) => /<->/.test(l)).length
  tsharkConversations = conversations
  return { conversations }
}

/**
 * Checks the Incident `verdict analyze` wrote: as many TCP conversations as tshark lists, and the
 * failures the generator planted (closed UDP ports, mid-stream resets) found one for one.
 */
function checkAnalyze(_stdout, cap) {
  const incident = JSON.parse(readFileSync(ANALYZE_OUT, 'utf8'))
  const by = {}
  for (const f of incident.flows)
    by[`${f.proto} ${f.outcome}`] = (by[`${f.proto} ${f.outcome}`] ?? 0) + 1
  const tcp = incident.flows.filter((f) => f.proto === 'tcp').length
  const problems = []
  if (tsharkConversations !== undefined && tcp !== tsharkConversations)
    problems.push(`${tcp} TCP conversations, tshark lists ${tsharkConversations}`)
  if ((by['udp icmp-unreachable'] ?? 0) !== cap.flows.udpClosedPort)
    problems.push(
      `${by['udp icmp-unreachable']} UDP icmp-unreachable, generated ${cap.flows.udpClosedPort}`
    )
  if ((by['tcp reset-midstream'] ?? 0) !== cap.flows.midStreamRst)
    problems.push(
      `${by['tcp reset-midstream']} reset-midstream, generated ${cap.flows.midStreamRst}`
    )
  if (problems.length)
    throw new Error(`verdict analyze output is wrong:\n  ${problems.join('\n  ')}`)
  return { flows: incident.flows.length, tcpConversations: tcp, outcomes: by }
}

/** Checks the pcap-parser reader saw every packet. */
function checkPcapParser(stdout, cap) {
  const d = JSON.parse(stdout.trim().split('\n').pop())
  if (d.packets !== cap.counts.packets)
    throw new Error(
      `pcap-parser read ${d.packets} packets, the generator wrote ${cap.counts.packets}`
    )
  return d
}

/** Makes sure tcpdump reads as many packets as the generator wrote (once per capture, cached). */
async function verifyTcpdumpCount(cap) {
  if (cap.tcpdumpPackets === undefined) {
    const t0 = process.hrtime.bigint()
    cap.tcpdumpPackets = await countLines(['tcpdump', '-nn', '-r', cap.file])
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    console.log(
      `  tcpdump -nn -r FILE | wc -l: ${fmtInt(cap.tcpdumpPackets)} lines (checked once, ${s.toFixed(1)} s)`
    )
    const marker = JSON.parse(readFileSync(`${cap.file}.json`, 'utf8'))
    marker.tcpdumpPackets = cap.tcpdumpPackets
    writeFileSync(`${cap.file}.json`, JSON.stringify(marker, null, 2) + '\n')
  }
  if (cap.tcpdumpPackets !== cap.counts.packets) {
    fail(`tcpdump reads ${cap.tcpdumpPackets} packets, the generator wrote ${cap.counts.packets}`)
  }
  console.log(`  packet count agreed with tcpdump: ${fmtInt(cap.tcpdumpPackets)}`)
}

/** Returns how many lines a command prints (streamed, never held in memory); throws when it fails. */
function countLines(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let lines = 0
    let stderr = ''
    child.stdout.on('data', (d) => {
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(lines)
      else reject(new Error(`${argv.join(' ')} failed (exit ${code}): ${stderr}`))
    })
  })
}

/** Reads the whole file once so every timed tool finds it in the page cache; returns seconds. */
function warmCache(file) {
  const buf = Buffer.allocUnsafe(8 << 20)
  const fd = openSync(file, 'r')
  const t0 = process.hrtime.bigint()
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  closeSync(fd)
  return s
}

/**
 * Profiles one decode run with node --cpu-prof (100 µs sampling) and prints the functions with
 * the most self time, mapped through the bundle's source map to src-main file:line.
 */
async function profileDecode(file) {
  console.log('')
  console.log('Profile: node --cpu-prof --cpu-prof-interval 100 bench/data/verdict-decode.mjs FILE')
  await bundle('bench/verdict-decode.ts', 'verdict-decode.mjs')
  const dir = join(DATA_DIR, 'profile')
  rmSync(dir, { recursive: true, force: true })
  const bundlePath = join(DATA_DIR, 'verdict-decode.mjs')
  const r = spawnSync(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, bundlePath, file],
    { cwd: ROOT, encoding: 'utf8' }
  )
  if (r.status !== 0) fail(`profiling run failed: ${r.stderr}`)
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  const prof = JSON.parse(readFileSync(join(dir, name), 'utf8'))
  const map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')))
  const bundleUrl = pathToFileURL(bundlePath).href

  const nodes = new Map(prof.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map()
  const total = new Map()
  let all = 0
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0
    all += dt
    const leaf = nodes.get(prof.samples[i])
    const k = key(leaf.callFrame)
    self.set(k, (self.get(k) ?? 0) + dt)
    const seen = new Set()
    for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
      const kk = key(nodes.get(id).callFrame)
      if (seen.has(kk)) continue
      seen.add(kk)
      total.set(kk, (total.get(kk) ?? 0) + dt)
    }
  }
  const where = (cf) => {
    if (cf.url === bundleUrl && cf.lineNumber >= 0) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber)
      if (e && e.originalSource) {
        const src = e.originalSource.replace(/^file:\/\//, '')
        const path = src.startsWith('/') ? relative(ROOT, src) : src.replace(/^(\.\.\/)+/, '')
        return `${path}:${e.originalLine + 1}`
      }
    }
    if (!cf.url) return '(native)'
    return `${cf.url.replace(/^file:\/\//, '').replace(/^node:/, 'node:')}:${cf.lineNumber + 1}`
  }
  const frames = new Map()
  for (const n of prof.nodes) frames.set(key(n.callFrame), n.callFrame)
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([k, t]) => {
      const cf = frames.get(k)
      return {
        function: cf.functionName || '(anonymous)',
        where: where(cf),
        selfPercent: round((100 * t) / all, 1),
        totalPercent: round((100 * (total.get(k) ?? 0)) / all, 1)
      }
    })
  console.log(`  ${(all / 1e6).toFixed(2)} s sampled; hottest by self time:`)
  console.log(`  ${'self %'.padStart(7)} ${'total %'.padStart(8)}  function (source)`)
  for (const row of rows) {
    console.log(
      `  ${row.selfPercent.toFixed(1).padStart(7)} ${row.totalPercent.toFixed(1).padStart(8)}  ${row.function} (${row.where})`
    )
  }
  console.log(
    `  profile: ${relative(ROOT, join(dir, name))} (open in Chrome DevTools > Performance)`
  )
  return { sampledSeconds: round(all / 1e6, 3), file: relative(ROOT, join(dir, name)), top: rows }

  function key(cf) {
    return `${cf.functionName}|${cf.url}|${cf.lineNumber}|${cf.columnNumber}`
  }
}

function environment() {
  const first = (cmd, a) => {
    const r = spawnSync(cmd, a, { encoding: 'utf8' })
    return (
      `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim()) ?? `${cmd}: unknown`
    )
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.cpus().length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.versions.node,
    tcpdump: first('tcpdump', ['--version']),
    tshark: first('tshark', ['--version'])
      .replace(/\.?Running as user.*$/, '')
      .trim()
  }
}

function printTable(rows) {
  const head = [
    'tool',
    'runs',
    'median s',
    'min–max s',
    'CPU s',
    'MB/s',
    'packets/s',
    'peak RSS MB'
  ]
  const body = rows.map((r) => [
    r.name,
    String(r.runs.length),
    r.medianSeconds.toFixed(3),
    `${r.minSeconds.toFixed(3)}–${r.maxSeconds.toFixed(3)}`,
    r.medianCpuSeconds === null ? 'n/a' : r.medianCpuSeconds.toFixed(2),
    fmtRate(r.mbPerSecond),
    r.packetsPerSecond === null ? '-' : fmtInt(r.packetsPerSecond),
    r.peakRssMB === null ? 'n/a' : r.peakRssMB.toFixed(1)
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)))
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(line(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const b of body) console.log(line(b))
}

function target(name, value, op, goal, unit) {
  const pass = op === '<=' ? value <= goal : op === '>=' ? value >= goal : value < goal
  return { name, value: round(value, 3), op, target: goal, unit, pass }
}

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function round(x, digits) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function fmtInt(n) {
  return n.toLocaleString('en-US')
}

function fmtRate(x) {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)
}

function fail(message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}
