import { INCIDENT_SCHEMA, type Flow, type Incident, type InputInfo } from '../shared/incident'
import { InputError } from './capture/input-error'
import type { Packet } from './capture/packet'
import type { PacketView } from './capture/packet-view'
import { createCaptureReader, createCaptureViewReader, readyFor } from './capture/read-capture'
import { createDeduper } from './flows/dedupe'
import { mergePoints, type ClockSkew } from './flows/merge-points'
import type { PointFlow } from './flows/point-flow'
import { pointPresence, type PointPresence } from './flows/point-presence'
import { toFlow } from './flows/to-flow'
import { pairTunnelStreams } from './flows/tunnels'
import { createPointTracker, type PointTracker } from './flows/track-point'
import { capturedKey, loggedKey } from './align/packet-keys'
import {
  attachIpsets,
  createEvidence,
  hostAddresses,
  hostOf,
  type EvidenceSet
} from './correlate/evidence'
import { correlate } from './correlate/correlate'
import { baseName } from './correlate/names'
import { detectKind } from './inputs/detect-kind'
import { nflogEvent } from './logs/nflog-event'
import { MAX_TEXT_BYTES, readTextInput } from './inputs/read-text-input'

/** One input file: its name, whose evidence it is, and a way to read its bytes. */
export interface SourceFile {
  path: string
  host?: string
  /** The capture point; defaults to the host, or the file's own name. */
  point?: string
  size?: number
  /** Returns the file's bytes in chunks, from the start. */
  read(): AsyncIterable<Uint8Array>
}

/** Bytes read of one file. */
export interface AnalyseProgress {
  path: string
  bytesRead: number
  totalBytes?: number
}

/** Options for analyse. */
export interface AnalyseOptions {
  onProgress?: (p: AnalyseProgress) => void
  signal?: AbortSignal
  /** Changes to try on the rulesets ("iptables -I INPUT 3 ..."), each re-run on every flow. */
  whatIf?: string[]
  /** Clock hints for logs: boot time (ISO) for dmesg seconds, year and zone for syslog. */
  clock?: { bootTime?: string; year?: number; utcOffsetMin?: number }
}

