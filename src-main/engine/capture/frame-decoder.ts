import { decodeFrame, isSupportedLinkType } from './decode-link'
import type { CaptureInterface, PacketSink, ReadOptions } from './capture-types'
import { decodeViewFrame, newPacket, PacketView, viewFromPacket } from './packet-view'
import { createReassembler } from './reassemble-ip'

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
      if (!decode) {
        decodeNothing(v)
      } else if (!decodeViewFrame(v, link.linkType, b, off, end)) {
        const pkt = newPacket(n, iface.id, sec, nsec, len, caplen, link.linkType, comment)
        decodeFrame(link.linkType, b, off, end, pkt, frags)
        viewFromPacket(v, pkt)
        v.b = b
        v.off = off
        v.end = end
      }
      sink(v, iface)
    },
    packets: () => n,
    unsupported: () => link.unsupported
  }
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
    /** Counts a packet of `iface`; returns whether its link type is decoded. */
    enter(iface: CaptureInterface): boolean {
      if (iface !== last) {
        last = iface
        state.linkType = iface.linkType
        state.supported = isSupportedLinkType(iface.linkType)
        state.tsOffsetSec = iface.tsOffsetSec ?? 0
        state.fcsLen = iface.fcsLen ?? 0
      }
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
