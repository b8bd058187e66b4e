import { problem, type Problem } from '../../shared/problem'
import type { CaptureInterface, RecordFormat } from './capture-types'
import type { FrameDecoder } from './frame-decoder'
import { MAX_CAPLEN } from './read-pcap'

/** Block types (draft-ietf-opsawg-pcapng §11.1). */
const SHB = 0x0a0d0d0a
const IDB = 0x00000001
const OPB = 0x00000002
const SPB = 0x00000003
const NRB = 0x00000004
const ISB = 0x00000005
const EPB = 0x00000006
const BOM = 0x1a2b3c4d

const SKIPPED: Record<number, string> = {
  [NRB]: 'name resolution',
  [ISB]: 'interface statistics',
  0x00000007: 'IRIG timestamp',
  0x00000008: 'ARINC 429',
  0x00000009: 'systemd journal export',
  0x0000000a: 'decryption secrets',
  0x00000bad: 'custom',
  0x40000bad: 'custom'
}

/** Wireshark refuses blocks above 16 MiB; anything larger is corruption, not data. */
const MAX_BLOCK = 16 * 1024 * 1024

/** Returns true when the bytes open a pcapng section header block. */
export function isPcapngMagic(b: Uint8Array): boolean {
  return b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a
}

/** Section-level facts the pcapng reader collects. */
export interface PcapngState {
  version: string
  sections: number
  interfaces: CaptureInterface[]
  comments: string[]
  hardware?: string
  os?: string
  application?: string
  skipped: Record<string, number>
  problems: Problem[]
}