/** Returns the Incident for a set of input files: every file's kind, and every conversation. */
export async function analyse(
  files: SourceFile[],
  options: AnalyseOptions = {}
): Promise<Incident> {
  const inputs: InputInfo[] = []
  const evidence = createEvidence()
  const opened: OpenCapture[] = []
  let held = 0
  for (const file of files) {
    const info: InputInfo = {
      path: file.path,
      kind: 'unknown',
      format: 'unknown',
      records: 0,
      warnings: [],
      errors: []
    }
    if (file.host !== undefined) info.host = file.host
    inputs.push(info)
    let it: AsyncIterator<Uint8Array>
    let first: IteratorResult<Uint8Array>
    try {
      it = file.read()[Symbol.asyncIterator]()
      first = await it.next()
    } catch (e) {
      info.errors.push(message(file.path, e))
      continue
    }
    const head = first.done ? new Uint8Array(0) : first.value
    const detected = detectKind(head)
    info.kind = detected.kind
    info.format = detected.format
    if (detected.kind === 'capture') {
      await readyFor(head)
      info.point = file.point ?? file.host ?? baseName(file.path)
      if (file.host !== undefined) hostOf(evidence, file.host).points.push(info.point)
      const capture: OpenCapture = { file, info, it, head, firstUs: firstPacketUs(file, head) }
      // Rotated captures come by the hundred: past a few, a file is opened again when read.
      if (++held > MAX_HELD_OPEN) {
        await it.return?.()
        capture.it = undefined
        capture.head = undefined
      }
      opened.push(capture)
      continue
    }
    if (head.length === 0 || detected.kind === 'unknown') {
      await it.return?.()
      // An empty snapshot is evidence too: `iptables-save` and `nft list ruleset` with no rules
      // loaded print nothing. Named as one, it is a ruleset that accepts everything.
      const system = head.length === 0 ? emptyRulesetSystem(file.path) : undefined
      if (system) {
        info.kind = 'ruleset'
        info.format = system === 'nftables' ? 'nft' : 'iptables-save'
        info.warnings.push(`${file.path}: empty: no ${system} rules were loaded`)
        hostOf(evidence, file.host).rulesets.push({
          file: file.path,
          value: { system, source: file.path, tables: [], problems: [] }
        })
      } else if (head.length === 0) info.warnings.push(`${file.path}: empty file, nothing to read`)
      else
        info.errors.push(
          `${file.path}: not a capture, log or ruleset Verdict recognises (${detected.format})`
        )
      continue
    }
    try {
      readTextInput(info, await readText(head, it), hostOf(evidence, file.host))
    } catch (e) {
      info.errors.push(message(file.path, e))
    }
  }

  // Packets both logged and captured teach each log's clock offset: collect their capture times.
  const wanted = new Map<string, number[]>()
  for (const h of evidence.hosts.values())
    for (const e of h.logs) {
      const k = e.packet ? loggedKey(e.packet) : undefined
      if (k) wanted.set(k, [])
    }
  const byPoint = new Map<string, typeof opened>()
  for (const o of opened) {
    const list = byPoint.get(o.info.point!)
    if (list) list.push(o)
    else byPoint.set(o.info.point!, [o])
  }
  const pointFlows: PointFlow[] = []
  const presence: PointPresence[] = []
  const fileNames = new Map<string, string[]>()
  for (const [point, list] of byPoint) {
    fileNames.set(
      point,
      list.map((o) => baseName(o.file.path))
    )
    const tracker = createPointTracker(point)
    const spans = await readPoint(list, tracker, options, wanted, (p, file) => {
      // An NFLOG capture is a drop log too: its packets become the host's log events.
      const host = hostOf(evidence, file.host)
      const ifname = (i: number): string | undefined =>
        host.ipAddr?.value.interfaces.find((x) => x.index === i)?.name
      const e = nflogEvent(p, file.path, ifname)
      if (!e) return
      host.logs.push(e)
      if (!host.logFiles.includes(file.path)) host.logFiles.push(file.path)
    })
    // A point's several files, for telling where on the host a packet was seen (in on one
    // interface, never out on the other).
    if (list.length > 1)
      list.forEach((o, i) => {
        if (o.file.host === undefined) return
        const span = spans[i]
        hostOf(evidence, o.file.host).captures.push({
          point,
          file: baseName(o.file.path),
          iface: span.iface,
          ...(span.firstUs <= span.lastUs ? { firstUs: span.firstUs, lastUs: span.lastUs } : {})
        })
      })
    const seen = tracker.finish()
    // What a point covered only tells which points missed a conversation: one point misses none.
    if (byPoint.size > 1)
      presence.push(pointPresence(point, seen, hostAddressesOf(evidence, list[0])))
    for (const f of seen) pointFlows.push(f)
  }

  const skew = new Map<string, ClockSkew>()
  const groups = mergePoints(pointFlows, skew)
  // Clocks that disagree: said on each of the point's captures, with how it was measured.
  for (const [point, k] of skew) {
    const ahead = k.offsetUs > 0 ? 'ahead of' : 'behind'
    const sec = Math.abs(k.offsetUs) / 1e6
    for (const o of byPoint.get(point) ?? [])
      o.info.warnings.push(
        `this capture's clock runs ${sec.toFixed(sec < 10 ? 3 : 1)} s ${ahead} ${k.ref}'s (the median over ${k.samples} TCP handshake${k.samples === 1 ? '' : 's'} both points saw): conversations are matched across points with that taken out; its times are shown as the capture wrote them`
      )
  }
  // One point's conversations come sorted by first packet already.
  if (byPoint.size > 1) groups.sort((x, y) => x[0].firstUs - y[0].firstUs)
  const flows: Flow[] = new Array(groups.length)
  for (let i = 0; i < groups.length; i++) {
    flows[i] = toFlow(
      `F${i + 1}`,
      groups[i],
      (point, file) => fileNames.get(point)?.[file] ?? '?',
      presence
    )
    // Each point's state is let go once its Flow is made: correlation is the peak of memory.
    groups[i] = []
  }
  pointFlows.length = 0
  pairTunnelStreams(flows)
  attachIpsets(evidence)
  const incident: Incident = { schema: INCIDENT_SCHEMA, inputs, flows, findings: [] }
  correlate(incident, evidence, { whatIf: options.whatIf, clock: options.clock, sightings: wanted })
  return incident
}

