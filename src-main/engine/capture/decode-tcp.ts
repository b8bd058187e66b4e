import { u16, u32 } from './bytes'
import type { Tcp, TcpOptions } from './packet'

/** TCP flag bits (RFC 9293 §3.1, RFC 3168, RFC 9768 for AE). */
export const FIN = 0x01
export const SYN = 0x02
export const RST = 0x04
export const PSH = 0x08
export const ACK = 0x10
export const URG = 0x20
export const ECE = 0x40
export const CWR = 0x80
export const AE = 0x100

/** Bytes of a TCP header up to and with its flags: what a conversation needs of it. */
export const TCP_FLAGS_END = 14

/**
 * Returns the TCP header at `off`, or a string saying why it could not be read.
 * `segmentLen` is the TCP length the IP header claims (header + payload). A header a short
 * snap length cut after its flags (tcpdump's old 68 bytes leave 14 of an IPv6 segment's) is
 * returned with what it holds, marked `cut`; the window, checksum and options it lost read 0.
 */
export function decodeTcp(
  b: Uint8Array,
  off: number,
  end: number,
  segmentLen: number
): Tcp | string {
  const have = end - off
  if (have < TCP_FLAGS_END) return `TCP header truncated: ${Math.max(0, have)} of 20 bytes`
  const headerLen = (b[off + 12] >> 4) * 4
  const tcp: Tcp = {
    kind: 'tcp',
    sport: u16(b, off),
    dport: u16(b, off + 2),
    seq: u32(b, off + 4),
    ack: u32(b, off + 8),
    headerLen,
    flags: ((b[off + 12] & 0x01) << 8) | b[off + 13],
    win: have >= 16 ? u16(b, off + 14) : 0,
    checksum: have >= 18 ? u16(b, off + 16) : 0,
    urg: have >= 20 ? u16(b, off + 18) : 0,
    options: undefined,
    payloadLen: Math.max(0, segmentLen - headerLen)
  }
  if (have < 20) {
    tcp.cut = have
    return tcp
  }
  if (headerLen < 20) return `TCP data offset ${headerLen} bytes is below the 20-byte minimum`
  if (headerLen > 20) {
    const optEnd = Math.min(off + headerLen, end)
    tcp.options = decodeTcpOptions(b, off + 20, optEnd)
  }
  return tcp
}

/** Returns the options between `off` and `end` (RFC 9293 §3.2, RFC 7323, RFC 2018). */
export function decodeTcpOptions(b: Uint8Array, off: number, end: number): TcpOptions {
  const opts: TcpOptions = {
    mss: undefined,
    wscale: undefined,
    sackPermitted: undefined,
    sack: undefined,
    tsval: undefined,
    tsecr: undefined,
    kindMask: 0
  }
  let o = off
  while (o < end) {
    const kind = b[o]
    opts.kindMask |= 1 << (kind < 31 ? kind : 31)
    if (kind === 0) break
    if (kind === 1) {
      o++
      continue
    }
    if (o + 1 >= end) break
    const len = b[o + 1]
    if (len < 2 || o + len > end) break
    switch (kind) {
      case 2:
        if (len === 4) opts.mss = u16(b, o + 2)
        break
      case 3:
        if (len === 3) opts.wscale = b[o + 2]
        break
      case 4:
        opts.sackPermitted = true
        break
      case 5: {
        const blocks: [number, number][] = []
        for (let p = o + 2; p + 8 <= o + len; p += 8) blocks.push([u32(b, p), u32(b, p + 4)])
        opts.sack = blocks
        break
      }
      case 8:
        if (len === 10) {
          opts.tsval = u32(b, o + 2)
          opts.tsecr = u32(b, o + 6)
        }
        break
    }
    o += len
  }
  return opts
}

/** Returns the flags in tcpdump's letters ("S", "S.", "R.", "FP."), or "none". */
export function tcpFlagLetters(flags: number): string {
  let s = ''
  if (flags & FIN) s += 'F'
  if (flags & SYN) s += 'S'
  if (flags & RST) s += 'R'
  if (flags & PSH) s += 'P'
  if (flags & ACK) s += '.'
  if (flags & URG) s += 'U'
  if (flags & ECE) s += 'E'
  if (flags & CWR) s += 'W'
  if (flags & AE) s += 'e'
  return s === '' ? 'none' : s
}