/** Returns the record format for pcapng: every block is one record. */
export function createPcapngFormat(
  source: string,
  decoder: FrameDecoder
): RecordFormat & { state: PcapngState } {
  const state: PcapngState = {
    version: '',
    sections: 0,
    interfaces: [],
    comments: [],
    skipped: {},
    problems: []
  }
  let little = true
  /** Interfaces of the current section; IDs in EPBs index this list. */
  let section: CaptureInterface[] = []
  /** Per interface of the current section: the timestamp resolution. */
  let resolutions: Resolution[] = []
  /**
   * A 32-bit field as a signed int32: a call V8 leaves out of line returns it without boxing,
   * where an unsigned value above 2^31 would take a fresh heap number. r32 is the unsigned value.
   */
  const i32 = (b: Uint8Array, o: number): number =>
    little
      ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
      : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]
  const r32 = (b: Uint8Array, o: number): number => i32(b, o) >>> 0
  const r16 = (b: Uint8Array, o: number): number =>
    little ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]
  const note = (at: number, message: string): void => {
    state.problems.push(problem(source, `byte ${at}`, message))
  }

  return {
    state,
    headerLen: () => 12,
    recordLen(b, off) {
      const type = r32(b, off)
      if (type === SHB) {
        // The byte-order magic decides how this section, this block included, is read.
        const bom =
          (b[off + 8] | (b[off + 9] << 8) | (b[off + 10] << 16) | (b[off + 11] << 24)) >>> 0
        if (bom === BOM) little = true
        else if (bom === 0x4d3c2b1a) little = false
        else
          return `section header has byte-order magic 0x${bom.toString(16)}, neither 0x1a2b3c4d nor its swap`
      } else if (state.sections === 0) {
        return `first block is type 0x${type.toString(16)}, not a section header`
      }
      const len = r32(b, off + 4)
      if (len < 12 || len % 4 !== 0)
        return `block of type 0x${type.toString(16)} has length ${len}: not a multiple of 4 of at least 12`
      if (len > MAX_BLOCK)
        return `block of type 0x${type.toString(16)} claims ${len} bytes, more than the ${MAX_BLOCK}-byte maximum`
      return len
    },
    parse(b, off, len, at) {
      const type = r32(b, off)
      const trailer = r32(b, off + len - 4)
      if (trailer !== len) {
        note(
          at,
          `block of type 0x${type.toString(16)}: leading length ${len} and trailing length ${trailer} disagree; block skipped`
        )
        return
      }
      const body = off + 8
      const bodyEnd = off + len - 4
      switch (type) {
        case SHB: {
          state.sections++
          if (bodyEnd - body < 16) return note(at, 'section header block too short')
          if (state.sections === 1) state.version = `${r16(b, body + 4)}.${r16(b, body + 6)}`
          section = []
          resolutions = []
          forEachOption(b, body + 16, bodyEnd, r16, (code, o, l) => {
            const text = () => utf8(b, o, l)
            if (code === 1) state.comments.push(text())
            else if (state.sections === 1 && code === 2) state.hardware = text()
            else if (state.sections === 1 && code === 3) state.os = text()
            else if (state.sections === 1 && code === 4) state.application = text()
          })
          return
        }
        case IDB: {
          if (bodyEnd - body < 8) return note(at, 'interface description block too short')
          const iface: CaptureInterface = {
            id: state.interfaces.length,
            linkType: r16(b, body),
            snaplen: r32(b, body + 4),
            tsDigits: 6,
            packets: 0
          }
          let res = resolution(10, 6)
          forEachOption(b, body + 8, bodyEnd, r16, (code, o, l) => {
            if (code === 2) iface.name = utf8(b, o, l)
            else if (code === 3) iface.description = utf8(b, o, l)
            else if (code === 9 && l >= 1) {
              // if_tsresol: top bit clear = 10^-n, set = 2^-n.
              res = b[o] & 0x80 ? resolution(2, b[o] & 0x7f) : resolution(10, b[o])
            } else if (code === 13 && l >= 1) iface.fcsLen = b[o]
            else if (code === 14 && l >= 8) {
              // if_tsoffset: a signed 64-bit count of seconds.
              const hi = r32(b, little ? o + 4 : o) | 0
              const lo = r32(b, little ? o : o + 4)
              iface.tsOffsetSec = hi * 4294967296 + lo
            }
          })
          iface.tsDigits =
            res.base === 10
              ? Math.min(res.exp, 9)
              : Math.min(9, Math.ceil(res.exp * Math.LOG10E * Math.LN2))
          state.interfaces.push(iface)
          section.push(iface)
          resolutions.push(res)
          return
        }
        case EPB:
        case OPB:
          return packetBlock(b, type, body, bodyEnd, at)
        case SPB: {
          const iface = section[0]
          if (!iface)
            return note(at, 'simple packet block before any interface description; packet skipped')
          const wireLen = r32(b, body)
          const room = bodyEnd - (body + 4)
          const caplen = Math.min(wireLen, room, iface.snaplen > 0 ? iface.snaplen : room)
          // Simple packet blocks carry no timestamp (draft §4.4).
          decoder.emit(iface, 0, 0, wireLen, b, body + 4, caplen)
          return
        }
        default: {
          const name = SKIPPED[type] ?? `type 0x${type.toString(16)}`
          state.skipped[name] = (state.skipped[name] ?? 0) + 1
        }
      }
    },
    parseRun(b, off, end) {
      // Little-endian enhanced packet blocks (what dumpcap, tcpdump and editcap write on a PC),
      // whole in this chunk and well formed, go straight to the decoder with their fields read
      // inline, in the one call per block; anything else (a big-endian section, other blocks,
      // anything the general path would have to report) stops the run.
      if (state.sections === 0 || !little) return off
      while (end - off >= 32) {
        const type = b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)
        const len = b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16) | (b[off + 7] << 24)
        if (type !== EPB || len < 32 || (len & 3) !== 0 || len > MAX_BLOCK || end - off < len) break
        const bodyEnd = off + len - 4
        const trailer =
          b[bodyEnd] | (b[bodyEnd + 1] << 8) | (b[bodyEnd + 2] << 16) | (b[bodyEnd + 3] << 24)
        const ifid = b[off + 8] | (b[off + 9] << 8) | (b[off + 10] << 16) | (b[off + 11] << 24)
        const caplen = b[off + 20] | (b[off + 21] << 8) | (b[off + 22] << 16) | (b[off + 23] << 24)
        const data = off + 28
        const iface = ifid >= 0 && ifid < section.length ? section[ifid] : undefined
        if (
          trailer !== len ||
          !iface ||
          caplen < 0 ||
          caplen > MAX_CAPLEN ||
          data + caplen > bodyEnd
        )
          break
        const wireLen = b[off + 24] | (b[off + 25] << 8) | (b[off + 26] << 16) | (b[off + 27] << 24)
        const hi = b[off + 12] | (b[off + 13] << 8) | (b[off + 14] << 16) | (b[off + 15] << 24)
        const lo = b[off + 16] | (b[off + 17] << 8) | (b[off + 18] << 16) | (b[off + 19] << 24)
        toTime(hi, lo, resolutions[ifid])
        const optionsOff = data + pad4(caplen)
        const comment = optionsOff < bodyEnd ? packetComment(b, optionsOff, bodyEnd) : undefined
        decoder.emit(iface, time.sec, time.nsec, wireLen >>> 0, b, data, caplen, comment)
        off += len
      }
      return off
    }
  }

  /** Hands the packet of an enhanced or obsolete packet block (its body b[body, bodyEnd)) to the decoder. */
  function packetBlock(
    b: Uint8Array,
    type: number,
    body: number,
    bodyEnd: number,
    at: number
  ): void {
    if (bodyEnd - body < 20) return note(at, 'packet block too short')
    const ifid = type === EPB ? i32(b, body) >>> 0 : r16(b, body)
    const iface = section[ifid]
    if (!iface)
      return note(
        at,
        `packet block names interface ${ifid}, but this section has ${section.length} interface(s) so far; packet skipped`
      )
    const caplen = i32(b, body + 12) >>> 0
    const wireLen = i32(b, body + 16) >>> 0
    const data = body + 20
    if (caplen > MAX_CAPLEN || data + caplen > bodyEnd) {
      return note(
        at,
        `packet block claims ${caplen} captured bytes but holds ${Math.max(0, bodyEnd - data)}; packet skipped`
      )
    }
    toTime(i32(b, body + 4), i32(b, body + 8), resolutions[ifid])
    const optionsOff = data + pad4(caplen)
    const comment = optionsOff < bodyEnd ? packetComment(b, optionsOff, bodyEnd) : undefined
    decoder.emit(iface, time.sec, time.nsec, wireLen, b, data, caplen, comment)
  }

  /** Returns the packet's comments (opt_comment, one per line), undefined when it has none. */
  function packetComment(b: Uint8Array, off: number, end: number): string | undefined {
    let comment: string | undefined
    forEachOption(b, off, end, r16, (code, o, l) => {
      if (code === 1)
        comment = comment === undefined ? utf8(b, o, l) : comment + '\n' + utf8(b, o, l)
    })
    return comment
  }
}