/** The addresses of the host a capture belongs to, from its `ip addr` (none without one). */
function hostAddressesOf(
  evidence: EvidenceSet,
  o: OpenCapture
): ReadonlyMap<string, string> | undefined {
  const host = o.file.host === undefined ? undefined : evidence.hosts.get(o.file.host)
  return host?.ipAddr ? hostAddresses(host) : undefined
}

/** Capture files kept open from detection to reading; the others are opened again when read. */
const MAX_HELD_OPEN = 16
/** Bytes of a capture's first chunk decoded to find its first packet's time. */
const FIRST_PACKET_BYTES = 1 << 18

/** A capture file to read: its iterator and first chunk while still open, and its first time. */
interface OpenCapture {
  file: SourceFile
  info: InputInfo
  it?: AsyncIterator<Uint8Array>
  head?: Uint8Array
  /** The first packet's time (µs), or -Infinity when the first chunk does not show one. */
  firstUs: number
}

/** Returns the time of the first packet in a capture's first chunk, or -Infinity. */
function firstPacketUs(file: SourceFile, head: Uint8Array): number {
  let first = -Infinity
  try {
    const reader = createCaptureReader(file.path, (p) => {
      if (first === -Infinity) first = p.timeUs
    })
    reader.push(head.subarray(0, FIRST_PACKET_BYTES))
  } catch {
    // Reading it properly will say what is wrong.
  }
  return first
}

interface Queued {
  p: Packet
  digits: number
}

/**
 * Feeds a point's captures to its tracker in time order: one file streams
 * straight through; several are merged by timestamp a chunk at a time, and
 * the same packet captured twice is counted once.
 */
