/**
 * Writes small pcap and pcapng files in memory, in either byte order, so the
 * readers can be tested on every variant of the container with the same packets.
 */
import { parseIpv6 } from '../../src-main/engine/rulesets/parse-address'

/** One record to write: when, how long on the wire, and the captured bytes. */
export interface Frame {
  sec: number
  /** Fraction of the second in the file's unit (µs or ns for pcap; 10^-tsresol for pcapng). */
  frac: number
  len?: number
  data: Uint8Array
  comment?: string
  iface?: number
}

class Writer {
  private parts: number[] = []
  constructor(readonly little: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff)
    return this
  }
  u16(v: number): this {
    return this.little ? this.u8(v).u8(v >> 8) : this.u8(v >> 8).u8(v)
  }
  u32(v: number): this {
    const hi = Math.floor(v / 65536)
    return this.little ? this.u16(v & 0xffff).u16(hi) : this.u16(hi).u16(v & 0xffff)
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i])
    return this
  }
  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0)
    return this
  }
  get length(): number {
    return this.parts.length
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

/** Returns a classic pcap file. `linkField` may carry the FCS bits above the 16-bit link type. */
export function buildPcap(
  frames: Frame[],
  opts: { little?: boolean; nano?: boolean; linkField?: number; snaplen?: number } = {}
): Uint8Array {
  const w = new Writer(opts.little ?? true)
  w.u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
  w.u32(opts.snaplen ?? 262144).u32(opts.linkField ?? 1)
  for (const f of frames) {
    w.u32(f.sec)
      .u32(f.frac)
      .u32(f.data.length)
      .u32(f.len ?? f.data.length)
      .bytes(f.data)
  }
  return w.done()
}

/** An interface description for buildPcapng. */
export interface PcapngInterface {
  linkType: number
  snaplen?: number
  name?: string
  description?: string
  /** if_tsresol byte (default 6 = microseconds). */
  tsresol?: number
  tsoffset?: number
  fcslen?: number
}

/** A block for buildPcapng, in file order. */
export type PcapngBlock =
  | { type: 'shb'; comment?: string; os?: string; app?: string }
  | { type: 'idb'; iface: PcapngInterface }
  | { type: 'epb'; frame: Frame; ts64?: [number, number] }
  | { type: 'spb'; frame: Frame }
  | { type: 'opb'; frame: Frame; ts64?: [number, number] }
  | { type: 'raw'; blockType: number; body: Uint8Array }

/** Returns a pcapng file of the given blocks. */
export function buildPcapng(blocks: PcapngBlock[], opts: { little?: boolean } = {}): Uint8Array {
  const w = new Writer(opts.little ?? true)
  const out: number[] = []
  for (const blk of blocks) {
    const body = new Writer(w.little)
    let type: number
    const opt = (code: number, value: Uint8Array): void => {
      body.u16(code).u16(value.length).bytes(value).pad4()
    }
    const text = (s: string): Uint8Array => new TextEncoder().encode(s)
    switch (blk.type) {
      case 'shb':
        type = 0x0a0d0d0a
        body.u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff)
        if (blk.comment) opt(1, text(blk.comment))
        if (blk.os) opt(3, text(blk.os))
        if (blk.app) opt(4, text(blk.app))
        if (blk.comment || blk.os || blk.app) body.u32(0)
        break
      case 'idb': {
        type = 1
        const i = blk.iface
        body
          .u16(i.linkType)
          .u16(0)
          .u32(i.snaplen ?? 262144)
        if (i.name) opt(2, text(i.name))
        if (i.description) opt(3, text(i.description))
        if (i.tsresol !== undefined) opt(9, Uint8Array.of(i.tsresol))
        if (i.fcslen !== undefined) opt(13, Uint8Array.of(i.fcslen))
        if (i.tsoffset !== undefined) {
          const o = new Writer(w.little)
          if (w.little) o.u32(i.tsoffset).u32(0)
          else o.u32(0).u32(i.tsoffset)
          opt(14, o.done())
        }
        body.u32(0)
        break
      }
      case 'epb':
      case 'opb': {
        type = blk.type === 'epb' ? 6 : 2
        const f = blk.frame
        const [hi, lo] = blk.ts64 ?? split64(f.sec * 1e6 + f.frac)
        if (blk.type === 'epb') body.u32(f.iface ?? 0)
        else body.u16(f.iface ?? 0).u16(0)
        body
          .u32(hi)
          .u32(lo)
          .u32(f.data.length)
          .u32(f.len ?? f.data.length)
          .bytes(f.data)
          .pad4()
        if (f.comment) {
          opt(1, text(f.comment))
          body.u32(0)
        }
        break
      }
      case 'spb':
        type = 3
        body
          .u32(blk.frame.len ?? blk.frame.data.length)
          .bytes(blk.frame.data)
          .pad4()
        break
      case 'raw':
        type = blk.blockType
        body.bytes(blk.body).pad4()
        break
    }
    const b = body.done()
    const total = b.length + 12
    const blockW = new Writer(w.little)
    blockW.u32(type).u32(total).bytes(b).u32(total)
    out.push(...blockW.done())
  }
  return Uint8Array.from(out)
}

