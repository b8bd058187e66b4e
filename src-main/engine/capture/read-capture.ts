import type { Gunzip } from 'fflate/browser'
import { problem, type Problem } from '../../shared/problem'
import type {
  CaptureReader,
  CaptureSummary,
  PacketSink,
  ReadOptions,
  RecordFormat
} from './capture-types'
import {
  createFrameDecoder,
  createFrameViewDecoder,
  type FrameDecoder,
  type PacketViewSink
} from './frame-decoder'
import { InputError } from './input-error'
import type { Packet } from './packet'
import { createPcapFormat, isPcapMagic, type PcapState } from './read-pcap'
import { createPcapngFormat, isPcapngMagic, type PcapngState } from './read-pcapng'

/** Returns true when the first bytes look like a capture Verdict reads (pcap, pcapng, or gzip of either). */
export function looksLikeCapture(head: Uint8Array): boolean {
  if (isGzip(head)) return true
  return head.length >= 4 && (isPcapMagic(head) || isPcapngMagic(head))
}

/** Returns true when the first bytes are gzip's. */
function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
}

/**
 * The gzip decompressor, loaded when first needed: building its tables costs a process about
 * 15 ms at start, which reading a plain capture (most of them) need not pay. The build without
 * worker threads: the readers inflate synchronously, on the caller's thread.
 */
let GunzipClass: typeof Gunzip | undefined

/**
 * Makes the readers ready for a capture whose first bytes are `head`: loads the gzip
 * decompressor when it is gzip. Readers are synchronous, so a caller awaits this first.
 */
export async function readyFor(head: Uint8Array): Promise<void> {
  if (isGzip(head)) GunzipClass ??= (await import('fflate/browser')).Gunzip
}

/**
 * Returns a streaming capture reader. push() never keeps a reference to the
 * chunk it is given, so callers may read into one buffer over and over.
 * The format is detected from the first
 * bytes, never the name; gzip is unwrapped on the fly. Records that straddle
 * chunks are carried over; memory stays bounded by the largest record.
 * Throws InputError from push() when the start of the file is not a capture.
 */
export function createCaptureReader(
  source: string,
  sink: PacketSink,
  options: ReadOptions = {}
): CaptureReader {
  return createReader(source, createFrameDecoder(sink, options), options)
}

/**
 * Returns a streaming capture reader like createCaptureReader's that hands the
 * sink one reused PacketView per packet (numbers, no object graph): valid only
 * during the call, `view.packet()` gives the Packet when one is needed.
 */
export function createCaptureViewReader(
  source: string,
  sink: PacketViewSink,
  options: ReadOptions = {}
): CaptureReader {
  return createReader(source, createFrameViewDecoder(sink, options), options)
}

function createReader(source: string, decoder: FrameDecoder, options: ReadOptions): CaptureReader {
  const problems: Problem[] = []
  let bytesRead = 0
  let gzip = false
  let gunzip: Gunzip | undefined
  let gzipFailed = false
  let framer: Framer | undefined
  let pcap: PcapState | undefined
  let pcapng: PcapngState | undefined
  let head: Uint8Array = new Uint8Array(0)
  let raw: Uint8Array = new Uint8Array(0)
  let started = false

  const start = (): void => {
    started = true
    if (isGzip(raw)) {
      if (!GunzipClass) throw new Error(`${source}: a gzip capture read before readyFor()`)
      gzip = true
      gunzip = new GunzipClass((data) => feed(data))
    }
  }

  const pushStarted = (chunk: Uint8Array): void => {
    if (!gunzip) return feed(chunk)
    if (gzipFailed) return
    try {
      // The inflater may hold on to its input; the caller may reuse the chunk, so give it a copy.
      gunzip.push(chunk.slice())
    } catch (e) {
      if (e instanceof InputError) throw e
      gzipFailed = true
      problems.push(
        problem(
          source,
          `byte ${bytesRead}`,
          `gzip data is corrupt (${(e as Error).message}); packets before it kept`
        )
      )
    }
  }

  const feed = (chunk: Uint8Array): void => {
    if (!framer) {
      head = startOf(head, chunk)
      if (head.length < 4) return
      let format: RecordFormat
      if (isPcapMagic(head)) {
        const f = createPcapFormat(source, decoder)
        pcap = f.state
        format = f
      } else if (isPcapngMagic(head)) {
        const f = createPcapngFormat(source, decoder)
        pcapng = f.state
        format = f
      } else {
        throw new InputError(
          source,
          `not a capture: unknown magic 0x${hex4(head)} at byte 0${gzip ? ' of the decompressed data' : ''}`,
          'Verdict reads pcap, pcapng and their gzip; convert other formats with editcap -F pcapng'
        )
      }
      framer = createFramer(format, (at, message) =>
        problems.push(problem(source, `byte ${at}`, message))
      )
      chunk = head
      head = new Uint8Array(0)
    }
    framer.push(chunk)
  }

  return {
    push(chunk) {
      // Node hands us Buffers, the carry buffer is a plain Uint8Array: give the decoders one
      // type so V8 keeps their byte reads monomorphic.
      if (chunk.constructor !== Uint8Array)
        chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      bytesRead += chunk.length
      if (!started) {
        // Two bytes tell gzip; four tell pcap from pcapng. Hold the first bytes until then.
        raw = startOf(raw, chunk)
        if (raw.length < 4) return
        start()
        chunk = raw
        raw = new Uint8Array(0)
      }
      pushStarted(chunk)
      options.onProgress?.(bytesRead)
    },
    end() {
      if (!started && raw.length > 0) {
        start()
        pushStarted(raw)
      }
      if (gunzip && !gzipFailed) {
        try {
          gunzip.push(new Uint8Array(0), true)
        } catch (e) {
          if (e instanceof InputError) throw e
          problems.push(
            problem(
              source,
              `byte ${bytesRead}`,
              `gzip stream ends early (${(e as Error).message}); packets before it kept`
            )
          )
        }
      }
      if (!framer) {
        if (bytesRead === 0) throw new InputError(source, 'empty file: no capture header')
        throw new InputError(source, `file too short for a capture header: ${head.length} bytes`)
      }
      framer.end()
      const summary: CaptureSummary = {
        source,
        format: pcap ? 'pcap' : 'pcapng',
        gzip,
        version: pcap ? pcap.version : (pcapng?.version ?? ''),
        interfaces: pcap ? (pcap.iface ? [pcap.iface] : []) : (pcapng?.interfaces ?? []),
        packets: decoder.packets(),
        unsupportedPackets: decoder.unsupported(),
        bytesRead,
        skippedBlocks: pcapng?.skipped ?? {},
        sections: pcapng?.sections ?? 0,
        comments: pcapng?.comments ?? [],
        problems: [...(pcap?.problems ?? []), ...(pcapng?.problems ?? []), ...problems]
      }
      if (pcapng?.hardware) summary.hardware = pcapng.hardware
      if (pcapng?.os) summary.os = pcapng.os
      if (pcapng?.application) summary.application = pcapng.application
      for (const iface of summary.interfaces) {
        if (iface.unsupported) {
          summary.problems.push(
            problem(
              source,
              `interface ${iface.id}`,
              `link type ${iface.linkType} is not decoded; its ${iface.packets} packet(s) are counted only`
            )
          )
        }
      }
      return summary
    }
  }
}

