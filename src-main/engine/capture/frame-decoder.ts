import { decodeFrame, isSupportedLinkType } from './decode-link'
import type { CaptureInterface, PacketSink, ReadOptions } from './capture-types'
import { decodeViewFrame, newPacket, PacketView, viewFromPacket } from './packet-view'
import { createReassembler } from './reassemble-ip'

type Reassembler = ReturnType<typeof createReassembler>

/** Receives each packet as a reused view, valid only during the call. */
export type PacketViewSink = (view: PacketView, iface: CaptureInterface) => void

/** Turns raw records into decoded packets, counting them per interface; shared by pcap and pcapng. */
export interface FrameDecoder {
  /** Decodes one record and hands the packet to the sink. */
  emit(
    iface: CaptureInterface,
    sec: number,
    nsec: number,
    len: number,
    b: Uint8Array,
    off: number,
    caplen: number,
    comment?: string
  ): void
  /**
   * Optional fast path for classic pcap records (read-pcap.ts): decodes every whole record of
   * b[off, end) captured on `iface` (a 16-byte header in the file's byte order, then the captured
   * bytes) and returns where it stopped: at the first record cut short by `end`, or one the
   * record reader must look at itself (a captured length over maxCaplen or the snaplen, a
   * timestamp fraction out of range), or at once when it does not decode this interface.
   */
  pcapRun?(
    iface: CaptureInterface,
    b: Uint8Array,
    off: number,
    end: number,
    little: boolean,
    nano: boolean,
    maxCaplen: number
  ): number
  packets(): number
  unsupported(): number
}

/** Returns a FrameDecoder writing Packet objects to `sink`. */
export function createFrameDecoder(sink: PacketSink, options: ReadOptions): FrameDecoder {
  const frags = options.reassemble === false ? undefined : createReassembler()
  const headersOnly = options.headersOnly === true
  const link = createLinkState()
  let n = 0
  return {
    emit(iface, sec, nsec, len, b, off, caplen, comment) {
      n++
      const decode = link.enter(iface) && !headersOnly
      sec += link.tsOffsetSec
      const pkt = newPacket(n, iface.id, sec, nsec, len, caplen, iface.linkType, comment)
      if (decode) decodeFrame(iface.linkType, b, off, link.frameEnd(off, caplen, len), pkt, frags)
      sink(pkt, iface)
    },
    packets: () => n,
    unsupported: () => link.unsupported
  }
}

/**
 * Returns a FrameDecoder writing one reused PacketView to `sink`. This is the
 * path every packet of `verdict analyze` and the benchmark takes, so it does
 * per packet only what the view needs: the common frames are decoded straight
 * into the view's numbers, and only the others make a Packet.
 */
