import { u16, u16le, u32 } from './bytes'
import { decodeIp } from './decode-ip'
import type { NflogInfo, Packet } from './packet'
import type { createReassembler } from './reassemble-ip'

type Reassembler = ReturnType<typeof createReassembler>

/** NFULA_ attribute types (linux/netfilter/nfnetlink_log.h). */
const NFULA = {
  PACKET_HDR: 1,
  MARK: 2,
  IFINDEX_INDEV: 4,
  IFINDEX_OUTDEV: 5,
  PAYLOAD: 9,
  PREFIX: 10,
  UID: 11,
  GID: 14
}

/**
 * Decodes an NFLOG record (LINKTYPE 239): a 4-byte header, then TLVs whose
 * length and type are in the capturing host's byte order and whose values are
 * in network order (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html).
 */
export function decodeNflog(
  b: Uint8Array,
  off: number,
  end: number,
  pkt: Packet,
  frags: Reassembler | undefined
): void {
  if (end - off < 4) {
    pkt.problem = `NFLOG header truncated: ${Math.max(0, end - off)} of 4 bytes`
    return
  }
  const info: NflogInfo = { family: b[off], group: u16(b, off + 2) }
  pkt.link.nflog = info
  const littleEndian = guessLittleEndian(b, off + 4, end)
  let o = off + 4
  let payload: [number, number] | undefined
  while (end - o >= 4) {
    const tlvLen = littleEndian ? u16le(b, o) : u16(b, o)
    const type = (littleEndian ? u16le(b, o + 2) : u16(b, o + 2)) & 0x7fff
    if (tlvLen < 4 || o + tlvLen > end) {
      pkt.problem = `NFLOG attribute at byte ${o - off} claims ${tlvLen} bytes; ${end - o} remain`
      break
    }
    const v = o + 4
    const vEnd = o + tlvLen
    switch (type) {
      case NFULA.PACKET_HDR:
        if (vEnd - v >= 3) {
          info.hwProtocol = u16(b, v)
          info.hook = b[v + 2]
        }
        break
      case NFULA.MARK:
        if (vEnd - v >= 4) info.mark = u32(b, v)
        break
      case NFULA.IFINDEX_INDEV:
        if (vEnd - v >= 4) info.indev = u32(b, v)
        break
      case NFULA.IFINDEX_OUTDEV:
        if (vEnd - v >= 4) info.outdev = u32(b, v)
        break
      case NFULA.UID:
        if (vEnd - v >= 4) info.uid = u32(b, v)
        break
      case NFULA.GID:
        if (vEnd - v >= 4) info.gid = u32(b, v)
        break
      case NFULA.PREFIX:
        info.prefix = cString(b, v, vEnd)
        break
      case NFULA.PAYLOAD:
        payload = [v, vEnd]
        break
    }
    // TLVs are padded to 4 bytes.
    o += (tlvLen + 3) & ~3
  }
  if (payload) decodeIp(b, payload[0], payload[1], pkt, frags)
}

/** The first TLV's length must fit what remains; try both byte orders, preferring little-endian hosts. */
function guessLittleEndian(b: Uint8Array, off: number, end: number): boolean {
  if (end - off < 4) return true
  const le = u16le(b, off)
  if (le >= 4 && off + le <= end) return true
  const be = u16(b, off)
  return !(be >= 4 && off + be <= end)
}

function cString(b: Uint8Array, off: number, end: number): string {
  let e = off
  while (e < end && b[e] !== 0) e++
  return new TextDecoder().decode(b.subarray(off, e))
}