/** Returns every packet and the summary of a capture held in memory (tests, small files). */
export function readCaptureBytes(
  source: string,
  bytes: Uint8Array,
  options: ReadOptions = {}
): { packets: Packet[]; summary: CaptureSummary } {
  const packets: Packet[] = []
  const reader = createCaptureReader(source, (p) => packets.push(p), options)
  reader.push(bytes)
  return { packets, summary: reader.end() }
}

interface Framer {
  push(chunk: Uint8Array): void
  end(): void
}

/** Cuts a byte stream into records; a record split across chunks is completed in a small carry buffer. */
function createFramer(format: RecordFormat, fatal: (at: number, message: string) => void): Framer {
  let carry: Uint8Array = new Uint8Array(4096)
  let carryLen = 0
  /** Stream offset of the first byte not yet consumed. */
  let pos = 0
  let stopped = false

  const need = (b: Uint8Array, off: number, avail: number): number | undefined => {
    const h = format.headerLen()
    if (avail < h) return h
    const len = format.recordLen(b, off)
    if (typeof len === 'string') {
      fatal(pos, len)
      stopped = true
      return undefined
    }
    return len
  }

  const append = (src: Uint8Array, from: number, count: number): void => {
    if (carryLen + count > carry.length) {
      const grown = new Uint8Array(Math.max(carry.length * 2, carryLen + count))
      grown.set(carry.subarray(0, carryLen))
      carry = grown
    }
    carry.set(src.subarray(from, from + count), carryLen)
    carryLen += count
  }

  return {
    push(chunk) {
      if (stopped) return
      let off = 0
      // First finish the record left over from the previous chunk, taking only the bytes it needs.
      while (carryLen > 0) {
        const want = need(carry, 0, carryLen)
        if (want === undefined) return
        if (carryLen < want) {
          const take = Math.min(want - carryLen, chunk.length - off)
          append(chunk, off, take)
          off += take
          if (carryLen < want) {
            if (off >= chunk.length) return
            continue
          }
        }
        // The header may have revealed a longer record: ask again before parsing.
        const full = need(carry, 0, carryLen)
        if (full === undefined) return
        if (carryLen < full) continue
        format.parse(carry, 0, full, pos)
        pos += full
        carryLen = 0
        if (carry.length > 1 << 20) carry = new Uint8Array(4096)
      }
      const run = format.parseRun
      while (!stopped) {
        if (run) {
          const next = run(chunk, off, chunk.length, pos)
          pos += next - off
          off = next
        }
        const avail = chunk.length - off
        const want = need(chunk, off, avail)
        if (want === undefined) return
        if (avail < want) break
        format.parse(chunk, off, want, pos)
        off += want
        pos += want
      }
      if (off < chunk.length) append(chunk, off, chunk.length - off)
    },
    end() {
      if (stopped || carryLen === 0) return
      const want = format.headerLen() <= carryLen ? format.recordLen(carry, 0) : format.headerLen()
      const wanted = typeof want === 'number' ? `${want}` : 'a whole'
      fatal(
        pos,
        `file ends inside a record: ${carryLen} of ${wanted} bytes present (truncated capture); packets before it kept`
      )
    }
  }
}

/**
 * Returns the first bytes of a stream so far: `held` (bytes kept from earlier chunks) followed by
 * `chunk`. When nothing is held and the chunk alone is long enough to go on (four bytes tell
 * every format apart), the chunk itself, used only during this push; otherwise a copy, since the
 * caller may reuse its chunk once push() returns.
 */
function startOf(held: Uint8Array, chunk: Uint8Array): Uint8Array {
  return held.length === 0 && chunk.length >= 4 ? chunk : concat(held, chunk)
}

/** Returns a new array holding both: never the caller's chunk, which it may reuse. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function hex4(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join('')
}