async function readPoint(
  list: OpenCapture[],
  tracker: PointTracker,
  options: AnalyseOptions,
  wanted: Map<string, number[]>,
  onNflog: (p: Packet, file: SourceFile) => void
): Promise<FileSpan[]> {
  const dedupe = list.length > 1 ? createDeduper() : undefined
  const spans: FileSpan[] = list.map(() => ({ firstUs: Infinity, lastUs: -Infinity }))
  /** Per file: packets the decoder could not read whole, and the first of them. */
  const undecoded = list.map(() => ({ count: 0, first: '' }))
  const note = (index: number, n: number, problem: string): void => {
    const u = undecoded[index]
    if (u.count++ === 0) u.first = `frame ${n}: ${problem}`
  }
  const cooked = createDeduper()
  /** One file streams through a reused packet view, fed as it is decoded: nothing is queued. */
  const feedView = (v: PacketView, digits: number): void => {
    const full = v.full
    if (full?.link.nflog) onNflog(full, list[0].file)
    if (v.sllPktType >= 0 && cooked(v.packet())) return
    tracker.add(v, 0, digits)
    if (wanted.size > 0) record(v.packet())
  }
  const open = (o: OpenCapture, index: number) => {
    const queue: Queued[] = []
    const it = o.it ?? o.file.read()[Symbol.asyncIterator]()
    let bytesRead = 0
    const order = new TimeOrder()
    const reader =
      list.length === 1
        ? createCaptureViewReader(o.file.path, (v, iface) => {
            order.see(v.timeUs, v.n)
            const problem = v.full?.problem
            if (problem !== undefined) note(index, v.n, problem)
            feedView(v, iface.tsDigits)
          })
        : createCaptureReader(o.file.path, (p, iface) => {
            order.see(p.timeUs, p.n)
            if (p.problem !== undefined) note(index, p.n, p.problem)
            if (iface.name) spans[index].iface ??= iface.name
            queue.push({ p, digits: iface.tsDigits })
          })
    return {
      o,
      index,
      queue,
      pos: 0,
      done: false,
      pending: o.head as Uint8Array | undefined,
      async fill(): Promise<void> {
        while (this.pos >= this.queue.length && !this.done) {
          this.queue.length = 0
          this.pos = 0
          if (options.signal?.aborted) throw new Error('analysis cancelled')
          try {
            let chunk: Uint8Array | undefined = this.pending
            this.pending = undefined
            if (!chunk) {
              const r = await it.next()
              if (r.done) {
                this.finish(reader.end())
                return
              }
              chunk = r.value
            }
            bytesRead += chunk.length
            reader.push(chunk)
            options.onProgress?.({ path: o.file.path, bytesRead, totalBytes: o.file.size })
          } catch (e) {
            o.info.errors.push(message(o.file.path, e))
            this.done = true
            await it.return?.()
          }
        }
      },
      finish(summary: ReturnType<typeof reader.end>): void {
        this.done = true
        o.info.format = summary.gzip ? `${summary.format}.gz` : summary.format
        o.info.records = summary.packets
        for (const p of summary.problems) o.info.warnings.push(`${p.at}: ${p.message}`)
        const u = undecoded[index]
        if (u.count > 0)
          o.info.warnings.push(
            `${u.count} packet${u.count === 1 ? '' : 's'} not decoded whole (first: ${u.first}); ${u.count === 1 ? 'its' : 'their'} conversations may be incomplete or missing`
          )
        const disorder = order.warning(o.file.path)
        if (disorder) o.info.warnings.push(disorder)
      }
    }
  }
  const feed = (q: Queued, index: number): void => {
    if (q.p.link.nflog) {
      onNflog(q.p, list[index].file)
      // Beside a capture of the wire, an NFLOG copy is a log record, not another sighting.
      return
    }
    const span = spans[index]
    if (q.p.timeUs < span.firstUs) span.firstUs = q.p.timeUs
    if (q.p.timeUs > span.lastUs) span.lastUs = q.p.timeUs
    if (dedupe?.(q.p)) {
      tracker.alsoSeen(q.p, index)
      return
    }
    if (!dedupe && q.p.link.sllPktType !== undefined && cooked(q.p)) return
    tracker.addPacket(q.p, index, q.digits)
    if (wanted.size > 0) record(q.p)
  }
  /** Keeps the capture time of a packet a log also recorded. */
  function record(p: Packet): void {
    const k = capturedKey(p)
    const times = k !== undefined ? wanted.get(k) : undefined
    if (times && times.length < 64) times.push(p.sec + p.nsec / 1e9)
  }
  if (list.length === 1) {
    const s = open(list[0], 0)
    for (;;) {
      await s.fill()
      if (s.pos >= s.queue.length) break
      for (; s.pos < s.queue.length; s.pos++) feed(s.queue[s.pos], 0)
    }
    return spans
  }
  // Several files: always the earliest waiting packet next (the first file listed on a tie).
  // A file is opened only once its first packet is due, so rotated captures, one after another
  // in time, are read one or two at a time however many there are.
  type Stream = ReturnType<typeof open>
  const before = (x: Stream, y: Stream): boolean => {
    const tx = x.queue[x.pos].p.timeUs
    const ty = y.queue[y.pos].p.timeUs
    return tx < ty || (tx === ty && x.index < y.index)
  }
  const waiting = new MinHeap<Stream>(before)
  const due = list
    .map((o, index) => ({ o, index }))
    .sort((x, y) => x.o.firstUs - y.o.firstUs || x.index - y.index)
  let next = 0
  for (;;) {
    while (
      next < due.length &&
      (waiting.size === 0 ||
        due[next].o.firstUs <= waiting.peek().queue[waiting.peek().pos].p.timeUs)
    ) {
      const s = open(due[next].o, due[next].index)
      next++
      await s.fill()
      if (s.pos < s.queue.length) waiting.push(s)
    }
    if (waiting.size === 0) break
    const s = waiting.pop()
    feed(s.queue[s.pos], s.index)
    s.pos++
    if (s.pos >= s.queue.length) await s.fill()
    if (s.pos < s.queue.length) waiting.push(s)
  }
  return spans
}