/** A timestamp resolution (if_tsresol): units of base^-exp seconds. */
interface Resolution {
  base: 2 | 10
  exp: number
  /** base^exp: units per second, as a number (exact for the decimal resolutions up to 10^15). */
  units: number
  /** Nanoseconds per unit for the decimal resolutions down to nanoseconds (10^(9-exp)), else 0. */
  nsPerUnit: number
}

/** Returns a resolution with its powers worked out once, not per packet. */
function resolution(base: 2 | 10, exp: number): Resolution {
  const decimalNs = base === 10 && exp <= 9
  return { base, exp, units: base ** exp, nsPerUnit: decimalNs ? 10 ** (9 - exp) : 0 }
}

/** The time toTime converted last: written in place, so converting allocates nothing per packet. */
const time = { sec: 0, nsec: 0 }

/**
 * Sets `time` to the seconds and nanoseconds of a 64-bit timestamp in units of the interface's
 * resolution, exactly; `hi` and `lo` are its two halves as read, signed or not.
 */
function toTime(hi: number, lo: number, res: Resolution): void {
  hi >>>= 0
  lo >>>= 0
  if (res.base === 10 && res.exp <= 15) {
    const units = res.units
    let q: number
    let r: number
    if (hi < 0x100000 && res.exp <= 9) {
      // Below 2^52 (a microsecond clock until the year 2112) the count and each step here are
      // exact as doubles; the quotient is corrected by one when the division rounded across an
      // integer.
      const value = hi * 4294967296 + lo
      q = Math.floor(value / units)
      r = value - q * units
      if (r < 0) {
        q--
        r += units
      } else if (r >= units) {
        q++
        r -= units
      }
    } else {
      // Long division in 16-bit limbs keeps every intermediate below 2^53.
      q = 0
      r = 0
      for (let k = 0; k < 4; k++) {
        const word = k < 2 ? hi : lo
        const limb = (k & 1) === 0 ? word >>> 16 : word & 0xffff
        const cur = r * 65536 + limb
        const d = Math.floor(cur / units)
        r = cur - d * units
        q = q * 65536 + d
      }
    }
    time.sec = q
    time.nsec = res.exp <= 9 ? r * res.nsPerUnit : Math.floor(r / 10 ** (res.exp - 9))
    return
  }
  const value = (BigInt(hi) << 32n) | BigInt(lo)
  const units = res.base === 10 ? 10n ** BigInt(res.exp) : 1n << BigInt(res.exp)
  time.sec = Number(value / units)
  time.nsec = Number(((value % units) * 1_000_000_000n) / units)
}

function forEachOption(
  b: Uint8Array,
  off: number,
  end: number,
  r16: (b: Uint8Array, o: number) => number,
  visit: (code: number, valueOff: number, valueLen: number) => void
): void {
  let o = off
  while (end - o >= 4) {
    const code = r16(b, o)
    const len = r16(b, o + 2)
    if (code === 0) return
    if (o + 4 + len > end) return
    visit(code, o + 4, len)
    o += 4 + pad4(len)
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3
}

const decoder = new TextDecoder('utf-8')
function utf8(b: Uint8Array, off: number, len: number): string {
  // Strings may be NUL-terminated inside their declared length.
  let end = off + len
  while (end > off && b[end - 1] === 0) end--
  return decoder.decode(b.subarray(off, end))
}
