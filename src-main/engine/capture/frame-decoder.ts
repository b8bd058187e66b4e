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
  return createDecoder(sink, undefined, options)
}

/** Returns a FrameDecoder writing one reused PacketView to `sink`. */
export function createFrameViewDecoder(sink: PacketViewSink, options: ReadOptions): FrameDecoder {
  return createDecoder(undefined, sink, options)
}

function createDecoder(
  sink: PacketSink | undefined,
  viewSink: PacketViewSink | undefined,
  options: ReadOptions
): FrameDecoder {
  const frags = options.reassemble === false ? undefined : createReassembler()
  const headersOnly = options.headersOnly === true
  const view = new PacketView()
  let n = 0
  let unsupported = 0
  // Packets come in runs from one interface: decide support once per run, not per packet.
  let lastIface: CaptureInterface | undefined
  let lastSupported = false
  return {
    emit(iface, sec, nsec, len, b, off, caplen, comment) {
      n++
      iface.packets++
      if (iface.tsOffsetSec) sec += iface.tsOffsetSec
      if (iface !== lastIface) {
        lastIface = iface
        lastSupported = isSupportedLinkType(iface.linkType)
      }
      if (!lastSupported) {
        unsupported++
        iface.unsupported = true
      }
      let end = off + caplen
      // Drop the trailing frame check sequence so it is never read as payload.
      if (iface.fcsLen && caplen === len && caplen > iface.fcsLen) end -= iface.fcsLen
      const decode = lastSupported && !headersOnly
      if (viewSink) {
        const v = view
        v.n = n
        v.iface = iface.id
        v.sec = sec
        v.nsec = nsec
        v.timeUs = sec * 1e6 + Math.floor(nsec / 1000)
        v.len = len
        v.caplen = caplen
        v.linkType = iface.linkType
        v.comment = comment
        v.full = undefined
        v.b = b
        v.off = off
        v.end = end
        if (!decode) {
          v.vlanCount = 0
          v.etherType = -1
          v.sllPktType = -1
          v.ipVersion = 0
          v.ipOff = -1
          v.l4 = 0
          // Nothing to decode: packet() must not decode either.
          v.full = newPacket(n, iface.id, sec, nsec, len, caplen, iface.linkType, comment)
        } else if (!decodeViewFrame(v, iface.linkType, b, off, end)) {
          const pkt = newPacket(n, iface.id, sec, nsec, len, caplen, iface.linkType, comment)
          decodeFrame(iface.linkType, b, off, end, pkt, frags)
          viewFromPacket(v, pkt)
          v.b = b
          v.off = off
          v.end = end
        }
        viewSink(v, iface)
        return
      }
      const pkt = newPacket(n, iface.id, sec, nsec, len, caplen, iface.linkType, comment)
      if (decode) decodeFrame(iface.linkType, b, off, end, pkt, frags)
      sink!(pkt, iface)
    },
    packets: () => n,
    unsupported: () => unsupported
  }
}