/**
 * The firewall an empty file is the snapshot of, by its name (an empty file has no content to
 * tell): `iptables-save.txt`, `ip6tables.rules`, `nft-ruleset.txt`, `nftables.conf`...
 */
function emptyRulesetSystem(path: string): 'iptables' | 'ip6tables' | 'nftables' | undefined {
  const name = baseName(path).toLowerCase()
  if (/ip6tables/.test(name)) return 'ip6tables'
  if (/iptables/.test(name)) return 'iptables'
  if (/\bnft|nftables|ruleset/.test(name)) return 'nftables'
  return undefined
}

/** The time a capture file of a point with several covers, and its interface when it names one. */
interface FileSpan {
  firstUs: number
  lastUs: number
  /** The interface named in the file (a pcapng interface description's if_name). */
  iface?: string
}

/** A packet earlier than one before it in its file by more than this is out of time order. */
const BACKWARD_SLACK_US = 1_000_000

/**
 * Watches a file's packets go forward in time. Captures on several interfaces (`-i any`) swap
 * neighbours by microseconds; a file joined end to end (`mergecap -a`, `cat`) or a clock
 * stepped back mid-capture goes back by seconds or hours, and conversations read across the
 * step come out split or misjudged: that is worth a warning.
 */
class TimeOrder {
  private latestUs = -Infinity
  private behind = 0
  private firstFrame = 0
  private mostUs = 0

  see(timeUs: number, frame: number): void {
    // Time 0 is no time: what a pcapng simple packet block carries.
    if (timeUs === 0) return
    if (timeUs >= this.latestUs) {
      this.latestUs = timeUs
      return
    }
    const back = this.latestUs - timeUs
    if (back <= BACKWARD_SLACK_US) return
    if (this.behind++ === 0) this.firstFrame = frame
    if (back > this.mostUs) this.mostUs = back
  }

  warning(path: string): string | undefined {
    if (this.behind === 0) return undefined
    return (
      `${path}: ${this.behind} packet${this.behind === 1 ? ' is' : 's are'} earlier than one before ` +
      `${this.behind === 1 ? 'it' : 'them'} (by up to ${formatSeconds(this.mostUs / 1e6)}, first at frame ${this.firstFrame}): ` +
      'the file is not in time order (joined end to end, as by mergecap -a?) or its clock ' +
      'stepped back; conversations across that point may be split or misjudged'
    )
  }
}

/** Returns seconds as text with a sensible precision ("2.5 s", "3600 s"). */
function formatSeconds(s: number): string {
  return `${s >= 100 ? Math.round(s) : Number(s.toPrecision(3))} s`
}

/** A binary min-heap under `before`. */
class MinHeap<T> {
  private items: T[] = []
  constructor(private readonly before: (x: T, y: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T {
    return this.items[0]
  }

  push(x: T): void {
    const a = this.items
    let i = a.push(x) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(a[i], a[parent])) break
      ;[a[i], a[parent]] = [a[parent], a[i]]
      i = parent
    }
  }

  pop(): T {
    const a = this.items
    const top = a[0]
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.before(a[l], a[m])) m = l
        if (r < a.length && this.before(a[r], a[m])) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m], a[i]]
        i = m
      }
    }
    return top
  }
}

/** Returns the whole of a text file whose first chunk is `head`, up to MAX_TEXT_BYTES. */
async function readText(head: Uint8Array, it: AsyncIterator<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder('utf-8')
  let text = decoder.decode(head, { stream: true })
  let size = head.length
  for (;;) {
    const r = await it.next()
    if (r.done) break
    size += r.value.length
    if (size > MAX_TEXT_BYTES) {
      await it.return?.()
      throw new Error(`larger than ${MAX_TEXT_BYTES / 1024 / 1024} MiB: not read`)
    }
    text += decoder.decode(r.value, { stream: true })
  }
  return text + decoder.decode()
}

function message(path: string, e: unknown): string {
  if (e instanceof InputError) return e.message + (e.hint ? ` (${e.hint})` : '')
  if (e instanceof Error) return `${path}: ${e.message}`
  return `${path}: ${String(e)}`
}
