import type { Problem } from '../../shared/problem'
import type { Packet } from './packet'

/** One interface a capture was taken on (pcap has one; pcapng one per IDB). */
export interface CaptureInterface {
  /** Index within its file, counting across sections. */
  id: number
  linkType: number
  snaplen: number
  name?: string
  description?: string
  /** Decimal digits the timestamps carry (6 for µs, 9 for ns). */
  tsDigits: number
  /** Seconds added to every timestamp (pcapng if_tsoffset). */
  tsOffsetSec?: number
  /** Bytes of frame check sequence at the end of each frame, when known. */
  fcsLen?: number
  /** Packets read on this interface. */
  packets: number
  /** True when the link type is one Verdict does not decode: packets are counted, not decoded. */
  unsupported?: boolean
}

/** What a capture reader learnt about the whole file. */
export interface CaptureSummary {
  source: string
  format: 'pcap' | 'pcapng'
  gzip: boolean
  /** pcap: "2.4"; pcapng: the first section's "1.0". */
  version: string
  interfaces: CaptureInterface[]
  packets: number
  /** Packets on interfaces whose link type is not decoded. */
  unsupportedPackets: number
  /** Bytes of the file read (compressed bytes for a .gz). */
  bytesRead: number
  /** pcapng blocks skipped by name (name resolution, interface statistics, ...). */
  skippedBlocks: Record<string, number>
  /** pcapng sections in the file. */
  sections: number
  /** Section comments (shb_comment) and other file-level notes. */
  comments: string[]
  /** pcapng shb_hardware, shb_os, shb_userappl of the first section. */
  hardware?: string
  os?: string
  application?: string
  problems: Problem[]
}

/** Receives each packet as it is decoded, with the interface it was captured on. */
export type PacketSink = (packet: Packet, iface: CaptureInterface) => void

/** A push-driven reader: feed it the file's bytes in chunks of any size, then end it. */
export interface CaptureReader {
  push(chunk: Uint8Array): void
  end(): CaptureSummary
}

/** Options every capture reader accepts. */
export interface ReadOptions {
  /** Called after each chunk with the bytes consumed so far. */
  onProgress?: (bytesRead: number) => void
  /** Skip protocol decoding (link, IP, transport): timestamps and lengths only. */
  headersOnly?: boolean
  /** Reassemble IP fragments (default true). */
  reassemble?: boolean
}

/** A capture file format parsed record by record; the framing layer handles chunk boundaries. */
export interface RecordFormat {
  /** Bytes needed at the start of the next record to learn its length. */
  headerLen(): number
  /** Returns the full length of the record at `off`, or a message saying why the file cannot go on. */
  recordLen(b: Uint8Array, off: number): number | string
  /** Parses one whole record that starts at stream byte `at`. */
  parse(b: Uint8Array, off: number, len: number, at: number): void
  /**
   * Optional fast path: parses every whole record from `off` on, stopping before the first that
   * is cut short by `end` or needs the general path; returns where it stopped.
   */
  parseRun?(b: Uint8Array, off: number, end: number, at: number): number
}