export function createFrameViewDecoder(sink: PacketViewSink, options: ReadOptions): FrameDecoder {
  const frags = options.reassemble === false ? undefined : createReassembler()
  const headersOnly = options.headersOnly === true
  const link = createLinkState()
  const view = new PacketView()
  let n = 0
  /** A DataView over the last chunk's bytes, for decodeViewFrame. */
  let chunk: Uint8Array | undefined
  let d: DataView = new DataView(new ArrayBuffer(0))
  const dataView = (b: Uint8Array): DataView => {
    if (b !== chunk) {
      chunk = b
      d = new DataView(b.buffer, b.byteOffset, b.byteLength)
    }
    return d
  }
  return {
    emit(iface, sec, nsec, len, b, off, caplen, comment) {
      n++
      const decode = link.enter(iface) && !headersOnly
      sec += link.tsOffsetSec
      const v = view
      v.n = n
      v.iface = iface.id
      v.sec = sec
      v.nsec = nsec
      // nsec is below 1e9 but for a corrupt record: then divide as a double.
      v.timeUs = sec * 1e6 + (nsec < 1e9 ? (nsec / 1000) | 0 : Math.floor(nsec / 1000))
      v.len = len
      v.caplen = caplen
      v.linkType = link.linkType
      v.comment = comment
      v.full = undefined
      const end = link.frameEnd(off, caplen, len)
      // The chunk is young and the view old: every store of it takes the write barrier's slow
      // path, so it is stored once per chunk, not per packet.
      if (v.b !== b) v.b = b
      v.off = off
      v.end = end
      if (!decode) decodeNothing(v)
      else if (!decodeViewFrame(v, link.linkType, b, off, end, dataView(b)))
        decodeFull(v, b, off, end, frags)
      sink(v, iface)
    },
    pcapRun(iface, b, off, end, little, nano, maxCaplen) {
      if (headersOnly || !link.select(iface)) return off
      // What emit() looks up per packet, looked up once per run: the interface cannot change.
      const v = view
      const id = iface.id
      const linkType = link.linkType
      const tsOffsetSec = link.tsOffsetSec
      const fcs = link.fcsLen
      const snaplen = iface.snaplen > 0 && iface.snaplen < maxCaplen ? iface.snaplen : maxCaplen
      const fracEnd = nano ? 1e9 : 1e6
      const fracScale = nano ? 1 : 1000
      const d = dataView(b)
      if (v.b !== b) v.b = b
      while (end - off >= 16) {
        let sec = d.getUint32(off, little)
        const frac = d.getUint32(off + 4, little)
        const caplen = d.getUint32(off + 8, little)
        const len = d.getUint32(off + 12, little)
        if (caplen > snaplen || end - off - 16 < caplen || frac >= fracEnd) break
        const frame = off + 16
        off = frame + caplen
        n++
        iface.packets++
        sec += tsOffsetSec
        const nsec = frac * fracScale
        v.n = n
        v.iface = id
        v.sec = sec
        v.nsec = nsec
        v.timeUs = sec * 1e6 + ((nsec / 1000) | 0)
        v.len = len
        v.caplen = caplen
        v.linkType = linkType
        v.comment = undefined
        v.full = undefined
        const frameEnd = fcs !== 0 && caplen === len && caplen > fcs ? off - fcs : off
        v.off = frame
        v.end = frameEnd
        if (!decodeViewFrame(v, linkType, b, frame, frameEnd, d))
          decodeFull(v, b, frame, frameEnd, frags)
        sink(v, iface)
      }
      return off
    },
    packets: () => n,
    unsupported: () => link.unsupported
  }
}

/**
 * Decodes a frame the view does not decode itself with the full decoder into a Packet the view
 * keeps as `full`, taking the record facts already set on the view.
 */
function decodeFull(
  v: PacketView,
  b: Uint8Array,
  off: number,
  end: number,
  frags: Reassembler | undefined
): void {
  const pkt = newPacket(v.n, v.iface, v.sec, v.nsec, v.len, v.caplen, v.linkType, v.comment)
  decodeFrame(v.linkType, b, off, end, pkt, frags)
  viewFromPacket(v, pkt)
  v.b = b
  v.off = off
  v.end = end
}

/** Clears the view's layers and gives it an undecoded Packet, so packet() will not decode either. */
function decodeNothing(v: PacketView): void {
  v.vlanCount = 0
  v.etherType = -1
  v.sllPktType = -1
  v.ipVersion = 0
  v.ipOff = -1
  v.l4 = 0
  v.full = newPacket(v.n, v.iface, v.sec, v.nsec, v.len, v.caplen, v.linkType, v.comment)
}

/**
 * Per-interface facts both decoders need for every packet. Packets come in
 * runs from one interface, so they are looked up when the interface changes,
 * not per packet; the packet counts are kept here too.
 */
function createLinkState() {
  let last: CaptureInterface | undefined
  const state = {
    linkType: 0,
    supported: false,
    tsOffsetSec: 0,
    fcsLen: 0,
    unsupported: 0,
    /** Looks up the facts of `iface` when it changes; returns whether its link type is decoded. */
    select(iface: CaptureInterface): boolean {
      if (iface !== last) {
        last = iface
        state.linkType = iface.linkType
        state.supported = isSupportedLinkType(iface.linkType)
        state.tsOffsetSec = iface.tsOffsetSec ?? 0
        state.fcsLen = iface.fcsLen ?? 0
      }
      return state.supported
    },
    /** Counts a packet of `iface`; returns whether its link type is decoded. */
    enter(iface: CaptureInterface): boolean {
      state.select(iface)
      iface.packets++
      if (!state.supported) {
        state.unsupported++
        iface.unsupported = true
      }
      return state.supported
    },
    /** Returns the end of the frame, without a trailing frame check sequence so it is never read as payload. */
    frameEnd(off: number, caplen: number, len: number): number {
      const fcs = state.fcsLen
      return fcs !== 0 && caplen === len && caplen > fcs ? off + caplen - fcs : off + caplen
    }
  }
  return state
}