/** Splits a non-negative integer below 2^53 into [high, low] 32-bit words. */
export function split64(v: number): [number, number] {
  return [Math.floor(v / 4294967296), v % 4294967296]
}

/** Returns an Ethernet + IPv4 + TCP frame (checksums zero). */
export function tcpFrame(o: {
  src?: string
  dst?: string
  sport?: number
  dport?: number
  seq?: number
  ack?: number
  flags?: number
  id?: number
  ttl?: number
  payload?: number
  vlan?: number[]
}): Uint8Array {
  const payload = o.payload ?? 0
  const tcp = [
    ...be16(o.sport ?? 40000),
    ...be16(o.dport ?? 80),
    ...be32(o.seq ?? 1000),
    ...be32(o.ack ?? 0),
    0x50,
    o.flags ?? 0x02,
    ...be16(64240),
    0,
    0,
    0,
    0,
    ...new Array(payload).fill(0x61)
  ]
  const ip = [
    0x45,
    0,
    ...be16(20 + tcp.length),
    ...be16(o.id ?? 1),
    0x40,
    0,
    o.ttl ?? 64,
    6,
    0,
    0,
    ...addr(o.src ?? '10.0.0.1'),
    ...addr(o.dst ?? '10.0.0.2')
  ]
  const tags: number[] = []
  for (const v of o.vlan ?? []) tags.push(0x81, 0x00, ...be16(v))
  return Uint8Array.from([
    ...new Array(6).fill(2),
    ...new Array(6).fill(4),
    ...tags,
    0x08,
    0x00,
    ...ip,
    ...tcp
  ])
}

/** Returns an Ethernet + IPv4 + UDP frame (checksums zero) with `payload` bytes of data. */
export function udpFrame(o: {
  src: string
  dst: string
  sport: number
  dport: number
  id: number
  payload: number
}): Uint8Array {
  const udp = [...be16(o.sport), ...be16(o.dport), ...be16(8 + o.payload), 0, 0]
  const ip = [0x45, 0, ...be16(28 + o.payload), ...be16(o.id), 0, 0, 64, 17, 0, 0]
  return Uint8Array.from([
    ...new Array(6).fill(2),
    ...new Array(6).fill(4),
    0x08,
    0x00,
    ...ip,
    ...addr(o.src),
    ...addr(o.dst),
    ...udp,
    ...new Array(o.payload).fill(0x61)
  ])
}

/**
 * An Ethernet + IPv4 frame carrying an ICMP error (`type`, `code`) from `src` to `dst`, quoting
 * the IP header and first 8 bytes of `quoted` (an Ethernet frame, as tcpFrame makes).
 */
export function icmpErrorFrame(o: {
  src: string
  dst: string
  type: number
  code: number
  quoted: Uint8Array
}): Uint8Array {
  const inner = [...o.quoted.subarray(14, 14 + 28)]
  const icmp = [o.type, o.code, 0, 0, 0, 0, 0, 0, ...inner]
  const ip = [0x45, 0xc0, ...be16(20 + icmp.length), 0, 7, 0, 0, 64, 1, 0, 0]
  return Uint8Array.from([
    ...new Array(6).fill(2),
    ...new Array(6).fill(4),
    0x08,
    0x00,
    ...ip,
    ...addr(o.src),
    ...addr(o.dst),
    ...icmp
  ])
}

function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff]
}
function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]
}
function addr(s: string): number[] {
  return s.split('.').map(Number)
}

/**
 * An Ethernet frame carrying an ICMPv6 message: `type`, `code`, then `body` (for neighbour
 * discovery, 4 reserved or flag bytes and the target address: see ndBody). The checksum is left
 * zero, as Verdict does not check it.
 */
export function icmpv6Frame(o: {
  src: string
  dst: string
  type: number
  code?: number
  body: number[]
}): Uint8Array {
  const icmp = [o.type, o.code ?? 0, 0, 0, ...o.body]
  const ip = [0x60, 0, 0, 0, ...be16(icmp.length), 58, 255]
  return Uint8Array.from([
    ...new Array(6).fill(2),
    ...new Array(6).fill(4),
    0x86,
    0xdd,
    ...ip,
    ...addr6(o.src),
    ...addr6(o.dst),
    ...icmp
  ])
}

/** A neighbour solicitation's or advertisement's body (RFC 4861 §4.3, §4.4): flags, target. */
export function ndBody(target: string, flags = 0): number[] {
  return [flags, 0, 0, 0, ...addr6(target)]
}

function addr6(s: string): number[] {
  const words = parseIpv6(s)
  if (!words) throw new Error(`not an IPv6 address: ${s}`)
  return words.flatMap(be32)
}
