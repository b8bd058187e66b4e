import { problem, type Problem } from '../../shared/problem'
import { u32, u32le } from './bytes'
import type { CaptureInterface, RecordFormat } from './capture-types'
import type { FrameDecoder } from './frame-decoder'

/** Wireshark's and libpcap's ceiling for one packet: larger claims are corruption. */
export const MAX_CAPLEN = 262144

/** The four classic pcap magics: [microsecond, nanosecond] × [as written, byte-swapped]. */
export const PCAP_MAGICS = { usec: 0xa1b2c3d4, nsec: 0xa1b23c4d } as const

/** Returns true when the first four bytes are a classic pcap magic in either byte order. */
export function isPcapMagic(b: Uint8Array): boolean {
  const be = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
  const le = ((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]) >>> 0
  return (
    be === PCAP_MAGICS.usec ||
    be === PCAP_MAGICS.nsec ||
    le === PCAP_MAGICS.usec ||
    le === PCAP_MAGICS.nsec
  )
}

/** The classic pcap file state: header facts and problems. */
export interface PcapState {
  version: string
  iface: CaptureInterface | undefined
  problems: Problem[]
}

/**
 * Returns the record format for classic pcap (draft-ietf-opsawg-pcap): a 24-byte
 * file header, then 16-byte record headers each followed by caplen bytes.
 */
export function createPcapFormat(
  source: string,
  decoder: FrameDecoder
): RecordFormat & { state: PcapState } {
  const state: PcapState = { version: '', iface: undefined, problems: [] }
  let little = true
  let nano = false
  let oversnap = 0
  const r32 = (b: Uint8Array, o: number): number => (little ? u32le(b, o) : u32(b, o))
  const r16 = (b: Uint8Array, o: number): number =>
    little ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]

  return {
    state,
    headerLen: () => (state.iface ? 16 : 24),
    recordLen(b, off) {
      if (!state.iface) return 24
      const caplen = r32(b, off + 8)
      if (caplen > MAX_CAPLEN) {
        return `record claims ${caplen} captured bytes, more than the ${MAX_CAPLEN}-byte maximum: the file is corrupt from here`
      }
      return 16 + caplen
    },
    parse(b, off, len, at) {
      if (!state.iface) {
        const le = (b[0 + off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0
        little = le === PCAP_MAGICS.usec || le === PCAP_MAGICS.nsec
        const magic = r32(b, off)
        nano = magic === PCAP_MAGICS.nsec
        state.version = `${r16(b, off + 4)}.${r16(b, off + 6)}`
        const snaplen = r32(b, off + 16)
        const field = r32(b, off + 20)
        // draft-ietf-opsawg-pcap §4: the low 16 bits are the link type; bit 26 (F) says
        // the top four bits give the FCS length in 16-bit units.
        const iface: CaptureInterface = {
          id: 0,
          linkType: field & 0xffff,
          snaplen,
          tsDigits: nano ? 9 : 6,
          packets: 0
        }
        if (field & 0x04000000) iface.fcsLen = ((field >>> 28) & 0xf) * 2
        state.iface = iface
        return
      }
      record(b, off, r32(b, off), r32(b, off + 4), len - 16, r32(b, off + 12), at)
    },
    parseRun(b, off, end, at) {
      const iface = state.iface
      if (!iface) return off
      const start = off
      while (end - off >= 16) {
        // A decoder with a run of its own takes every record it can; this loop takes the one it
        // stops at, and every record for a decoder without one.
        if (decoder.pcapRun) {
          off = decoder.pcapRun(iface, b, off, end, little, nano, MAX_CAPLEN)
          if (end - off < 16) break
        }
        const sec = r32(b, off)
        const frac = r32(b, off + 4)
        const caplen = r32(b, off + 8)
        const wireLen = r32(b, off + 12)
        // A corrupt length or a record cut by the chunk's end takes the general path.
        if (caplen > MAX_CAPLEN || end - off - 16 < caplen) break
        record(b, off, sec, frac, caplen, wireLen, at + (off - start))
        off += 16 + caplen
      }
      return off
    }
  }

  /** Hands one record (its header at `off`, already read) to the decoder. */
  function record(
    b: Uint8Array,
    off: number,
    sec: number,
    frac: number,
    caplen: number,
    wireLen: number,
    at: number
  ): void {
    const iface = state.iface!
    if (caplen > iface.snaplen && iface.snaplen > 0) {
      if (oversnap++ === 0) {
        state.problems.push(
          problem(
            source,
            `byte ${at}`,
            `record captured ${caplen} bytes, more than the file's snaplen ${iface.snaplen}; kept`
          )
        )
      }
    }
    decoder.emit(iface, sec, nano ? frac : frac * 1000, wireLen, b, off + 16, caplen)
    if (frac >= (nano ? 1e9 : 1e6)) {
      state.problems.push(
        problem(
          source,
          `byte ${at}`,
          `timestamp fraction ${frac} is out of range for ${nano ? 'nanoseconds' : 'microseconds'}; carried into the seconds`
        )
      )
    }
  }
}
